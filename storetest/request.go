package storetest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/session"
)

// Secret is the Config.Secret of the Managers NewManager returns when the
// caller's Config sets none: a test secret, long enough for session.New,
// with no comma, so that it can stand in a list of secrets
// (SESSION_PREVIOUS_SECRETS).
const Secret = "storetest secret - a test secret not for production"

// NewManager returns session.New(cfg) with test defaults, closed when the
// test ends: Store st when st is not nil (when it is, cfg's Driver and
// Connection choose the store), Secret when cfg sets no secret, no sweeping
// (Lottery 0 in 1) when cfg sets no Lottery, and a Logger that discards
// everything when cfg sets none. A Config that session.New refuses, or an
// error from the Manager's Close, fails tb.
func NewManager(tb testing.TB, st session.Store, cfg session.Config) *session.Manager {
	tb.Helper()
	if st != nil {
		cfg.Store = st
	}
	if cfg.Secret == "" {
		cfg.Secret = Secret
	}
	if cfg.Lottery == [2]int{} {
		cfg.Lottery = [2]int{0, 1}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := session.New(cfg)
	if err != nil {
		tb.Fatalf("session.New: %v", err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Error(err)
		}
	})
	return m
}

// Request sends one GET request through m's middleware with cookie (if any)
// and ctx; fn, the handler, returns the body. It returns the status, the body
// and the session cookie to send next: the one the response set, nil when
// the response expired it, otherwise cookie. For drivers' own tests through
// a Manager.
func Request(ctx context.Context, m *session.Manager, cookie *http.Cookie, fn func(s *session.Session) string) (int, string, *http.Cookie) {
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, fn(session.FromRequest(r)))
	}))
	r := httptest.NewRequestWithContext(ctx, "GET", "/", nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.Name == session.DefaultCookie {
			if c.MaxAge < 0 {
				return w.Code, w.Body.String(), nil
			}
			return w.Code, w.Body.String(), c
		}
	}
	return w.Code, w.Body.String(), cookie
}

// Put stores k = v in the session of cookie (a new one when nil) through a
// request, failing t unless it succeeds, and returns the session's cookie.
func Put(t testing.TB, m *session.Manager, cookie *http.Cookie, k, v string) *http.Cookie {
	t.Helper()
	code, body, c := Request(t.Context(), m, cookie, func(s *session.Session) string { s.Put(k, v); return "ok" })
	if code != http.StatusOK || c == nil {
		t.Fatalf("put %s: status %d %q, cookie %v", k, code, body, c)
	}
	return c
}

// Get reads the string at k in the session of cookie through a request ("" when
// absent), failing t unless the request succeeds.
func Get(t testing.TB, m *session.Manager, cookie *http.Cookie, k string) string {
	t.Helper()
	code, body, _ := Request(t.Context(), m, cookie, func(s *session.Session) string { v, _ := s.Get(k, "").(string); return v })
	if code != http.StatusOK {
		t.Fatalf("get %s: status %d %q", k, code, body)
	}
	return body
}

// RequestCosts is what a counter counted for each request MeasureRequests
// sends.
type RequestCosts struct {
	NewSession int64 // a request creating a session
	Read       int64 // a request only reading it
	Write      int64 // a request changing it
}

// MeasureRequests sends through m a request that creates a session
// (user = Ana), one that reads it and one that changes it (user = Bea),
// checking what each reads, and returns what count counted for each, and
// the session's cookie. count returns what it counted since it was last
// called: store calls, round trips to a server, commands. The session is
// read back after the change, uncounted.
func MeasureRequests(t testing.TB, m *session.Manager, count func() int64) (RequestCosts, *http.Cookie) {
	t.Helper()
	var c RequestCosts
	count()
	cookie := Put(t, m, nil, "user", "Ana")
	c.NewSession = count()
	if got := Get(t, m, cookie, "user"); got != "Ana" {
		t.Fatalf("read %q, want Ana", got)
	}
	c.Read = count()
	cookie = Put(t, m, cookie, "user", "Bea")
	c.Write = count()
	if got := Get(t, m, cookie, "user"); got != "Bea" {
		t.Fatalf("after the write, read %q, want Bea", got)
	}
	count()
	return c, cookie
}

// Plain returns st with the methods of session.Store only, hiding the
// optional interfaces it implements (Swapper, Mover, UserIndex, ...): a
// Manager over it falls back (saves with Update), to compare with what the
// store's own capabilities cost.
func Plain(st session.Store) session.Store { return plain{st} }

type plain struct{ session.Store }
