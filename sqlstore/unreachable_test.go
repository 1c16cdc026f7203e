package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/faultproxy"
	"github.com/sessionkit/session/internal/faulttest"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// serverBackends are the backends reached over the network.
func serverBackends() []backend { return backends[1:] }

// withHost returns rawURL with its host:port replaced.
func withHost(t testing.TB, rawURL, hostPort string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = hostPort
	return u.String()
}

// An unreachable server is an error at once, and a server that never
// answers is an error when the context's deadline passes: never a hang.
func TestOpenUnreachable(t *testing.T) {
	for _, b := range serverBackends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			port, err := testserver.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			// A port nobody listens on (the scheme is all that matters).
			raw := map[sqlstore.Dialect]string{
				sqlstore.Postgres: "postgres://postgres@127.0.0.1:1/x?sslmode=disable",
				sqlstore.MySQL:    "mysql://root@127.0.0.1:1/x",
			}[b.dialect]
			closed := withHost(t, raw, fmt.Sprintf("127.0.0.1:%d", port))
			start := time.Now()
			_, err = sqlstore.Open(t.Context(), closed, sqlstore.Options{})
			if err == nil || !strings.HasPrefix(err.Error(), "sqlstore: ") {
				t.Errorf("Open on a closed port: error = %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Open on a closed port took %v", d)
			}

			// A server that accepts and says nothing.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var held []net.Conn
			var mu sync.Mutex
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					mu.Lock()
					held = append(held, c)
					mu.Unlock()
				}
			}()
			defer func() {
				mu.Lock()
				for _, c := range held {
					c.Close()
				}
				mu.Unlock()
			}()
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			start = time.Now()
			_, err = sqlstore.Open(ctx, withHost(t, raw, ln.Addr().String()), sqlstore.Options{})
			if err == nil {
				t.Fatal("Open on a silent server succeeded")
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Open on a silent server with a 300ms deadline took %v", d)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Logf("note: Open on a silent server: %v (not context.DeadlineExceeded)", err)
			}
		})
	}
}

// A database that stalls or goes away makes requests fail promptly (within
// their deadline) with a 500, and the first request after it is back works.
func TestDatabaseOutage(t *testing.T) {
	for _, b := range serverBackends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			rawURL := b.newURL(t)
			u, _ := url.Parse(rawURL)
			p := faulttest.Proxy(t, u.Host, faultproxy.Up)
			st := openStore(t, withHost(t, rawURL, p.Addr()), sqlstore.Options{})
			m := storetest.NewManager(t, st, session.Config{})
			h := handler(m, func(s *session.Session) { s.Put("n", 1) })
			cookie := sessionCookie(t, request(h, nil))

			// timed runs a request with a deadline of d and returns its status
			// and how long it took.
			timed := func(d time.Duration) (int, time.Duration) {
				ctx, cancel := context.WithTimeout(context.Background(), d)
				defer cancel()
				r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
				r.AddCookie(cookie)
				w := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(w, r)
				return w.Code, time.Since(start)
			}

			// Stalled: the request's deadline bounds it.
			p.Set(faultproxy.Hang)
			code, took := timed(300 * time.Millisecond)
			if code != http.StatusInternalServerError || took > 3*time.Second {
				t.Errorf("request while the database stalls: status %d after %v, want 500 within the 300ms deadline", code, took)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			start := time.Now()
			_, _, _, err := st.Load(ctx, storetest.NewID())
			cancel()
			if err == nil || time.Since(start) > 3*time.Second {
				t.Errorf("Load while the database stalls: error %v after %v", err, time.Since(start))
			}
			p.Set(faultproxy.Up)
			if code, _ := timed(10 * time.Second); code != http.StatusOK {
				t.Errorf("first request after the stall: status %d", code)
			}

			// Gone: connections cut, new ones refused. First fill the pool
			// with idle connections, which all die.
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() { defer wg.Done(); timed(10 * time.Second) }()
			}
			wg.Wait()
			p.Set(faultproxy.Down)
			code, took = timed(10 * time.Second)
			if code != http.StatusInternalServerError || took > 5*time.Second {
				t.Errorf("request while the database is down: status %d after %v, want a prompt 500", code, took)
			}
			p.Set(faultproxy.Up)
			// Every request after it is back works, although the pool still
			// holds dead connections.
			for i := range 10 {
				if code, _ := timed(10 * time.Second); code != http.StatusOK {
					t.Errorf("request %d after the database came back: status %d", i+1, code)
				}
			}
		})
	}
}

