package session_test

import (
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sessionkit/session"
)

func TestCSRFToken(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		var tok string
		res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			tok = s.Token()
			if len(tok) < 43 || s.Token() != tok {
				t.Errorf("token %q is short or unstable", tok)
			}
			if !s.ValidateToken(tok) || s.ValidateToken("") || s.ValidateToken(tok[:42]) || s.ValidateToken(tok+"x") {
				t.Error("ValidateToken gives a wrong answer")
			}
		})
		if sessionCookie(res) == nil {
			t.Fatal("reading the token did not save the new session")
		}
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if s.Token() != tok {
				t.Error("token changed between requests")
			}
			nt := s.RegenerateToken()
			if nt == tok || s.Token() != nt || s.ValidateToken(tok) {
				t.Error("RegenerateToken did not replace the token")
			}
			tok = nt
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if s.Token() != tok {
				t.Error("regenerated token not saved")
			}
		})
	})
}

func TestVerifyCSRF(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		var tok string
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			tok = s.Token()
			s.Put("n", 1)
			s.Flash("msg", "once")
		})
		called := false
		mutate := func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			called = true
			s.Put("n", 2)
		}
		for _, bad := range []struct {
			form   url.Values
			header http.Header
		}{
			{nil, nil},
			{url.Values{"_token": {"forged"}}, nil},
			{nil, http.Header{"X-Csrf-Token": {tok + "x"}}},
		} {
			res := c.post(bad.form, bad.header, mutate)
			if res.StatusCode != http.StatusForbidden || called {
				t.Fatalf("bad token: status %d, handler called %v", res.StatusCode, called)
			}
			if sessionCookie(res) != nil {
				t.Error("a refused request set a cookie")
			}
		}
		// Not even the flash data aged.
		if c.get("msg") != "once" {
			t.Error("a refused request changed the session (flash aged)")
		}
		if res := c.post(url.Values{"_token": {tok}}, nil, mutate); res.StatusCode != http.StatusOK || !called {
			t.Fatalf("form token: status %d, called %v", res.StatusCode, called)
		}
		called = false
		if res := c.post(nil, http.Header{"X-Csrf-Token": {tok}}, mutate); res.StatusCode != http.StatusOK || !called {
			t.Fatalf("header token: status %d, called %v", res.StatusCode, called)
		}
		if c.get("n") != 2 {
			t.Error("accepted post not saved")
		}
		// Safe methods pass without a token; every other method needs one.
		for _, method := range []string{"GET", "HEAD", "OPTIONS"} {
			called = false
			r, _ := http.NewRequest(method, "/", nil)
			c.send(r, m.Middleware(m.VerifyCSRF(wrap(mutate))))
			if !called {
				t.Errorf("%s refused", method)
			}
		}
		for _, method := range []string{"PUT", "PATCH", "DELETE"} {
			called = false
			r, _ := http.NewRequest(method, "/", nil)
			if res := c.send(r, m.Middleware(m.VerifyCSRF(wrap(mutate)))); res.StatusCode != 403 || called {
				t.Errorf("%s without token: %d", method, res.StatusCode)
			}
		}
	})
}

func TestOneTimeTokens(t *testing.T) {
	eachStore(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		var toks []string
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			for range 25 {
				toks = append(toks, s.GenerateOneTimeToken())
			}
			// One generated in this request validates once, in this request.
			if !s.ValidateOneTimeToken(toks[24]) || s.ValidateOneTimeToken(toks[24]) {
				t.Error("same-request one-time token")
			}
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			for i := range 5 {
				if s.ValidateOneTimeToken(toks[i]) {
					t.Errorf("token %d of 25 still valid: only the newest 20 are kept", i)
				}
			}
			if !s.ValidateOneTimeToken(toks[10]) {
				t.Error("token 10 refused")
			}
			if s.ValidateOneTimeToken(toks[10]) {
				t.Error("token 10 accepted twice")
			}
			if s.ValidateOneTimeToken("") || s.ValidateOneTimeToken("nope") {
				t.Error("bogus token accepted")
			}
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if s.ValidateOneTimeToken(toks[10]) {
				t.Error("used token accepted in a later request")
			}
			if !s.ValidateOneTimeToken(toks[20]) {
				t.Error("token 20 refused")
			}
		})
		// Concurrent submits of one token: exactly one passes.
		var wg sync.WaitGroup
		var passed atomic.Int32
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
					if s.ValidateOneTimeToken(toks[15]) {
						passed.Add(1)
					}
				})
			}()
		}
		wg.Wait()
		if passed.Load() != 1 {
			t.Errorf("%d concurrent submits of one token passed, want 1", passed.Load())
		}
	})
}
