package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/sessionid"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/redisstore"
	"github.com/sessionkit/session/storetest"
)

// quietLogger drops go-redis's own log lines (every failover client logs
// the master it found; a failover logs each refused dial).
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietLogger{})
	code := m.Run()
	testserver.StopRedis()
	os.Exit(code)
}

// topology is one way of reaching Redis: a name and a client shared by the
// tests of one top-level test.
type topology struct {
	name   string
	client func(t *testing.T) redis.UniversalClient
}

var topologies = []topology{
	{"single", singleClient},
	{"cluster", clusterClient},
	{"sentinel", sentinelClient},
}

func singleClient(t *testing.T) redis.UniversalClient {
	addr := testserver.Redis(t)
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}

func clusterClient(t *testing.T) redis.UniversalClient {
	addrs := testserver.RedisCluster(t)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	return c
}

func sentinelClient(t *testing.T) redis.UniversalClient {
	g := testserver.RedisSentinel(t)
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:            g.MasterName,
		SentinelAddrs:         []string{g.SentinelAddr},
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// mustNew returns redisstore.New(c, opts), failing the test on an error.
func mustNew(t testing.TB, c redis.UniversalClient, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// freshPrefix returns a key prefix no other test uses.
func freshPrefix() string { return "test:" + storetest.NewID()[:12] + ":" }

// The conformance suite, with the Mover checks, on a single server and on a
// Cluster through New, and behind Sentinel through Open (the redis+sentinel
// URL form). Each subtest gets its own key prefix, so an empty store.
func TestConformance(t *testing.T) {
	for _, topo := range topologies[:2] {
		t.Run(topo.name, func(t *testing.T) {
			client := topo.client(t)
			newStore := func(t *testing.T) session.Store {
				return mustNew(t, client, redisstore.Options{Prefix: freshPrefix()})
			}
			storetest.Run(t, newStore)
			storetest.RunMover(t, newStore)
			storetest.RunLister(t, newStore)
		})
	}
	t.Run("sentinel", func(t *testing.T) {
		g := testserver.RedisSentinel(t)
		newStore := func(t *testing.T) session.Store {
			st, err := redisstore.Open(t.Context(), fmt.Sprintf("redis+sentinel://%s/%s/0?prefix=%s", g.SentinelAddr, g.MasterName, freshPrefix()), redisstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		storetest.Run(t, newStore)
		storetest.RunMover(t, newStore)
	})
}

// The key layout and TTL are what the package documentation says: one key,
// Prefix + ID, expiring with the session; Touch changes the TTL and not the
// payload.
func TestKeyLayoutAndTTL(t *testing.T) {
	client := singleClient(t)
	prefix := freshPrefix()
	st := mustNew(t, client, redisstore.Options{Prefix: prefix})
	ctx := t.Context()
	id := storetest.NewID()
	exp := time.Now().Add(90 * time.Second)
	err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("payload"), exp, nil })
	if err != nil {
		t.Fatal(err)
	}
	if v, err := client.Get(ctx, prefix+id).Result(); err != nil || v != "payload" {
		t.Fatalf("GET %s = %q, %v; want the payload under prefix+ID", prefix+id, v, err)
	}
	ttl := client.PTTL(ctx, prefix+id).Val()
	if ttl < 88*time.Second || ttl > 90*time.Second {
		t.Errorf("PTTL = %v, want about 90s", ttl)
	}
	if err := st.Touch(ctx, id, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ttl := client.PTTL(ctx, prefix+id).Val(); ttl < 59*time.Minute {
		t.Errorf("PTTL after Touch = %v, want about 1h", ttl)
	}
	if keys := client.Keys(ctx, prefix+"*").Val(); len(keys) != 1 {
		t.Errorf("keys under the prefix: %q, want exactly one", keys)
	}
	// The default prefix.
	if p := mustNew(t, client, redisstore.Options{}).Prefix(); p != redisstore.DefaultPrefix {
		t.Errorf("default prefix %q", p)
	}
}

// Move on each topology (atomic on single and Sentinel, in two steps on a
// Cluster) returns the package's errors: ErrExists for a taken new ID,
// ErrInvalidID for an ID outside the alphabet. storetest.RunMover checks the
// rest.
func TestMove(t *testing.T) {
	for _, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) {
			st := mustNew(t, topo.client(t), redisstore.Options{Prefix: freshPrefix()})
			ctx := t.Context()
			exp := time.Now().Add(time.Hour)
			put := func(id, data string) {
				t.Helper()
				err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte(data), exp, nil })
				if err != nil {
					t.Fatal(err)
				}
			}
			load := func(id string) (string, bool) {
				t.Helper()
				d, _, found, err := st.Load(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				return string(d), found
			}

			// A move: fn sees the old record; the old ID is gone, the new holds fn's result.
			oldID, newID := storetest.NewID(), storetest.NewID()
			put(oldID, "old data")
			err := st.Move(ctx, oldID, newID, func(d []byte, found bool) ([]byte, time.Time, error) {
				if !found || string(d) != "old data" {
					t.Errorf("Move fn got (%q, %v)", d, found)
				}
				return []byte("moved data"), exp, nil
			})
			if err != nil {
				t.Fatalf("Move: %v", err)
			}
			if _, found := load(oldID); found {
				t.Error("the old ID still loads after Move")
			}
			if d, found := load(newID); !found || d != "moved data" {
				t.Errorf("new ID holds (%q, %v), want the moved data", d, found)
			}

			// fn's error: nothing changes.
			errFn := errors.New("fn says no")
			a, b := storetest.NewID(), storetest.NewID()
			put(a, "stays")
			err = st.Move(ctx, a, b, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), exp, errFn })
			if !errors.Is(err, errFn) {
				t.Errorf("Move with a failing fn: %v, want fn's error", err)
			}
			if d, found := load(a); !found || d != "stays" {
				t.Errorf("old record after a failed Move: (%q, %v)", d, found)
			}
			if _, found := load(b); found {
				t.Error("a failed Move created the new record")
			}

			// The new ID taken: ErrExists, nothing changes, fn not called.
			c := storetest.NewID()
			put(c, "taken")
			err = st.Move(ctx, a, c, func([]byte, bool) ([]byte, time.Time, error) {
				t.Error("Move called fn although the new ID is taken")
				return []byte("x"), exp, nil
			})
			if !errors.Is(err, redisstore.ErrExists) {
				t.Errorf("Move onto a taken ID: %v, want ErrExists", err)
			}
			if d, _ := load(a); d != "stays" {
				t.Errorf("old record after Move onto a taken ID: %q", d)
			}
			if d, _ := load(c); d != "taken" {
				t.Errorf("taken record after Move onto it: %q", d)
			}

			// A missing old record: fn sees found == false.
			err = st.Move(ctx, storetest.NewID(), storetest.NewID(), func(d []byte, found bool) ([]byte, time.Time, error) {
				if found {
					t.Error("fn saw a record for a missing old ID")
				}
				return nil, time.Time{}, errFn
			})
			if !errors.Is(err, errFn) {
				t.Errorf("Move of a missing ID: %v", err)
			}
			if err := st.Move(ctx, "bad id", storetest.NewID(), nil); !errors.Is(err, redisstore.ErrInvalidID) {
				t.Errorf("Move of an invalid ID: %v, want ErrInvalidID", err)
			}
		})
	}
}

