package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/session/internal/testserver"
)

// A bound is the least work that every library must do once for each
// round trip to a store (or, for the file store, for each new session),
// measured through the same request loop as the libraries: a handler with
// no session that only does that work. Its overhead above the floor is a
// lower bound on any library's overhead for a case that makes that round
// trip, which cmd/report uses to tell a target that no library could meet
// from one that sessionkit misses.
type bound struct {
	store, op string
	// setup returns the handler, with everything it opened closed at the
	// end of tb.
	setup func(tb testing.TB) http.Handler
}

// bounds are the round trips of the server stores (the read of one 300-byte
// value by its key, the least that loading a session takes: a primary-key
// SELECT through scs's PostgreSQL client, pgxpool, which caches the prepared
// statement and is the faster client of the two here, and through
// go-sql-driver/mysql; a GET through go-redis; a write costs more than
// this, so it bounds writes too), the creation of one new
// 300-byte file in a directory that grows by one file per request, as the
// file stores' new-session writes do, and for SQLite, which has no round
// trip, the insert of one 300-byte row with a statement prepared once, in a
// table that grows by one row per request, as a new session's is.
var bounds = []bound{
	{"file", "create", func(tb testing.TB) http.Handler {
		dir := tb.TempDir()
		payload := make([]byte, 300)
		var n atomic.Int64
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name := filepath.Join(dir, strconv.FormatInt(n.Add(1), 10))
			if err := os.WriteFile(name, payload, 0o600); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "ok")
		})
	}},
	{"sqlite", "insert", func(tb testing.TB) http.Handler {
		db := openSQLitePool(tb, filepath.Join(tb.TempDir(), "bound.db"))
		execAll(tb, db, `CREATE TABLE t (id TEXT PRIMARY KEY, data BLOB NOT NULL, expiry INTEGER NOT NULL)`)
		st, err := db.Prepare(`INSERT INTO t (id, data, expiry) VALUES (?, ?, ?)`)
		if err != nil {
			tb.Fatalf("bench: SQLite prepare: %v", err)
		}
		tb.Cleanup(func() { st.Close() })
		payload := make([]byte, 300)
		var n atomic.Int64
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := st.ExecContext(r.Context(), strconv.FormatInt(n.Add(1), 10), payload, 1); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "ok")
		})
	}},
	{"postgres", "get", func(tb testing.TB) http.Handler {
		pool := openPgxPool(tb, testserver.Postgres(tb))
		ctx := context.Background()
		for _, q := range []string{`CREATE TABLE t (id TEXT PRIMARY KEY, data BYTEA NOT NULL)`, `INSERT INTO t VALUES ('k', repeat('x', 300)::bytea)`} {
			if _, err := pool.Exec(ctx, q); err != nil {
				tb.Fatalf("bench: PostgreSQL %q: %v", q, err)
			}
		}
		return getHandler(func(ctx context.Context) ([]byte, error) {
			var data []byte
			err := pool.QueryRow(ctx, `SELECT data FROM t WHERE id = $1`, "k").Scan(&data)
			return data, err
		})
	}},
	{"mysql", "get", func(tb testing.TB) http.Handler {
		db := openMySQLPool(tb, testserver.MariaDB(tb))
		execAll(tb, db, `CREATE TABLE t (id VARCHAR(64) PRIMARY KEY, data BLOB NOT NULL)`, `INSERT INTO t VALUES ('k', REPEAT('x', 300))`)
		return getHandler(func(ctx context.Context) ([]byte, error) {
			var data []byte
			err := db.QueryRowContext(ctx, `SELECT data FROM t WHERE id = ?`, "k").Scan(&data)
			return data, err
		})
	}},
	{"redis", "get", func(tb testing.TB) http.Handler {
		rdb := redis.NewClient(&redis.Options{Addr: testserver.Redis(tb)})
		tb.Cleanup(func() { rdb.Close() })
		if err := rdb.Set(context.Background(), "bench-bound", make([]byte, 300), 0).Err(); err != nil {
			tb.Fatalf("bench: Redis SET: %v", err)
		}
		return getHandler(func(ctx context.Context) ([]byte, error) {
			return rdb.Get(ctx, "bench-bound").Bytes()
		})
	}},
}

// getHandler answers "ok" when get returns 300 bytes.
func getHandler(get func(context.Context) ([]byte, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, err := get(r.Context())
		if err == nil && len(data) != 300 {
			err = fmt.Errorf("read %d bytes, want 300", len(data))
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
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
		t.Run(bd.store, func(t *testing.T) {
			resp := do(bd.setup(t), nil)
			if got := body(t, resp); resp.StatusCode != http.StatusOK || got != "ok" {
				t.Fatalf("%s %s: %d %q", bd.store, bd.op, resp.StatusCode, got)
			}
		})
	}
}
