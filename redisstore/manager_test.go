package redisstore_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/redisstore"
	"github.com/sessionkit/session/storetest"
)

// do, put and get send requests through a Manager (see storetest.Request).
var (
	do  = storetest.Request
	put = storetest.Put
	get = storetest.Get
)

// requestThrough sends one writing request through a Manager over st and
// reports its status and how long it took.
func requestThrough(t *testing.T, st session.Store) (int, time.Duration) {
	m := storetest.NewManager(t, st, session.Config{})
	start := time.Now()
	code, _, _ := do(t.Context(), m, nil, func(s *session.Session) string { s.Put("k", "v"); return "" })
	return code, time.Since(start)
}

// The manager-level checks (200 concurrent requests on one session lose no
// update, read-only cost, Regenerate, Destroy, and the sessions of a user:
// Login, listing, destroying, 50 concurrent logins) on every topology.
func TestManager(t *testing.T) {
	for _, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) {
			c := topo.client(t)
			storetest.RunManager(t, func(t *testing.T) session.Store {
				return mustNew(t, c, redisstore.Options{Prefix: freshPrefix()})
			})
		})
	}
}

// countingStore counts the calls a Manager makes to the store it wraps.
type countingStore struct {
	session.Store
	loads, updates, deletes, touches atomic.Int64
}

func (c *countingStore) Load(ctx context.Context, id string) ([]byte, time.Time, bool, error) {
	c.loads.Add(1)
	return c.Store.Load(ctx, id)
}

func (c *countingStore) Update(ctx context.Context, id string, fn func([]byte, bool) ([]byte, time.Time, error)) error {
	c.updates.Add(1)
	return c.Store.Update(ctx, id, fn)
}

func (c *countingStore) Delete(ctx context.Context, id string) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, id)
}

func (c *countingStore) Touch(ctx context.Context, id string, expiry time.Time) error {
	c.touches.Add(1)
	return c.Store.Touch(ctx, id, expiry)
}

func (c *countingStore) reset() {
	c.loads.Store(0)
	c.updates.Store(0)
	c.deletes.Store(0)
	c.touches.Store(0)
}

// roundTrips is a go-redis hook counting round trips: each command or
// pipeline (MULTI/EXEC included) sent is one.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// countedClient returns a client of topo whose round trips rt counts; on a
// cluster it counts at the nodes, where WATCH transactions run too.
func countedClient(t *testing.T, topo topology) (redis.UniversalClient, *roundTrips) {
	t.Helper()
	rt := &roundTrips{}
	if topo.name == "cluster" {
		cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testserver.RedisCluster(t)})
		t.Cleanup(func() { cc.Close() })
		cc.OnNewNode(func(node *redis.Client) { node.AddHook(rt) })
		return cc, rt
	}
	client := topo.client(t)
	client.AddHook(rt)
	return client, rt
}

// A request that only reads its session costs exactly one Load — one round
// trip to Redis — and writes nothing.
func TestReadOnlyRequestCost(t *testing.T) {
	for _, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) {
			client, rt := countedClient(t, topo)
			cs := &countingStore{Store: mustNew(t, client, redisstore.Options{Prefix: freshPrefix()})}
			m := storetest.NewManager(t, cs, session.Config{})
			cookie := put(t, m, nil, "user", "Ana")
			if got := get(t, m, cookie, "user"); got != "Ana" { // warm the connection
				t.Fatalf("read %q", got)
			}
			cs.reset()
			rt.n.Store(0)
			if got := get(t, m, cookie, "user"); got != "Ana" {
				t.Fatalf("read %q", got)
			}
			if l, u, d, tc := cs.loads.Load(), cs.updates.Load(), cs.deletes.Load(), cs.touches.Load(); l != 1 || u+d+tc != 0 {
				t.Errorf("read-only request: %d loads, %d updates, %d deletes, %d touches; want 1 load and nothing else", l, u, d, tc)
			}
			if n := rt.n.Load(); n != 1 {
				t.Errorf("read-only request: %d round trips to Redis, want 1", n)
			}
			// And a write: one Load, one Update, four round trips.
			cs.reset()
			rt.n.Store(0)
			put(t, m, cookie, "user", "Bea")
			if l, u := cs.loads.Load(), cs.updates.Load(); l != 1 || u != 1 {
				t.Errorf("writing request: %d loads, %d updates; want 1 and 1", l, u)
			}
			if n := rt.n.Load(); n != 4 {
				t.Errorf("writing request: %d round trips, want 4 (load; WATCH, GET+PTTL, MULTI/SET/EXEC)", n)
			}
		})
	}
}