// List enumerates the unexpired sessions under the prefix only, on a single
// server and on every master of a Cluster.
func TestList(t *testing.T) {
	for _, topo := range topologies[:2] {
		t.Run(topo.name, func(t *testing.T) {
			client := topo.client(t)
			st := mustNew(t, client, redisstore.Options{Prefix: freshPrefix()})
			other := mustNew(t, client, redisstore.Options{Prefix: freshPrefix()})
			ctx := t.Context()
			exp := time.Now().Add(time.Hour)
			var want []string
			for range 30 {
				id := storetest.NewID()
				want = append(want, id)
				if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), exp, nil }); err != nil {
					t.Fatal(err)
				}
			}
			if err := other.Update(ctx, storetest.NewID(), func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), exp, nil }); err != nil {
				t.Fatal(err)
			}
			var got []string
			err := st.List(ctx, func(id string, e time.Time) bool {
				if e.Sub(exp) > time.Second || exp.Sub(e) > time.Second {
					t.Errorf("List: expiry %v, want about %v", e, exp)
				}
				got = append(got, id)
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("List returned %d IDs, want the %d of this prefix", len(got), len(want))
			}
			n := 0
			if err := st.List(ctx, func(string, time.Time) bool { n++; return n < 5 }); err != nil || n != 5 {
				t.Errorf("List stopped by fn: called %d times (want 5), err %v", n, err)
			}
		})
	}
}

