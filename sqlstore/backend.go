package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sessionkit/session"
)

// A Backend ties a Dialect to a database/sql driver: how Open connects to a
// URL of the dialect, and what the driver's errors mean. Package sqlstore
// imports no SQL driver; the packages sqlstore/sqlite (modernc.org/sqlite),
// sqlstore/postgres (pgx) and sqlstore/mysql (go-sql-driver/mysql) each
// register the Backend of their dialect when imported, as database/sql
// drivers register themselves, so that a program links only the driver it
// uses:
//
//	import _ "github.com/sessionkit/session/sqlstore/mysql"
//
// (github.com/sessionkit/session/drivers imports all three). New and Open
// need the Backend of their dialect. To use another driver for a dialect,
// register a Backend for it instead of importing that dialect's package.
type Backend struct {
	// Dialect is the SQL dialect the driver speaks.
	Dialect Dialect
	// Schemes are the URL schemes that Open accepts for it, in lower case
	// ("postgres", "postgresql").
	Schemes []string
	// Connect returns the connector of the database u names, without
	// connecting (Open checks the URL first: see ConnURL). Its error is
	// about the URL: Open wraps it in one wrapping session.ErrConfig, with
	// the URL and its password removed from its text. Nil when the Backend
	// serves only New (the application opens its pool itself): Open then
	// refuses its schemes.
	Connect func(u *ConnURL) (driver.Connector, error)
	// Errors tells the Store what the driver's errors mean.
	Errors ErrorClassifier
}

// A ConnURL is a connection URL that Open has checked, for Backend.Connect.
// It holds the password: an error must never quote it.
type ConnURL struct {
	// Raw is the URL as given.
	Raw string
	// Scheme is its scheme, in lower case.
	Scheme string
	// Rest is what follows "scheme://" in Raw.
	Rest string
	// URL is Raw parsed. For a database server (PostgreSQL, MySQL), Open
	// has made sure that the user name and password are where URL says
	// (none of them holds an unencoded /, ? or #). For SQLite, Path is the
	// database file's path (relative to the working directory unless it
	// starts with /), unescaped and never empty nor in memory, and
	// RawQuery the URL's query, which parses.
	URL *url.URL
}

// An ErrorClassifier tells a Store what a driver's error means.
type ErrorClassifier interface {
	// Classify returns the kind of err (an error a call of the driver
	// returned, perhaps wrapped), or KindUnknown when err is none of the
	// driver's own errors.
	Classify(err error) ErrorKind
}

// An ErrorKind is what a driver's error means to a Store.
type ErrorKind int

// The kinds of driver errors.
const (
	// KindUnknown: not one of the driver's own errors. The Store reads it
	// itself: a network error, a timeout, io.EOF, driver.ErrBadConn,
	// ECONNREFUSED, ECONNRESET or EPIPE say that the database cannot be
	// reached or that the connection broke.
	KindUnknown ErrorKind = iota
	// KindServer: an error the server sent that is none of the kinds
	// below (bad SQL, a permission refused, bad credentials, an unknown
	// database). It is returned as it is.
	KindServer
	// KindConflict: the transaction conflicted with a concurrent one, and
	// running it again resolves that: a unique violation (a concurrent
	// creator inserted the row first).
	KindConflict
	// KindRolledBack: the server rolled the statement (and its
	// transaction) back to resolve a conflict: a deadlock, a serialization
	// failure. It wrote nothing and may run again.
	KindRolledBack
	// KindUnavailable: the server is not accepting connections for now:
	// starting up, shutting down, too many connections, a connection
	// exception.
	KindUnavailable
	// KindConnect: the driver's own error for a failure to connect; the
	// Store reads its cause (a network error: the database cannot be
	// reached). A statement that failed to connect is not retried as one
	// whose connection broke.
	KindConnect
	// KindBrokenConn: the driver's own error for a connection that broke
	// under a statement (go-sql-driver/mysql's ErrInvalidConn).
	KindBrokenConn
	// KindBusy: SQLite's SQLITE_BUSY: another connection holds the
	// database's lock.
	KindBusy
)

// ConnectTimeout is how long a connection that Open's pool makes may take
// to set up, unless the URL says otherwise (PostgreSQL's connect_timeout,
// MySQL's timeout); the dialect packages apply it.
const ConnectTimeout = 10 * time.Second

// registry maps dialects and URL schemes to their Backends.
type registry struct {
	mu        sync.RWMutex
	byDialect map[Dialect]*Backend
	byScheme  map[string]*Backend
}

var backends registry

// RegisterBackend makes b the Backend of its dialect and its URL schemes.
// The dialect packages call it from init. It panics when b's dialect is not
// one of SQLite, Postgres and MySQL, when b.Errors is nil, or when the
// dialect or one of the schemes has a Backend already.
func RegisterBackend(b Backend) {
	if err := backends.register(b); err != nil {
		panic(err.Error())
	}
}

