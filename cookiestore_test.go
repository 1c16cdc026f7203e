package session_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/sessionkit/session"
)

func TestCookieDriverSealsTheSession(t *testing.T) {
	m, _ := newManager(t, nil, session.Config{})
	if m.Store() != nil {
		t.Fatal("cookie driver has a store")
	}
	c := newClient(t, m)
	res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("card", "4111-1111") })
	ck := sessionCookie(res)
	if ck == nil || strings.Contains(ck.Value, "4111") || !ck.HttpOnly || ck.MaxAge != 300 {
		t.Fatalf("cookie %v", ck)
	}
	if c.get("card") != "4111-1111" {
		t.Fatal("cookie session does not load")
	}
	// Another application's secret, a flipped byte, a truncation: a fresh session.
	other, _ := newManager(t, nil, session.Config{Secret: "other - a test secret, not for production"})
	bad := []byte(c.cookie())
	bad[10] ^= 1
	for name, v := range map[string]string{"flipped": string(bad), "truncated": c.cookie()[:40], "empty": ""} {
		e := newClient(t, m)
		e.setCookie(v)
		if e.get("card") != nil {
			t.Errorf("%s cookie loaded", name)
		}
	}
	o := newClient(t, other)
	o.setCookie(c.cookie())
	if o.get("card") != nil {
		t.Error("cookie opened with another secret")
	}
}

func TestCookieDriverRotation(t *testing.T) {
	old, _ := newManager(t, nil, session.Config{Secret: "old - a test secret, not for production"})
	c := newClient(t, old)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("a", 1) })
	before := c.cookie()
	c.m, _ = newManager(t, nil, session.Config{Secret: "new - a test secret, not for production", PreviousSecrets: []string{"old - a test secret, not for production"}})
	res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		if s.Get("a") != 1 {
			t.Error("cookie sealed with a previous secret did not load")
		}
	})
	if ck := sessionCookie(res); ck == nil || ck.Value == before {
		t.Fatal("not re-sealed with the current secret")
	}
	c.m, _ = newManager(t, nil, session.Config{Secret: "new - a test secret, not for production"})
	if c.get("a") != 1 {
		t.Error("re-sealed cookie does not open with the new secret alone")
	}
}

func TestCookieDriverTooLarge(t *testing.T) {
	var got error
	m, _ := newManager(t, nil, session.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		http.Error(w, "too big", http.StatusInternalServerError)
	}})
	c := newClient(t, m)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("small", 1) })
	before := c.cookie()
	res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		s.Put("big", strings.Repeat("x", 4000))
	})
	if res.StatusCode != 500 || !errors.Is(got, session.ErrCookieTooLarge) || sessionCookie(res) != nil {
		t.Fatalf("status %d, err %v, cookie %v", res.StatusCode, got, sessionCookie(res))
	}
	if c.cookie() != before || c.get("small") != 1 {
		t.Error("the previous session was lost")
	}
	// Just below the limit still works.
	res = c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		s.Put("big", strings.Repeat("x", 2500))
	})
	if ck := sessionCookie(res); res.StatusCode != 200 || ck == nil || len(res.Header.Get("Set-Cookie")) > session.MaxCookieSize {
		t.Fatalf("a 2500-byte value: status %d", res.StatusCode)
	}
}

func TestCookieDriverRegenerateAndDestroy(t *testing.T) {
	m, _ := newManager(t, nil, session.Config{})
	c := newClient(t, m)
	var id, tok string
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		s.Put("a", 1)
		id, tok = s.ID(), s.Token()
	})
	res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		if err := s.Regenerate(); err != nil {
			t.Fatal(err)
		}
		if s.ID() == id || s.Token() == tok || s.Get("a") != 1 {
			t.Error("Regenerate: same ID or token, or data lost")
		}
	})
	if sessionCookie(res) == nil {
		t.Fatal("Regenerate sent no cookie")
	}
	res = c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		if err := s.Destroy(); err != nil {
			t.Fatal(err)
		}
	})
	if ck := sessionCookie(res); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("Destroy did not expire the cookie: %v", ck)
	}
	if c.get("a") != nil {
		t.Error("session survived Destroy in the same client")
	}
}

func TestCookieDriverUntouchedRequestSendsNothing(t *testing.T) {
	m, _ := newManager(t, nil, session.Config{})
	c := newClient(t, m)
	if res := c.do(nil); res.Header.Get("Set-Cookie") != "" {
		t.Error("new visitor got a cookie")
	}
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("a", 1) })
	if res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Get("a") }); res.Header.Get("Set-Cookie") != "" {
		t.Error("a read within the touch gap re-sent the cookie")
	}
}
