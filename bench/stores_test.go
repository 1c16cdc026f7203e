package bench

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/mysqlstore"
	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/sqlite3store"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	_ "github.com/go-sql-driver/mysql" // registers "mysql" for scs
	"github.com/gorilla/sessions"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/testserver"
	_ "github.com/sessionkit/session/redisstore"        // registers "redis"
	_ "github.com/sessionkit/session/sqlstore/mysql"    // "database": mysql:// URLs
	_ "github.com/sessionkit/session/sqlstore/postgres" // "database": postgres:// URLs
	_ "github.com/sessionkit/session/sqlstore/sqlite"   // "database": sqlite:// URLs
	"github.com/sessionkit/session/storetest"
	_ "modernc.org/sqlite" // registers "sqlite" for scs
)

// A pairing is one kind of store with each library's store of that kind.
// setup returns the contenders, sessionkit first, with everything they
// opened closed at the end of tb.
type pairing struct {
	store string
	setup func(tb testing.TB) []contender
	// fresh: each benchmark sets the stores up anew. The memory stores keep
	// their sessions in the benchmark's own heap, so the sessions that one
	// library's new-visitor writes leave behind would otherwise make the
	// garbage collector slower for every benchmark after it, the other
	// library's included.
	fresh bool
}

// pairings are the stores that correspond, in the order they run.
var pairings = []pairing{
	{"memory", func(tb testing.TB) []contender {
		m := storetest.NewManager(tb, nil, session.Config{Driver: "memory"})
		st := scsmem.NewWithCleanupInterval(0)
		return []contender{sessionkitContender(m), scsContender(newSCS(st))}
	}, true},
	{"cookie", func(tb testing.TB) []contender {
		m := storetest.NewManager(tb, nil, session.Config{Driver: "cookie"})
		return []contender{
			sessionkitContender(m),
			gorillaContender("gorilla-signed", newGorillaCookie(false)),
			gorillaContender("gorilla-encrypted", newGorillaCookie(true)),
		}
	}, false},
	{"file", func(tb testing.TB) []contender {
		m := storetest.NewManager(tb, nil, session.Config{Driver: "file", Files: tb.TempDir()})
		return []contender{
			sessionkitContender(m),
			gorillaContender("gorilla", sessions.NewFilesystemStore(tb.TempDir(), gorillaHashKey)),
		}
	}, false},
	{"sqlite", func(tb testing.TB) []contender {
		dir := tb.TempDir()
		m := storetest.NewManager(tb, nil, session.Config{Driver: "database", Connection: "sqlite://" + filepath.Join(dir, "sessionkit.db")})
		db := openSQLite(tb, filepath.Join(dir, "scs.db"))
		return []contender{sessionkitContender(m), scsContender(newSCS(sqlite3store.NewWithCleanupInterval(db, 0)))}
	}, false},
	{"postgres", func(tb testing.TB) []contender {
		m := storetest.NewManager(tb, nil, session.Config{Driver: "database", Connection: testserver.Postgres(tb)})
		pool := openPgx(tb, testserver.Postgres(tb))
		return []contender{sessionkitContender(m), scsContender(newSCS(pgxstore.NewWithCleanupInterval(pool, 0)))}
	}, false},
	{"mysql", func(tb testing.TB) []contender {
		m := storetest.NewManager(tb, nil, session.Config{Driver: "database", Connection: testserver.MariaDB(tb)})
		db := openMySQL(tb, testserver.MariaDB(tb))
		return []contender{sessionkitContender(m), scsContender(newSCS(mysqlstore.NewWithCleanupInterval(db, 0)))}
	}, false},
	{"redis", func(tb testing.TB) []contender {
		addr := testserver.Redis(tb)
		m := storetest.NewManager(tb, nil, session.Config{Driver: "redis", Connection: "redis://" + addr + "/0"})
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		tb.Cleanup(func() { rdb.Close() })
		return []contender{sessionkitContender(m), scsContender(newSCS(goredisstore.New(rdb)))}
	}, false},
}

// Pool sizes, as sessionkit's sqlstore.Open sets them for its own pools.
const (
	sqlMaxConns    = 16
	sqliteMaxConns = 8
)

// openSQLite opens path with modernc.org/sqlite as openSQLitePool does and
// creates scs's table as sqlite3store's README gives it.
func openSQLite(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db := openSQLitePool(tb, path)
	execAll(tb, db,
		`CREATE TABLE sessions (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry REAL NOT NULL)`,
		`CREATE INDEX sessions_expiry_idx ON sessions(expiry)`)
	return db
}

// openSQLitePool opens path with modernc.org/sqlite, with the pragmas
// sessionkit's sqlstore sets (busy_timeout 5000, WAL, synchronous NORMAL)
// and its pool size, closed at the end of tb.
func openSQLitePool(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	dsn := path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		tb.Fatalf("bench: open SQLite: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(sqliteMaxConns)
	db.SetMaxIdleConns(sqliteMaxConns)
	return db
}

// openPgx opens a pgx pool (pgxstore takes one) on rawURL, with pgx's
// default pool, and creates scs's table as pgxstore's README gives it.
func openPgx(tb testing.TB, rawURL string) *pgxpool.Pool {
	tb.Helper()
	pool := openPgxPool(tb, rawURL)
	for _, q := range []string{
		`CREATE TABLE sessions (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)`,
		`CREATE INDEX sessions_expiry_idx ON sessions (expiry)`,
	} {
		if _, err := pool.Exec(context.Background(), q); err != nil {
			tb.Fatalf("bench: PostgreSQL %q: %v", q, err)
		}
	}
	return pool
}

// openPgxPool opens a pgx pool with pgx's defaults on rawURL, closed at the
// end of tb.
func openPgxPool(tb testing.TB, rawURL string) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), rawURL)
	if err != nil {
		tb.Fatalf("bench: open PostgreSQL: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// openMySQL opens go-sql-driver/mysql on a mysql:// URL of the test server
// (openMySQLPool) and creates scs's table as mysqlstore's README gives it.
func openMySQL(tb testing.TB, rawURL string) *sql.DB {
	tb.Helper()
	db := openMySQLPool(tb, rawURL)
	execAll(tb, db,
		`CREATE TABLE sessions (token CHAR(43) PRIMARY KEY, data BLOB NOT NULL, expiry TIMESTAMP(6) NOT NULL)`,
		`CREATE INDEX sessions_expiry_idx ON sessions (expiry)`)
	return db
}

// openMySQLPool opens go-sql-driver/mysql on a mysql:// URL of the test
// server with parseTime=true (as mysqlstore's README says) and
// interpolateParams=true (which sessionkit's sqlstore.Open adds: one round
// trip per statement instead of prepare/execute/close), with sessionkit's
// pool size, closed at the end of tb.
func openMySQLPool(tb testing.TB, rawURL string) *sql.DB {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatalf("bench: MySQL URL: %v", err)
	}
	dsn := fmt.Sprintf("%s@tcp(%s)%s?parseTime=true&interpolateParams=true", u.User.Username(), u.Host, u.Path)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		tb.Fatalf("bench: open MySQL: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(sqlMaxConns)
	db.SetMaxIdleConns(sqlMaxConns)
	return db
}

func execAll(tb testing.TB, db *sql.DB, stmts ...string) {
	tb.Helper()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			tb.Fatalf("bench: %q: %v", q, err)
		}
	}
}
