package bench

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/mysqlstore"
	"github.com/alexedwards/scs/pgxstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/cputime"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/redisstore"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// interleavedBlock is how many requests in a row each handler serves before
// the next one's turn: enough that reading the CPU time (a system call)
// twice per block adds little, few enough that a burst of load from
// elsewhere falls on all of them alike.
const interleavedBlock = 16

// BenchmarkInterleavedRead measures the read request with a cookie through
// sessionkit and scs and the store's read round trip with no library (the
// bound) in one loop: each iteration serves a block of requests to each, in
// an order shuffled every iteration (serveInterleaved). The machine's drift
// and bursts of load then fall on all of them alike, which separate
// benchmarks, a second or more apart, cannot promise on a shared machine.
//
// Each client has its own connections, and so its own server processes or
// threads; where the scheduler puts those is luck, kept for the whole
// process, and two identical clients on loopback differed by up to 8.5 µs
// of CPU and 25 µs of wall time per request here. So where the libraries
// can share one client, the three do (interleavedSetups), and with one
// request at a time the client's pool then hands all three the same
// connection: the bound is the same I/O on the same connection. A second
// lane of the bound (bound2) runs beside the first and measures what is
// left of that noise.
//
// One iteration is one request to each; the metrics are per request:
//
//   - bound-ns, bound2-ns, sessionkit-ns, scs-ns: wall time; the same with
//     -cpu-ns: the process's CPU time (where it can be read);
//   - over-ratio and cpu-over-ratio: sessionkit's time above the bound
//     divided by scs's (the target is at most ¼);
//   - null-ratio and null-cpu-ratio: bound2's time above the bound divided
//     by scs's, what that ratio reads for two identical handlers.
//
// Names are key=value pairs for benchstat:
//
//	go test -run '^$' -bench InterleavedRead -cpu 1 -count 8 > il.txt
//	go tool benchstat il.txt
func BenchmarkInterleavedRead(b *testing.B) {
	for _, is := range interleavedSetups {
		b.Run("store="+is.store, func(b *testing.B) {
			bound, sk, scs := is.setup(b)
			lanes := []lane{
				{name: "bound", h: bound},
				{name: "bound2", h: bound},
				{name: "sessionkit", h: sk.handler(actRead), cookie: seed(b, sk)},
				{name: "scs", h: scs.handler(actRead), cookie: seed(b, scs)},
			}
			serveInterleaved(b, lanes)
			n := float64(b.N * interleavedBlock)
			for _, l := range lanes {
				b.ReportMetric(float64(l.wall)/n, l.name+"-ns")
				if l.cpuOK {
					b.ReportMetric(float64(l.cpu)/n, l.name+"-cpu-ns")
				}
			}
			ratio := func(get func(lane) time.Duration, i int) float64 {
				return float64(get(lanes[i])-get(lanes[0])) / float64(get(lanes[3])-get(lanes[0]))
			}
			wall := func(l lane) time.Duration { return l.wall }
			cpu := func(l lane) time.Duration { return l.cpu }
			b.ReportMetric(ratio(wall, 2), "over-ratio")
			b.ReportMetric(ratio(wall, 1), "null-ratio")
			if lanes[0].cpuOK {
				b.ReportMetric(ratio(cpu, 2), "cpu-over-ratio")
				b.ReportMetric(ratio(cpu, 1), "null-cpu-ratio")
			}
		})
	}
}

// An interleavedSetup sets up, on one store, the bound's handler and the
// two libraries, with everything closed at the end of tb.
type interleavedSetup struct {
	store string
	setup func(tb testing.TB) (bound http.Handler, sessionkit, scs contender)
}