// A server that is not there gives a prompt error, not a hang, from every
// method, and a 500 from the Manager, with Open's default options.
func TestUnreachable(t *testing.T) {
	st, err := redisstore.Open(t.Context(), "redis://"+testserver.ClosedAddr(t)+"/0", redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id := storetest.NewID()
	start := time.Now()
	if _, _, _, err := st.Load(t.Context(), id); err == nil || !strings.HasPrefix(err.Error(), "redisstore: load: ") {
		t.Errorf("Load: error %v, want a redisstore: load: error", err)
	}
	err = st.Update(t.Context(), id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), time.Now().Add(time.Hour), nil })
	if err == nil || !strings.HasPrefix(err.Error(), "redisstore: update: ") {
		t.Errorf("Update: error %v", err)
	}
	if err := st.Touch(t.Context(), id, time.Now().Add(time.Hour)); err == nil {
		t.Error("Touch: no error")
	}
	if err := st.Delete(t.Context(), id); err == nil {
		t.Error("Delete: no error")
	}
	code, _ := requestThrough(t, st)
	if code != 500 {
		t.Errorf("request with the store down: status %d, want 500", code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("four calls and a request to a closed port took %v", d)
	}
	t.Logf("four calls and a request to a closed port: %v", time.Since(start).Round(time.Millisecond))

	// A client from New with go-redis's slower defaults: a request
	// deadline bounds the wait.
	c := redis.NewClient(&redis.Options{Addr: testserver.ClosedAddr(t), ContextTimeoutEnabled: true})
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, _, _, err := mustNew(t, c, redisstore.Options{}).Load(ctx, id); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Load past its deadline: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Load with a 300ms deadline took %v", d)
	}
}

// The "redis" driver opens the store from Config.Connection, and the Manager
// closes the client it opened.
func TestDriver(t *testing.T) {
	addr := testserver.Redis(t)
	if !slices.Contains(session.Drivers(), "redis") {
		t.Fatalf("driver not registered: %v", session.Drivers())
	}
	prefix := freshPrefix()
	m, err := session.New(session.Config{Secret: "test secret - a test secret, not for production", Driver: "redis", Connection: "redis://" + addr + "/0?prefix=" + prefix})
	if err != nil {
		t.Fatal(err)
	}
	st, ok := m.Store().(*redisstore.Store)
	if !ok || st.Prefix() != prefix {
		t.Fatalf("store %T with prefix %q", m.Store(), st.Prefix())
	}
	cookie := put(t, m, nil, "k", "v")
	if got := get(t, m, cookie, "k"); got != "v" {
		t.Errorf("value read back %q", got)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Client().Ping(t.Context()).Err(); !errors.Is(err, redis.ErrClosed) {
		t.Errorf("after Manager.Close, the client answers %v; want it closed", err)
	}

	_, err = session.New(session.Config{Secret: "test secret - a test secret, not for production", Driver: "redis", Connection: "http://" + addr})
	if err == nil || !strings.Contains(err.Error(), "redisstore: connection URL") {
		t.Errorf("bad URL: %v", err)
	}
}

// A store from New leaves the application's client open.
func TestNewDoesNotCloseClient(t *testing.T) {
	client := singleClient(t)
	st := mustNew(t, client, redisstore.Options{})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Errorf("client after Store.Close: %v", err)
	}
}

// New refuses a nil client; Open refuses an ended context, and otherwise
// opens without the server (TestUnreachable).
func TestConstructorErrors(t *testing.T) {
	for _, c := range []redis.UniversalClient{nil, (*redis.Client)(nil), (*redis.ClusterClient)(nil)} {
		if st, err := redisstore.New(c, redisstore.Options{}); err == nil || st != nil || !strings.HasPrefix(err.Error(), "redisstore: ") {
			t.Errorf("New(%#v): %v, %v; want an error", c, st, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if st, err := redisstore.Open(ctx, "redis://127.0.0.1:1/0", redisstore.Options{}); !errors.Is(err, context.Canceled) || st != nil {
		t.Errorf("Open with an ended context: %v, %v", st, err)
	}
}

// IDs follow the rule every store shares (internal/sessionid): 1 to
// sessionid.MaxLen characters of the URL-safe base64 alphabet.
func TestIDRule(t *testing.T) {
	st := mustNew(t, singleClient(t), redisstore.Options{Prefix: freshPrefix()})
	ctx := t.Context()
	write := func(id string) error {
		return st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), time.Now().Add(time.Hour), nil })
	}
	longest := strings.Repeat("a", sessionid.MaxLen)
	if err := write(longest); err != nil {
		t.Errorf("Update of a %d-character ID: %v", len(longest), err)
	}
	if _, _, found, err := st.Load(ctx, longest); !found || err != nil {
		t.Errorf("Load of a %d-character ID: %v, %v", len(longest), found, err)
	}
	for _, id := range []string{longest + "a", "", "a:b", "a{b}", "a*", "a b", "é"} {
		if err := write(id); !errors.Is(err, redisstore.ErrInvalidID) {
			t.Errorf("Update(%q): %v, want ErrInvalidID", id, err)
		}
		if _, err := st.Swap(ctx, id, nil, []byte("x"), time.Now().Add(time.Hour)); !errors.Is(err, redisstore.ErrInvalidID) {
			t.Errorf("Swap(%q): %v, want ErrInvalidID", id, err)
		}
		if _, _, found, err := st.Load(ctx, id); found || err != nil {
			t.Errorf("Load(%q): %v, %v; want not found", id, found, err)
		}
	}
}

