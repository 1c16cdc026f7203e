package memcachedstore_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/memcachedstore"
	"github.com/sessionkit/session/storetest"
)

// The Swapper conformance suite through New and through Open.
func TestSwapper(t *testing.T) {
	c := newClient(t)
	t.Run("New", func(t *testing.T) {
		storetest.RunSwapper(t, func(t *testing.T) session.Store { return newStore(t, c) })
	})
	t.Run("Open", func(t *testing.T) {
		addr := testserver.Memcached(t)
		storetest.RunSwapper(t, func(t *testing.T) session.Store {
			st, err := memcachedstore.Open(t.Context(), "memcached://"+addr+"?prefix="+freshPrefix(), memcachedstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
}

// roundTrips counts a client's round trips to memcached: each request
// written and then answered is one, however many writes and reads it takes.
type roundTrips struct{ n atomic.Int64 }

// countingConn counts the round trips made over one connection.
type countingConn struct {
	net.Conn
	rt      *roundTrips
	pending bool // written since the last read
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.pending = true
	return c.Conn.Write(p)
}

func (c *countingConn) Read(p []byte) (int, error) {
	if c.pending {
		c.pending = false
		c.rt.n.Add(1)
	}
	return c.Conn.Read(p)
}

// countedClient returns a client of the test memcached whose round trips
// rt counts.
func countedClient(t *testing.T) (*memcache.Client, *roundTrips) {
	rt := &roundTrips{}
	c := newClient(t)
	c.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: conn, rt: rt}, nil
	}
	return c, rt
}

// TestSwapRoundTrips counts round trips to memcached through a Manager: a
// read-only request makes one (the Load: gets); a writing request on a
// session no other request changed makes two (the Load, then one cas with
// the token the Load read); a new session is one add; a read that moves
// the expiry is the Load and one cas. It logs, for comparison, the same
// requests when the Manager saves with Update (gets; gets; cas).
//
// The checks of the Swap path fail on a store without Swap, whose Manager
// saves with Update.
func TestSwapRoundTrips(t *testing.T) {
	client, rt := countedClient(t)
	st, err := memcachedstore.New(client, memcachedstore.Options{Prefix: freshPrefix()})
	if err != nil {
		t.Fatal(err)
	}
	const lifetime = 2 * time.Second // the expiry moves after 100 ms (Lifetime/20)
	// measure returns the round trips of MeasureRequests' requests, and of
	// one more reading the session late enough that its expiry moves (a
	// touch).
	measure := func(store session.Store) (c storetest.RequestCosts, touch int64) {
		m := storetest.NewManager(t, store, session.Config{Lifetime: lifetime})
		// Warm the connection, so that no dial is counted.
		warm := put(t, m, nil, "warm", "up")
		get(t, m, warm, "warm")
		c, cookie := storetest.MeasureRequests(t, m, func() int64 { return rt.n.Swap(0) })
		time.Sleep(lifetime/20 + 50*time.Millisecond)
		rt.n.Store(0)
		if got := get(t, m, cookie, "user"); got != "Bea" {
			t.Fatalf("read late %q", got)
		}
		touch = rt.n.Swap(0)
		if got := get(t, m, cookie, "user"); got != "Bea" {
			t.Fatalf("after the touch, read %q", got)
		}
		return c, touch
	}
	before, beforeTouch := measure(storetest.Plain(st))
	after, afterTouch := measure(st)
	t.Logf("round trips saving with Update: new session %d, read %d, write %d, touching read %d", before.NewSession, before.Read, before.Write, beforeTouch)
	t.Logf("round trips saving with Swap:   new session %d, read %d, write %d, touching read %d", after.NewSession, after.Read, after.Write, afterTouch)
	if before.Read != 1 || before.Write != 3 {
		t.Errorf("saving with Update: read %d, write %d round trips, want 1 and 3 (gets; gets, cas)", before.Read, before.Write)
	}
	if after.Read != 1 {
		t.Errorf("read-only request: %d round trips, want 1 (gets)", after.Read)
	}
	if after.Write != 2 {
		t.Errorf("writing request on an unchanged session: %d round trips, want 2 (gets, cas)", after.Write)
	}
	if after.NewSession != 1 {
		t.Errorf("new session: %d round trips, want 1 (add)", after.NewSession)
	}
	if afterTouch != 2 {
		t.Errorf("read that moves the expiry: %d round trips, want 2 (gets, cas)", afterTouch)
	}
}

// Swap's round trips at the store: one after a Load of the same bytes,
// two (gets, cas) without one, after another writer, or for a payload too
// large to be remembered; every answer as the contract says.
func TestSwapPaths(t *testing.T) {
	client, rt := countedClient(t)
	prefix := freshPrefix()
	st, err := memcachedstore.New(client, memcachedstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	other, err := memcachedstore.New(newClient(t), memcachedstore.Options{Prefix: prefix}) // another process, as it were
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	id := storetest.NewID()
	swap := func(s *memcachedstore.Store, old, next string, wantOK bool, wantTrips int64) {
		t.Helper()
		var o []byte
		if old != "\x00nil" {
			o = []byte(old)
		}
		rt.n.Store(0)
		ok, err := s.Swap(ctx, id, o, []byte(next), exp)
		if err != nil || ok != wantOK {
			t.Errorf("Swap(%q → %q) = (%v, %v), want %v", old, next, ok, err, wantOK)
		}
		if n := rt.n.Load(); s == st && n != wantTrips {
			t.Errorf("Swap(%q → %q): %d round trips, want %d", old, next, n, wantTrips)
		}
	}
	load := func(s *memcachedstore.Store, want string) {
		t.Helper()
		d, _, found, err := s.Load(ctx, id)
		if err != nil || !found || string(d) != want {
			t.Fatalf("Load = (%q, %v, %v), want %q", d, found, err, want)
		}
	}
	const none = "\x00nil"

	swap(st, none, "v1", true, 1)  // add
	swap(st, none, "v1", false, 2) // add refused, gets: live
	load(st, "v1")
	swap(st, "v1", "v2", true, 1) // cas with the Load's token
	swap(st, "v2", "v3", true, 2) // no Load since: gets, cas
	load(st, "v3")
	swap(st, "other", "x", false, 1) // the remembered bytes differ: gets
	load(st, "v3")
	swap(st, "v3", "v4", true, 1)
	swap(st, "v3", "x", false, 1) // the Load's token was used: gets, differs

	// Another writer between the Load and the Swap: the cas is refused,
	// and what is there now decides.
	load(st, "v4")
	swap(other, "v4", "v5", true, 0)
	swap(st, "v4", "x", false, 2) // cas refused; gets: v5
	load(other, "v5")
	load(st, "v5")
	if err := other.Touch(ctx, id, exp.Add(time.Minute)); err != nil { // same bytes, new header
		t.Fatal(err)
	}
	swap(st, "v5", "v6", true, 3) // cas refused; gets: still v5; cas
	load(st, "v6")
	if err := other.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	swap(st, "v6", "x", false, 1) // cas: NOT_FOUND
	if _, _, found, _ := st.Load(ctx, id); found {
		t.Fatal("Swap from a deleted record wrote it")
	}

	// An item that holds an expired record, or that this store did not
	// write, is no record: a new session replaces it.
	if err := client.Set(&memcache.Item{Key: prefix + id, Value: []byte("foreign")}); err != nil {
		t.Fatal(err)
	}
	swap(st, none, "mine", true, 3) // add refused; gets; cas
	load(st, "mine")

	// A payload too large to remember: gets, cas.
	big := strings.Repeat("b", 20<<10)
	swap(st, "mine", big, true, 1)
	load(st, big)
	swap(st, big, "small", true, 2)

	if ok, err := st.Swap(ctx, "bad id", nil, []byte("x"), exp); ok || !errors.Is(err, memcachedstore.ErrInvalidID) {
		t.Errorf("Swap of an invalid ID = (%v, %v), want ErrInvalidID", ok, err)
	}
}

// Touch after a Load is one cas; after another writer it reads the item
// again and keeps that writer's data.
func TestTouchAfterLoad(t *testing.T) {
	client, rt := countedClient(t)
	st, err := memcachedstore.New(client, memcachedstore.Options{Prefix: freshPrefix()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	id := storetest.NewID()
	exp := time.Now().Add(time.Hour)
	if ok, err := st.Swap(ctx, id, nil, []byte("data"), exp); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if _, _, _, err := st.Load(ctx, id); err != nil {
		t.Fatal(err)
	}
	rt.n.Store(0)
	exp2 := exp.Add(time.Hour)
	if err := st.Touch(ctx, id, exp2); err != nil {
		t.Fatal(err)
	}
	if n := rt.n.Load(); n != 1 {
		t.Errorf("Touch after a Load: %d round trips, want 1 (cas)", n)
	}
	if d, e, _, _ := st.Load(ctx, id); string(d) != "data" || !e.Equal(exp2) {
		t.Errorf("after Touch: (%q, %v), want (data, %v)", d, e, exp2)
	}
	// Another writer between the Load and the Touch.
	if ok, err := st.Swap(ctx, id, []byte("data"), []byte("newer"), exp); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if _, _, _, err := st.Load(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("by update"), exp, nil }); err != nil {
		t.Fatal(err)
	}
	if err := st.Touch(ctx, id, exp2); err != nil {
		t.Fatal(err)
	}
	if d, e, _, _ := st.Load(ctx, id); string(d) != "by update" || !e.Equal(exp2) {
		t.Errorf("after Update and Touch: (%q, %v), want (by update, %v)", d, e, exp2)
	}
}

// A record deleted between Update's gets and its cas (memcached answers the
// cas NOT_FOUND) makes Update start again from no record, not fail.
func TestUpdateAfterConcurrentDelete(t *testing.T) {
	client := newClient(t)
	prefix := freshPrefix()
	st, err := memcachedstore.New(client, memcachedstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	id := storetest.NewID()
	exp := time.Now().Add(time.Hour)
	if ok, err := st.Swap(ctx, id, nil, []byte("first"), exp); !ok || err != nil {
		t.Fatal(ok, err)
	}
	var calls []bool
	err = st.Update(ctx, id, func(data []byte, found bool) ([]byte, time.Time, error) {
		calls = append(calls, found)
		if len(calls) == 1 {
			if err := client.Delete(prefix + id); err != nil { // another client, in between
				t.Fatal(err)
			}
		}
		return []byte("second"), exp, nil
	})
	if err != nil {
		t.Fatalf("Update with a delete in between: %v", err)
	}
	if len(calls) != 2 || !calls[0] || calls[1] {
		t.Errorf("fn saw found = %v, want [true false]", calls)
	}
	if d, _, found, _ := st.Load(ctx, id); !found || string(d) != "second" {
		t.Errorf("after Update: (%q, %v), want second", d, found)
	}
}
