package sqlstore_test

// Fault tests (issue 7): the database down when the application starts, down
// or stalled under traffic and back, slow, and restarted under traffic, each
// followed by a goroutine leak check. They run one at a time (not parallel),
// because they count goroutines and restart the shared server.

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/faultproxy"
	"github.com/sessionkit/session/internal/faulttest"
	"github.com/sessionkit/session/internal/leakcheck"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/sqlstore"
)

// faultStoreTimeout is the Config.StoreTimeout of the fault tests, and
// faultBound the time within which every request must end while the
// database fails: a correctness bound (no request hangs), not a speed
// target. A request makes at most a load and a save, each bounded by the
// StoreTimeout.
//
// The timeout is 1 s, not less: once an outage has emptied the pool, every
// request has to open a connection within its StoreTimeout, and on these
// shared machines under -race a PostgreSQL connection takes from 40 ms to
// over 300 ms to set up while eight clients retry; with 300 ms, every
// attempt was abandoned before it finished and traffic never recovered
// (seen in 2 runs of 3). Open's pools now keep the connections of abandoned
// setups for the next call (spare.go; TestSlowReconnect), so that no longer
// happens; the 1 s stays, for fewer failed requests while recovering.
const (
	faultStoreTimeout = time.Second
	faultBound        = 5 * faultStoreTimeout
)

