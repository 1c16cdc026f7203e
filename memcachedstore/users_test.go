package memcachedstore_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/memcachedstore"
	"github.com/sessionkit/session/storetest"
)

var _ session.UserIndex = (*memcachedstore.Store)(nil)

// The UserIndex conformance suite, each subtest with its own key prefix
// (RunManager's user subtests run in TestManager).
func TestUserIndex(t *testing.T) {
	c := newClient(t)
	storetest.RunUserIndex(t, func(t *testing.T) session.Store { return newStore(t, c) })
}

// userKey is the key of user's index, as the package documentation
// describes it.
func userKey(prefix, user string) string {
	sum := sha256.Sum256([]byte(user))
	return prefix + "user:" + base64.RawURLEncoding.EncodeToString(sum[:]) + ":"
}

// metaTTL asks memcached (meta get) for the remaining lifetime of key in
// seconds: -1 for an item that never expires.
func metaTTL(t *testing.T, key string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", testserver.Memcached(t), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(conn, "mg %s t\r\n", key); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(line)
	if len(f) != 2 || f[0] != "HD" || !strings.HasPrefix(f[1], "t") {
		t.Fatalf("mg %s t: %q", key, line)
	}
	n, err := strconv.Atoi(f[1][1:])
	if err != nil {
		t.Fatalf("mg %s t: %q", key, line)
	}
	return n
}

