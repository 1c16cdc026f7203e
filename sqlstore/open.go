package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/sessionkit/session"
)

// Pool settings of a pool that Open opens; change them through Store.DB.
const (
	openMaxConns       = 16
	openSQLiteMaxConns = 8
	openConnIdleTime   = 5 * time.Minute
)

// Open opens the database url names with a pool of its own, which Close
// closes, and returns a Store on it as New does. The Backend registered for
// the URL's scheme connects (import the dialect's package, see the package
// documentation). The URL forms:
//
//	sqlite://./sessions.db             relative to the working directory
//	sqlite://sessions.db               the same
//	sqlite:///var/lib/app/sessions.db  absolute
//	postgres://user:pass@host:5432/app?sslmode=disable   (or postgresql://)
//	mysql://user:pass@host:3306/app?tls=true             (or mariadb://)
//
// With the dialect packages of this module: a SQLite URL's query
// parameters go to modernc.org/sqlite (e.g. _pragma=cache_size(-20000)),
// with busy_timeout(5000), journal_mode(WAL) and synchronous(NORMAL) added
// unless the URL sets them. A PostgreSQL URL goes to pgx unchanged (every
// libpq parameter it knows). A MySQL URL becomes a go-sql-driver/mysql
// configuration: user, password, host (port 3306 when omitted) and
// database from the URL, and every query parameter as that driver's DSN
// parameter; interpolateParams=true is added unless the URL sets it.
// Without connect_timeout (PostgreSQL) or timeout (MySQL), connecting gives
// up after ConnectTimeout, 10 s. A store call whose context ends
// while a new connection is being set up returns at once, but the setup goes
// on: its connection is kept for the next call that needs one, so that
// traffic recovers after an outage even when setting up a connection takes
// longer than a call may wait (session.Config.StoreTimeout).
//
// The pool allows 16 connections (8 for SQLite) and keeps them idle for 5
// minutes; Store.DB changes that. MySQL connections are put in READ
// COMMITTED as they are made.
//
// A user name or password holding /, ?, # or @ must percent-encode them
// (%2F, %3F, %23, %40; % itself as %25). Open's errors never contain the
// password, however malformed the URL: they say what is wrong without
// quoting the URL, and the drivers' errors have the URL and the password
// removed.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	dialect, db, secrets, err := openDB(rawURL)
	if err != nil {
		return nil, err
	}
	maxConns := openMaxConns
	if dialect == SQLite {
		maxConns = openSQLiteMaxConns
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(openConnIdleTime)
	s, err := New(ctx, db, dialect, opts)
	if err != nil {
		db.Close()
		// The drivers' connection errors name the user and the host, not
		// the password; make sure.
		return nil, scrubError(err, rawURL, secrets)
	}
	s.owned = true
	return s, nil
}

var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)

// openDB parses rawURL and returns its dialect and a pool (not yet
// connected) from the Backend registered for its scheme, and the secrets
// the URL holds, for scrub. Its errors never quote the URL: in a malformed
// one, a password can be anywhere.
func openDB(rawURL string) (Dialect, *sql.DB, []string, error) {
	m := schemeRE.FindStringSubmatch(rawURL)
	if m == nil {
		hint := ""
		if strings.Contains(rawURL, "=") {
			hint = "; key=value connection strings are not accepted"
		}
		return "", nil, nil, errorf("%w: the connection is not a URL (want sqlite://, postgres:// or mysql://)%s", session.ErrConfig, hint)
	}
	scheme := strings.ToLower(m[1])
	b, err := backends.forScheme(scheme, m[1])
	if err != nil {
		return "", nil, nil, err
	}
	u := &ConnURL{Raw: rawURL, Scheme: scheme, Rest: rawURL[len(m[0]):]}
	var secrets []string
	kind := b.Dialect.name()
	if b.Dialect == SQLite {
		u.URL, err = sqliteURL(u.Rest)
	} else {
		u.URL, secrets, err = parseServerURL(kind, rawURL, u.Rest)
	}
	if err != nil {
		return "", nil, nil, err
	}
	conn, err := b.Connect(u)
	if err == nil && conn == nil {
		err = errors.New("the backend returned no connector")
	}
	if err != nil {
		return "", nil, nil, errorf("%w: %s URL: %s", session.ErrConfig, kind, scrub(unprefixed{err}.Error(), rawURL, secrets))
	}
	switch b.Dialect {
	case SQLite:
		return SQLite, sql.OpenDB(liteConnector{conn}), nil, nil
	case MySQL:
		conn = readCommittedConnector{conn}
	}
	return b.Dialect, sql.OpenDB(newSpareConnector(conn)), secrets, nil
}

// name returns the name of the dialect's database, for messages.
func (d Dialect) name() string {
	switch d {
	case SQLite:
		return "SQLite"
	case Postgres:
		return "PostgreSQL"
	}
	return "MySQL"
}