// faultProxy starts a proxy in mode in front of the server of rawURL and
// returns it with the URL that goes through it.
func faultProxy(t *testing.T, rawURL string, mode faultproxy.Mode) (*faultproxy.Proxy, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.New(u.Host, mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, withHost(t, rawURL, p.Addr())
}

// faultManager returns a Manager on the database driver of rawURL with the
// fault tests' StoreTimeout and error handler.
func faultManager(t *testing.T, rawURL string) *session.Manager {
	t.Helper()
	m, err := session.New(faultConfig(rawURL))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	return m
}

func faultConfig(rawURL string) session.Config {
	return session.Config{
		Secret: testSecret, Driver: "database", Connection: rawURL, Lottery: [2]int{0, 1},
		StoreTimeout: faultStoreTimeout, ErrorHandler: faulttest.ErrorHandler, Logger: discardLogger(),
	}
}

// checkBounded fails t when a phase saw a response other than 200 or the
// error handler's, or a request slower than faultBound.
func checkBounded(t *testing.T, what string, st faulttest.Stats) {
	t.Helper()
	t.Logf("%s: %v", what, st)
	if st.Other > 0 {
		t.Errorf("%s: %d responses were neither 200 nor the error handler's %d", what, st.Other, faulttest.StatusStoreDown)
	}
	if st.Max > faultBound {
		t.Errorf("%s: a request took %v, more than %v (5 × StoreTimeout %v)", what, st.Max, faultBound, faultStoreTimeout)
	}
}

// The database is unreachable when the application starts. The database
// driver defers the table's setup (Options.DeferUnreachable): New succeeds
// at once, requests get the error handler's response within the bound while
// the database stays down, and once it is up requests work without a
// restart, the first of them creating the table.
func TestFaultDownAtStart(t *testing.T) {
	leakcheck.Check(t)
	for _, b := range serverBackends() {
		t.Run(b.name, func(t *testing.T) {
			direct := b.newURL(t)
			p, raw := faultProxy(t, direct, faultproxy.Down)
			start := time.Now()
			h := faulttest.Handler(faultManager(t, raw))
			if took := time.Since(start); took > faultBound {
				t.Errorf("New with the database down took %v, more than %v", took, faultBound)
			}
			var cookie *http.Cookie
			for i := range 3 {
				res := faulttest.Do(h, "/inc", cookie)
				if res.Status != faulttest.StatusStoreDown || res.Took > faultBound {
					t.Errorf("request %d with the database down: status %d after %v; want %d within %v",
						i, res.Status, res.Took, faulttest.StatusStoreDown, faultBound)
				}
				if !strings.Contains(res.Body, "database not ready") {
					t.Errorf("request %d with the database down: body %q; want the store's error saying the database is not ready", i, res.Body)
				}
				if i == 0 {
					t.Logf("request with the database down: %d after %v: %s", res.Status, res.Took.Round(time.Millisecond), strings.TrimSpace(res.Body))
				}
				if res.Cookie != nil {
					cookie = res.Cookie
				}
			}
			// Nothing has created the table yet.
			if st, err := sqlstore.Open(t.Context(), direct, sqlstore.Options{SkipCreate: true}); err == nil {
				st.Close()
				t.Fatal("the table exists before the database was reachable")
			} else if !errors.Is(err, sqlstore.ErrSchema) {
				t.Fatalf("checking for the table: %v", err)
			}

			p.Set(faultproxy.Up)
			first := faulttest.Do(h, "/inc", cookie)
			if first.Status != http.StatusOK || first.Body != "1" {
				t.Fatalf("first request once the database is up: %d %q", first.Status, first.Body)
			}
			if res := faulttest.Do(h, "/inc", first.Cookie); res.Status != http.StatusOK || res.Body != "2" {
				t.Errorf("second request once the database is up: %d %q", res.Status, res.Body)
			}
			// The first request created the table.
			st, err := sqlstore.Open(t.Context(), direct, sqlstore.Options{SkipCreate: true})
			if err != nil {
				t.Fatalf("the table after the first request: %v", err)
			}
			st.Close()
		})
	}
}

// The database goes away under traffic (connections cut, new ones refused),
// then stalls (bytes held), and comes back: every request in the meantime
// ends within the bound with 200 or the error handler's response, traffic
// recovers without a restart, and no acknowledged write is lost.
func TestFaultOutageUnderTraffic(t *testing.T) {
	leakcheck.Check(t)
	for _, b := range serverBackends() {
		t.Run(b.name, func(t *testing.T) {
			p, raw := faultProxy(t, b.newURL(t), faultproxy.Up)
			h := faulttest.Handler(faultManager(t, raw))
			tr := faulttest.Start(t, h, 8, 2*time.Millisecond)
			defer tr.Stop()
			if !tr.WaitOK(50, 30*time.Second) {
				t.Fatalf("traffic did not start: %v", tr.Stats("start"))
			}
			for _, fault := range []faultproxy.Mode{faultproxy.Down, faultproxy.Hang} {
				tr.Phase(fault.String())
				p.Set(fault)
				time.Sleep(5 * faultStoreTimeout / 2) // longer than a store call may wait
				tr.Phase("recover after " + fault.String())
				p.Set(faultproxy.Up)
				if !tr.WaitOK(50, 30*time.Second) {
					t.Fatalf("traffic did not recover within 30s after %v: %v", fault, tr.Stats("recover after "+fault.String()))
				}
				st := tr.Stats(fault.String())
				checkBounded(t, "database "+fault.String(), st)
				if st.StoreDown == 0 {
					t.Errorf("database %v: no request got the error handler's response", fault)
				}
				checkBounded(t, "recovering after "+fault.String(), tr.Stats("recover after "+fault.String()))
			}
			tr.Stop()
			t.Logf("%d sessions checked", tr.Verify(t))
		})
	}
}

// A slow database (every byte delayed) and one that swallows every byte are
// bounded by StoreTimeout: requests get the error handler's response within
// the bound, and work again once the proxy forwards normally.
func TestFaultSlowDatabase(t *testing.T) {
	leakcheck.Check(t)
	for _, b := range serverBackends() {
		t.Run(b.name, func(t *testing.T) {
			p, raw := faultProxy(t, b.newURL(t), faultproxy.Up)
			p.SetDelay(20 * time.Millisecond)
			h := faulttest.Handler(faultManager(t, raw))
			first := faulttest.Do(h, "/inc", nil)
			if first.Status != http.StatusOK {
				t.Fatalf("first request: %d %q", first.Status, first.Body)
			}
			want := 1
			for _, fault := range []faultproxy.Mode{faultproxy.Slow, faultproxy.Blackhole} {
				p.Set(fault)
				for i := range 3 {
					res := faulttest.Do(h, "/inc", first.Cookie)
					if res.Status != faulttest.StatusStoreDown || res.Took > faultBound {
						t.Errorf("request %d with the database %v: status %d after %v; want %d within %v",
							i, fault, res.Status, res.Took, faulttest.StatusStoreDown, faultBound)
					}
				}
				p.Set(faultproxy.Up)
				var res faulttest.Result
				for range 5 { // connections the fault left broken may fail once
					if res = faulttest.Do(h, "/get", first.Cookie); res.Status == http.StatusOK {
						break
					}
				}
				if res.Status != http.StatusOK {
					t.Fatalf("after the database was %v: status %d %q", fault, res.Status, res.Body)
				}
				// A failed increment may have committed before its answer was
				// lost; none may have been applied twice.
				n := 0
				if _, err := fmt.Sscan(res.Body, &n); err != nil || n < want || n > want+3 {
					t.Errorf("after the database was %v: counter %q, want %d to %d", fault, res.Body, want, want+3)
				}
				want = n
			}
		})
	}
}

// PostgreSQL restarted (pg_ctl restart -m fast) under traffic: requests
// during the restart end within the bound, traffic recovers without
// restarting the application, and no session or acknowledged write from
// before or during the restart is lost.
func TestFaultPostgresRestart(t *testing.T) {
	leakcheck.Check(t)
	h := faulttest.Handler(faultManager(t, testserver.Postgres(t)))
	tr := faulttest.Start(t, h, 8, 2*time.Millisecond)
	defer tr.Stop()
	if !tr.WaitOK(50, 30*time.Second) {
		t.Fatalf("traffic did not start: %v", tr.Stats("start"))
	}
	tr.Phase("restart")
	start := time.Now()
	if err := testserver.RestartPostgres(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Since(start)
	tr.Phase("after")
	if !tr.WaitOK(50, 30*time.Second) {
		t.Fatalf("traffic did not recover within 30s of the restart: %v", tr.Stats("after"))
	}
	recovered := time.Since(start)
	tr.Stop()
	t.Logf("restart took %v, traffic recovered after %v", restarted.Round(time.Millisecond), recovered.Round(time.Millisecond))
	checkBounded(t, "during the restart", tr.Stats("restart"))
	checkBounded(t, "after the restart", tr.Stats("after"))
	t.Logf("%d sessions checked", tr.Verify(t))
}
