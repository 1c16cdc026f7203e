package redisstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
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

// The conformance suite of session.UserIndex on a single server and a
// Cluster through New, and behind Sentinel through Open. (TestManager runs
// RunManager's user subtests on every topology.)
func TestUserIndex(t *testing.T) {
	for _, topo := range topologies[:2] {
		t.Run(topo.name, func(t *testing.T) {
			client := topo.client(t)
			storetest.RunUserIndex(t, func(t *testing.T) session.Store {
				return mustNew(t, client, redisstore.Options{Prefix: freshPrefix()})
			})
		})
	}
	t.Run("sentinel", func(t *testing.T) {
		g := testserver.RedisSentinel(t)
		storetest.RunUserIndex(t, func(t *testing.T) session.Store {
			st, err := redisstore.Open(t.Context(), fmt.Sprintf("redis+sentinel://%s/%s/0?prefix=%s", g.SentinelAddr, g.MasterName, freshPrefix()), redisstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
}

// userKey is the key of user's index under prefix, as the package
// documentation gives it.
func userKey(prefix, user string) string {
	sum := sha256.Sum256([]byte(user))
	return prefix + "user:" + hex.EncodeToString(sum[:]) + ":"
}

// A user's index is one sorted set, prefix + "user:" + hex SHA-256 of the
// user ID + ":", scored with the time each entry was added in Unix
// milliseconds, without a TTL; no key holds the user ID; the key is no
// session key, by List or by a store whose prefix ends inside it; and its
// last entry removed, the key is gone.
func TestUserKeyLayout(t *testing.T) {
	client := singleClient(t)
	prefix := freshPrefix()
	st := mustNew(t, client, redisstore.Options{Prefix: prefix})
	ctx := t.Context()
	user := "ana@example.com"
	a, b := storetest.NewID(), storetest.NewID()
	before := time.Now().UnixMilli()
	for _, id := range []string{a, b} {
		if err := st.AddUserSession(ctx, user, id); err != nil {
			t.Fatal(err)
		}
	}
	after := time.Now().UnixMilli()
	keys := client.Keys(ctx, prefix+"*").Val()
	key := userKey(prefix, user)
	if !slices.Equal(keys, []string{key}) {
		t.Fatalf("keys under the prefix: %q, want only %q", keys, key)
	}
	if strings.Contains(key, user) || strings.Contains(key, "ana") {
		t.Errorf("key %q holds the user ID", key)
	}
	if rest := strings.TrimPrefix(key, prefix); sessionid.Valid(rest) {
		t.Errorf("the remainder %q of the index key is a valid session ID", rest)
	}
	// Cut anywhere after a character no ID holds, the rest is no ID either.
	for i := len(prefix); i < len(key); i++ {
		if !sessionid.Valid(key[i-1:i]) && sessionid.Valid(key[i:]) {
			t.Errorf("a store with prefix %q would take the index key for session %q", key[:i], key[i:])
		}
	}
	if typ := client.Type(ctx, key).Val(); typ != "zset" {
		t.Errorf("index key type %q, want zset", typ)
	}
	for _, id := range []string{a, b} {
		score, err := client.ZScore(ctx, key, id).Result()
		if err != nil || int64(score) < before || int64(score) > after {
			t.Errorf("score of %s = %v, %v; want Unix milliseconds in [%d, %d]", id, score, err, before, after)
		}
	}
	if ttl := client.PTTL(ctx, key).Val(); ttl != -1 {
		t.Errorf("index key PTTL = %v, want none (-1)", ttl)
	}
	// An entry that is no session ID (written by something else) is skipped.
	client.ZAdd(ctx, key, redis.Z{Score: 1, Member: "not an id"})
	var listed []string
	if err := st.ListUserSessions(ctx, user, func(id string, _ time.Time) bool { listed = append(listed, id); return true }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(listed)
	if want := []string{min(a, b), max(a, b)}; !slices.Equal(listed, want) {
		t.Errorf("listed %q, want the two session IDs", listed)
	}
	client.ZRem(ctx, key, "not an id")
	if err := st.RemoveUserSessions(ctx, user, a, b, "not an id"); err != nil {
		t.Fatal(err)
	}
	if n := client.Exists(ctx, key).Val(); n != 0 {
		t.Error("the index key outlives its last entry")
	}
	if err := st.AddUserSession(ctx, user, "bad id"); !errors.Is(err, redisstore.ErrInvalidID) {
		t.Errorf("AddUserSession of an invalid ID: %v, want ErrInvalidID", err)
	}
}

// Round trips of a user's index on every topology: adding, listing and
// removing are one each; listing a user's N sessions through the Manager is
// one index read and N loads; destroying them adds an Update (three round
// trips) per session and one ZREM; a logged-in session's read is still one
// round trip.
func TestUserIndexRoundTrips(t *testing.T) {
	for _, topo := range topologies {
		t.Run(topo.name, func(t *testing.T) {
			client, rt := countedClient(t, topo)
			st := mustNew(t, client, redisstore.Options{Prefix: freshPrefix()})
			ctx := t.Context()
			count := func(what string, want int64, fn func()) {
				t.Helper()
				rt.n.Store(0)
				fn()
				if n := rt.n.Load(); n != want {
					t.Errorf("%s: %d round trips, want %d", what, n, want)
				}
			}
			id := storetest.NewID()
			// Warm the connections (on a Cluster, the slot map and the
			// connection to ana's node: dialing and greeting a node costs
			// round trips that are no call's).
			for _, user := range []string{"warm", "ana"} {
				if err := st.AddUserSession(ctx, user, id); err != nil {
					t.Fatal(err)
				}
				if err := st.RemoveUserSessions(ctx, user, id); err != nil {
					t.Fatal(err)
				}
			}
			count("AddUserSession", 1, func() {
				if err := st.AddUserSession(ctx, "ana", id); err != nil {
					t.Error(err)
				}
			})
			count("ListUserSessions", 1, func() {
				if err := st.ListUserSessions(ctx, "ana", func(string, time.Time) bool { return true }); err != nil {
					t.Error(err)
				}
			})
			count("RemoveUserSessions", 1, func() {
				if err := st.RemoveUserSessions(ctx, "ana", id, storetest.NewID()); err != nil {
					t.Error(err)
				}
			})

			m := storetest.NewManager(t, st, session.Config{})
			const n = 3
			clients := make([]*userClient, n)
			for i := range clients {
				clients[i] = &userClient{m: m}
				clients[i].do(t, func(s *session.Session) { s.Put("k", i) })
				rt.n.Store(0)
				clients[i].do(t, func(s *session.Session) {
					if err := s.Login("ana"); err != nil {
						t.Fatal(err)
					}
				})
				if i == n-1 {
					t.Logf("a Login on a stored session: %d round trips", rt.n.Load())
				}
			}
			// Warm every connection these calls use (on a Cluster, a node
			// first reached here dials and greets it: round trips that are
			// no request's).
			if _, err := m.UserSessions(ctx, "ana"); err != nil {
				t.Fatal(err)
			}
			count(fmt.Sprintf("UserSessions of %d sessions", n), 1+n, func() {
				if infos, err := m.UserSessions(ctx, "ana"); len(infos) != n || err != nil {
					t.Errorf("UserSessions: %d, %v; want %d", len(infos), err, n)
				}
			})
			count("a logged-in session's read", 1, func() {
				clients[0].do(t, func(s *session.Session) {
					if s.UserID() != "ana" || !s.Has("k") {
						t.Errorf("the logged-in session reads user %q, has k %v", s.UserID(), s.Has("k"))
					}
				})
			})
			count(fmt.Sprintf("DestroyUserSessions of %d sessions", n), 1+n+3*n+1, func() {
				if got, err := m.DestroyUserSessions(ctx, "ana"); got != n || err != nil {
					t.Errorf("DestroyUserSessions = %d, %v; want %d", got, err, n)
				}
			})
		})
	}
}

// userClient is a browser: it keeps the session cookie between requests.
type userClient struct {
	m      *session.Manager
	cookie *http.Cookie
}

// do sends one request whose handler runs fn, and keeps the cookie it sets.
func (c *userClient) do(t *testing.T, fn func(s *session.Session)) {
	t.Helper()
	code, _, ck := do(t.Context(), c.m, c.cookie, func(s *session.Session) string { fn(s); return "" })
	if code != http.StatusOK {
		t.Fatalf("request answered %d", code)
	}
	if ck != nil {
		c.cookie = ck
	}
}

// Stores whose prefixes overlap ("p:" and "p:user:", whose sessions' keys
// start as p:'s index keys do; "p:eu:", "p::", "p2:") never see each
// other's user indexes: each user's index lists only the store's own
// entries, removing entries from one leaves the others', List returns
// sessions only (no index key under any prefix), the hash of a user ID is
// no session to the store whose prefix ends with p:'s "user:", and deleting
// every session of one store (sessionctl destroy --all) leaves every other
// store's sessions and indexes.
func TestOverlappingPrefixesUserIndexes(t *testing.T) {
	for _, topo := range topologies[:2] {
		t.Run(topo.name, func(t *testing.T) {
			client := topo.client(t)
			ctx := t.Context()
			exp := time.Now().Add(time.Hour)
			base := "shop" + strings.NewReplacer("-", "x", "_", "y").Replace(storetest.NewID()[:8])
			prefixes := []string{base + ":", base + ":user:", base + ":eu:", base + "::", base + "2:"}
			users := []string{"ana", "bob", ""}
			type own struct {
				sessions []string
				index    map[string][]string // user → IDs
			}
			stores := map[string]*redisstore.Store{}
			owned := map[string]*own{}
			for _, p := range prefixes {
				st := mustNew(t, client, redisstore.Options{Prefix: p})
				stores[p] = st
				o := &own{index: map[string][]string{}}
				owned[p] = o
				for _, u := range users {
					for range 2 {
						id := storetest.NewID()
						if err := st.AddUserSession(ctx, u, id); err != nil {
							t.Fatal(err)
						}
						if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), exp, nil }); err != nil {
							t.Fatal(err)
						}
						o.sessions = append(o.sessions, id)
						o.index[u] = append(o.index[u], id)
					}
				}
			}
			listIndex := func(st *redisstore.Store, user string) []string {
				t.Helper()
				var ids []string
				if err := st.ListUserSessions(ctx, user, func(id string, _ time.Time) bool { ids = append(ids, id); return true }); err != nil {
					t.Fatal(err)
				}
				slices.Sort(ids)
				return ids
			}
			list := func(st *redisstore.Store) []string {
				t.Helper()
				var ids []string
				if err := st.List(ctx, func(id string, _ time.Time) bool { ids = append(ids, id); return true }); err != nil {
					t.Fatal(err)
				}
				slices.Sort(ids)
				return ids
			}
			check := func(when string) {
				t.Helper()
				for p, st := range stores {
					o := owned[p]
					if got, want := list(st), slices.Sorted(slices.Values(o.sessions)); !slices.Equal(got, want) {
						t.Errorf("%s: prefix %q lists %q, want its own sessions %q", when, p, got, want)
					}
					for _, u := range users {
						if got, want := listIndex(st, u), slices.Sorted(slices.Values(o.index[u])); !slices.Equal(got, want) {
							t.Errorf("%s: prefix %q, user %q: index %q, want its own %q", when, p, u, got, want)
						}
					}
				}
			}
			check("at first")

			// To the store whose prefix is p:'s "user:", the hash in p:'s
			// index key names no session.
			inner := stores[base+":user:"]
			for _, u := range users {
				key := userKey(base+":", u)
				rest := strings.TrimPrefix(key, base+":user:")
				for _, id := range []string{rest, strings.TrimSuffix(rest, ":")} {
					if _, _, found, err := inner.Load(ctx, id); found || err != nil {
						t.Errorf("prefix %q loads %q (the index key of user %q under %q): found %v, %v", base+":user:", id, u, base+":", found, err)
					}
				}
			}

			// Removing from one store's indexes leaves the others'.
			outer := stores[base+":"]
			for _, u := range users {
				var all []string
				for _, o := range owned {
					all = append(all, o.index[u]...)
				}
				if err := outer.RemoveUserSessions(ctx, u, all...); err != nil {
					t.Fatal(err)
				}
				owned[base+":"].index[u] = nil
			}
			check("after removing every entry from " + base + ":")

			// destroy --all on one store: every other keeps its sessions.
			for _, id := range list(outer) {
				if err := outer.Delete(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			owned[base+":"].sessions = nil
			check("after deleting every session of " + base + ":")
		})
	}
}