func (r *registry) register(b Backend) error {
	switch {
	case !b.Dialect.valid():
		return errorf("RegisterBackend: unknown dialect %q", b.Dialect)
	case b.Errors == nil:
		return errorf("RegisterBackend: dialect %q without an ErrorClassifier", b.Dialect)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byDialect == nil {
		r.byDialect, r.byScheme = map[Dialect]*Backend{}, map[string]*Backend{}
	}
	if _, dup := r.byDialect[b.Dialect]; dup {
		return errorf("RegisterBackend called twice for dialect %q", b.Dialect)
	}
	for _, sc := range b.Schemes {
		if _, dup := r.byScheme[strings.ToLower(sc)]; dup {
			return errorf("RegisterBackend called twice for scheme %q", sc)
		}
	}
	b.Schemes = slices.Clone(b.Schemes)
	r.byDialect[b.Dialect] = &b
	for _, sc := range b.Schemes {
		r.byScheme[strings.ToLower(sc)] = &b
	}
	return nil
}

// dialectPackages names the package that registers the Backend of each
// dialect, and of each scheme it serves.
var dialectPackages = map[string]string{
	string(SQLite): "sqlite", string(Postgres): "postgres", string(MySQL): "mysql",
	"postgresql": "postgres", "mariadb": "mysql",
}

// importHint says what to import for key, a dialect or a URL scheme.
func importHint(key string) string {
	return "import github.com/sessionkit/session/sqlstore/" + dialectPackages[key] +
		" (or github.com/sessionkit/session/drivers, which registers every dialect)"
}

// forDialect returns the Backend of d, or an error wrapping
// session.ErrConfig that says which package to import.
func (r *registry) forDialect(d Dialect) (*Backend, error) {
	r.mu.RLock()
	b := r.byDialect[d]
	r.mu.RUnlock()
	if b == nil {
		return nil, errorf("%w: no backend for dialect %q: %s", session.ErrConfig, d, importHint(string(d)))
	}
	return b, nil
}

// forScheme returns the Backend that opens URLs of scheme (lower case), or
// an error wrapping session.ErrConfig; original is the scheme as written,
// for the message.
func (r *registry) forScheme(scheme, original string) (*Backend, error) {
	r.mu.RLock()
	b := r.byScheme[scheme]
	var known []string
	for sc, kb := range r.byScheme {
		if kb.Connect != nil {
			known = append(known, sc+"://")
		}
	}
	r.mu.RUnlock()
	switch {
	case b != nil && b.Connect != nil:
		return b, nil
	case b != nil:
		return nil, errorf("%w: the backend of dialect %q opens no URL (build the pool yourself and use sqlstore.New)", session.ErrConfig, b.Dialect)
	case dialectPackages[scheme] != "":
		return nil, errorf("%w: no backend for %s:// URLs: %s", session.ErrConfig, original, importHint(scheme))
	}
	sort.Strings(known)
	want := "none is registered: import a dialect package, e.g. github.com/sessionkit/session/sqlstore/sqlite"
	if len(known) > 0 {
		want = "want " + strings.Join(known, ", ")
	}
	return nil, errorf("%w: unknown scheme %q in the connection URL (%s)", session.ErrConfig, original, want)
}

// ---- what the driver's errors mean ------------------------------------------

// kind returns the kind of err by the Store's Backend.
func (s *Store) kind(err error) ErrorKind {
	if err == nil {
		return KindUnknown
	}
	return s.errs.Classify(err)
}

// retryable reports whether err is a conflict with a concurrent transaction
// that running the transaction again resolves.
func (s *Store) retryable(err error) bool {
	k := s.kind(err)
	return k == KindConflict || k == KindRolledBack
}

// rolledBack reports whether err says that the server rolled the statement
// back to resolve a conflict with another transaction (a deadlock, a
// serialization failure), so that it wrote nothing and may run again.
func (s *Store) rolledBack(err error) bool { return s.kind(err) == KindRolledBack }

// busy reports whether err is SQLite's SQLITE_BUSY.
func (s *Store) busy(err error) bool { return s.kind(err) == KindBusy }

// brokenConn reports whether err says that the connection broke under a
// statement, rather than that the server answered with an error, that no
// connection could be made, or that the context ended.
func (s *Store) brokenConn(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch s.kind(err) {
	case KindBrokenConn:
		return true
	case KindUnknown:
		return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn) ||
			errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
	}
	return false
}

// unreachable reports whether err says that the database could not be
// reached or is not accepting connections for now: a network error, a
// timeout, a connection closed under a statement, or a server's answer that
// it is starting up, shutting down or full. A server's other answers (bad
// credentials, an unknown database, a missing table) are not.
func (s *Store) unreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	switch s.kind(err) {
	case KindUnavailable, KindBrokenConn:
		return true
	case KindUnknown, KindConnect:
		var ne net.Error
		return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) ||
			errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn) ||
			errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
	}
	return false
}
