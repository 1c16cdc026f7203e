// Package hooktest drives a real session.Manager through the events that
// session.Hooks report, for the tests of the exporter modules (promsession,
// otelsession): an application with pages that store, regenerate and
// destroy a session and a CSRF-protected form, a client that keeps the
// session cookie, a Manager on a real Redis behind the fault proxy for store
// outages, and a hook that counts store calls to compare the exporters'
// observations with.
package hooktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/faultproxy"
	"github.com/sessionkit/session/internal/testserver"
	_ "github.com/sessionkit/session/redisstore" // the redis driver
	"github.com/sessionkit/session/storetest"
)

// Handler returns the test application, in m's Middleware and VerifyCSRF:
// GET / loads the session and changes nothing, GET /put stores a value,
// GET /regenerate gives the session a new ID, GET /destroy ends it, and
// POST /form (refused without the session's token) stores a value.
func Handler(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {})
	put := func(w http.ResponseWriter, r *http.Request) { session.FromRequest(r).Put("k", "v") }
	mux.HandleFunc("GET /put", put)
	mux.HandleFunc("POST /form", put)
	mux.HandleFunc("GET /regenerate", func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromRequest(r).Regenerate(); err != nil {
			http.Error(w, "regenerate failed", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /destroy", func(w http.ResponseWriter, r *http.Request) {
		if err := session.FromRequest(r).Destroy(); err != nil {
			http.Error(w, "destroy failed", http.StatusInternalServerError)
		}
	})
	return m.Middleware(m.VerifyCSRF(mux))
}

// A Client sends requests to a handler as a browser would, keeping the
// session cookie the responses set.
type Client struct {
	t      testing.TB
	h      http.Handler
	name   string // the cookie's name
	cookie string // its value, "" for none
}

// NewClient returns a client of h, whose session cookie is named
// session.DefaultCookie.
func NewClient(t testing.TB, h http.Handler) *Client {
	return &Client{t: t, h: h, name: session.DefaultCookie}
}

// Cookie returns the session cookie's value ("" for none).
func (c *Client) Cookie() string { return c.cookie }

// SetCookie makes the client send value as its session cookie.
func (c *Client) SetCookie(value string) { c.cookie = value }

// Get sends GET path with ctx and returns the response's status.
func (c *Client) Get(ctx context.Context, path string) int {
	return c.do(httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
}

// Post sends form to path with ctx and returns the response's status.
func (c *Client) Post(ctx context.Context, path string, form url.Values) int {
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(r)
}

func (c *Client) do(r *http.Request) int {
	if c.cookie != "" {
		r.AddCookie(&http.Cookie{Name: c.name, Value: c.cookie})
	}
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, r)
	res := w.Result()
	io.Copy(io.Discard, res.Body)
	for _, ck := range res.Cookies() {
		if ck.Name == c.name {
			c.cookie = ck.Value
			if ck.MaxAge < 0 {
				c.cookie = ""
			}
		}
	}
	return res.StatusCode
}

// RedisBehindProxy returns a Manager on the redis driver with hooks, whose
// connection to a private Redis server runs through a fault proxy, and the
// proxy: p.Set(faultproxy.Down) is a store outage. The server is
// testserver.Redis's: call testserver.StopRedis from TestMain.
func RedisBehindProxy(t testing.TB, hooks *session.Hooks) (*session.Manager, *faultproxy.Proxy) {
	t.Helper()
	p, err := faultproxy.New(testserver.Redis(t), faultproxy.Up)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	m := storetest.NewManager(t, nil, session.Config{
		Driver: "redis", Connection: "redis://" + p.Addr() + "/0?prefix=" + freshPrefix(),
		Hooks: hooks,
	})
	return m, p
}

func freshPrefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "hooktest:" + hex.EncodeToString(b) + ":"
}

// Calls counts the store calls a Manager makes and the calls that fail, by
// driver and op, through Hooks.StoreCall.
type Calls struct {
	mu     sync.Mutex
	calls  map[[2]string]int
	errors map[[2]string]int
}

// NewCalls returns an empty count.
func NewCalls() *Calls {
	return &Calls{calls: map[[2]string]int{}, errors: map[[2]string]int{}}
}

// StoreCall is a session.Hooks.StoreCall that counts.
func (c *Calls) StoreCall(ctx context.Context, driver, op string) (context.Context, func(error)) {
	k := [2]string{driver, op}
	c.mu.Lock()
	c.calls[k]++
	c.mu.Unlock()
	return ctx, func(err error) {
		if err != nil {
			c.mu.Lock()
			c.errors[k]++
			c.mu.Unlock()
		}
	}
}

// Each calls fn with every driver and op called, how many calls and how many
// failed.
func (c *Calls) Each(fn func(driver, op string, calls, errors int)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, n := range c.calls {
		fn(k[0], k[1], n, c.errors[k])
	}
}

// Wrap returns a copy of h whose StoreCall counts each call in c before
// calling h's.
func (c *Calls) Wrap(h *session.Hooks) *session.Hooks {
	w := *h
	w.StoreCall = func(ctx context.Context, driver, op string) (context.Context, func(error)) {
		ctx, count := c.StoreCall(ctx, driver, op)
		ctx, end := h.StoreCall(ctx, driver, op)
		return ctx, func(err error) {
			end(err)
			count(err)
		}
	}
	return &w
}

// Tee returns hooks that call a's and then b's, every field of both being
// set; the context StoreCall passes on is b's, started from a's.
func Tee(a, b *session.Hooks) *session.Hooks {
	both := func(f, g func(context.Context)) func(context.Context) {
		return func(ctx context.Context) { f(ctx); g(ctx) }
	}
	return &session.Hooks{
		SessionLoaded: func(ctx context.Context, r session.LoadResult) {
			a.SessionLoaded(ctx, r)
			b.SessionLoaded(ctx, r)
		},
		SessionCreated:     both(a.SessionCreated, b.SessionCreated),
		SessionDestroyed:   both(a.SessionDestroyed, b.SessionDestroyed),
		SessionRegenerated: both(a.SessionRegenerated, b.SessionRegenerated),
		CSRFRejected:       both(a.CSRFRejected, b.CSRFRejected),
		Swept: func(ctx context.Context, removed int, err error) {
			a.Swept(ctx, removed, err)
			b.Swept(ctx, removed, err)
		},
		StoreCall: func(ctx context.Context, driver, op string) (context.Context, func(error)) {
			ctx, endA := a.StoreCall(ctx, driver, op)
			ctx, endB := b.StoreCall(ctx, driver, op)
			return ctx, func(err error) {
				endB(err)
				endA(err)
			}
		},
	}
}
