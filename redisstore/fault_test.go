package redisstore_test

// Fault tests (issue 7): Redis down when the application starts, down or
// stalled under traffic and back, slow, and a Sentinel failover under
// traffic, each followed by a goroutine leak check. They run one at a time
// (not parallel), because they count goroutines.

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/faultproxy"
	"github.com/sessionkit/session/internal/faulttest"
	"github.com/sessionkit/session/internal/leakcheck"
	"github.com/sessionkit/session/internal/testserver"
)

// faultBound is the time within which every request must end while Redis
// fails, for a Manager with StoreTimeout st: a correctness bound (no request
// hangs), not a speed target. A request makes at most a load and a save,
// each bounded by the StoreTimeout.
func faultBound(st time.Duration) time.Duration { return 5 * st }

// faultManager returns a Manager on the redis driver of connection with
// the given StoreTimeout and the fault tests' error handler.
func faultManager(t *testing.T, connection string, storeTimeout time.Duration) *session.Manager {
	t.Helper()
	m, err := session.New(session.Config{
		Secret: "redisstore fault test secret - a test secret, not for production", Driver: "redis", Connection: connection,
		Lottery: [2]int{0, 1}, StoreTimeout: storeTimeout,
		ErrorHandler: faulttest.ErrorHandler, Logger: slog.New(slog.DiscardHandler),
	})
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

// faultProxy starts a proxy in mode in front of the single test server and
// returns it with a connection URL through it, with a fresh key prefix.
func faultProxy(t *testing.T, mode faultproxy.Mode) (*faultproxy.Proxy, string) {
	t.Helper()
	p, err := faultproxy.New(testserver.Redis(t), mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, "redis://" + p.Addr() + "/0?prefix=" + freshPrefix()
}

// checkBounded fails t when a phase saw a response other than 200 or the
// error handler's, or a request slower than bound.
func checkBounded(t *testing.T, what string, st faulttest.Stats, bound time.Duration) {
	t.Helper()
	t.Logf("%s: %v", what, st)
	if st.Other > 0 {
		t.Errorf("%s: %d responses were neither 200 nor the error handler's %d", what, st.Other, faulttest.StatusStoreDown)
	}
	if st.Max > bound {
		t.Errorf("%s: a request took %v, more than %v", what, st.Max, bound)
	}
}

// Redis is unreachable (refused, then silent) when the application starts:
// the Manager starts all the same (the driver does not contact the server
// before the first request), requests get the error handler's response
// within the bound, and once Redis is reachable requests work without a
// restart.
func TestFaultDownAtStart(t *testing.T) {
	leakcheck.Check(t)
	const storeTimeout = 300 * time.Millisecond
	for _, mode := range []faultproxy.Mode{faultproxy.Down, faultproxy.Hang} {
		t.Run(mode.String(), func(t *testing.T) {
			p, conn := faultProxy(t, mode)
			h := faulttest.Handler(faultManager(t, conn, storeTimeout))
			var cookie *http.Cookie
			for i := range 5 {
				res := faulttest.Do(h, "/inc", cookie)
				if res.Status != faulttest.StatusStoreDown || res.Took > faultBound(storeTimeout) {
					t.Errorf("request %d with Redis %v: status %d after %v; want %d within %v",
						i, mode, res.Status, res.Took, faulttest.StatusStoreDown, faultBound(storeTimeout))
				}
			}
			p.Set(faultproxy.Up)
			var res faulttest.Result
			deadline := time.Now().Add(10 * time.Second)
			for {
				if res = faulttest.Do(h, "/inc", nil); res.Status == http.StatusOK || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if res.Status != http.StatusOK || res.Body != "1" {
				t.Fatalf("requests once Redis is up: %d %q", res.Status, res.Body)
			}
			if res = faulttest.Do(h, "/inc", res.Cookie); res.Status != http.StatusOK || res.Body != "2" {
				t.Errorf("second request once Redis is up: %d %q, want 200 \"2\"", res.Status, res.Body)
			}
		})
	}
}

// Redis goes away under traffic (connections cut, new ones refused), then
// stalls (bytes held), and comes back: every request in the meantime ends
// within the bound with 200 or the error handler's response, traffic
// recovers without a restart, and no acknowledged write is lost.
func TestFaultOutageUnderTraffic(t *testing.T) {
	leakcheck.Check(t)
	const storeTimeout = 300 * time.Millisecond
	p, conn := faultProxy(t, faultproxy.Up)
	h := faulttest.Handler(faultManager(t, conn, storeTimeout))
	tr := faulttest.Start(t, h, 8, 2*time.Millisecond)
	defer tr.Stop()
	if !tr.WaitOK(50, 30*time.Second) {
		t.Fatalf("traffic did not start: %v", tr.Stats("start"))
	}
	for _, fault := range []faultproxy.Mode{faultproxy.Down, faultproxy.Hang} {
		tr.Phase(fault.String())
		p.Set(fault)
		time.Sleep(time.Second)
		recover := "recover after " + fault.String()
		tr.Phase(recover)
		p.Set(faultproxy.Up)
		if !tr.WaitOK(50, 30*time.Second) {
			t.Fatalf("traffic did not recover within 30s after %v: %v", fault, tr.Stats(recover))
		}
		st := tr.Stats(fault.String())
		checkBounded(t, "Redis "+fault.String(), st, faultBound(storeTimeout))
		if st.StoreDown == 0 {
			t.Errorf("Redis %v: no request got the error handler's response", fault)
		}
		checkBounded(t, "recovering after "+fault.String(), tr.Stats(recover), faultBound(storeTimeout))
	}
	tr.Stop()
	t.Logf("%d sessions checked", tr.Verify(t))
}

// A slow Redis (every byte delayed) and one that swallows every byte are
// bounded by StoreTimeout: requests get the error handler's response within
// the bound, and work again once the proxy forwards normally.
func TestFaultSlowRedis(t *testing.T) {
	leakcheck.Check(t)
	const storeTimeout = 200 * time.Millisecond
	p, conn := faultProxy(t, faultproxy.Up)
	p.SetDelay(20 * time.Millisecond)
	h := faulttest.Handler(faultManager(t, conn, storeTimeout))
	first := faulttest.Do(h, "/inc", nil)
	if first.Status != http.StatusOK {
		t.Fatalf("first request: %d %q", first.Status, first.Body)
	}
	want := 1
	for _, fault := range []faultproxy.Mode{faultproxy.Slow, faultproxy.Blackhole} {
		p.Set(fault)
		for i := range 3 {
			res := faulttest.Do(h, "/inc", first.Cookie)
			if res.Status != faulttest.StatusStoreDown || res.Took > faultBound(storeTimeout) {
				t.Errorf("request %d with Redis %v: status %d after %v; want %d within %v",
					i, fault, res.Status, res.Took, faulttest.StatusStoreDown, faultBound(storeTimeout))
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
			t.Fatalf("after Redis was %v: status %d %q", fault, res.Status, res.Body)
		}
		// A failed increment may have been stored before its answer was
		// lost; none may have been applied twice.
		n, err := strconv.Atoi(res.Body)
		if err != nil || n < want || n > want+3 {
			t.Errorf("after Redis was %v: counter %q, want %d to %d", fault, res.Body, want, want+3)
		}
		want = n
	}
}

// replicated waits until the replica at replica has every write the master
// at master has made (its replication offset caught up), or fails t.
func replicated(t *testing.T, master, replica string) {
	t.Helper()
	offset := func(addr string) int64 {
		v, err := testserver.RedisDo(addr, 2*time.Second, "INFO", "replication")
		if err != nil {
			t.Fatalf("INFO replication on %s: %v", addr, err)
		}
		s, _ := v.(string)
		for line := range strings.SplitSeq(s, "\n") {
			if val, ok := strings.CutPrefix(strings.TrimSpace(line), "master_repl_offset:"); ok {
				n, err := strconv.ParseInt(val, 10, 64)
				if err == nil {
					return n
				}
			}
		}
		t.Fatalf("INFO replication on %s has no master_repl_offset:\n%s", addr, s)
		return 0
	}
	want := offset(master)
	deadline := time.Now().Add(10 * time.Second)
	for offset(replica) < want {
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not reach the master's replication offset %d within 10s", want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A Sentinel failover (the master handing over, or killed) with clients
// writing: every session written before the failover (by clients that
// wrote under traffic until just before it, replicated) holds every write
// acknowledged to them; requests during the failover end within the bound
// with 200 or the error handler's response; traffic recovers on the new
// master. (Writes acknowledged by the old master in the moment before its
// replica took over may be lost: Redis replicates asynchronously. The clients
// that run during the failover are therefore only checked for bounded,
// well-formed responses.)
func TestFaultSentinelFailoverUnderTraffic(t *testing.T) {
	leakcheck.Check(t)
	const storeTimeout = 300 * time.Millisecond
	for _, mode := range []string{"SENTINEL-FAILOVER", "master-killed"} {
		t.Run(mode, func(t *testing.T) {
			g := testserver.RedisSentinelFresh(t)
			conn := fmt.Sprintf("redis+sentinel://%s/%s/0?dial_timeout=300ms&max_retries=1&prefix=%s", g.SentinelAddr, g.MasterName, freshPrefix())
			h := faulttest.Handler(faultManager(t, conn, storeTimeout))

			before := faulttest.Start(t, h, 8, 2*time.Millisecond)
			if !before.WaitOK(100, 30*time.Second) {
				before.Stop()
				t.Fatalf("traffic did not start: %v", before.Stats("start"))
			}
			before.Stop()
			replicated(t, g.MasterAddr, g.ReplicaAddr)

			during := faulttest.Start(t, h, 8, 2*time.Millisecond)
			defer during.Stop()
			if !during.WaitOK(20, 30*time.Second) {
				t.Fatalf("traffic did not start: %v", during.Stats("start"))
			}
			during.Phase("failover")
			switch mode {
			case "SENTINEL-FAILOVER":
				if r, err := testserver.RedisDo(g.SentinelAddr, 5*time.Second, "SENTINEL", "FAILOVER", g.MasterName); err != nil || r != "OK" {
					t.Fatalf("SENTINEL FAILOVER: %v, %v", r, err)
				}
			case "master-killed":
				testserver.RedisDo(g.MasterAddr, 2*time.Second, "SHUTDOWN", "NOSAVE") // no reply: the server is gone
			}
			start := time.Now()
			deadline := start.Add(30 * time.Second)
			for {
				v, _ := testserver.RedisDo(g.SentinelAddr, time.Second, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", g.MasterName)
				if a, _ := v.([]any); len(a) == 2 && fmt.Sprint(a[0], ":", a[1]) == g.ReplicaAddr {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the Sentinel did not promote the replica within 30s")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if mode == "SENTINEL-FAILOVER" {
				// The failover ends when the old master serves as a replica.
				for {
					v, _ := testserver.RedisDo(g.MasterAddr, time.Second, "ROLE")
					if a, _ := v.([]any); len(a) > 0 && a[0] == "slave" {
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("the old master did not become a replica within 30s")
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			during.Phase("after")
			if !during.WaitOK(50, 30*time.Second) {
				t.Fatalf("traffic did not recover within 30s of the failover: %v", during.Stats("after"))
			}
			t.Logf("traffic recovered %v after the failover began", time.Since(start).Round(time.Millisecond))
			during.Stop()
			checkBounded(t, "during the failover", during.Stats("failover"), faultBound(storeTimeout))
			checkBounded(t, "after the failover", during.Stats("after"), faultBound(storeTimeout))
			t.Logf("%d sessions written before the failover checked", before.Verify(t))
		})
	}
}