// The index item has the layout the package documentation describes: one
// item per user under the prefix, "user:", the hash of the user ID and ':'
// (never the user ID itself), holding a line "ID seconds" per entry, with
// no memcached expiration; it fits in a key with the longest prefix, and an
// emptied index is dropped.
func TestUserKeyLayout(t *testing.T) {
	c := newClient(t)
	ctx := t.Context()
	for _, prefix := range []string{freshPrefix(), freshPrefix() + strings.Repeat("p", 200-len(freshPrefix()))} {
		st, err := memcachedstore.New(c, memcachedstore.Options{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		for _, user := range []string{"ana", "a b\r\nset x 0 0 1", strings.Repeat("ü", session.MaxUserIDLen/2)} {
			a, b := storetest.NewID(), storetest.NewID()
			before := time.Now().Unix()
			for _, id := range []string{a, b} {
				if err := st.AddUserSession(ctx, user, id); err != nil {
					t.Fatalf("AddUserSession(%q) with a %d-byte prefix: %v", user, len(prefix), err)
				}
			}
			key := userKey(prefix, user)
			if len(key) > memcachedstore.MaxKeyLength {
				t.Fatalf("key of %d bytes", len(key))
			}
			item, err := c.Get(key)
			if err != nil {
				t.Fatalf("Get %s: %v", key, err)
			}
			lines := strings.Split(strings.TrimSuffix(string(item.Value), "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("index item %q, want two lines", item.Value)
			}
			for i, id := range []string{a, b} {
				gotID, sec, _ := strings.Cut(lines[i], " ")
				n, err := strconv.ParseInt(sec, 10, 64)
				if gotID != id || err != nil || n < before || n > time.Now().Unix() {
					t.Errorf("line %q, want %q and the Unix seconds of now", lines[i], id)
				}
			}
			if ttl := metaTTL(t, key); ttl != -1 {
				t.Errorf("the index item expires in %d s, want never (-1)", ttl)
			}
			if err := st.RemoveUserSessions(ctx, user, a, b); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Get(key); !errors.Is(err, memcache.ErrCacheMiss) {
				t.Errorf("an emptied index item is still there: %v", err)
			}
		}
	}
	st := newStore(t, c)
	if err := st.AddUserSession(ctx, "ana", "bad id"); !errors.Is(err, memcachedstore.ErrInvalidID) {
		t.Errorf("AddUserSession of an invalid ID: %v, want ErrInvalidID", err)
	}
}

// Adding is one round trip (append), two when the user has no index item
// yet (append, then add); listing is one (get); removing is two (gets,
// cas), one when none of the IDs is there. Through the Manager, listing a
// user's three sessions is one get and one load per session.
func TestUserIndexRoundTrips(t *testing.T) {
	client, rt := countedClient(t)
	st, err := memcachedstore.New(client, memcachedstore.Options{Prefix: freshPrefix()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := client.Ping(); err != nil { // dial first: no dial is counted
		t.Fatal(err)
	}
	trips := func(what string, want int64, fn func() error) {
		t.Helper()
		rt.n.Store(0)
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := rt.n.Load(); n != want {
			t.Errorf("%s: %d round trips, want %d", what, n, want)
		}
	}
	a, b := storetest.NewID(), storetest.NewID()
	trips("first AddUserSession", 2, func() error { return st.AddUserSession(ctx, "ana", a) })
	trips("AddUserSession", 1, func() error { return st.AddUserSession(ctx, "ana", b) })
	trips("ListUserSessions", 1, func() error {
		return st.ListUserSessions(ctx, "ana", func(string, time.Time) bool { return true })
	})
	trips("RemoveUserSessions", 2, func() error { return st.RemoveUserSessions(ctx, "ana", a) })
	trips("RemoveUserSessions of a missing entry", 1, func() error { return st.RemoveUserSessions(ctx, "ana", a) })

	m := storetest.NewManager(t, st, session.Config{})
	for range 3 {
		rt.n.Store(0)
		login(t, m, nil, "bea")
		t.Logf("a new visitor's login request: %d round trips", rt.n.Load())
	}
	rt.n.Store(0)
	infos, err := m.UserSessions(ctx, "bea")
	if err != nil || len(infos) != 3 {
		t.Fatalf("UserSessions = %d sessions, %v; want 3", len(infos), err)
	}
	if n := rt.n.Load(); n != 1+3 {
		t.Errorf("listing 3 sessions: %d round trips, want 4 (get, and one gets per session)", n)
	}
}

// login logs the session of cookie (a new one when nil) in as user through
// a request, and returns its new cookie.
func login(t *testing.T, m *session.Manager, cookie *http.Cookie, user string) *http.Cookie {
	t.Helper()
	code, body, c := do(t.Context(), m, cookie, func(s *session.Session) string {
		if err := s.Login(user); err != nil {
			return err.Error()
		}
		return "ok"
	})
	if code != http.StatusOK || body != "ok" || c == nil {
		t.Fatalf("login as %s: status %d %q, cookie %v", user, code, body, c)
	}
	return c
}

// Adds racing removals of other entries of the same user all land: a
// removal rewrites the item with a cas, which an append in between makes
// fail, and then starts again from the newer item.
func TestUserIndexAddsRaceRemovals(t *testing.T) {
	st := newStore(t, newClient(t))
	ctx := t.Context()
	const n = 40
	old := make([]string, n)
	for i := range old {
		old[i] = storetest.NewID()
		if err := st.AddUserSession(ctx, "ana", old[i]); err != nil {
			t.Fatal(err)
		}
	}
	added := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		added[i] = storetest.NewID()
		wg.Go(func() {
			if err := st.AddUserSession(ctx, "ana", added[i]); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			if err := st.RemoveUserSessions(ctx, "ana", old[i]); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent add or remove: %v", err)
	}
	var got []string
	if err := st.ListUserSessions(ctx, "ana", func(id string, _ time.Time) bool { got = append(got, id); return true }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := slices.Clone(added)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("after %d adds racing %d removals the index holds %d entries (%d of the added), want exactly the %d added",
			n, n, len(got), countIn(got, added), n)
	}
}

func countIn(ids, set []string) int {
	k := 0
	for _, id := range ids {
		if slices.Contains(set, id) {
			k++
		}
	}
	return k
}

// What an evicted index item means, as the package documentation says:
// memcached may evict the item of a user's index (it never expires, but it
// is evicted like any item when memory runs out, here deleted as eviction
// would). The user's sessions stay live and load, but UserSessions no
// longer lists them and DestroyUserSessions no longer ends them; the next
// Login starts a new index with its own entry only.
func TestEvictedUserIndex(t *testing.T) {
	c := newClient(t)
	prefix := freshPrefix()
	st, err := memcachedstore.New(c, memcachedstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	m := storetest.NewManager(t, st, session.Config{})
	ctx := t.Context()
	hidden := login(t, m, put(t, m, nil, "k", "v"), "ana")
	if infos, err := m.UserSessions(ctx, "ana"); err != nil || len(infos) != 1 {
		t.Fatalf("UserSessions = %d, %v; want 1", len(infos), err)
	}
	if err := c.Delete(userKey(prefix, "ana")); err != nil { // evicted
		t.Fatal(err)
	}
	if infos, err := m.UserSessions(ctx, "ana"); err != nil || len(infos) != 0 {
		t.Errorf("with its index evicted, UserSessions = %d, %v; want 0 (the documented limit)", len(infos), err)
	}
	later := login(t, m, nil, "ana")
	if n, err := m.DestroyUserSessions(ctx, "ana"); err != nil || n != 1 {
		t.Errorf("DestroyUserSessions = %d, %v; want 1: the session logged in after the eviction", n, err)
	}
	if got := get(t, m, later, "k"); got != "" {
		t.Errorf("the listed session survived DestroyUserSessions")
	}
	if got := get(t, m, hidden, "k"); got != "v" {
		t.Errorf("the session whose entry was evicted: k = %q; want it still live (the documented limit)", got)
	}
}
