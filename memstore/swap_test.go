package memstore_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

var _ session.Swapper = (*memstore.Store)(nil)

func TestSwapper(t *testing.T) {
	storetest.RunSwapper(t, func(t *testing.T) session.Store { return memstore.New() })
}

// callCounter counts the calls a Manager makes to a memstore, Swap included.
type callCounter struct {
	*memstore.Store
	mu    sync.Mutex
	calls map[string]int
}

func (c *callCounter) count(name string) {
	c.mu.Lock()
	c.calls[name]++
	c.mu.Unlock()
}

// take returns the counts so far and starts again from zero.
func (c *callCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.calls
	c.calls = map[string]int{}
	return m
}

func (c *callCounter) Load(ctx context.Context, id string) ([]byte, time.Time, bool, error) {
	c.count("Load")
	return c.Store.Load(ctx, id)
}

func (c *callCounter) Update(ctx context.Context, id string, fn func([]byte, bool) ([]byte, time.Time, error)) error {
	c.count("Update")
	return c.Store.Update(ctx, id, fn)
}

func (c *callCounter) Delete(ctx context.Context, id string) error {
	c.count("Delete")
	return c.Store.Delete(ctx, id)
}

func (c *callCounter) Touch(ctx context.Context, id string, expiry time.Time) error {
	c.count("Touch")
	return c.Store.Touch(ctx, id, expiry)
}

func (c *callCounter) Swap(ctx context.Context, id string, old, next []byte, expiry time.Time) (bool, error) {
	c.count("Swap")
	return c.Store.Swap(ctx, id, old, next, expiry)
}

// TestSwapCalls checks the store calls a Manager makes over a Swapper: a
// new session is one Swap; a read-only request one Load; a writing request
// on a session no other request changed one Load and one Swap, and no
// Update; a writing request whose session another request changed after its
// Load falls back to Update, and neither change is lost. It depends on the
// Manager using Swap: on a core that saves with Update it fails.
func TestSwapCalls(t *testing.T) {
	cs := &callCounter{Store: memstore.New(), calls: map[string]int{}}
	m := storetest.NewManager(t, cs, session.Config{})
	do := func(cookie *http.Cookie, fn func(*session.Session)) *http.Cookie {
		t.Helper()
		code, body, next := storetest.Request(t.Context(), m, cookie, func(s *session.Session) string { fn(s); return "" })
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
		return next
	}
	want := func(what string, got map[string]int, want map[string]int) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s made %v, want %v", what, got, want)
			return
		}
		for k, n := range want {
			if got[k] != n {
				t.Errorf("%s made %v, want %v", what, got, want)
				return
			}
		}
	}

	cookie := do(nil, func(s *session.Session) { s.Put("user", "Ana") })
	want("a new session", cs.take(), map[string]int{"Swap": 1})

	var got any
	do(cookie, func(s *session.Session) { got = s.Get("user") })
	want("a read-only request", cs.take(), map[string]int{"Load": 1})
	if got != "Ana" {
		t.Fatalf("read %v", got)
	}

	cookie = do(cookie, func(s *session.Session) { s.Put("visits", 1) })
	want("a writing request", cs.take(), map[string]int{"Load": 1, "Swap": 1})

	// A request that another changes under it, between its Load and its
	// save: its Swap fails, and Update replays its change.
	do(cookie, func(s *session.Session) {
		_ = s.Get("user") // loaded now
		do(cookie, func(s *session.Session) { s.Put("other", "meanwhile") })
		s.Put("visits", 2)
	})
	calls := cs.take()
	if calls["Update"] != 1 || calls["Swap"] != 2 {
		t.Errorf("two interleaved writing requests made %v, want 2 Swaps (one failing) and 1 Update", calls)
	}
	do(cookie, func(s *session.Session) {
		if s.Get("other") != "meanwhile" || s.Get("visits") != 2 || s.Get("user") != "Ana" {
			t.Errorf("after interleaved writes the session holds %v", s.All())
		}
	})
}