// With DeferUnreachable, Open returns a Store while the database cannot be
// reached; its calls fail with ErrNotReady until the database is back, when
// the first call creates the table (once, however many calls race for it)
// and the Store works.
func TestDeferUnreachable(t *testing.T) {
	for _, b := range serverBackends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			direct := b.newURL(t)
			u, err := url.Parse(direct)
			if err != nil {
				t.Fatal(err)
			}
			p := faulttest.Proxy(t, u.Host, faultproxy.Down)
			st, err := sqlstore.Open(t.Context(), withHost(t, direct, p.Addr()), sqlstore.Options{DeferUnreachable: true})
			if err != nil {
				t.Fatalf("Open with the database down and DeferUnreachable: %v", err)
			}
			defer st.Close()

			id := storetest.NewID()
			put := func(ctx context.Context, id string) error {
				return st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) {
					return []byte("v"), time.Now().Add(time.Hour), nil
				})
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			_, _, _, loadErr := st.Load(ctx, id)
			calls := map[string]error{
				"Load":   loadErr,
				"Update": put(ctx, id),
				"Delete": st.Delete(ctx, id),
				"Touch":  st.Touch(ctx, id, time.Now().Add(time.Hour)),
				"List":   st.List(ctx, func(string, time.Time) bool { return true }),
			}
			_, calls["Sweep"] = st.Sweep(ctx)
			_, calls["SweepBatch"] = st.SweepBatch(ctx, 10)
			_, calls["Swap"] = st.Swap(ctx, id, nil, []byte("v"), time.Now().Add(time.Hour))
			calls["Move"] = st.Move(ctx, id, storetest.NewID(), func(d []byte, _ bool) ([]byte, time.Time, error) {
				return d, time.Now().Add(time.Hour), nil
			})
			for name, err := range calls {
				if !errors.Is(err, sqlstore.ErrNotReady) || !strings.HasPrefix(err.Error(), "sqlstore: ") {
					t.Errorf("%s with the database down: error %v, want one wrapping ErrNotReady", name, err)
				}
			}

			p.Set(faultproxy.Up)
			var wg sync.WaitGroup
			ids := make([]string, 8)
			for i := range ids {
				ids[i] = storetest.NewID()
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := put(t.Context(), ids[i]); err != nil {
						t.Errorf("Update %d once the database is up: %v", i, err)
					}
				}()
			}
			wg.Wait()
			for i, id := range ids {
				if data, _, found, err := st.Load(t.Context(), id); err != nil || !found || string(data) != "v" {
					t.Errorf("Load %d: %q, %v, %v", i, data, found, err)
				}
			}
			// The table exists for others, too.
			check, err := sqlstore.Open(t.Context(), direct, sqlstore.Options{SkipCreate: true})
			if err != nil {
				t.Fatalf("the table after the first calls: %v", err)
			}
			check.Close()
		})
	}
}

// DeferUnreachable defers only an unreachable database: an unusable table,
// a database the server does not know, a bad URL and a SQLite file that
// cannot be opened still fail at once.
func TestDeferUnreachableFailsFast(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		rawURL := b.newURL(t)
		db := appPool(t, b.dialect, rawURL)
		if _, err := db.ExecContext(t.Context(), "CREATE TABLE snake (id VARCHAR(128) PRIMARY KEY, payload TEXT, last_activity BIGINT)"); err != nil {
			t.Fatal(err)
		}
		opts := sqlstore.Options{Table: "snake", DeferUnreachable: true}
		if st, err := sqlstore.Open(t.Context(), rawURL, opts); err == nil {
			st.Close()
			t.Error("Open on an unusable table with DeferUnreachable succeeded")
		} else if !errors.Is(err, sqlstore.ErrSchema) {
			t.Errorf("Open on an unusable table with DeferUnreachable: error %v, want ErrSchema", err)
		}
		if _, err := sqlstore.New(t.Context(), db, b.dialect, opts); !errors.Is(err, sqlstore.ErrSchema) {
			t.Errorf("New on an unusable table with DeferUnreachable: error %v, want ErrSchema", err)
		}

		var other string
		switch b.dialect {
		case sqlstore.SQLite:
			other = "sqlite://" + filepath.Join(t.TempDir(), "no", "such", "dir", "s.db")
		default:
			u, err := url.Parse(rawURL)
			if err != nil {
				t.Fatal(err)
			}
			u.Path = "/no_such_database_sk"
			other = u.String()
		}
		if st, err := sqlstore.Open(t.Context(), other, sqlstore.Options{DeferUnreachable: true}); err == nil {
			st.Close()
			t.Errorf("Open of %s with DeferUnreachable succeeded", other)
		} else {
			t.Logf("Open of a missing database: %v", err)
		}
	})
	if _, err := sqlstore.Open(t.Context(), "nosuch://x", sqlstore.Options{DeferUnreachable: true}); !errors.Is(err, session.ErrConfig) {
		t.Errorf("Open of a bad URL with DeferUnreachable: error %v, want ErrConfig", err)
	}
}

