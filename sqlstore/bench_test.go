package sqlstore_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/cputime"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// BenchmarkRequest measures one request through the middleware per dialect
// with storetest.BenchmarkRequests, as the root package's BenchmarkRequest
// does for the memory and file stores: a new visitor whose handler puts a
// value (new), an existing session read (read), written (write), and not
// touched (untouched). The servers run on loopback with fsync off
// (PostgreSQL) or no flush at commit (MariaDB); SQLite runs in WAL mode with
// synchronous=NORMAL.
//
//	go test -run '^$' -bench Request ./sqlstore/
func BenchmarkRequest(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			storetest.BenchmarkRequests(b, openStore(b, be.newURL(b), sqlstore.Options{}))
		})
	}
}

// BenchmarkLoad measures Load of a live 300-byte record beside its bound:
// the same query (lib=sql: SELECT payload, expiresAt ... WHERE id = ?)
// through database/sql on the Store's own pool, prepared
// once for SQLite, with a context that can be cancelled, as a served
// request's can (database/sql, and modernc.org/sqlite, watch such a
// context with a goroutine per query). lib=load-timeout adds the child
// context with a deadline that the Manager's StoreTimeout gives each store
// call. Besides ns/op it reports cpu-ns/op, the process's CPU time per
// operation, which varies far less on a busy machine:
//
//	go test -run '^$' -bench Load -cpu 1 ./sqlstore/
func BenchmarkLoad(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			st := openStore(b, be.newURL(b), sqlstore.Options{})
			id := storetest.NewID()
			if ok, err := st.Swap(b.Context(), id, nil, []byte(strings.Repeat("x", 300)), time.Now().Add(time.Hour)); !ok || err != nil {
				b.Fatalf("Swap = (%v, %v)", ok, err)
			}
			q := `SELECT payload, expiresAt FROM sessions WHERE id = ?`
			switch be.dialect {
			case sqlstore.Postgres:
				q = `SELECT payload, "expiresAt" FROM sessions WHERE id = $1`
			case sqlstore.MySQL:
				q = strings.ReplaceAll(q, "expiresAt", "`expiresAt`")
			}
			stmt, err := st.DB().Prepare(q)
			if err != nil {
				b.Fatal(err)
			}
			defer stmt.Close()
			check := func(data []byte, found bool, err error) {
				if err != nil || !found || len(data) != 300 {
					b.Fatalf("read %d bytes, found %v, error %v", len(data), found, err)
				}
			}
			b.Run("lib=sql", func(b *testing.B) {
				measureCalls(b, func(ctx context.Context) {
					var (
						data []byte
						ex   int64
						err  error
					)
					if be.dialect == sqlstore.SQLite {
						err = stmt.QueryRowContext(ctx, id).Scan(&data, &ex)
					} else {
						err = st.DB().QueryRowContext(ctx, q, id).Scan(&data, &ex)
					}
					check(data, err == nil, err)
				})
			})
			b.Run("lib=load", func(b *testing.B) {
				measureCalls(b, func(ctx context.Context) {
					data, _, found, err := st.Load(ctx, id)
					check(data, found, err)
				})
			})
			b.Run("lib=load-timeout", func(b *testing.B) {
				measureCalls(b, func(ctx context.Context) {
					ctx, cancel := context.WithTimeout(ctx, session.DefaultStoreTimeout)
					data, _, found, err := st.Load(ctx, id)
					cancel()
					check(data, found, err)
				})
			})
		})
	}
}

// measureCalls runs call in b's loop, each time with a context of its own
// that is cancelled after the call (as a request's is when its handler
// returns), and reports cpu-ns/op where the CPU time can be measured.
func measureCalls(b *testing.B, call func(ctx context.Context)) {
	b.ReportAllocs()
	report := cputime.Report(b)
	for b.Loop() {
		ctx, cancel := context.WithCancel(b.Context())
		call(ctx)
		cancel()
	}
	report()
}

// Sizes of BenchmarkSweep.
const (
	sweepLive    = 1_000_000
	sweepExpired = 100_000
)

// BenchmarkSweep measures one Sweep removing 100,000 expired rows from a
// table that also holds 1,000,000 live ones, in the default batches and in
// one statement. It needs SESSIONKIT_BIG=1 (filling the tables takes a while
// and some disk):
//
//	SESSIONKIT_BIG=1 go test -run '^$' -bench Sweep -benchtime 3x ./sqlstore/
func BenchmarkSweep(b *testing.B) {
	if os.Getenv("SESSIONKIT_BIG") != "1" {
		b.Skip("set SESSIONKIT_BIG=1 to sweep 100,000 of 1,100,000 rows")
	}
	const lifetime = time.Hour
	payload := `{"v":1,"data":{"user":{"id":42,"name":"Ana"},"cart":["apple","pear"]},"token":"` + strings.Repeat("t", 43) + `","flash":{}}`
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			rawURL := be.newURL(b)
			for _, batch := range []struct {
				name string
				size int
			}{{"batch5000", 0}, {"unbatched", -1}} {
				b.Run(batch.name, func(b *testing.B) {
					table := "sweep_" + batch.name
					st := openStore(b, rawURL, sqlstore.Options{Table: table, Lifetime: lifetime, SweepBatch: batch.size})
					ctx := context.Background()
					now := time.Now().Unix()
					start := time.Now()
					fill(b, st, be.dialect, table, "live", sweepLive, payload, now, time.Now().Add(lifetime).UnixMilli())
					b.Logf("filled %d live rows in %v", sweepLive, time.Since(start))
					for b.Loop() {
						b.StopTimer()
						fill(b, st, be.dialect, table, "dead", sweepExpired, payload, now-int64(lifetime/time.Second)-3600, time.Now().Add(-time.Hour).UnixMilli())
						b.StartTimer()
						n, err := st.Sweep(ctx)
						if err != nil || n != sweepExpired {
							b.Fatalf("Sweep = (%d, %v), want (%d, nil)", n, err, sweepExpired)
						}
					}
					b.ReportMetric(float64(sweepExpired)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				})
			}
		})
	}
}

// fill inserts n rows with IDs prefix+number, server-side.
func fill(b testing.TB, st *sqlstore.Store, d sqlstore.Dialect, table, prefix string, n int, payload string, lastActivity, expiresAt int64) {
	b.Helper()
	var q string
	switch d {
	case sqlstore.SQLite:
		q = `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?3)
			INSERT INTO ` + table + ` (id, payload, lastActivity, expiresAt) SELECT printf('%s%039d', ?4, i), ?1, ?2, ?5 FROM c`
	case sqlstore.Postgres:
		q = `INSERT INTO ` + table + ` (id, payload, "lastActivity", "expiresAt")
			SELECT $4 || lpad(i::text, 39, '0'), $1, $2, $5 FROM generate_series(1, $3) i`
	default:
		q = "INSERT INTO " + table + " (id, payload, lastActivity, expiresAt) SELECT CONCAT(?, LPAD(seq, 39, '0')), ?, ?, ? FROM seq_1_to_" + strconv.Itoa(n)
		if _, err := st.DB().Exec(q, prefix, payload, lastActivity, expiresAt); err != nil {
			b.Fatal(err)
		}
		return
	}
	if _, err := st.DB().Exec(q, payload, lastActivity, n, prefix, expiresAt); err != nil {
		b.Fatal(err)
	}
}