// Applications sharing a Redis with prefixes that overlap ("shop" and
// "shop2", "shop:" and "shop:eu:") never see or touch each other's
// sessions: New refuses a prefix that does not end with a character outside
// the ID alphabet, and each accepted store lists, and so deletes, exactly
// its own sessions, not keys that other programs wrote under the refused
// prefixes either.
func TestOverlappingPrefixes(t *testing.T) {
	for _, topo := range topologies[:2] {
		t.Run(topo.name, func(t *testing.T) {
			client := topo.client(t)
			ctx := t.Context()
			exp := time.Now().Add(time.Hour)
			base := "shop" + strings.NewReplacer("-", "x", "_", "y").Replace(storetest.NewID()[:8])
			refused := []string{base, base + "2", base + ":2", base + "-", base + "_"}
			accepted := []string{base + ":", base + "2:", base + ":eu:", base + "::", base + "-:", base + "/", base + "{tag}"}
			own := map[string][]string{}
			stores := map[string]*redisstore.Store{}
			for _, p := range append(refused, accepted...) {
				st, err := redisstore.New(client, redisstore.Options{Prefix: p})
				if slices.Contains(refused, p) {
					if err == nil || !strings.Contains(err.Error(), "prefix") {
						t.Errorf("New with prefix %q: %v, want an error about the prefix", p, err)
					}
					// Another program (or an older version) writes under it.
					// (Under base+":2" it would write in base+":"'s key space,
					// where nothing tells its keys from that store's.)
					if p != base+":2" {
						if err := client.Set(ctx, p+storetest.NewID(), "x", time.Hour).Err(); err != nil {
							t.Fatal(err)
						}
					}
				}
				if err != nil {
					continue
				}
				stores[p] = st
				for range 3 {
					id := storetest.NewID()
					if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), exp, nil }); err != nil {
						t.Fatal(err)
					}
					own[p] = append(own[p], id)
				}
			}
			list := func(st *redisstore.Store) []string {
				var ids []string
				if err := st.List(ctx, func(id string, _ time.Time) bool { ids = append(ids, id); return true }); err != nil {
					t.Fatal(err)
				}
				slices.Sort(ids)
				return ids
			}
			for _, p := range accepted {
				if stores[p] == nil {
					t.Errorf("New refused prefix %q", p)
				}
			}
			for p, st := range stores {
				want := slices.Sorted(slices.Values(own[p]))
				if got := list(st); !slices.Equal(got, want) {
					t.Errorf("prefix %q lists %q, want its own %q", p, got, want)
				}
			}
			// destroy --all on one leaves every other's sessions.
			if st := stores[base+":"]; st != nil {
				for _, id := range list(st) {
					if err := st.Delete(ctx, id); err != nil {
						t.Fatal(err)
					}
				}
				for p, other := range stores {
					if p != base+":" && len(list(other)) != len(own[p]) {
						t.Errorf("deleting all of %q's sessions deleted some of %q's", base+":", p)
					}
				}
			}
			for _, p := range refused {
				if _, err := redisstore.Open(ctx, "redis://127.0.0.1:1/0?prefix="+url.QueryEscape(p), redisstore.Options{}); err == nil || !strings.Contains(err.Error(), "prefix") {
					t.Errorf("Open with ?prefix=%s: %v, want an error about the prefix", p, err)
				}
			}
		})
	}
}
