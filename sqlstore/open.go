package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/sessionkit/session"
	_ "modernc.org/sqlite" // registers "sqlite"
)

// Pool settings of a pool that Open opens; change them through Store.DB.
const (
	openMaxConns       = 16
	openSQLiteMaxConns = 8
	openConnIdleTime   = 5 * time.Minute
	openConnectTimeout = 10 * time.Second
)

// sqliteDefaults are the pragmas Open sets on every SQLite connection unless
// the URL sets them: wait up to 5 s for another process's write lock; WAL,
// so that readers and the writer do not block each other; synchronous=NORMAL,
// which WAL makes safe against corruption (a power loss can lose the last
// commits, never tear the database).
var sqliteDefaults = []struct{ name, value string }{
	{"busy_timeout", "5000"},
	{"journal_mode", "WAL"},
	{"synchronous", "NORMAL"},
}

// Open opens the database url names with a pool of its own, which Close
// closes, and returns a Store on it as New does. The URL forms:
//
//	sqlite://./sessions.db             relative to the working directory
//	sqlite://sessions.db               the same
//	sqlite:///var/lib/app/sessions.db  absolute
//	postgres://user:pass@host:5432/app?sslmode=disable   (or postgresql://)
//	mysql://user:pass@host:3306/app?tls=true             (or mariadb://)
//
// A SQLite URL's query parameters go to modernc.org/sqlite (e.g.
// _pragma=cache_size(-20000)); Open adds busy_timeout(5000),
// journal_mode(WAL) and synchronous(NORMAL) unless the URL sets them. A
// PostgreSQL URL goes to pgx unchanged (every libpq parameter it knows). A
// MySQL URL becomes a go-sql-driver/mysql configuration: user, password,
// host (port 3306 when omitted) and database from the URL, and every query
// parameter as that driver's DSN parameter; interpolateParams=true is added
// unless the URL sets it. Without connect_timeout (PostgreSQL) or timeout
// (MySQL), connecting gives up after 10 s. A store call whose context ends
// while a new connection is being set up returns at once, but the setup goes
// on: its connection is kept for the next call that needs one, so that
// traffic recovers after an outage even when setting up a connection takes
// longer than a call may wait (session.Config.StoreTimeout).
//
// The pool allows 16 connections (8 for SQLite) and keeps them idle for 5
// minutes; Store.DB changes that. MySQL connections are put in READ
// COMMITTED as they are made.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	dialect, db, err := openDB(rawURL)
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
		return nil, err
	}
	s.owned = true
	return s, nil
}

var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)

// openDB parses rawURL and returns its dialect and a pool (not yet
// connected).
func openDB(rawURL string) (Dialect, *sql.DB, error) {
	m := schemeRE.FindStringSubmatch(rawURL)
	if m == nil {
		return "", nil, errorf("%w: connection %q is not a URL (want sqlite://, postgres:// or mysql://)", session.ErrConfig, redact(rawURL))
	}
	switch strings.ToLower(m[1]) {
	case "sqlite":
		dsn, err := sqliteDSN(rawURL[len(m[0]):])
		if err != nil {
			return "", nil, err
		}
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return "", nil, errorf("open %s: %w", rawURL, err)
		}
		return SQLite, db, nil
	case "postgres", "postgresql":
		cfg, err := pgx.ParseConfig(rawURL)
		if err != nil {
			return "", nil, errorf("%w: PostgreSQL URL %s: %w", session.ErrConfig, redact(rawURL), err)
		}
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = openConnectTimeout
		}
		return Postgres, sql.OpenDB(newSpareConnector(stdlib.GetConnector(*cfg))), nil
	case "mysql", "mariadb":
		cfg, err := mysqlConfig(rawURL)
		if err != nil {
			return "", nil, err
		}
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return "", nil, errorf("%w: MySQL URL %s: %w", session.ErrConfig, redact(rawURL), err)
		}
		return MySQL, sql.OpenDB(newSpareConnector(readCommittedConnector{conn})), nil
	default:
		return "", nil, errorf("%w: unknown scheme %q in %s (want sqlite://, postgres://, postgresql:// or mysql://)", session.ErrConfig, m[1], redact(rawURL))
	}
}

// sqliteDSN turns what follows "sqlite://" into a modernc.org/sqlite DSN:
// the file path, then the URL's query with the default pragmas added.
func sqliteDSN(rest string) (string, error) {
	path, query, _ := strings.Cut(rest, "?")
	path, err := url.PathUnescape(path)
	if err != nil {
		return "", errorf("%w: SQLite URL path %q: %w", session.ErrConfig, path, err)
	}
	switch {
	case path == "" || path == "/":
		return "", errorf("%w: SQLite URL has no file path (want sqlite://./sessions.db or sqlite:///abs/path/sessions.db)", session.ErrConfig)
	case strings.Contains(path, ":memory:") || strings.HasPrefix(path, "file:"):
		return "", errorf("%w: SQLite URL %q: only files are supported (an in-memory database is private to one connection; use the \"memory\" driver)", session.ErrConfig, path)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", errorf("%w: SQLite URL query %q: %w", session.ErrConfig, query, err)
	}
	set := map[string]bool{}
	for _, p := range q["_pragma"] {
		name, _, _ := strings.Cut(p, "(")
		name, _, _ = strings.Cut(name, "=")
		set[strings.ToLower(strings.TrimSpace(name))] = true
	}
	for _, short := range []string{"_busy_timeout", "_timeout"} {
		if q.Has(short) {
			set["busy_timeout"] = true
		}
	}
	for _, short := range []string{"_journal_mode", "_journal"} {
		if q.Has(short) {
			set["journal_mode"] = true
		}
	}
	for _, short := range []string{"_synchronous", "_sync"} {
		if q.Has(short) {
			set["synchronous"] = true
		}
	}
	for _, d := range sqliteDefaults {
		if !set[d.name] {
			q.Add("_pragma", d.name+"("+d.value+")")
		}
	}
	return path + "?" + q.Encode(), nil
}

// mysqlConfig turns a mysql:// URL into a go-sql-driver/mysql Config.
func mysqlConfig(rawURL string) (*mysql.Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errorf("%w: MySQL URL %s: %w", session.ErrConfig, redact(rawURL), err)
	}
	// The query parameters are the driver's DSN parameters: let it parse
	// (and check) them.
	cfg, err := mysql.ParseDSN("/?" + u.RawQuery)
	if err != nil {
		return nil, errorf("%w: MySQL URL %s: %w", session.ErrConfig, u.Redacted(), err)
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "3306"
	}
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if cfg.DBName == "" || strings.Contains(cfg.DBName, "/") {
		return nil, errorf("%w: MySQL URL %s does not name a database (want mysql://user:pass@host:3306/dbname)", session.ErrConfig, u.Redacted())
	}
	q := u.Query()
	if !q.Has("interpolateParams") {
		cfg.InterpolateParams = true
	}
	if !q.Has("timeout") {
		cfg.Timeout = openConnectTimeout
	}
	return cfg, nil
}

// redact hides the password of a URL for error messages.
func redact(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndex(rawURL, "@"); i >= 0 {
		return "(URL with credentials)" + rawURL[i:]
	}
	return rawURL
}

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
