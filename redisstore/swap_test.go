package redisstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/redisstore"
	"github.com/sessionkit/session/storetest"
)

// The Swapper conformance suite on a single server and a Cluster through
// New, and behind Sentinel through Open, a fresh key prefix per subtest.
func TestSwapper(t *testing.T) {
	for _, topo := range topologies[:2] {
		t.Run(topo.name, func(t *testing.T) {
			client := topo.client(t)
			storetest.RunSwapper(t, func(t *testing.T) session.Store {
				return mustNew(t, client, redisstore.Options{Prefix: freshPrefix()})
			})
		})
	}
	t.Run("sentinel", func(t *testing.T) {
		g := testserver.RedisSentinel(t)
		storetest.RunSwapper(t, func(t *testing.T) session.Store {
			st, err := redisstore.Open(t.Context(), fmt.Sprintf("redis+sentinel://%s/%s/0?prefix=%s", g.SentinelAddr, g.MasterName, freshPrefix()), redisstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
}

// Swap keeps the store's key layout: the payload as the key's value, the
// expiry as its TTL. A key without a TTL (not written by this store; Load
// does not return it) holds no record: Swap with old nil replaces it, Swap
// with old does not match it. After SCRIPT FLUSH, Swap sends its script
// again.
func TestSwapKeyLayout(t *testing.T) {
	client := singleClient(t)
	prefix := freshPrefix()
	st := mustNew(t, client, redisstore.Options{Prefix: prefix})
	ctx := t.Context()
	id := storetest.NewID()
	exp := time.Now().Add(90 * time.Second)
	if ok, err := st.Swap(ctx, id, nil, []byte("payload"), exp); !ok || err != nil {
		t.Fatalf("Swap = (%v, %v)", ok, err)
	}
	if v, err := client.Get(ctx, prefix+id).Result(); err != nil || v != "payload" {
		t.Errorf("GET %s = (%q, %v), want the payload", prefix+id, v, err)
	}
	if ttl, err := client.PTTL(ctx, prefix+id).Result(); err != nil || ttl <= 85*time.Second || ttl > 90*time.Second {
		t.Errorf("PTTL = (%v, %v), want about 90s", ttl, err)
	}

	other := storetest.NewID()
	if err := client.Set(ctx, prefix+other, "no ttl", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Swap(ctx, other, []byte("no ttl"), []byte("x"), exp); ok || err != nil {
		t.Errorf("Swap from the value of a key without a TTL = (%v, %v), want false", ok, err)
	}
	if ok, err := st.Swap(ctx, other, nil, []byte("mine"), exp); !ok || err != nil {
		t.Errorf("Swap(nil) over a key without a TTL = (%v, %v), want true", ok, err)
	}
	if d, _, found, err := st.Load(ctx, other); !found || err != nil || string(d) != "mine" {
		t.Errorf("Load = (%q, %v, %v), want mine", d, found, err)
	}

	// An expiry that has passed deletes, as Update does.
	if ok, err := st.Swap(ctx, id, []byte("payload"), []byte("gone"), time.Now().Add(-time.Second)); !ok || err != nil {
		t.Errorf("Swap to a past expiry = (%v, %v), want true", ok, err)
	}
	if n, err := client.Exists(ctx, prefix+id).Result(); err != nil || n != 0 {
		t.Errorf("EXISTS after a Swap to a past expiry = (%d, %v), want 0", n, err)
	}

	if err := client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Swap(ctx, id, nil, []byte("after flush"), exp); !ok || err != nil {
		t.Errorf("Swap after SCRIPT FLUSH = (%v, %v), want true", ok, err)
	}
	if ok, err := st.Swap(ctx, "bad/id", nil, []byte("x"), exp); ok || err == nil {
		t.Errorf("Swap of an invalid ID = (%v, %v), want an error", ok, err)
	}
}

// TestSwapRoundTrips counts round trips to Redis (each command, and each
// pipeline or MULTI/EXEC sent together, is one) through a Manager: a
// read-only request makes one (the Load); a writing request on a session no
// other request changed makes two (the Load, then one Swap: EVALSHA); a new
// session is created with one (Swap with old nil). It logs, for comparison,
// the same requests when the Manager saves with Update (WATCH; GET+PTTL;
// MULTI/SET/EXEC).
//
// The checks of the Swap path measure the Manager's use of Swap: they fail
// on a core that still saves with Update.
func TestSwapRoundTrips(t *testing.T) {
	for _, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) {
			client, rt := countedClient(t, topo)
			if err := redisstore.LoadSwapScript(t.Context(), client); err != nil {
				t.Fatal(err)
			}
			st := mustNew(t, client, redisstore.Options{Prefix: freshPrefix()})
			measure := func(store session.Store) storetest.RequestCosts {
				m := storetest.NewManager(t, store, session.Config{})
				// Warm a connection to every node (sessions land on
				// random ones), so that no dial or slot-map load is
				// counted.
				for range 40 {
					c := put(t, m, nil, "warm", "up")
					get(t, m, c, "warm")
					put(t, m, c, "warm", "again")
				}
				c, _ := storetest.MeasureRequests(t, m, func() int64 { return rt.n.Swap(0) })
				return c
			}
			before := measure(storetest.Plain(st))
			after := measure(st)
			t.Logf("%s, round trips saving with Update: new session %d, read %d, write %d", topo.name, before.NewSession, before.Read, before.Write)
			t.Logf("%s, round trips saving with Swap:   new session %d, read %d, write %d", topo.name, after.NewSession, after.Read, after.Write)
			if before.Read != 1 || before.Write != 4 {
				t.Errorf("saving with Update: read %d, write %d round trips, want 1 and 4 (load; WATCH, GET+PTTL, MULTI/SET/EXEC)", before.Read, before.Write)
			}
			if after.Read != 1 {
				t.Errorf("read-only request: %d round trips, want 1", after.Read)
			}
			if after.Write != 2 {
				t.Errorf("writing request on an unchanged session: %d round trips, want 2 (load, EVALSHA)", after.Write)
			}
			if after.NewSession != 1 {
				t.Errorf("new session: %d round trips, want 1 (EVALSHA)", after.NewSession)
			}
		})
	}
}
