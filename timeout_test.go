package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// hangingStore blocks every call until the call's context ends, as a store
// behind a dead network link does.
type hangingStore struct{ session.Store }

func (hangingStore) Load(ctx context.Context, id string) ([]byte, time.Time, bool, error) {
	<-ctx.Done()
	return nil, time.Time{}, false, ctx.Err()
}

func (hangingStore) Update(ctx context.Context, id string, fn func([]byte, bool) ([]byte, time.Time, error)) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestStoreTimeout(t *testing.T) {
	st := &switchStore{Store: memstore.New()}
	var handled error
	m, logs := newManager(t, st, session.Config{
		StoreTimeout: 50 * time.Millisecond,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			handled = err
			http.Error(w, "store down", http.StatusServiceUnavailable)
		},
	})
	c := newClient(t, m)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("k", "v") })

	st.hang = true
	for _, name := range []string{"load", "save"} {
		start := time.Now()
		var res *http.Response
		if name == "load" {
			res = c.do(nil)
		} else {
			res = newClient(t, m).do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("k", "v") })
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s: a hanging store held the request %v", name, took)
		}
		if res.StatusCode != http.StatusServiceUnavailable || !errors.Is(handled, session.ErrStore) || !errors.Is(handled, context.DeadlineExceeded) {
			t.Errorf("%s: status %d, error %v; want 503 from the error handler with ErrStore and DeadlineExceeded", name, res.StatusCode, handled)
		}
	}
	if !strings.Contains(logs.String(), "deadline exceeded") {
		t.Errorf("the timeout was not logged:\n%s", logs)
	}

	st.hang = false // the store is back: the same client goes on without a restart
	if got := c.get("k"); got != "v" {
		t.Errorf("after the outage Get = %v, want v", got)
	}
}

// switchStore is a store that hangs while hang is set.
type switchStore struct {
	session.Store
	hang bool
}

func (s *switchStore) Load(ctx context.Context, id string) ([]byte, time.Time, bool, error) {
	if s.hang {
		return hangingStore{}.Load(ctx, id)
	}
	return s.Store.Load(ctx, id)
}

func (s *switchStore) Update(ctx context.Context, id string, fn func([]byte, bool) ([]byte, time.Time, error)) error {
	if s.hang {
		return hangingStore{}.Update(ctx, id, fn)
	}
	return s.Store.Update(ctx, id, fn)
}

func TestOpen(t *testing.T) {
	for _, encrypt := range []bool{false, true} {
		st := memstore.New()
		m, _ := newManager(t, st, session.Config{Encrypt: encrypt})
		c := newClient(t, m)
		var id string
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Put("user.name", "Ana")
			id = s.ID()
		})
		data, _, _, err := st.Load(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(data), "Ana"); got == encrypt {
			t.Errorf("encrypt %v: stored payload %q", encrypt, data)
		}
		plain, err := m.DecodePayload(id, data)
		if err != nil || !strings.Contains(string(plain), `"data":{"user":{"name":"Ana"}}`) {
			t.Errorf("encrypt %v: Open = %s, %v", encrypt, plain, err)
		}
		if _, err := m.DecodePayload("another id", data); encrypt && !errors.Is(err, session.ErrCorrupt) {
			t.Errorf("a sealed payload opened under another ID: %v", err)
		}
		if _, err := m.DecodePayload(id, []byte("{not json")); !errors.Is(err, session.ErrCorrupt) {
			t.Errorf("Open of garbage: %v, want ErrCorrupt", err)
		}
	}
}

// deadlineStore records whether each call's context has a deadline, and
// which.
type deadlineStore struct {
	session.Store
	mu        sync.Mutex
	deadlines []time.Time
}

func (d *deadlineStore) Load(ctx context.Context, id string) ([]byte, time.Time, bool, error) {
	dl, _ := ctx.Deadline()
	d.mu.Lock()
	d.deadlines = append(d.deadlines, dl)
	d.mu.Unlock()
	return d.Store.Load(ctx, id)
}

// TestStoreTimeoutKeepsASoonerDeadline: a request whose context ends before
// StoreTimeout would gives the store its own deadline (no timer of the
// Manager's); one that ends later, or never, gets StoreTimeout.
func TestStoreTimeoutKeepsASoonerDeadline(t *testing.T) {
	st := &deadlineStore{Store: memstore.New()}
	m, _ := newManager(t, swapStore{st}, session.Config{StoreTimeout: 10 * time.Second})
	c := newClient(t, m)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("k", 1) })
	for _, tc := range []struct {
		request time.Duration // the request's own deadline from now; 0: none
		near    time.Duration // the deadline the store should see, from now
	}{{0, 10 * time.Second}, {time.Second, time.Second}, {time.Minute, 10 * time.Second}} {
		ctx := context.Background()
		if tc.request > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, tc.request)
			defer cancel()
		}
		r := httptest.NewRequestWithContext(ctx, "GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: session.DefaultCookie, Value: c.cookie()})
		st.mu.Lock()
		st.deadlines = nil
		st.mu.Unlock()
		start := time.Now()
		m.Middleware(wrap(nil)).ServeHTTP(httptest.NewRecorder(), r)
		st.mu.Lock()
		got := st.deadlines
		st.mu.Unlock()
		if len(got) != 1 || got[0].IsZero() || got[0].Sub(start.Add(tc.near)).Abs() > 2*time.Second {
			t.Errorf("request deadline %v: the store saw %v, want about %v from now", tc.request, got, tc.near)
		}
	}
}