// interleavedSetups are the stores where the read with a cookie is to cost
// sessionkit at most a quarter of scs's overhead above the bound. The three
// share one client where they can:
//   - MySQL: one go-sql-driver/mysql pool (sqlstore.New on it: the same
//     driver-level read as sqlstore.Open's pools);
//   - Redis: one go-redis client;
//   - PostgreSQL: the bound runs pgx's own QueryRow on a connection of
//     sessionkit's pool (database/sql's checkout of it included), as
//     sessionkit's read does; scs's pgxstore needs
//     a pgxpool of its own;
//   - SQLite: no server and no connection to share; each library has its
//     pool, as in BenchmarkRequest, and the bound the one of its
//     BenchmarkRoundTrip (sessionkit's prepared-statement path needs
//     sqlstore.Open's pool).
var interleavedSetups = []interleavedSetup{
	{"sqlite", func(tb testing.TB) (http.Handler, contender, contender) {
		c := pairingOf(tb, "sqlite").setup(tb)
		return boundHandler(tb, "sqlite", "get"), c[0], c[1]
	}},
	{"postgres", func(tb testing.TB) (http.Handler, contender, contender) {
		rawURL := testserver.Postgres(tb)
		st, err := sqlstore.Open(context.Background(), rawURL, sqlstore.Options{})
		if err != nil {
			tb.Fatalf("bench: sqlstore.Open: %v", err)
		}
		tb.Cleanup(func() { st.Close() })
		db := st.DB()
		execAll(tb, db, pgBoundTable...)
		bound := getHandler(func(ctx context.Context) (data []byte, err error) {
			conn, err := db.Conn(ctx)
			if err != nil {
				return nil, err
			}
			defer conn.Close()
			err = conn.Raw(func(dc any) error {
				pc, err := pgxConn(dc)
				if err != nil {
					return err
				}
				return pc.QueryRow(ctx, `SELECT data FROM t WHERE id = $1`, "k").Scan(&data)
			})
			return data, err
		})
		m := storetest.NewManager(tb, st, session.Config{})
		return bound, sessionkitContender(m), scsContender(newSCS(pgxstore.NewWithCleanupInterval(openPgx(tb, testserver.Postgres(tb)), 0)))
	}},
	{"mysql", func(tb testing.TB) (http.Handler, contender, contender) {
		db := openMySQL(tb, testserver.MariaDB(tb))
		execAll(tb, db, mysqlBoundTable...)
		st, err := sqlstore.New(context.Background(), db, sqlstore.MySQL, sqlstore.Options{Table: "sessionkit"})
		if err != nil {
			tb.Fatalf("bench: sqlstore.New: %v", err)
		}
		bound := getHandler(func(ctx context.Context) (data []byte, err error) {
			err = db.QueryRowContext(ctx, `SELECT data FROM t WHERE id = ?`, "k").Scan(&data)
			return data, err
		})
		m := storetest.NewManager(tb, st, session.Config{})
		return bound, sessionkitContender(m), scsContender(newSCS(mysqlstore.NewWithCleanupInterval(db, 0)))
	}},
	{"redis", func(tb testing.TB) (http.Handler, contender, contender) {
		rdb := redisBound(tb)
		st, err := redisstore.New(rdb, redisstore.Options{})
		if err != nil {
			tb.Fatalf("bench: redisstore.New: %v", err)
		}
		bound := getHandler(func(ctx context.Context) ([]byte, error) {
			return rdb.Get(ctx, "bench-bound").Bytes()
		})
		m := storetest.NewManager(tb, st, session.Config{})
		return bound, sessionkitContender(m), scsContender(newSCS(goredisstore.New(rdb)))
	}},
}

// pgxConn returns the pgx connection under dc, a driver connection of
// sqlstore.Open's PostgreSQL pools (which wraps pgx's stdlib.Conn).
func pgxConn(dc any) (*pgx.Conn, error) {
	if u, ok := dc.(interface{ Unwrap() driver.Conn }); ok {
		dc = u.Unwrap()
	}
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		return nil, fmt.Errorf("bench: driver connection %T is not pgx's", dc)
	}
	return sc.Conn(), nil
}

// pairingOf returns the pairing of store.
func pairingOf(tb testing.TB, store string) pairing {
	for _, p := range pairings {
		if p.store == store {
			return p
		}
	}
	tb.Fatalf("bench: no pairing %s", store)
	return pairing{}
}

// A lane is one handler of BenchmarkInterleavedRead, with the time its
// requests took.
type lane struct {
	name   string
	h      http.Handler
	cookie *http.Cookie
	wall   time.Duration
	cpu    time.Duration
	cpuOK  bool
}

// serveInterleaved is serve for several handlers at once: each iteration
// visits every lane once, in an order shuffled anew each iteration, and
// there serves one request untimed, then interleavedBlock requests whose
// wall and CPU time it adds to the lane. The untimed request takes what
// switching from another lane costs the first request (the lane's
// connection, and the server process or thread behind it, have been idle
// meanwhile; its code is out of the caches), which a server running one
// library never pays.
func serveInterleaved(b *testing.B, lanes []lane) {
	tmpls := make([]*http.Request, len(lanes))
	order := make([]int, len(lanes))
	for i, l := range lanes {
		tmpls[i] = httptest.NewRequest("GET", "/", nil)
		if l.cookie != nil {
			tmpls[i].AddCookie(l.cookie)
		}
		order[i] = i
		lanes[i].cpuOK = true
	}
	conn, stop := connContext()
	defer stop()
	serveOne := func(i int) {
		ctx, cancel := context.WithCancel(conn)
		w := httptest.NewRecorder()
		lanes[i].h.ServeHTTP(w, tmpls[i].WithContext(ctx))
		cancel()
		if w.Code != http.StatusOK {
			b.Fatalf("%s: status %d: %s", lanes[i].name, w.Code, w.Body)
		}
	}
	for b.Loop() {
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			serveOne(i)
			cpu0, ok0 := cputime.Now()
			t0 := time.Now()
			for range interleavedBlock {
				serveOne(i)
			}
			l := &lanes[i]
			l.wall += time.Since(t0)
			cpu1, ok1 := cputime.Now()
			l.cpu += cpu1 - cpu0
			l.cpuOK = l.cpuOK && ok0 && ok1
		}
	}
}

// boundHandler returns the handler of the bound op on store.
func boundHandler(tb testing.TB, store, op string) http.Handler {
	for _, bd := range bounds {
		if bd.store == store && bd.op == op {
			return bd.setup(tb)
		}
	}
	tb.Fatalf("bench: no bound %s/%s", store, op)
	return nil
}
