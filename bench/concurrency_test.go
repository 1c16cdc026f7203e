package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/mysqlstore"
	"github.com/alexedwards/scs/pgxstore"
	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/cputime"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/memcachedstore" // also registers "memcached"
	"github.com/sessionkit/session/storetest"
)

// clientLevels are the numbers of concurrent clients BenchmarkConcurrentRead
// measures.
var clientLevels = []int{1, 8, 64, 256}

// A loadPairing is one server store under concurrent reads: its bound (the
// store's read round trip made by the store's own client inside the same
// in-process request, with no library: a handler with no session that only
// reads one 300-byte value by its key) and the libraries that have the store.
type loadPairing struct {
	store string
	// bound returns the bound's handler.
	bound func(tb testing.TB) http.Handler
	// setup returns the contenders, sessionkit first.
	setup func(tb testing.TB) []contender
}

// Every pool is the size of sessionkit's own for the store (sqlstore.Open's
// 16 connections; go-redis's default, 10 per CPU, which redisstore keeps;
// memcachedstore.Open's 100 idle connections per server), for the bound and
// scs alike: a pool of another size would measure the pool, not the library.
var loadPairings = []loadPairing{
	{"postgres",
		func(tb testing.TB) http.Handler {
			pool := pgBoundOn(tb, pgPool16(testserver.Postgres(tb)))
			return getHandler(func(ctx context.Context) (data []byte, err error) {
				err = pool.QueryRow(ctx, `SELECT data FROM t WHERE id = $1`, "k").Scan(&data)
				return data, err
			})
		},
		func(tb testing.TB) []contender {
			m := storetest.NewManager(tb, nil, session.Config{Driver: "database", Connection: testserver.Postgres(tb)})
			pool := openPgx(tb, pgPool16(testserver.Postgres(tb)))
			return []contender{sessionkitContender(m), scsContender(newSCS(pgxstore.NewWithCleanupInterval(pool, 0)))}
		}},
	{"mysql",
		func(tb testing.TB) http.Handler {
			db := mysqlBound(tb)
			return getHandler(func(ctx context.Context) (data []byte, err error) {
				err = db.QueryRowContext(ctx, `SELECT data FROM t WHERE id = ?`, "k").Scan(&data)
				return data, err
			})
		},
		func(tb testing.TB) []contender {
			m := storetest.NewManager(tb, nil, session.Config{Driver: "database", Connection: testserver.MariaDB(tb)})
			db := openMySQL(tb, testserver.MariaDB(tb))
			return []contender{sessionkitContender(m), scsContender(newSCS(mysqlstore.NewWithCleanupInterval(db, 0)))}
		}},
	{"redis",
		func(tb testing.TB) http.Handler {
			rdb := redisBound(tb)
			return getHandler(func(ctx context.Context) ([]byte, error) {
				return rdb.Get(ctx, "bench-bound").Bytes()
			})
		},
		func(tb testing.TB) []contender {
			addr := testserver.Redis(tb)
			m := storetest.NewManager(tb, nil, session.Config{Driver: "redis", Connection: "redis://" + addr + "/0"})
			rdb := redis.NewClient(&redis.Options{Addr: addr})
			tb.Cleanup(func() { rdb.Close() })
			return []contender{sessionkitContender(m), scsContender(newSCS(goredisstore.New(rdb)))}
		}},
	{"redis-cluster",
		func(tb testing.TB) http.Handler {
			rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testserver.RedisCluster(tb)})
			tb.Cleanup(func() { rdb.Close() })
			if err := rdb.Set(context.Background(), "bench-bound", make([]byte, 300), 0).Err(); err != nil {
				tb.Fatalf("bench: Redis Cluster SET: %v", err)
			}
			return getHandler(func(ctx context.Context) ([]byte, error) {
				return rdb.Get(ctx, "bench-bound").Bytes()
			})
		},
		func(tb testing.TB) []contender {
			url := "redis+cluster://" + strings.Join(testserver.RedisCluster(tb), ",")
			m := storetest.NewManager(tb, nil, session.Config{Driver: "redis", Connection: url})
			return []contender{sessionkitContender(m)} // scs's goredisstore takes a single-server client
		}},
	{"memcached",
		func(tb testing.TB) http.Handler {
			mc := memcache.New(testserver.Memcached(tb))
			mc.MaxIdleConns = memcachedstore.DefaultMaxIdleConns
			tb.Cleanup(func() { mc.Close() })
			if err := mc.Set(&memcache.Item{Key: "bench-bound", Value: make([]byte, 300)}); err != nil {
				tb.Fatalf("bench: memcached set: %v", err)
			}
			return getHandler(func(context.Context) ([]byte, error) {
				it, err := mc.Get("bench-bound")
				if err != nil {
					return nil, err
				}
				return it.Value, nil
			})
		},
		func(tb testing.TB) []contender {
			m := storetest.NewManager(tb, nil, session.Config{Driver: "memcached", Connection: "memcached://" + testserver.Memcached(tb)})
			return []contender{sessionkitContender(m)} // scs has no memcached store
		}},
}

