package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

// eventLog records what Hooks report, as "name" or "name:detail" counts.
type eventLog struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *eventLog) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n[name]++
}

func (l *eventLog) count(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[name]
}

func (l *eventLog) hooks() *session.Hooks {
	return &session.Hooks{
		SessionLoaded:      func(_ context.Context, r session.LoadResult) { l.add("loaded:" + string(r)) },
		SessionCreated:     func(context.Context) { l.add("created") },
		SessionDestroyed:   func(context.Context) { l.add("destroyed") },
		SessionRegenerated: func(context.Context) { l.add("regenerated") },
		CSRFRejected:       func(context.Context) { l.add("csrf") },
		Swept:              func(_ context.Context, n int, err error) { l.add(fmt.Sprintf("swept:%d:%v", n, err)) },
		StoreCall: func(ctx context.Context, driver, op string) (context.Context, func(error)) {
			l.add("call:" + driver + ":" + op)
			return ctx, func(err error) {
				if err != nil {
					l.add("error:" + driver + ":" + op)
				}
			}
		},
	}
}

// TestHooks counts real events: loads of each result, creation, regeneration,
// destruction, a refused POST, store calls by driver and op, a store failure
// and a sweep.
func TestHooks(t *testing.T) {
	l := &eventLog{n: map[string]int{}}
	st := &countingStore{Store: memstore.New()}
	m, _ := newManager(t, st, session.Config{Hooks: l.hooks(), Lifetime: time.Second})
	c := newClient(t, m)
	c.do(nil)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("k", 1) })
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { _ = s.Regenerate() })
	c.post(url.Values{"_token": {"forged"}}, nil, nil)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { _ = s.Destroy() })
	forged := newClient(t, m)
	forged.setCookie("forged-cookie-value")
	forged.do(nil)
	stale := newClient(t, m)
	stale.setCookie(sessionCookieValue(t, m, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	stale.do(nil)
	for name, want := range map[string]int{
		"loaded:new":         2, // no cookie; after Destroy the client holds none
		"loaded:found":       3, // Regenerate, the refused POST, Destroy
		"loaded:invalid":     1,
		"loaded:expired":     1,
		"created":            1,
		"regenerated":        1,
		"destroyed":          1,
		"csrf":               1,
		"call:custom:load":   4,
		"call:custom:move":   0, // a countingStore is no Mover: Update, then create
		"call:custom:delete": 1,
	} {
		if got := l.count(name); got != want {
			t.Errorf("%s: %d events, want %d", name, got, want)
		}
	}
	if l.count("call:custom:update") < 3 {
		t.Errorf("update calls: %d, want the create, the Regenerate's two", l.count("call:custom:update"))
	}

	st.fail.Store(true)
	c2 := newClient(t, m)
	c2.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("k", 1) })
	if l.count("error:custom:update") != 1 {
		t.Errorf("a failing store: %d errors reported, want 1", l.count("error:custom:update"))
	}
	st.fail.Store(false)

	m2 := storetest.NewManager(t, nil, session.Config{Hooks: l.hooks(), Lifetime: time.Second, Driver: "memory"})
	c3 := newClient(t, m2)
	c3.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("k", 1) })
	time.Sleep(1100 * time.Millisecond)
	if _, err := m2.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if l.count("swept:1:<nil>") != 1 || l.count("call:memory:sweep") != 1 || l.count("call:memory:swap") != 1 {
		t.Errorf("sweep: events %v", l.n)
	}
}

// TestHooksStoreErrorIsReported: a load that fails reaches the hook's end
// with the error.
func TestHooksStoreErrorIsReported(t *testing.T) {
	l := &eventLog{n: map[string]int{}}
	st := &countingStore{Store: memstore.New()}
	m, _ := newManager(t, st, session.Config{Hooks: l.hooks()})
	c := newClient(t, m)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("k", 1) })
	st.fail.Store(true)
	if res := c.do(nil); res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d", res.StatusCode)
	}
	if l.count("error:custom:load") != 1 {
		t.Errorf("load errors reported: %d, want 1", l.count("error:custom:load"))
	}
}