// Regenerate through the Manager on every topology: the new cookie carries
// the data, the old one no longer loads it.
func TestManagerRegenerate(t *testing.T) {
	for _, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) {
			m := storetest.NewManager(t, mustNew(t, topo.client(t), redisstore.Options{Prefix: freshPrefix()}), session.Config{})
			old := put(t, m, nil, "cart", "apple")
			code, _, fresh := do(t.Context(), m, old, func(s *session.Session) string {
				if err := s.Regenerate(); err != nil {
					t.Errorf("Regenerate: %v", err)
				}
				return ""
			})
			if code != http.StatusOK || fresh == nil || fresh.Value == old.Value {
				t.Fatalf("regenerate: status %d, cookie %v", code, fresh)
			}
			if got := get(t, m, fresh, "cart"); got != "apple" {
				t.Errorf("new ID holds %q, want the data", got)
			}
			if got := get(t, m, old, "cart"); got != "" {
				t.Errorf("old ID still loads %q", got)
			}
		})
	}
}

// A Sentinel failover in the middle of traffic, two ways: SENTINEL FAILOVER
// (the master hands over), and the master killed (the Sentinel notices after
// down-after-milliseconds, 1 s). Sessions written and replicated before it
// are readable after it; requests during it answer 200 or, when the store
// fails, 500 from the error handler — never a panic or a hang (each request
// has a 1 s deadline, and none may take 3 s); and requests succeed again
// once the Sentinel has promoted the replica.
func TestSentinelFailover(t *testing.T) {
	for _, mode := range failoverModes {
		t.Run(mode, func(t *testing.T) {
			g := testserver.RedisSentinelFresh(t)
			st, err := redisstore.Open(t.Context(), fmt.Sprintf("redis+sentinel://%s/%s/0?dial_timeout=300ms&max_retries=1", g.SentinelAddr, g.MasterName), redisstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			m := storetest.NewManager(t, st, session.Config{})

			const sessions = 20
			cookies := make([]*http.Cookie, sessions)
			for i := range cookies {
				cookies[i] = put(t, m, nil, "n", strconv.Itoa(i))
			}
			// Replicated before the failover: Redis replicates asynchronously,
			// and a write the replica has not applied when it is promoted is
			// lost (see the package documentation). Once the replica has
			// caught up, nothing written is.
			if err := testserver.RedisWaitReplicated(g.MasterAddr, g.ReplicaAddr, 10*time.Second); err != nil {
				t.Fatal(err)
			}

			var (
				ok, failed atomic.Int64
				stop       = make(chan struct{})
				wg         sync.WaitGroup
			)
			for w := range 4 {
				wg.Go(func() {
					for i := w; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						ctx, cancel := context.WithTimeout(t.Context(), time.Second)
						start := time.Now()
						code, _, _ := do(ctx, m, cookies[i%sessions], func(s *session.Session) string {
							s.Put(fmt.Sprintf("hits.w%d", w), i)
							return ""
						})
						cancel()
						if took := time.Since(start); took > 3*time.Second {
							t.Errorf("a request during the failover took %v", took)
						}
						switch code {
						case http.StatusOK:
							ok.Add(1)
						case http.StatusInternalServerError:
							failed.Add(1)
						default:
							t.Errorf("a request during the failover answered %d", code)
						}
						time.Sleep(2 * time.Millisecond)
					}
				})
			}
			time.Sleep(300 * time.Millisecond)
			before := ok.Load()
			if before == 0 {
				t.Fatal("no request succeeded before the failover")
			}

			failoverStart := startFailover(t, g, mode)
			deadline := failoverStart.Add(30 * time.Second)
			waitPromoted(t, g, deadline)
			promoted := time.Since(failoverStart)
			// Recovered: requests succeed again.
			okAtPromotion := ok.Load()
			for ok.Load() < okAtPromotion+20 {
				if time.Now().After(deadline) {
					t.Fatalf("requests did not recover within 30s of the failover (%d ok, %d failed)", ok.Load(), failed.Load())
				}
				time.Sleep(10 * time.Millisecond)
			}
			recovered := time.Since(failoverStart)
			close(stop)
			wg.Wait()
			t.Logf("%s: replica promoted after %v, traffic recovered after %v; %d requests ok, %d answered 500",
				mode, promoted.Round(time.Millisecond), recovered.Round(time.Millisecond), ok.Load(), failed.Load())
			if mode == "master-killed" && failed.Load() == 0 {
				t.Error("no request failed while the master was down: the failure path was not exercised")
			}

			// SENTINEL FAILOVER ends when the Sentinel has turned the old
			// master into a replica of the new one; connections to it fail
			// until then (seen: a READONLY answer, a 500, right after traffic
			// recovered). Wait for that before the checks below.
			if mode == "SENTINEL-FAILOVER" {
				waitDemoted(t, g, deadline)
			}

			// Every session written before the failover is there after it.
			for i, c := range cookies {
				if got := get(t, m, c, "n"); got != strconv.Itoa(i) {
					t.Errorf("session %d after the failover: n = %q, want %d", i, got, i)
				}
			}
			// And new writes work on the new master.
			c := put(t, m, nil, "after", "yes")
			if got := get(t, m, c, "after"); got != "yes" {
				t.Errorf("a session written after the failover reads %q", got)
			}
		})
	}
}
