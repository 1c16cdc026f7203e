package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/session/internal/testserver"
)

// A bound is a piece of work that every library must do in some cases (a
// read or a write round trip to a store, a new session's file or row),
// measured through the same request loop as the libraries: a handler with
// no session that only does that work. The sum of the bounds' overheads
// above the floor that a case makes is a lower bound on any library's
// overhead in that case, which cmd/report uses to tell a target that no
// library could meet from one that sessionkit misses.
type bound struct {
	store, op string
	// setup returns the handler, with everything it opened closed at the
	// end of tb.
	setup func(tb testing.TB) http.Handler
}

// bounds are, per store, the pieces of work that a session request is made
// of and that no library can do without:
//   - for the server stores, a read round trip (one 300-byte value read by
//     its key: a primary-key SELECT through scs's PostgreSQL client,
//     pgxpool, which caches the prepared statement and is the faster client
//     of the two here, and through go-sql-driver/mysql; a GET through
//     go-redis) and a write round trip (the value replaced by its key and
//     its expiry moved, as every session write does: one autocommitted
//     UPDATE of a table indexed on the expiry, which sweeping needs, as
//     scs's and sessionkit's tables are; a SET with an expiry);
//   - for SQLite, which has no round trip, the same read and write with
//     statements prepared once, and the insert of a new row in a table that
//     grows by one row per request, as a new session's is;
//   - for the file store, the creation of one new 300-byte file in a
//     directory that grows by one file per request, as the file stores'
//     new-session writes do.
var bounds = []bound{
	{"file", "create", func(tb testing.TB) http.Handler {
		dir := tb.TempDir()
		payload := make([]byte, 300)
		var n atomic.Int64
		return opHandler(func(context.Context) error {
			return os.WriteFile(filepath.Join(dir, strconv.FormatInt(n.Add(1), 10)), payload, 0o600)
		})
	}},
	{"sqlite", "get", func(tb testing.TB) http.Handler {
		st := sqliteBound(tb, `SELECT data FROM t WHERE id = ?`)
		return getHandler(func(ctx context.Context) (data []byte, err error) {
			err = st.QueryRowContext(ctx, "k").Scan(&data)
			return data, err
		})
	}},
	{"sqlite", "update", func(tb testing.TB) http.Handler {
		st := sqliteBound(tb, `UPDATE t SET data = ?, expiry = ? WHERE id = ?`)
		payload := make([]byte, 300)
		var n atomic.Int64
		return opHandler(func(ctx context.Context) error {
			return execOne(st.ExecContext(ctx, payload, n.Add(1), "k"))
		})
	}},
	{"sqlite", "insert", func(tb testing.TB) http.Handler {
		st := sqliteBound(tb, `INSERT INTO t (id, data, expiry) VALUES (?, ?, ?)`)
		payload := make([]byte, 300)
		var n atomic.Int64
		return opHandler(func(ctx context.Context) error {
			return execOne(st.ExecContext(ctx, strconv.FormatInt(n.Add(1), 10), payload, 1))
		})
	}},
	{"postgres", "get", func(tb testing.TB) http.Handler {
		pool := pgBound(tb)
		return getHandler(func(ctx context.Context) (data []byte, err error) {
			err = pool.QueryRow(ctx, `SELECT data FROM t WHERE id = $1`, "k").Scan(&data)
			return data, err
		})
	}},
	{"postgres", "put", func(tb testing.TB) http.Handler {
		pool := pgBound(tb)
		payload := make([]byte, 300)
		var n atomic.Int64
		return opHandler(func(ctx context.Context) error {
			tag, err := pool.Exec(ctx, `UPDATE t SET data = $1, expiry = $2 WHERE id = $3`, payload, n.Add(1), "k")
			if err == nil && tag.RowsAffected() != 1 {
				err = fmt.Errorf("updated %d rows, want 1", tag.RowsAffected())
			}
			return err
		})
	}},
	{"mysql", "get", func(tb testing.TB) http.Handler {
		db := mysqlBound(tb)
		return getHandler(func(ctx context.Context) (data []byte, err error) {
			err = db.QueryRowContext(ctx, `SELECT data FROM t WHERE id = ?`, "k").Scan(&data)
			return data, err
		})
	}},
	{"mysql", "put", func(tb testing.TB) http.Handler {
		db := mysqlBound(tb)
		payload := make([]byte, 300)
		var n atomic.Int64
		return opHandler(func(ctx context.Context) error {
			// The expiry changes every time, as a session's does (and so
			// MariaDB, which counts only changed rows, reports one).
			return execOne(db.ExecContext(ctx, `UPDATE t SET data = ?, expiry = ? WHERE id = ?`, payload, n.Add(1), "k"))
		})
	}},
	{"redis", "get", func(tb testing.TB) http.Handler {
		rdb := redisBound(tb)
		return getHandler(func(ctx context.Context) ([]byte, error) {
			return rdb.Get(ctx, "bench-bound").Bytes()
		})
	}},
	{"redis", "put", func(tb testing.TB) http.Handler {
		rdb := redisBound(tb)
		payload := make([]byte, 300)
		return opHandler(func(ctx context.Context) error {
			return rdb.Set(ctx, "bench-bound", payload, time.Hour).Err()
		})
	}},
}

