package session_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/nullstore"
	"github.com/sessionkit/session/storetest"
)

// TestUserSessionsUnsupported: the cookie and null drivers log in and know
// their user, and refuse to list or destroy a user's sessions with
// errors.ErrUnsupported.
func TestUserSessionsUnsupported(t *testing.T) {
	t.Run("cookie", func(t *testing.T) {
		m, _ := newManager(t, nil, session.Config{})
		storetest.UserSessionsUnsupported(t, m)
		c := newClient(t, m)
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if err := s.Login("ana"); err != nil {
				t.Fatal(err)
			}
		})
		var user string
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { user = s.UserID() })
		if user != "ana" {
			t.Errorf("the cookie driver's next request sees user %q", user)
		}
	})
	t.Run("null", func(t *testing.T) {
		m, _ := newManager(t, nullstore.New(), session.Config{})
		storetest.UserSessionsUnsupported(t, m)
	})
}

// record returns the stored expiry and envelope of the session the client
// holds.
func record(t *testing.T, m *session.Manager, c *client) (time.Time, map[string]any) {
	t.Helper()
	var id string
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { id = s.ID() })
	data, expiry, found, err := m.Store().Load(t.Context(), id)
	if err != nil || !found {
		t.Fatalf("load %s: found %v, %v", id, found, err)
	}
	var env map[string]any
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	return expiry, env
}

func near(a, b time.Time) bool { d := a.Sub(b); return d > -5*time.Second && d < 5*time.Second }

// TestSetLifetime: remember-me gives the session its own idle lifetime and a
// persistent cookie, even with ExpireOnClose; it survives Regenerate and
// Login; 0 returns to Config.Lifetime.
func TestSetLifetime(t *testing.T) {
	const month = 30 * 24 * time.Hour
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{Lifetime: 5 * time.Minute, ExpireOnClose: true})
		c := newClient(t, m)
		res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("k", "v") })
		if ck := sessionCookie(res); ck == nil || ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Fatalf("ExpireOnClose: cookie %v, want no Max-Age or Expires", ck)
		}
		res = c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.SetLifetime(month) })
		if ck := sessionCookie(res); ck == nil || ck.MaxAge != int(month/time.Second) {
			t.Fatalf("after SetLifetime(30 days): cookie %v, want Max-Age %d", ck, int(month/time.Second))
		}
		if st != nil {
			if expiry, _ := record(t, m, c); !near(expiry, time.Now().Add(month)) {
				t.Errorf("stored expiry %v, want about 30 days from now", expiry)
			}
		}
		for name, fn := range map[string]func(s *session.Session) error{
			"Regenerate": (*session.Session).Regenerate,
			"Login":      func(s *session.Session) error { return s.Login("ana") },
		} {
			res = c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
				if err := fn(s); err != nil {
					t.Fatal(err)
				}
			})
			if ck := sessionCookie(res); ck == nil || ck.MaxAge != int(month/time.Second) {
				t.Errorf("after %s: cookie %v, want the remembered Max-Age", name, ck)
			}
		}
		if got := c.get("k"); got != "v" {
			t.Errorf("data lost: %v", got)
		}
		res = c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.SetLifetime(0) })
		if ck := sessionCookie(res); ck == nil || ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Errorf("after SetLifetime(0): cookie %v, want a browser-session cookie again", ck)
		}
		if st != nil {
			if expiry, _ := record(t, m, c); !near(expiry, time.Now().Add(5*time.Minute)) {
				t.Errorf("after SetLifetime(0) the stored expiry is %v, want Lifetime from now", expiry)
			}
		}
	})
}

