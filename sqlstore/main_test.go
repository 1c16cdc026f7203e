package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/sqlstore"
	_ "github.com/sessionkit/session/sqlstore/mysql"    // the MySQL backend
	_ "github.com/sessionkit/session/sqlstore/postgres" // the PostgreSQL backend
	_ "github.com/sessionkit/session/sqlstore/sqlite"   // the SQLite backend
	sqlite "modernc.org/sqlite"
)

// TestMain stops the private servers once every test of the binary is done
// (a t.Cleanup of the first test to start them would stop them too early).
func TestMain(m *testing.M) {
	// The outage test breaks connections on purpose: keep the driver quiet.
	mysql.SetLogger(log.New(io.Discard, "", 0))
	code := m.Run()
	testserver.StopPostgres()
	testserver.StopMariaDB()
	os.Exit(code)
}

const testSecret = "sqlstore test secret: not for production"

// A backend is one dialect with a way to get a fresh, empty database.
type backend struct {
	name    string
	dialect sqlstore.Dialect
	// newURL returns the Open URL of a new, empty database.
	newURL func(t testing.TB) string
}

var backends = []backend{
	{"sqlite", sqlstore.SQLite, func(t testing.TB) string {
		return "sqlite://" + filepath.Join(t.TempDir(), "sessions.db")
	}},
	{"postgres", sqlstore.Postgres, func(t testing.TB) string { return testserver.Postgres(t) }},
	{"mariadb", sqlstore.MySQL, func(t testing.TB) string { return testserver.MariaDB(t) }},
}

// forEach runs f as a parallel subtest per backend.
func forEach(t *testing.T, f func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// driverDSN turns an Open URL of the test servers into the driver name and
// DSN that sql.Open takes, as an application with its own pool would write
// them.
func driverDSN(t testing.TB, d sqlstore.Dialect, rawURL string) (string, string) {
	t.Helper()
	switch d {
	case sqlstore.SQLite:
		return "sqlite", strings.TrimPrefix(rawURL, "sqlite://") + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
	case sqlstore.Postgres:
		return "pgx", rawURL
	default:
		u, err := url.Parse(rawURL)
		if err != nil {
			t.Fatal(err)
		}
		return "mysql", fmt.Sprintf("%s@tcp(%s)%s?interpolateParams=true", u.User.Username(), u.Host, u.Path)
	}
}

// appPool opens a pool as an application would, closed at the end of the
// test.
func appPool(t testing.TB, d sqlstore.Dialect, rawURL string) *sql.DB {
	t.Helper()
	name, dsn := driverDSN(t, d, rawURL)
	db, err := sql.Open(name, dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	t.Cleanup(func() { db.Close() })
	return db
}

// openStore opens a Store with its own pool, closed at the end of the test.
func openStore(t testing.TB, rawURL string, opts sqlstore.Options) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), rawURL, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}

// handler wraps fn in m's middleware.
func handler(m *session.Manager, fn func(s *session.Session)) http.Handler {
	return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn(session.FromRequest(r))
		w.WriteHeader(http.StatusOK)
	}))
}

// request runs one GET through h with cookie (if any) and returns the
// response.
func request(h http.Handler, cookie *http.Cookie) *http.Response {
	r := httptest.NewRequest("GET", "/", nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func sessionCookie(t testing.TB, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == session.DefaultCookie && c.Value != "" {
			return c
		}
	}
	t.Fatalf("response (status %d) sets no session cookie", resp.StatusCode)
	return nil
}

// discardLogger is a Manager logger for tests that make errors on purpose.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// ---- a database/sql driver wrapper that counts statements ------------------

// counts counts what reaches the driver.
type counts struct {
	queries, execs, begins atomic.Int64
}

func (c *counts) reset() { c.queries.Store(0); c.execs.Store(0); c.begins.Store(0) }

func (c *counts) String() string {
	return fmt.Sprintf("%d queries, %d execs, %d transactions", c.queries.Load(), c.execs.Load(), c.begins.Load())
}

// countingPool opens a pool whose connections count their statements.
func countingPool(t testing.TB, d sqlstore.Dialect, rawURL string, c *counts) *sql.DB {
	t.Helper()
	name, dsn := driverDSN(t, d, rawURL)
	var drv driver.Driver
	switch name {
	case "sqlite":
		drv = &sqlite.Driver{}
	case "pgx":
		drv = stdlib.GetDefaultDriver()
	default:
		drv = mysql.MySQLDriver{}
	}
	db := sql.OpenDB(countingConnector{drv: drv, dsn: dsn, c: c})
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	t.Cleanup(func() { db.Close() })
	return db
}

type countingConnector struct {
	drv driver.Driver
	dsn string
	c   *counts
}

func (cc countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := cc.drv.Open(cc.dsn)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, c: cc.c}, nil
}

func (cc countingConnector) Driver() driver.Driver { return cc.drv }

type countingConn struct {
	driver.Conn
	c *counts
}

func (cn *countingConn) Prepare(query string) (driver.Stmt, error) {
	return cn.PrepareContext(context.Background(), query)
}

func (cn *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var st driver.Stmt
	var err error
	if p, ok := cn.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = cn.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, c: cn.c}, nil
}

func (cn *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	cn.c.begins.Add(1)
	if b, ok := cn.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return cn.Conn.Begin() //nolint:staticcheck // drivers without BeginTx
}

func (cn *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := cn.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if err != driver.ErrSkip {
		cn.c.queries.Add(1)
	}
	return rows, err
}

func (cn *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := cn.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := e.ExecContext(ctx, query, args)
	if err != driver.ErrSkip {
		cn.c.execs.Add(1)
	}
	return res, err
}

func (cn *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := cn.Conn.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (cn *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := cn.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (cn *countingConn) IsValid() bool {
	if v, ok := cn.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (cn *countingConn) Ping(ctx context.Context) error {
	if p, ok := cn.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

type countingStmt struct {
	driver.Stmt
	c *counts
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.c.execs.Add(1)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return nil, fmt.Errorf("counting driver: statement without ExecContext")
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.c.queries.Add(1)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return nil, fmt.Errorf("counting driver: statement without QueryContext")
}

func (s *countingStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
