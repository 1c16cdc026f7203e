package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// transport carries a session as a token string through Load and Commit, as
// a gRPC interceptor or a WebSocket server would.
type transport struct {
	t     *testing.T
	m     *session.Manager
	token string
}

// do runs fn on the session of the transport's token and keeps the token
// Commit returns.
func (tr *transport) do(fn func(s *session.Session)) (expires time.Time) {
	tr.t.Helper()
	ctx, s, err := tr.m.Load(tr.t.Context(), tr.token)
	if err != nil {
		tr.t.Fatalf("Load: %v", err)
	}
	if session.FromContext(ctx) != s || tr.m.FromContext(ctx) != s {
		tr.t.Fatal("the context Load returns does not carry the session")
	}
	fn(s)
	tok, exp, err := tr.m.Commit(ctx, s)
	if err != nil {
		tr.t.Fatalf("Commit: %v", err)
	}
	tr.token = tok
	return exp
}

// TestLoadCommit: the engine without net/http keeps the middleware's
// guarantees, on every driver.
func TestLoadCommit(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		var cs *countingStore
		if st != nil {
			cs = &countingStore{Store: st}
			st = cs
		}
		m, _ := newManager(t, st, session.Config{})
		tr := &transport{t: t, m: m}
		tr.do(func(s *session.Session) {})
		if tr.token != "" {
			t.Fatalf("an untouched new session got a token %q", tr.token)
		}
		exp := tr.do(func(s *session.Session) { s.Put("k", "v"); s.Flash("f", 1) })
		if tr.token == "" || !exp.After(time.Now()) {
			t.Fatalf("after Put: token %q, expires %v", tr.token, exp)
		}
		first := tr.token
		var got, flash any
		tr.do(func(s *session.Session) { got, flash = s.Get("k"), s.Get("f") })
		if got != "v" || flash != 1 {
			t.Errorf("next Load: k = %v, f = %v", got, flash)
		}
		tr.do(func(s *session.Session) { flash = s.Get("f") })
		if flash != nil {
			t.Errorf("flash data did not age through Load/Commit: %v", flash)
		}
		if cs != nil {
			before := cs.writes()
			tr.do(func(s *session.Session) { _ = s.Get("k") })
			if w := cs.writes() - before; w != 0 {
				t.Errorf("an untouched session cost %d writes", w)
			}
			if tr.token != first {
				t.Errorf("an untouched session's token changed")
			}
		}
		tr.do(func(s *session.Session) {
			if err := s.Regenerate(); err != nil {
				t.Fatal(err)
			}
		})
		if tr.token == first {
			t.Error("Regenerate kept the token")
		}
		if st != nil {
			old := &transport{t: t, m: m, token: first}
			old.do(func(s *session.Session) { got = s.Get("k") })
			if got != nil {
				t.Error("the token from before Regenerate still loads")
			}
		}
		tr.do(func(s *session.Session) {
			if err := s.Destroy(); err != nil {
				t.Fatal(err)
			}
		})
		if tr.token != "" {
			t.Errorf("after Destroy the token is %q, want none", tr.token)
		}
		for _, bad := range []string{"x", strings.Repeat("A", 87), first + "x", strings.Repeat("A", 10000)} {
			ctx, s, err := m.Load(t.Context(), bad)
			if err != nil || s == nil || s.Has("k") {
				t.Errorf("Load of a bad token: %v, %v", s, err)
			}
			if tok, _, err := m.Commit(ctx, s); tok != "" || err != nil {
				t.Errorf("Commit after a bad token: %q, %v", tok, err)
			}
		}
	})
}

