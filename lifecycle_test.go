package session_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

func TestRegenerate(t *testing.T) {
	eachStore(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		var oldID, oldTok string
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Put("cart", "apple")
			s.Flash("msg", "hi")
			oldID, oldTok = s.ID(), s.Token()
		})
		oldCookie := c.cookie()
		var newID, newTok string
		res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if err := s.Regenerate(); err != nil {
				t.Fatal(err)
			}
			newID, newTok = s.ID(), s.Token()
			s.Put("user", "ana")
			// The old ID stops loading at once, before this request ends.
			if _, _, found, _ := st.Load(t.Context(), oldID); found {
				t.Error("old ID still loads after Regenerate")
			}
		})
		if newID == oldID || newTok == oldTok || sessionCookie(res) == nil || c.cookie() == oldCookie {
			t.Fatalf("Regenerate: same ID %v, same token %v, cookie %v", newID == oldID, newTok == oldTok, sessionCookie(res))
		}
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if s.ID() != newID || s.Token() != newTok || s.Get("cart") != "apple" || s.Get("user") != "ana" {
				t.Errorf("after Regenerate: id ok %v, token ok %v, data %v", s.ID() == newID, s.Token() == newTok, s.All())
			}
			if s.Has("msg") {
				t.Error("flash data outlived its request through Regenerate")
			}
		})
		// Whoever kept the old cookie gets a fresh session.
		attacker := newClient(t, m)
		attacker.setCookie(oldCookie)
		attacker.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if s.Has("cart") || s.Has("user") || s.ID() == oldID {
				t.Error("old cookie still loads the session")
			}
		})
	})
}

func TestRegenerateNewSession(t *testing.T) {
	m, _ := newManager(t, stores[0].open(t), session.Config{})
	c := newClient(t, m)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		id := s.ID()
		if err := s.Regenerate(); err != nil || s.ID() == id {
			t.Fatalf("Regenerate on a new session: %v", err)
		}
		s.Put("a", 1)
	})
	if c.get("a") != 1 {
		t.Error("new session lost after Regenerate")
	}
}

func TestDestroy(t *testing.T) {
	eachStore(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		var oldID string
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Put("user", "ana")
			oldID = s.ID()
		})
		oldCookie := c.cookie()
		res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			tok := s.Token()
			if err := s.Destroy(); err != nil {
				t.Fatal(err)
			}
			if s.Has("user") || s.ID() == oldID || s.Token() == tok {
				t.Error("Destroy left data, ID or token")
			}
		})
		// The handler read the new token, so the fresh session is saved.
		if ck := sessionCookie(res); ck == nil || ck.Value == oldCookie || ck.MaxAge <= 0 {
			t.Fatalf("cookie after Destroy then Token: %v", ck)
		}
		if _, _, found, _ := st.Load(t.Context(), oldID); found {
			t.Error("destroyed record still in the store")
		}
		// Destroy and do nothing else: the cookie is expired.
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("x", 1) })
		res = c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if err := s.Destroy(); err != nil {
				t.Fatal(err)
			}
		})
		if ck := sessionCookie(res); ck == nil || ck.MaxAge >= 0 || ck.Value != "" {
			t.Errorf("cookie after a bare Destroy = %v, want an expired cookie", ck)
		}
		// Destroy then flash a message: the new session carries it.
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("user", "bob") })
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Destroy()
			s.Flash("msg", "You are logged out")
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if s.Get("msg") != "You are logged out" || s.Has("user") {
				t.Errorf("after logout: %v", s.All())
			}
		})
		// The old cookie, replayed, does not load the old session.
		replay := newClient(t, m)
		replay.setCookie(oldCookie)
		if replay.get("user") != nil {
			t.Error("old cookie loaded a destroyed session")
		}
	})
}

func TestCookieAttributes(t *testing.T) {
	st := stores[0].open(t)
	m, _ := newManager(t, st, session.Config{Lifetime: 10 * time.Minute, Domain: "example.com", Secure: true})
	res := newClient(t, m).do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("a", 1) })
	raw := res.Header.Get("Set-Cookie")
	for _, want := range []string{"Path=/", "Domain=example.com", "Max-Age=600", "Expires=", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(raw, want) {
			t.Errorf("Set-Cookie %q lacks %s", raw, want)
		}
	}
	if res.Header.Get("Vary") != "Cookie" {
		t.Error("no Vary: Cookie on a response that sets the cookie")
	}

	m2, _ := newManager(t, st, session.Config{ExpireOnClose: true})
	res = newClient(t, m2).do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("a", 1) })
	raw = res.Header.Get("Set-Cookie")
	if raw == "" || strings.Contains(raw, "Max-Age") || strings.Contains(raw, "Expires") {
		t.Errorf("ExpireOnClose cookie %q", raw)
	}
	if strings.Contains(raw, "Secure") {
		t.Error("Secure sent without Config.Secure")
	}
}

func TestIdleSessionExpires(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps past a one-second lifetime")
	}
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{Lifetime: time.Second})
		c := newClient(t, m)
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("a", 1) })
		time.Sleep(500 * time.Millisecond)
		if c.get("a") != 1 { // a read within the lifetime
			t.Fatal("session gone before its lifetime")
		}
		time.Sleep(1100 * time.Millisecond) // no sweep runs: Lottery is off
		if got := c.get("a"); got != nil {
			t.Errorf("idle session still loads: %v", got)
		}
	})
}

func TestReadOnlyRequestTouchesExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps")
	}
	eachStore(t, func(t *testing.T, st session.Store) {
		cs := &countingStore{Store: st}
		m, _ := newManager(t, cs, session.Config{Lifetime: 2 * time.Second})
		c := newClient(t, m)
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("a", 1) })
		// Reads spread over three seconds: each touch slides the deadline.
		for range 6 {
			time.Sleep(500 * time.Millisecond)
			res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
				if s.Get("a") != 1 {
					t.Fatal("session expired although it was read every half second")
				}
			})
			if res.Header.Get("Set-Cookie") == "" {
				t.Error("a touch did not re-send the persistent cookie")
			}
		}
		if cs.updates.Load() != 1 || cs.touches.Load() != 6 {
			t.Errorf("updates %d (want 1: reads rewrite nothing), touches %d (want 6)", cs.updates.Load(), cs.touches.Load())
		}
	})
}

func TestTouchIsThrottled(t *testing.T) {
	cs := &countingStore{Store: stores[0].open(t)}
	m, _ := newManager(t, cs, session.Config{Lifetime: time.Hour})
	c := newClient(t, m)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("a", 1) })
	for range 10 {
		res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Get("a") })
		if res.Header.Get("Set-Cookie") != "" {
			t.Error("an untouched session re-sent its cookie within the touch gap")
		}
	}
	if cs.writes() != 1 {
		t.Errorf("%d writes for one put and ten reads, want 1", cs.writes())
	}
}

func TestNewVisitorCostsNothing(t *testing.T) {
	cs := &countingStore{Store: stores[0].open(t)}
	m, _ := newManager(t, cs, session.Config{})
	c := newClient(t, m)
	res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		_ = s.Get("a")
		_ = s.Has("b")
		s.Forget("c")
		_ = s.ID()
	})
	if res.Header.Get("Set-Cookie") != "" || cs.writes() != 0 || cs.loads.Load() != 0 {
		t.Errorf("untouched new session: Set-Cookie %q, %d writes, %d loads", res.Header.Get("Set-Cookie"), cs.writes(), cs.loads.Load())
	}
}