// BenchmarkConcurrentRead measures throughput and latency of the read
// handler with a cookie under 1, 8, 64 and 256 concurrent clients per
// server store: lib=bound (the store's read round trip with no library), then
// sessionkit, then scs where scs has the store. Each client is a goroutine
// with a session of its own that sends its next request as soon as the last
// one is answered, in process (the handler's ServeHTTP with a request
// context from connContext). b.N requests are shared among the clients;
// besides ns/op (wall time over b.N) it reports req/s, the 50th and 99th
// percentile of the requests' latencies (p50-ns, p99-ns), and the CPU time
// this process (clients, library and store client; not the store's server)
// spent per request (cpu-ns/op). Run it at the
// default GOMAXPROCS with a fixed -benchtime:
//
//	go test -run '^$' -bench ConcurrentRead -benchtime 4s -count 3 > conc.txt
//	go tool benchstat -table /store -row /clients -col /lib conc.txt
func BenchmarkConcurrentRead(b *testing.B) {
	for _, p := range loadPairings {
		b.Run("store="+p.store, func(b *testing.B) {
			bound := p.bound(b)
			contenders := p.setup(b)
			maxClients := slices.Max(clientLevels)
			cookies := make([][]*http.Cookie, len(contenders))
			for i, c := range contenders {
				cookies[i] = make([]*http.Cookie, maxClients)
				for j := range cookies[i] {
					cookies[i][j] = seed(b, c)
				}
			}
			for _, n := range clientLevels {
				b.Run("clients="+strconv.Itoa(n)+"/lib=bound", func(b *testing.B) {
					serveConcurrent(b, bound, []*http.Cookie{nil}, n)
				})
				for i, c := range contenders {
					b.Run("clients="+strconv.Itoa(n)+"/lib="+c.lib, func(b *testing.B) {
						serveConcurrent(b, c.handler(actRead), cookies[i][:n], n)
					})
				}
			}
		})
	}
}

// serveConcurrent serves b.N requests through h from clients goroutines,
// client i with cookies[i mod len(cookies)] (nil: no cookie), and reports
// req/s, p50-ns, p99-ns and cpu-ns/op beside ns/op.
func serveConcurrent(b *testing.B, h http.Handler, cookies []*http.Cookie, clients int) {
	tmpls := make([]*http.Request, clients)
	for i := range tmpls {
		tmpls[i] = httptest.NewRequest("GET", "/", nil)
		if c := cookies[i%len(cookies)]; c != nil {
			tmpls[i].AddCookie(c)
		}
	}
	lat := make([][]time.Duration, clients)
	for i := range lat {
		lat[i] = make([]time.Duration, 0, b.N/clients+1)
	}
	var (
		issued atomic.Int64
		failed atomic.Pointer[string]
		wg     sync.WaitGroup
	)
	b.ReportAllocs()
	b.ResetTimer()
	report := cputime.Report(b)
	start := time.Now()
	for i := range clients {
		wg.Go(func() {
			conn, stop := connContext()
			defer stop()
			for issued.Add(1) <= int64(b.N) {
				t0 := time.Now()
				ctx, cancel := context.WithCancel(conn)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, tmpls[i].WithContext(ctx))
				cancel()
				lat[i] = append(lat[i], time.Since(t0))
				if w.Code != http.StatusOK {
					msg := w.Body.String()
					failed.CompareAndSwap(nil, &msg)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	report()
	b.StopTimer()
	if msg := failed.Load(); msg != nil {
		b.Fatalf("a request failed: %s", *msg)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(percentile(all, 0.50)), "p50-ns")
	b.ReportMetric(float64(percentile(all, 0.99)), "p99-ns")
}

// percentile returns the q-quantile of sorted (nearest rank), 0 for none.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// pgPool16 is rawURL (a PostgreSQL URL with a query) with pgxpool's pool
// size set to sqlstore.Open's, 16 connections (pgx's default is 4 on 2
// CPUs).
func pgPool16(rawURL string) string {
	sep := "?"
	if strings.Contains(rawURL, "?") {
		sep = "&"
	}
	return rawURL + sep + "pool_max_conns=16"
}