// TestLoadCommitErrors: a failing store is Load's only error; Commit refuses
// a session of another Manager and a second Commit.
func TestLoadCommitErrors(t *testing.T) {
	st := &countingStore{Store: memstore.New()}
	m, _ := newManager(t, st, session.Config{})
	tr := &transport{t: t, m: m}
	tr.do(func(s *session.Session) { s.Put("k", 1) })
	st.fail.Store(true)
	if _, _, err := m.Load(t.Context(), tr.token); !errors.Is(err, session.ErrStore) {
		t.Errorf("Load with the store down: %v, want ErrStore", err)
	}
	st.fail.Store(false)
	ctx, s, _ := m.Load(t.Context(), tr.token)
	other, _ := newManager(t, memstore.New(), session.Config{})
	if _, _, err := other.Commit(ctx, s); err == nil {
		t.Error("another Manager committed the session")
	}
	if _, _, err := m.Commit(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Commit(ctx, s); !errors.Is(err, session.ErrHeadersWritten) {
		t.Errorf("second Commit: %v", err)
	}
}

// TestLoadCommitRotation: a token signed under a previous secret loads, and
// Commit returns it signed anew.
func TestLoadCommitRotation(t *testing.T) {
	st := memstore.New()
	old, _ := newManager(t, st, session.Config{Secret: "the old secret, long enough to be accepted"})
	tr := &transport{t: t, m: old}
	tr.do(func(s *session.Session) { s.Put("k", 1) })
	oldToken := tr.token
	tr.m, _ = newManager(t, st, session.Config{PreviousSecrets: []string{"the old secret, long enough to be accepted"}})
	var got any
	tr.do(func(s *session.Session) { got = s.Get("k") })
	if got != 1 || tr.token == oldToken || tr.token == "" {
		t.Errorf("rotation: k = %v, token changed %v", got, tr.token != oldToken)
	}
}

// TestTokenHeader: with Config.TokenHeader the session travels in that
// header: no cookie is read or set, and requests pass VerifyCSRF.
func TestTokenHeader(t *testing.T) {
	for _, header := range []string{"Authorization", "X-Session-Token"} {
		t.Run(header, func(t *testing.T) {
			eachDriver(t, func(t *testing.T, st session.Store) {
				m, _ := newManager(t, st, session.Config{TokenHeader: header})
				h := m.Middleware(m.VerifyCSRF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s := session.FromRequest(r)
					switch r.URL.Path {
					case "/put":
						s.Put("k", "v")
					case "/destroy":
						s.Destroy()
					}
					w.Write([]byte(s.Get("k", "").(string)))
				})))
				send := func(method, path, token string, cookie *http.Cookie) *httptest.ResponseRecorder {
					r := httptest.NewRequest(method, path, strings.NewReader(url.Values{"a": {"b"}}.Encode()))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					if token != "" {
						if header == "Authorization" {
							token = "Bearer " + token
						}
						r.Header.Set(header, token)
					}
					if cookie != nil {
						r.AddCookie(cookie)
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					return w
				}
				w := send("POST", "/put", "", nil)
				if w.Code != http.StatusOK || w.Header().Get("Set-Cookie") != "" {
					t.Fatalf("POST without a token: %d, Set-Cookie %q", w.Code, w.Header().Get("Set-Cookie"))
				}
				token := w.Header().Get(header)
				if header == "Authorization" {
					var ok bool
					if token, ok = strings.CutPrefix(token, "Bearer "); !ok {
						t.Fatalf("response Authorization %q, want Bearer", w.Header().Get(header))
					}
				}
				if token == "" || !strings.Contains(w.Header().Get("Vary"), header) || w.Header().Get("Cache-Control") != "private" {
					t.Fatalf("response headers %v", w.Header())
				}
				if w := send("POST", "/", token, nil); w.Body.String() != "v" || w.Header().Get(header) != "" {
					t.Errorf("next request with the token: body %q, header %q", w.Body, w.Header().Get(header))
				}
				// A cookie is not read.
				cookieValue := token
				if st != nil {
					cookieValue = sessionCookieValue(t, m, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
				}
				if w := send("GET", "/", "", &http.Cookie{Name: session.DefaultCookie, Value: cookieValue}); w.Body.String() != "" {
					t.Errorf("a cookie was read: %q", w.Body)
				}
				w = send("POST", "/destroy", token, nil)
				if v, ok := w.Header()[http.CanonicalHeaderKey(header)]; !ok || len(v) != 1 || v[0] != "" {
					t.Errorf("after Destroy the response's %s is %q, want present and empty", header, v)
				}
				if st != nil {
					if w := send("GET", "/", token, nil); w.Body.String() != "" {
						t.Error("the destroyed session's token still loads")
					}
				}
			})
		})
	}
	for _, bad := range []string{"Cookie", "Set-Cookie", "a b", "x:y"} {
		if _, err := session.New(session.Config{Secret: testSecret, Driver: "memory", TokenHeader: bad}); !errors.Is(err, session.ErrConfig) {
			t.Errorf("TokenHeader %q: %v, want ErrConfig", bad, err)
		}
	}
}

// TestTwoManagers: with two Managers in one chain, each finds its own
// session; FromRequest gives the inner one's.
func TestTwoManagers(t *testing.T) {
	admin, _ := newManager(t, memstore.New(), session.Config{Cookie: "admin"})
	site, _ := newManager(t, memstore.New(), session.Config{})
	var inner, outer, plain *session.Session
	h := admin.Middleware(site.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outer, inner, plain = admin.FromRequest(r), site.FromRequest(r), session.FromRequest(r)
		outer.Put("role", "admin")
		inner.Put("theme", "dark")
		if admin.FromContext(context.WithoutCancel(r.Context())) != outer {
			t.Error("a derived context lost the outer session")
		}
	})))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if outer == nil || inner == nil || outer == inner || plain != inner {
		t.Fatalf("outer %p, inner %p, FromRequest %p", outer, inner, plain)
	}
	names := map[string]bool{}
	for _, c := range w.Result().Cookies() {
		names[c.Name] = true
	}
	if !names["admin"] || !names[session.DefaultCookie] {
		t.Errorf("cookies set: %v, want both", names)
	}
}

// TestPullAs: a typed Pull returns the value and forgets it; a missing key
// or a value of another type is an error and changes nothing.
func TestPullAs(t *testing.T) {
	m, _ := newManager(t, memstore.New(), session.Config{})
	c := newClient(t, m)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("n", 42); s.Put("s", "x") })
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		if _, err := session.PullAs[int](s, "s"); !errors.Is(err, session.ErrType) || !s.Has("s") {
			t.Errorf("PullAs of another type: %v, key kept %v", err, s.Has("s"))
		}
		if _, err := session.PullAs[int](s, "missing"); !errors.Is(err, session.ErrMissing) {
			t.Errorf("PullAs of a missing key: %v", err)
		}
		if n, err := session.PullAs[int](s, "n"); n != 42 || err != nil || s.Has("n") {
			t.Errorf("PullAs = %v, %v; key left %v", n, err, s.Has("n"))
		}
	})
	if c.get("n") != nil {
		t.Error("the pulled key came back in the next request")
	}
}
