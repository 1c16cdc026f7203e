package memcachedstore_test

import (
	"encoding/binary"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/memcachedstore"
	"github.com/sessionkit/session/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopMemcached()
	os.Exit(code)
}

// freshPrefix returns a key prefix no other test uses.
func freshPrefix() string { return "test:" + storetest.NewID()[:12] + ":" }

// newClient returns a client of the test memcached, sized for the
// concurrency tests.
func newClient(t testing.TB) *memcache.Client {
	c := memcache.New(testserver.Memcached(t))
	c.MaxIdleConns = 256
	t.Cleanup(func() { c.Close() })
	return c
}

func newStore(t testing.TB, c *memcache.Client) *memcachedstore.Store {
	st, err := memcachedstore.New(c, memcachedstore.Options{Prefix: freshPrefix()})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The conformance suite, each subtest with its own key prefix.
func TestConformance(t *testing.T) {
	c := newClient(t)
	storetest.Run(t, func(t *testing.T) session.Store { return newStore(t, c) })
}

// The conformance suite through Open and a memcached:// URL.
func TestConformanceOpen(t *testing.T) {
	addr := testserver.Memcached(t)
	storetest.Run(t, func(t *testing.T) session.Store {
		st, err := memcachedstore.Open(t.Context(), "memcached://"+addr+"?prefix="+freshPrefix(), memcachedstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}

// The item layout the package documentation describes: one item under
// Prefix + ID, a 9-byte header with the expiry, memcached's expiration a
// little after it; Touch rewrites the header and keeps the payload.
func TestItemLayout(t *testing.T) {
	c := newClient(t)
	prefix := freshPrefix()
	st, err := memcachedstore.New(c, memcachedstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	id := storetest.NewID()
	exp := time.Now().Add(time.Second)
	if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("payload"), exp, nil }); err != nil {
		t.Fatal(err)
	}
	item, err := c.Get(prefix + id)
	if err != nil {
		t.Fatalf("Get %s: %v", prefix+id, err)
	}
	if len(item.Value) != 9+7 || item.Value[0] != 1 || string(item.Value[9:]) != "payload" {
		t.Fatalf("item value %q", item.Value)
	}
	if ns := int64(binary.BigEndian.Uint64(item.Value[1:9])); ns != exp.UnixNano() {
		t.Errorf("header expiry %d, want %d", ns, exp.UnixNano())
	}

	later := time.Now().Add(time.Hour)
	if err := st.Touch(ctx, id, later); err != nil {
		t.Fatal(err)
	}
	item, _ = c.Get(prefix + id)
	if ns := int64(binary.BigEndian.Uint64(item.Value[1:9])); ns != later.UnixNano() || string(item.Value[9:]) != "payload" {
		t.Errorf("after Touch: header %d (want %d), payload %q", ns, later.UnixNano(), item.Value[9:])
	}
	// memcached's own expiration moved too: the item outlives its first
	// expiry (1 s, plus up to 2 s of margin).
	time.Sleep(3200 * time.Millisecond)
	if _, err := c.Get(prefix + id); err != nil {
		t.Errorf("the item vanished after Touch extended it: %v", err)
	}

	// An item that this store did not write is not a session.
	foreign := storetest.NewID()
	c.Set(&memcache.Item{Key: prefix + foreign, Value: []byte("not ours")})
	if _, _, found, err := st.Load(ctx, foreign); found || err != nil {
		t.Errorf("Load of a foreign item: found %v, err %v", found, err)
	}

	// Deleting by Update leaves nothing loadable, and memcached drops it.
	if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return nil, time.Time{}, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(prefix + id); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Errorf("after a delete by Update, memcached still holds the item: %v", err)
	}
}

// The embedded expiry is the truth: once it passes, the record does not load,
// even while memcached still holds the item.
func TestEmbeddedExpiry(t *testing.T) {
	c := newClient(t)
	st := newStore(t, c)
	ctx := t.Context()
	id := storetest.NewID()
	exp := time.Now().Add(300 * time.Millisecond)
	if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("short"), exp, nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, found, _ := st.Load(ctx, id); !found {
		t.Fatal("not found before its expiry")
	}
	time.Sleep(time.Until(exp) + 50*time.Millisecond)
	if _, _, found, err := st.Load(ctx, id); found || err != nil {
		t.Errorf("Load after the expiry: found %v, err %v", found, err)
	}
	if err := st.Touch(ctx, id, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, found, _ := st.Load(ctx, id); found {
		t.Error("Touch revived an expired record")
	}
}

func TestInvalidIDs(t *testing.T) {
	st := newStore(t, newClient(t))
	ctx := t.Context()
	long := strings.Repeat("a", 240)
	for _, id := range []string{"", "a b", "a\r\nset x 0 0 1", long} {
		if _, _, found, err := st.Load(ctx, id); found || err != nil {
			t.Errorf("Load(%q): found %v, err %v", id, found, err)
		}
		err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), time.Now().Add(time.Hour), nil })
		if !errors.Is(err, memcachedstore.ErrInvalidID) {
			t.Errorf("Update(%q): %v, want ErrInvalidID", id, err)
		}
		if err := st.Delete(ctx, id); err != nil {
			t.Errorf("Delete(%q): %v", id, err)
		}
		if err := st.Touch(ctx, id, time.Now()); err != nil {
			t.Errorf("Touch(%q): %v", id, err)
		}
	}
	if _, err := memcachedstore.New(newClient(t), memcachedstore.Options{Prefix: "has space"}); err == nil {
		t.Error("New accepted a prefix with a space")
	}
	if _, err := memcachedstore.New(nil, memcachedstore.Options{}); err == nil {
		t.Error("New accepted a nil client")
	}
}