// After an outage has emptied the pool, setting up a connection takes longer
// than a call may wait. Calls fail at their deadline, but the setups they
// abandoned go on and feed the pool, so calls work again without a restart.
func TestSlowReconnect(t *testing.T) {
	const (
		callTimeout = 200 * time.Millisecond
		setupDelay  = time.Second // well beyond callTimeout
	)
	for _, b := range serverBackends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			rawURL := b.newURL(t)
			u, err := url.Parse(rawURL)
			if err != nil {
				t.Fatal(err)
			}
			p := faulttest.Proxy(t, u.Host, faultproxy.Up)
			st := openStore(t, withHost(t, rawURL, p.Addr()), sqlstore.Options{})
			id := storetest.NewID()
			err = st.Update(t.Context(), id, func([]byte, bool) ([]byte, time.Time, error) {
				return []byte("v"), time.Now().Add(time.Hour), nil
			})
			if err != nil {
				t.Fatal(err)
			}

			p.Set(faultproxy.Down) // every connection of the pool dies
			p.SetConnectDelay(setupDelay)
			p.Set(faultproxy.Up)
			load := func() error {
				ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
				defer cancel()
				data, _, found, err := st.Load(ctx, id)
				if err == nil && (!found || string(data) != "v") {
					t.Fatalf("Load: %q, found %v", data, found)
				}
				return err
			}
			failed, ok := 0, 0
			var last error
			for deadline := time.Now().Add(30 * time.Second); ok < 5; {
				if time.Now().After(deadline) {
					t.Fatalf("calls did not recover within 30s: %d failed (last: %v), %d in a row succeeded", failed, last, ok)
				}
				if last = load(); last != nil {
					failed, ok = failed+1, 0
				} else {
					ok++
				}
			}
			if failed == 0 {
				t.Errorf("no call failed, although setting up a connection takes %v and a call may wait %v", setupDelay, callTimeout)
			}
			t.Logf("%d calls failed before 5 in a row succeeded", failed)
		})
	}
}

// blackholeConnector plays a database whose address drops every packet:
// Connect records the deadline of its context and returns when it ends.
type blackholeConnector struct {
	mu        sync.Mutex
	deadlines []time.Time // of each Connect; the zero Time for none
}

func (c *blackholeConnector) Connect(ctx context.Context) (driver.Conn, error) {
	d, _ := ctx.Deadline()
	c.mu.Lock()
	c.deadlines = append(c.deadlines, d)
	c.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

func (c *blackholeConnector) Driver() driver.Driver { return nil }

// last returns the deadline of the last Connect, and how many there were.
func (c *blackholeConnector) last() (time.Time, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.deadlines) == 0 {
		return time.Time{}, 0
	}
	return c.deadlines[len(c.deadlines)-1], len(c.deadlines)
}

// With DeferUnreachable, New's attempt to reach the database is bounded by
// Options.DeferAfter (DefaultDeferAfter when zero; none when negative) on
// top of ctx, and only that attempt: the deferred setup that a call runs
// has the call's context. Without DeferUnreachable, DeferAfter is unused.
func TestDeferAfter(t *testing.T) {
	cases := []struct {
		name  string
		opts  sqlstore.Options
		ctx   time.Duration // the deadline of New's context
		bound time.Duration // the deadline of the first Connect, after New's start; 0: ctx's
		fails bool
	}{
		{"configured", sqlstore.Options{DeferUnreachable: true, DeferAfter: 250 * time.Millisecond}, time.Minute, 250 * time.Millisecond, false},
		{"default", sqlstore.Options{DeferUnreachable: true}, time.Minute, sqlstore.DefaultDeferAfter, false},
		{"later than ctx", sqlstore.Options{DeferUnreachable: true, DeferAfter: time.Minute}, 300 * time.Millisecond, 0, false},
		{"negative", sqlstore.Options{DeferUnreachable: true, DeferAfter: -1}, 300 * time.Millisecond, 0, false},
		{"not deferring", sqlstore.Options{DeferAfter: 100 * time.Millisecond}, 300 * time.Millisecond, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &blackholeConnector{}
			db := sql.OpenDB(c)
			defer db.Close()
			ctx, cancel := context.WithTimeout(t.Context(), tc.ctx)
			defer cancel()
			ctxDeadline, _ := ctx.Deadline()
			before := time.Now()
			st, err := sqlstore.New(ctx, db, sqlstore.Postgres, tc.opts)
			switch {
			case tc.fails && err == nil:
				t.Fatal("New on a database that never answers succeeded without DeferUnreachable")
			case !tc.fails && err != nil:
				t.Fatalf("New with DeferUnreachable on a database that never answers: %v", err)
			}
			d, n := c.last()
			switch {
			case n == 0:
				t.Fatal("New never connected")
			case tc.bound == 0 && !d.Equal(ctxDeadline):
				t.Errorf("the first Connect's deadline is %v after New's start, want ctx's (%v after)", d.Sub(before), ctxDeadline.Sub(before))
			case tc.bound != 0 && (d.Before(before.Add(tc.bound)) || d.After(before.Add(tc.bound+time.Second))):
				t.Errorf("the first Connect's deadline is %v after New's start, want %v", d.Sub(before), tc.bound)
			}
			if st == nil {
				return
			}
			// The deferred setup runs on the call's context only.
			cctx, ccancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer ccancel()
			callDeadline, _ := cctx.Deadline()
			if _, _, _, err := st.Load(cctx, storetest.NewID()); !errors.Is(err, sqlstore.ErrNotReady) {
				t.Errorf("Load while the database never answers: %v, want an error wrapping ErrNotReady", err)
			}
			if d, m := c.last(); m == n || !d.Equal(callDeadline) {
				t.Errorf("the deferred setup's Connect (%d after New's %d) has the deadline %v, want the call's, %v", m, n, d, callDeadline)
			}
		})
	}
}

