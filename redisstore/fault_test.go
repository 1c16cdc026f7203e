package redisstore_test

// Fault tests (issue 7): Redis down when the application starts, down or
// stalled under traffic and back, slow, and a Sentinel failover under
// traffic, each followed by a goroutine leak check. They run one at a time
// (not parallel), because they count goroutines.

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sessionkit/session/internal/faultproxy"
	"github.com/sessionkit/session/internal/faulttest"
	"github.com/sessionkit/session/internal/leakcheck"
	"github.com/sessionkit/session/internal/testserver"
)

// faultProxy starts a proxy in mode in front of the single test server and
// returns it with a connection URL through it, with a fresh key prefix.
func faultProxy(t *testing.T, mode faultproxy.Mode) (*faultproxy.Proxy, string) {
	t.Helper()
	p := faulttest.Proxy(t, testserver.Redis(t), mode)
	return p, "redis://" + p.Addr() + "/0?prefix=" + freshPrefix()
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
			h := faulttest.Handler(faulttest.NewManager(t, "redis", conn, storeTimeout))
			var cookie *http.Cookie
			for i := range 5 {
				res := faulttest.Do(h, "/inc", cookie)
				if res.Status != faulttest.StatusStoreDown || res.Took > faulttest.Bound(storeTimeout) {
					t.Errorf("request %d with Redis %v: status %d after %v; want %d within %v",
						i, mode, res.Status, res.Took, faulttest.StatusStoreDown, faulttest.Bound(storeTimeout))
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
	h := faulttest.Handler(faulttest.NewManager(t, "redis", conn, storeTimeout))
	faulttest.Outage(t, "Redis", h, p, storeTimeout, time.Second)
}

// A slow Redis (every byte delayed) and one that swallows every byte are
// bounded by StoreTimeout: requests get the error handler's response within
// the bound, and work again once the proxy forwards normally.
func TestFaultSlowRedis(t *testing.T) {
	leakcheck.Check(t)
	const storeTimeout = 200 * time.Millisecond
	p, conn := faultProxy(t, faultproxy.Up)
	h := faulttest.Handler(faulttest.NewManager(t, "redis", conn, storeTimeout))
	faulttest.Slow(t, "Redis", h, p, storeTimeout)
}

// failoverModes are the ways startFailover fails g's master over: the
// Sentinel's SENTINEL FAILOVER (the master hands over), or the master shut
// down.
var failoverModes = []string{"SENTINEL-FAILOVER", "master-killed"}

// startFailover starts a failover of g's master as mode (one of
// failoverModes) says, and returns when it began.
func startFailover(t *testing.T, g testserver.RedisSentinelGroup, mode string) time.Time {
	t.Helper()
	switch mode {
	case "SENTINEL-FAILOVER":
		if r, err := testserver.RedisDo(g.SentinelAddr, 5*time.Second, "SENTINEL", "FAILOVER", g.MasterName); err != nil || r != "OK" {
			t.Fatalf("SENTINEL FAILOVER: %v, %v", r, err)
		}
	case "master-killed":
		testserver.RedisDo(g.MasterAddr, 2*time.Second, "SHUTDOWN", "NOSAVE") // no reply: the server is gone
	default:
		t.Fatalf("failover mode %q", mode)
	}
	return time.Now()
}

// waitPromoted waits until g's Sentinel names the replica as the master,
// failing t after deadline.
func waitPromoted(t *testing.T, g testserver.RedisSentinelGroup, deadline time.Time) {
	t.Helper()
	for {
		v, _ := testserver.RedisDo(g.SentinelAddr, time.Second, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", g.MasterName)
		if a, _ := v.([]any); len(a) == 2 && fmt.Sprint(a[0], ":", a[1]) == g.ReplicaAddr {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the Sentinel did not promote the replica in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitDemoted waits until g's old master serves as a replica, which ends a
// SENTINEL FAILOVER, failing t after deadline.
func waitDemoted(t *testing.T, g testserver.RedisSentinelGroup, deadline time.Time) {
	t.Helper()
	for {
		v, _ := testserver.RedisDo(g.MasterAddr, time.Second, "ROLE")
		if a, _ := v.([]any); len(a) > 0 && a[0] == "slave" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the old master did not become a replica in time")
		}
		time.Sleep(20 * time.Millisecond)
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
	for _, mode := range failoverModes {
		t.Run(mode, func(t *testing.T) {
			g := testserver.RedisSentinelFresh(t)
			conn := fmt.Sprintf("redis+sentinel://%s/%s/0?dial_timeout=300ms&max_retries=1&prefix=%s", g.SentinelAddr, g.MasterName, freshPrefix())
			h := faulttest.Handler(faulttest.NewManager(t, "redis", conn, storeTimeout))

			before := faulttest.Start(t, h, 8, 2*time.Millisecond)
			if !before.WaitOK(100, 30*time.Second) {
				before.Stop()
				t.Fatalf("traffic did not start: %v", before.Stats("start"))
			}
			before.Stop()
			if err := testserver.RedisWaitReplicated(g.MasterAddr, g.ReplicaAddr, 10*time.Second); err != nil {
				t.Fatal(err)
			}

			during := faulttest.Start(t, h, 8, 2*time.Millisecond)
			defer during.Stop()
			if !during.WaitOK(20, 30*time.Second) {
				t.Fatalf("traffic did not start: %v", during.Stats("start"))
			}
			during.Phase("failover")
			start := startFailover(t, g, mode)
			deadline := start.Add(30 * time.Second)
			waitPromoted(t, g, deadline)
			if mode == "SENTINEL-FAILOVER" {
				waitDemoted(t, g, deadline)
			}
			during.Phase("after")
			if !during.WaitOK(50, 30*time.Second) {
				t.Fatalf("traffic did not recover within 30s of the failover: %v", during.Stats("after"))
			}
			t.Logf("traffic recovered %v after the failover began", time.Since(start).Round(time.Millisecond))
			during.Stop()
			during.Stats("failover").Check(t, "during the failover", faulttest.Bound(storeTimeout))
			during.Stats("after").Check(t, "after the failover", faulttest.Bound(storeTimeout))
			t.Logf("%d sessions written before the failover checked", before.Verify(t))
		})
	}
}
