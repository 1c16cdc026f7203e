package session_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
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