// Open with DeferUnreachable returns a Store well before the connect
// timeout (10 s) when the database's address answers nothing, and the
// Store works once the database does; so does the database driver, with
// DefaultDeferAfter.
func TestDeferUnreachableSilent(t *testing.T) {
	for _, b := range serverBackends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			direct := b.newURL(t)
			u, err := url.Parse(direct)
			if err != nil {
				t.Fatal(err)
			}
			p, err := faultproxy.New(u.Host, faultproxy.Blackhole)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			via := withHost(t, direct, p.Addr())

			start := time.Now()
			st, err := sqlstore.Open(t.Context(), via, sqlstore.Options{DeferUnreachable: true, DeferAfter: 200 * time.Millisecond})
			if err != nil {
				t.Fatalf("Open with the database silent and DeferUnreachable: %v", err)
			}
			defer st.Close()
			if d := time.Since(start); d >= sqlstore.ConnectTimeout*8/10 {
				t.Errorf("Open with DeferAfter 200ms took %v: the connect timeout, %v, rather than DeferAfter", d, sqlstore.ConnectTimeout)
			}

			start = time.Now()
			ds, err := sqlstore.Driver(session.Config{Connection: via})
			if err != nil {
				t.Fatalf("the database driver with the database silent: %v", err)
			}
			defer ds.(*sqlstore.Store).Close()
			if d := time.Since(start); d >= sqlstore.ConnectTimeout*8/10 {
				t.Errorf("the database driver took %v: the connect timeout, %v, rather than DefaultDeferAfter, %v", d, sqlstore.ConnectTimeout, sqlstore.DefaultDeferAfter)
			}

			p.Set(faultproxy.Up)
			id := storetest.NewID()
			if ok, err := st.Swap(t.Context(), id, nil, []byte("v"), time.Now().Add(time.Hour)); !ok || err != nil {
				t.Fatalf("Swap once the database answers = (%v, %v)", ok, err)
			}
			if data, _, found, err := st.Load(t.Context(), id); err != nil || !found || string(data) != "v" {
				t.Errorf("Load once the database answers = (%q, %v, %v)", data, found, err)
			}
		})
	}
}

// The connect timeout (the URL's connect_timeout or timeout, else
// ConnectTimeout) ends the setup of a connection to a server that accepts
// and never answers, handshake included, before the caller's context does.
func TestConnectTimeoutSilentServer(t *testing.T) {
	for _, b := range serverBackends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			direct := b.newURL(t)
			u, err := url.Parse(direct)
			if err != nil {
				t.Fatal(err)
			}
			p, err := faultproxy.New(u.Host, faultproxy.Blackhole)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			param := map[sqlstore.Dialect]string{sqlstore.Postgres: "&connect_timeout=1", sqlstore.MySQL: "?timeout=300ms"}[b.dialect]
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			st, err := sqlstore.Open(ctx, withHost(t, direct, p.Addr())+param, sqlstore.Options{})
			if err == nil {
				st.Close()
				t.Fatal("Open on a server that never answers succeeded")
			}
			if ctx.Err() != nil {
				t.Errorf("Open returned when its context ended, not after the connect timeout: %v", err)
			}
			if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "timeout") {
				t.Errorf("Open on a server that never answers: %v, want a timeout", err)
			}
		})
	}
}
