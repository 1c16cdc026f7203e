package session_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

func TestBadCookiesStartFreshWithoutStoreLookup(t *testing.T) {
	cs := &countingStore{Store: memstore.New()}
	m, logs := newManager(t, cs, session.Config{})
	owner := newClient(t, m)
	var id string
	owner.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		s.Put("secret", "owner's")
		id = s.ID()
	})
	good := owner.cookie()
	flip := []byte(good)
	flip[len(flip)-1] ^= 1
	// The ID's first character replaced by another (always another: a
	// fixed replacement equals the ID's own first character once in 64 runs,
	// and then the cookie is not tampered at all).
	first := byte('A')
	if good[0] == 'A' {
		first = 'B'
	}
	tamperedID := string(first) + good[1:]
	other, _ := newManager(t, memstore.New(), session.Config{Secret: "another application - a test secret, not for production"})
	foreign := newClient(t, other)
	foreign.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("x", 1) })

	for name, v := range map[string]string{
		"tampered signature": string(flip),
		"tampered id":        tamperedID,
		"truncated":          good[:len(good)-5],
		"id only":            id,
		"oversized":          good + strings.Repeat("A", 10000),
		"empty":              "",
		"garbage":            "%%%;;..",
		"foreign secret":     foreign.cookie(),
		"dot only":           strings.Repeat("A", 43) + "." + strings.Repeat("A", 43),
	} {
		t.Run(name, func(t *testing.T) {
			loads := cs.loads.Load()
			c := newClient(t, m)
			c.setCookie(v)
			res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
				if s.Has("secret") || s.ID() == id {
					t.Error("a bad cookie loaded the session")
				}
			})
			if res.StatusCode != http.StatusOK {
				t.Errorf("status %d", res.StatusCode)
			}
			if cs.loads.Load() != loads {
				t.Error("the store was asked about an unverified ID")
			}
			if ck := sessionCookie(res); ck == nil || ck.MaxAge >= 0 {
				t.Errorf("bad cookie not expired: %v", ck)
			}
		})
	}
	if !strings.Contains(logs.String(), "cookie does not verify") {
		t.Error("bad cookies were not logged")
	}
}

func TestUnknownSignedIDIsNotAdopted(t *testing.T) {
	eachStore(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		// An attacker plants a well-signed cookie whose ID the store never
		// issued: take a real cookie, then delete its record.
		c := newClient(t, m)
		var planted string
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Put("a", 1)
			planted = s.ID()
		})
		if err := st.Delete(t.Context(), planted); err != nil {
			t.Fatal(err)
		}
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if s.ID() == planted {
				t.Error("the planted ID was adopted")
			}
			s.Put("user", "victim")
		})
		if _, _, found, _ := st.Load(t.Context(), planted); found {
			t.Error("a session was created under the planted ID")
		}
	})
}

func TestSessionIDs(t *testing.T) {
	m, _ := newManager(t, memstore.New(), session.Config{})
	seen := map[string]bool{}
	for range 100 {
		newClient(t, m).do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			id := s.ID()
			b, err := base64.RawURLEncoding.DecodeString(id)
			if err != nil || len(b) < 32 {
				t.Fatalf("ID %q carries %d bytes, want 32", id, len(b))
			}
			if seen[id] {
				t.Fatal("duplicate ID")
			}
			seen[id] = true
		})
	}
}

func TestPreviousSecretStillLoadsAndIsReissued(t *testing.T) {
	for _, encrypt := range []bool{false, true} {
		eachStore(t, func(t *testing.T, st session.Store) {
			old, _ := newManager(t, st, session.Config{Secret: "old secret - a test secret, not for production", Encrypt: encrypt})
			c := newClient(t, old)
			c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("a", 1) })
			oldCookie := c.cookie()

			rotated, _ := newManager(t, st, session.Config{Secret: "new secret - a test secret, not for production", PreviousSecrets: []string{"old secret - a test secret, not for production"}, Encrypt: encrypt})
			c.m = rotated
			res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
				if s.Get("a") != 1 {
					t.Error("session signed with a previous secret did not load")
				}
			})
			ck := sessionCookie(res)
			if ck == nil || ck.Value == oldCookie {
				t.Fatal("cookie not re-signed with the current secret")
			}
			// Without the old secret the new cookie (and, when encrypted, the
			// re-sealed payload) still works.
			fresh, _ := newManager(t, st, session.Config{Secret: "new secret - a test secret, not for production", Encrypt: encrypt})
			c.m = fresh
			if c.get("a") != 1 {
				t.Error("re-signed session does not load with the new secret alone")
			}
		})
	}
}

func TestEncryptSealsAndBindsToID(t *testing.T) {
	st := memstore.New()
	m, logs := newManager(t, st, session.Config{Encrypt: true})
	c := newClient(t, m)
	var id string
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		s.Put("card", "4111 1111 1111 1111")
		id = s.ID()
	})
	data, _, found, _ := st.Load(t.Context(), id)
	if !found || strings.Contains(string(data), "4111") || strings.Contains(string(data), "card") {
		t.Fatalf("stored payload is not sealed: %q", data)
	}
	if c.get("card") != "4111 1111 1111 1111" {
		t.Fatal("sealed session does not load")
	}
	// Copy the sealed payload under another client's session ID.
	v := newClient(t, m)
	var vid string
	v.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		s.Put("x", 1)
		vid = s.ID()
	})
	copyRecord(t, st, id, vid)
	if got := v.get("card"); got != nil {
		t.Error("a payload copied to another ID opened")
	}
	if !strings.Contains(logs.String(), "corrupt") {
		t.Error("payload that failed to open was not logged")
	}
}

func TestCorruptPayloadIsLoggedAndTreatedAsMissing(t *testing.T) {
	eachStore(t, func(t *testing.T, st session.Store) {
		m, logs := newManager(t, st, session.Config{})
		c := newClient(t, m)
		var id string
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Put("a", 1)
			id = s.ID()
		})
		for _, bad := range []string{"not json", `{"v":99}`, `{"v":1,"data":[1,2]}`, "sk1.!!!", "sk1.AAAA", `{"v":1,"data":{"a":1}} trailing`} {
			writeRecord(t, st, id, []byte(bad))
			res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
				if s.Has("a") || s.ID() == id {
					t.Errorf("corrupt payload %q loaded", bad)
				}
			})
			if res.StatusCode != 200 {
				t.Errorf("corrupt payload %q: status %d", bad, res.StatusCode)
			}
			c.setCookie(sessionCookieValue(t, m, id)) // point back at the corrupt record
		}
		if !strings.Contains(logs.String(), "corrupt") {
			t.Error("corrupt payload not logged")
		}
	})
}
