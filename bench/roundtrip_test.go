package bench

import (
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

// bounds are the round trips of the server stores (the cheapest query or
// command their clients can send: SELECT 1 through scs's PostgreSQL client,
// pgxpool, which is the faster of the two here; SELECT 1 through
// go-sql-driver/mysql; PING through go-redis), the creation of one new
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
	{"postgres", "select1", func(tb testing.TB) http.Handler {
		pool := openPgxPool(tb, testserver.Postgres(tb))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var one int
			if err := pool.QueryRow(r.Context(), "SELECT 1").Scan(&one); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "ok")
		})
	}},
	{"mysql", "select1", func(tb testing.TB) http.Handler {
		db := openMySQLPool(tb, testserver.MariaDB(tb))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var one int
			if err := db.QueryRowContext(r.Context(), "SELECT 1").Scan(&one); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "ok")
		})
	}},
	{"redis", "ping", func(tb testing.TB) http.Handler {
		rdb := redis.NewClient(&redis.Options{Addr: testserver.Redis(tb)})
		tb.Cleanup(func() { rdb.Close() })
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := rdb.Ping(r.Context()).Err(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "ok")
		})
	}},
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