// parseServerURL parses the URL of a database server (kind names it for
// messages; rest is what follows "scheme://") and returns it with the
// secrets it holds: the password, and the query parameters that carry one.
// Its errors say what is wrong without quoting any part of the URL.
func parseServerURL(kind, rawURL, rest string) (*url.URL, []string, error) {
	// An @ after the end of the host (the first /, ? or #) means that a
	// user name or password holds one of those unencoded: url.Parse would
	// take part of it for the host or the path.
	if i := strings.IndexAny(rest, "/?#"); i >= 0 && strings.Contains(rest[i:], "@") {
		return nil, nil, errorf("%w: %s URL: an @ follows the host, so the user name or password holds a /, ? or # as it is: "+
			"percent-encode them (/ as %%2F, ? as %%3F, # as %%23, @ as %%40, %% as %%25)", session.ErrConfig, kind)
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if strings.Count(authority, "@") > 1 {
		// Drivers differ on which @ ends the user name and password.
		return nil, nil, errorf("%w: %s URL: the user name or password holds an @ as it is: percent-encode it as %%40", session.ErrConfig, kind)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, errorf("%w: %s URL: %s", session.ErrConfig, kind, urlProblem(err))
	}
	var secrets []string
	if p, ok := u.User.Password(); ok {
		secrets = append(secrets, p)
	}
	// The password as written, percent-encoded or not.
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		if _, pass, ok := strings.Cut(authority[:at], ":"); ok {
			secrets = append(secrets, pass)
		}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, nil, errorf("%w: %s URL: the query has %s", session.ErrConfig, kind, urlProblem(err))
	}
	for _, k := range []string{"password", "sslpassword"} {
		secrets = append(secrets, q[k]...)
	}
	for _, kv := range strings.Split(u.RawQuery, "&") {
		if k, v, _ := strings.Cut(kv, "="); k == "password" || k == "sslpassword" {
			secrets = append(secrets, v)
		}
	}
	return u, secrets, nil
}

// sqliteURL checks what follows "sqlite://", a file's path and a query,
// and returns it as a URL whose Path is the file's path (unescaped) and
// whose RawQuery is the query (which parses).
func sqliteURL(rest string) (*url.URL, error) {
	path, query, _ := strings.Cut(rest, "?")
	if at := strings.Index(path, "@"); at >= 0 && !strings.Contains(path[:at], "/") {
		// user:pass@host/...: SQLite has no users; never quote it.
		return nil, errorf("%w: SQLite URL: SQLite takes no user name, password or host (want sqlite://./sessions.db or sqlite:///abs/path/sessions.db)", session.ErrConfig)
	}
	path, err := url.PathUnescape(path)
	if err != nil {
		return nil, errorf("%w: SQLite URL path: %s", session.ErrConfig, urlProblem(err))
	}
	switch {
	case path == "" || path == "/":
		return nil, errorf("%w: SQLite URL has no file path (want sqlite://./sessions.db or sqlite:///abs/path/sessions.db)", session.ErrConfig)
	case strings.Contains(path, ":memory:") || strings.HasPrefix(path, "file:"):
		return nil, errorf("%w: SQLite URL %q: only files are supported (an in-memory database is private to one connection; use the \"memory\" driver)", session.ErrConfig, path)
	}
	if _, err := url.ParseQuery(query); err != nil {
		return nil, errorf("%w: SQLite URL: the query has %s", session.ErrConfig, urlProblem(err))
	}
	return &url.URL{Scheme: string(SQLite), Path: path, RawQuery: query}, nil
}

// urlProblem describes what url.Parse or url.ParseQuery found wrong,
// without their text, which quotes the URL or part of it.
func urlProblem(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "escape"):
		return "an invalid %-escape (a % must start %XX with two hex digits: write % itself as %25)"
	case strings.Contains(msg, "port"):
		return "an invalid port (or a user name or password holding an unencoded character)"
	case strings.Contains(msg, "userinfo"):
		return "an invalid character in the user name or password (percent-encode it)"
	case strings.Contains(msg, "control character"):
		return "a control character"
	case strings.Contains(msg, "host"):
		return "an invalid host"
	}
	return "a form that does not parse"
}

// scrub removes the URL and its secrets from msg, a driver's error text:
// each secret, and each run of four or more of its letters and digits (a
// driver that cut the password elsewhere would quote part of it). Should a
// secret still show, msg is replaced whole.
func scrub(msg, rawURL string, secrets []string) string {
	msg = strings.ReplaceAll(msg, rawURL, "(the URL)")
	for _, s := range secrets {
		if s == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, s, "xxxxx")
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if len(part) >= 4 {
				msg = strings.ReplaceAll(msg, part, "xxxxx")
			}
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			return "the driver refuses the connection settings"
		}
	}
	return msg
}

// scrubError hides the URL's secrets from the text of err, which it wraps.
func scrubError(err error, rawURL string, secrets []string) error {
	if err == nil {
		return nil
	}
	if msg := scrub(err.Error(), rawURL, secrets); msg != err.Error() {
		return scrubbed{msg, err}
	}
	return err
}

// scrubbed is an error whose text is msg, wrapping err.
type scrubbed struct {
	msg string
	err error
}

func (e scrubbed) Error() string { return e.msg }
func (e scrubbed) Unwrap() error { return e.err }

// readCommittedConnector puts every connection it makes in READ COMMITTED
// (see Store.txOpts): one statement per connection instead of one per
// transaction. The connections themselves are the driver's, unwrapped.
type readCommittedConnector struct{ driver.Connector }

func (c readCommittedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, errors.New("sqlstore: the MySQL driver cannot execute statements")
	}
	if _, err := ex.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", nil); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (c readCommittedConnector) Driver() driver.Driver {
	return readCommittedDriver{c.Connector.Driver()}
}

// readCommittedDriver marks the pools of a readCommittedConnector, for New.
type readCommittedDriver struct{ driver.Driver }