// A server that is not there gives a prompt error from every method and a
// 500 from the Manager; a canceled context stops the store before it calls
// memcached.
func TestUnreachable(t *testing.T) {
	st, err := memcachedstore.Open(t.Context(), "memcached://"+testserver.ClosedAddr(t), memcachedstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	id := storetest.NewID()
	start := time.Now()
	if _, _, _, err := st.Load(ctx, id); err == nil || !strings.HasPrefix(err.Error(), "memcachedstore: load: ") {
		t.Errorf("Load: %v", err)
	}
	if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), time.Now().Add(time.Hour), nil }); err == nil {
		t.Error("Update: no error")
	}
	if err := st.Touch(ctx, id, time.Now().Add(time.Hour)); err == nil {
		t.Error("Touch: no error")
	}
	if err := st.Delete(ctx, id); err == nil {
		t.Error("Delete: no error")
	}
	code, _, _ := do(ctx, storetest.NewManager(t, st, session.Config{}), nil, func(s *session.Session) string { s.Put("k", "v"); return "" })
	if code != http.StatusInternalServerError {
		t.Errorf("request with the store down: status %d, want 500", code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("four calls and a request to a closed port took %v", d)
	}
}

// The "memcached" driver opens the store from Config.Connection.
func TestDriver(t *testing.T) {
	addr := testserver.Memcached(t)
	if !slices.Contains(session.Drivers(), "memcached") {
		t.Fatalf("driver not registered: %v", session.Drivers())
	}
	m := storetest.NewManager(t, nil, session.Config{Driver: "memcached", Connection: "memcached://" + addr + "?prefix=" + freshPrefix()})
	if _, ok := m.Store().(*memcachedstore.Store); !ok {
		t.Fatalf("store %T", m.Store())
	}
	cookie := put(t, m, nil, "k", "v")
	if got := get(t, m, cookie, "k"); got != "v" {
		t.Errorf("read back %q", got)
	}
	_, err := session.New(session.Config{Secret: storetest.Secret, Driver: "memcached", Connection: "redis://" + addr})
	if err == nil || !strings.Contains(err.Error(), "memcachedstore: connection URL") {
		t.Errorf("bad URL: %v", err)
	}
}

// ---- through the Manager ----------------------------------------------------

// do, put and get send requests through a Manager (see storetest.Request).
var (
	do  = storetest.Request
	put = storetest.Put
	get = storetest.Get
)

// The manager-level checks: 200 concurrent requests on one session lose no
// update, a read-only request costs one Load and no write, Regenerate (no
// Move here: delete, then create) makes the old ID stop loading, and a slow
// request does not bring back a destroyed session.
func TestManager(t *testing.T) {
	c := newClient(t)
	st := newStore(t, c)
	if _, ok := any(st).(session.Mover); ok {
		t.Fatal("memcachedstore implements Mover, which memcached cannot do atomically")
	}
	storetest.RunManager(t, func(t *testing.T) session.Store { return newStore(t, c) })
}
