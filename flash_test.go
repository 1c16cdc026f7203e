package session_test

import (
	"net/http"
	"testing"

	"github.com/sessionkit/session"
)

func TestFlashLivesOneMoreRequest(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Flash("msg", "saved")
			s.Flash("deep.msg", "nested")
			if s.Get("msg") != "saved" {
				t.Error("flash not readable in its own request")
			}
		})
		// The next request reads it, even a request that does not touch it first.
		if got := c.get("msg"); got != "saved" {
			t.Fatalf("next request: %v", got)
		}
		if got := c.get("msg"); got != nil {
			t.Errorf("third request: %v, want gone", got)
		}
		if got := c.get("deep.msg"); got != nil {
			t.Errorf("nested flash: %v, want gone", got)
		}
	})
}

func TestFlashAgesOnUntouchedRequests(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Flash("msg", "x") })
		c.do(nil) // the redirect target's handler does not look at the session
		if got := c.get("msg"); got != nil {
			t.Errorf("flash survived an untouched request: %v", got)
		}
	})
}

func TestReflashAndKeep(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Flash("a", 1)
			s.Flash("b", 2)
			s.Flash("c", 3)
			s.Put("perm", "p")
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Keep("a", "perm", "missing")
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if s.Get("a") != 1 || s.Has("b") || s.Has("c") {
				t.Errorf("after Keep(a): %v", s.All())
			}
			s.Reflash()
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if s.Get("a") != 1 {
				t.Errorf("after Reflash: %v", s.All())
			}
		})
		if c.get("a") != nil {
			t.Error("a outlived its reflash")
		}
		// Keep on a permanent key changes nothing.
		for range 3 {
			if c.get("perm") != "p" {
				t.Fatal("Keep made a permanent key expire")
			}
		}
	})
}

func TestPutMakesFlashPermanentAndFlashMakesPermanentFlash(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Flash("f", "flash")
			s.Put("p", "perm")
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Put("f", "now permanent") // in the request after it was flashed
			s.Flash("p", "now flash")
		})
		for i := range 3 {
			if got := c.get("f"); got != "now permanent" {
				t.Fatalf("request %d: f = %v", i, got)
			}
		}
		c2 := newClient(t, m)
		c2.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Flash("g", 1)
			s.Put("g", 2) // in the same request
		})
		c2.do(nil)
		if c2.get("g") != 2 {
			t.Error("Put in the flashing request did not make the key permanent")
		}
		if got := c.get("p"); got != nil {
			t.Errorf("a flashed permanent key survived: %v", got)
		}
	})
}

func TestFlashOnNewSessionSetsCookie(t *testing.T) {
	m, _ := newManager(t, stores[0].open(t), session.Config{})
	c := newClient(t, m)
	res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Flash("m", 1) })
	if sessionCookie(res) == nil {
		t.Fatal("flash on a new session set no cookie")
	}
}