// TestAbsoluteLifetime: however busy, a session's stored expiry never passes
// its absolute end (so a sweep removes it), Regenerate keeps the clock, Login
// restarts it, and a session past its end never loads, whatever the store's
// expiry says.
func TestAbsoluteLifetime(t *testing.T) {
	st := memstore.New()
	m, _ := newManager(t, st, session.Config{Lifetime: 2 * time.Hour, AbsoluteLifetime: time.Hour})
	c := newClient(t, m)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("k", "v") })
	expiry, env := record(t, m, c)
	born := time.UnixMilli(int64(env["born"].(float64)))
	if !near(born, time.Now()) || !expiry.Equal(born.Add(time.Hour)) {
		t.Fatalf("born %v, expiry %v: want now and born + AbsoluteLifetime (not now + Lifetime)", born, expiry)
	}
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		if err := s.Regenerate(); err != nil {
			t.Fatal(err)
		}
	})
	if expiry2, env2 := record(t, m, c); env2["born"] != env["born"] || !expiry2.Equal(expiry) {
		t.Errorf("Regenerate moved the absolute clock: born %v -> %v, expiry %v -> %v", env["born"], env2["born"], expiry, expiry2)
	}

	// Age the session by an hour and a minute, its store expiry still far off.
	var id string
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { id = s.ID() })
	env["born"] = time.Now().Add(-61 * time.Minute).UnixMilli()
	data, _ := json.Marshal(env)
	writeRecord(t, st, id, data)
	if got := c.get("k"); got != nil {
		t.Errorf("a session past its absolute lifetime loaded: k = %v", got)
	}

	// Login restarts the clock.
	c2 := newClient(t, m)
	c2.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("k", "v") })
	c2.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { id = s.ID() })
	_, env = record(t, m, c2)
	env["born"] = time.Now().Add(-50 * time.Minute).UnixMilli()
	data, _ = json.Marshal(env)
	writeRecord(t, st, id, data)
	c2.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		if err := s.Login("ana"); err != nil {
			t.Fatal(err)
		}
	})
	expiry, env = record(t, m, c2)
	if born := time.UnixMilli(int64(env["born"].(float64))); !near(born, time.Now()) || !near(expiry, time.Now().Add(time.Hour)) {
		t.Errorf("after Login: born %v, expiry %v; want the clock restarted", born, expiry)
	}

	// A busy session's expiry stops at the absolute end, and the sweep
	// removes it there.
	m2, _ := newManager(t, st, session.Config{Lifetime: time.Hour, AbsoluteLifetime: 2 * time.Second})
	c3 := newClient(t, m2)
	c3.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("k", "v") })
	expiry, _ = record(t, m2, c3)
	time.Sleep(time.Until(expiry) + 10*time.Millisecond)
	if got := c3.get("k"); got != nil {
		t.Errorf("loaded after its absolute end: %v", got)
	}
	if n, err := m2.Sweep(t.Context()); err != nil || n < 1 {
		t.Errorf("Sweep after the absolute end removed %d (%v)", n, err)
	}
}

// TestUnopenedSessionsStayIndexed: a Manager whose secret does not open a
// user's sealed sessions (a misconfigured replica, an operator's tool) lists
// none of them, keeps their index entries, and refuses to claim it ended
// them all; the Manager with the secret still finds and ends them.
func TestUnopenedSessionsStayIndexed(t *testing.T) {
	st := memstore.New()
	right, _ := newManager(t, st, session.Config{Encrypt: true})
	wrong, _ := newManager(t, st, session.Config{Encrypt: true, Secret: "another secret that is long enough to be accepted"})
	for range 2 {
		newClient(t, right).do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { _ = s.Login("ana") })
	}
	if infos, err := wrong.UserSessions(t.Context(), "ana"); len(infos) != 0 || err != nil {
		t.Errorf("the wrong secret lists %d sessions (%v)", len(infos), err)
	}
	if n, err := wrong.DestroyUserSessions(t.Context(), "ana"); n != 0 || !errors.Is(err, session.ErrCorrupt) {
		t.Errorf("DestroyUserSessions with the wrong secret = %d, %v; want 0 and ErrCorrupt", n, err)
	}
	if n, err := right.DestroyUserSessions(t.Context(), "ana"); n != 2 || err != nil {
		t.Errorf("DestroyUserSessions with the right secret = %d, %v; want 2: the wrong one dropped their entries", n, err)
	}
}
