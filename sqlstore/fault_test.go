package sqlstore_test

// Fault tests (issue 7): the database down when the application starts, down
// or stalled under traffic and back, slow, and restarted under traffic, each
// followed by a goroutine leak check. They run one at a time (not parallel),
// because they count goroutines and restart the shared server.

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session/internal/faultproxy"
	"github.com/sessionkit/session/internal/faulttest"
	"github.com/sessionkit/session/internal/leakcheck"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/sqlstore"
)

// faultStoreTimeout is the Config.StoreTimeout of the fault tests, and
// faultBound the time within which every request must end while the
// database fails (see faulttest.Bound).
//
// The timeout is 1 s, not less: once an outage has emptied the pool, every
// request has to open a connection within its StoreTimeout, and on these
// shared machines under -race a PostgreSQL connection takes from 40 ms to
// over 300 ms to set up while eight clients retry; with 300 ms, every
// attempt was abandoned before it finished and traffic never recovered
// (seen in 2 runs of 3). Open's pools now keep the connections of abandoned
// setups for the next call (spare.go; TestSlowReconnect), so that no longer
// happens; the 1 s stays, for fewer failed requests while recovering.
const faultStoreTimeout = time.Second

var faultBound = faulttest.Bound(faultStoreTimeout)

// faultProxy starts a proxy in mode in front of the server of rawURL and
// returns it with the URL that goes through it.
func faultProxy(t *testing.T, rawURL string, mode faultproxy.Mode) (*faultproxy.Proxy, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p := faulttest.Proxy(t, u.Host, mode)
	return p, withHost(t, rawURL, p.Addr())
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
			h := faulttest.Handler(faulttest.NewManager(t, "database", raw, faultStoreTimeout))
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
			h := faulttest.Handler(faulttest.NewManager(t, "database", raw, faultStoreTimeout))
			// Each fault lasts longer than a store call may wait.
			faulttest.Outage(t, "the database", h, p, faultStoreTimeout, 5*faultStoreTimeout/2)
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
			h := faulttest.Handler(faulttest.NewManager(t, "database", raw, faultStoreTimeout))
			faulttest.Slow(t, "the database", h, p, faultStoreTimeout)
		})
	}
}

// PostgreSQL restarted (pg_ctl restart -m fast) under traffic: requests
// during the restart end within the bound, traffic recovers without
// restarting the application, and no session or acknowledged write from
// before or during the restart is lost.
func TestFaultPostgresRestart(t *testing.T) {
	leakcheck.Check(t)
	h := faulttest.Handler(faulttest.NewManager(t, "database", testserver.Postgres(t), faultStoreTimeout))
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
	tr.Stats("restart").Check(t, "during the restart", faultBound)
	tr.Stats("after").Check(t, "after the restart", faultBound)
	t.Logf("%d sessions checked", tr.Verify(t))
}