// sqliteBound returns q prepared on a new SQLite database whose table t
// holds the 300-byte row "k".
func sqliteBound(tb testing.TB, q string) *sql.Stmt {
	db := openSQLitePool(tb, filepath.Join(tb.TempDir(), "bound.db"))
	execAll(tb, db, `CREATE TABLE t (id TEXT PRIMARY KEY, data BLOB NOT NULL, expiry INTEGER NOT NULL)`,
		`CREATE INDEX t_expiry ON t (expiry)`, `INSERT INTO t VALUES ('k', zeroblob(300), 0)`)
	st, err := db.Prepare(q)
	if err != nil {
		tb.Fatalf("bench: SQLite prepare %q: %v", q, err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// pgBoundTable and mysqlBoundTable (re)create the bounds' table t, indexed
// on its expiry as the libraries' session tables are, holding the 300-byte
// row "k".
var (
	pgBoundTable = []string{`DROP TABLE IF EXISTS t`, `CREATE TABLE t (id TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry BIGINT NOT NULL DEFAULT 0)`,
		`CREATE INDEX t_expiry ON t (expiry)`, `INSERT INTO t (id, data) VALUES ('k', repeat('x', 300)::bytea)`}
	mysqlBoundTable = []string{`DROP TABLE IF EXISTS t`, `CREATE TABLE t (id VARCHAR(64) PRIMARY KEY, data BLOB NOT NULL, expiry BIGINT NOT NULL DEFAULT 0, INDEX (expiry))`,
		`INSERT INTO t (id, data) VALUES ('k', REPEAT('x', 300))`}
)

// pgBound returns a pool to PostgreSQL whose table t holds the 300-byte
// row "k".
func pgBound(tb testing.TB) *pgxpool.Pool { return pgBoundOn(tb, testserver.Postgres(tb)) }

// pgBoundOn is pgBound on the database and pool rawURL names.
func pgBoundOn(tb testing.TB, rawURL string) *pgxpool.Pool {
	pool := openPgxPool(tb, rawURL)
	ctx := context.Background()
	for _, q := range pgBoundTable {
		if _, err := pool.Exec(ctx, q); err != nil {
			tb.Fatalf("bench: PostgreSQL %q: %v", q, err)
		}
	}
	return pool
}

// mysqlBound returns a pool to MariaDB whose table t holds the 300-byte row
// "k".
func mysqlBound(tb testing.TB) *sql.DB {
	db := openMySQLPool(tb, testserver.MariaDB(tb))
	execAll(tb, db, mysqlBoundTable...)
	return db
}

// redisBound returns a client to Redis that holds the 300-byte value
// "bench-bound".
func redisBound(tb testing.TB) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: testserver.Redis(tb)})
	tb.Cleanup(func() { rdb.Close() })
	if err := rdb.Set(context.Background(), "bench-bound", make([]byte, 300), 0).Err(); err != nil {
		tb.Fatalf("bench: Redis SET: %v", err)
	}
	return rdb
}

// execOne returns err, or an error when the statement changed other than
// one row.
func execOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("changed %d rows, want 1 (%v)", n, err)
	}
	return nil
}

// opHandler answers "ok" when op succeeds.
func opHandler(op func(context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := op(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})
}

// getHandler answers "ok" when get returns 300 bytes.
func getHandler(get func(context.Context) ([]byte, error)) http.Handler {
	return opHandler(func(ctx context.Context) error {
		data, err := get(ctx)
		if err == nil && len(data) != 300 {
			err = fmt.Errorf("read %d bytes, want 300", len(data))
		}
		return err
	})
}

// BenchmarkRoundTrip measures each bound through the request loop of
// BenchmarkRequest (whose floor it shares), without a cookie. Names:
// RoundTrip/store=postgres/lib=select1.
func BenchmarkRoundTrip(b *testing.B) {
	for _, bd := range bounds {
		b.Run("store="+bd.store+"/lib="+bd.op, func(b *testing.B) {
			serve(b, bd.setup(b), nil)
		})
	}
}

// TestBounds checks that every bound's handler answers 200 "ok".
func TestBounds(t *testing.T) {
	for _, bd := range bounds {
		t.Run(bd.store+"/"+bd.op, func(t *testing.T) {
			resp := do(bd.setup(t), nil)
			if got := body(t, resp); resp.StatusCode != http.StatusOK || got != "ok" {
				t.Fatalf("%s %s: %d %q", bd.store, bd.op, resp.StatusCode, got)
			}
		})
	}
}
