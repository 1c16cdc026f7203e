package session_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// TestCSRFCrossOrigin: VerifyCSRF refuses an unsafe request that the
// browser marks as cross-origin (Sec-Fetch-Site, or else an Origin that is
// not the request's host), even with a valid token, unless its Origin is
// one of Config.TrustedOrigins; requests without either header (older
// browsers, other clients) are left to the token check.
func TestCSRFCrossOrigin(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{TrustedOrigins: []string{"https://app.example.com"}})
		c := newClient(t, m)
		var tok string
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			tok = s.Token()
		})
		for _, tc := range []struct {
			name   string
			header http.Header
			token  bool
			ok     bool
		}{
			{"no headers, token", nil, true, true},
			{"no headers, no token", nil, false, false},
			{"same-origin", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {"http://example.com"}}, true, true},
			{"none (typed by the user)", http.Header{"Sec-Fetch-Site": {"none"}}, true, true},
			{"same-origin without token", http.Header{"Sec-Fetch-Site": {"same-origin"}}, false, false},
			{"cross-site with token", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}, true, false},
			{"same-site with token", http.Header{"Sec-Fetch-Site": {"same-site"}, "Origin": {"https://sub.example.com"}}, true, false},
			{"cross-site without Origin", http.Header{"Sec-Fetch-Site": {"cross-site"}}, true, false},
			{"old browser, Origin is Host", http.Header{"Origin": {"http://example.com"}}, true, true},
			{"old browser, other Origin", http.Header{"Origin": {"https://evil.example"}}, true, false},
			{"old browser, Origin null", http.Header{"Origin": {"null"}}, true, false},
			{"old browser, Origin with Host as path", http.Header{"Origin": {"https://evil.example/example.com"}}, true, false},
			{"trusted origin, cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://app.example.com"}}, true, true},
			{"trusted origin, old browser", http.Header{"Origin": {"https://app.example.com"}}, true, true},
			{"trusted origin needs the token", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://app.example.com"}}, false, false},
			{"trusted origin is exact", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://app.example.com:443"}}, true, false},
		} {
			for _, method := range []string{"POST", "DELETE"} {
				called := false
				r := httptest.NewRequest(method, "http://example.com/", nil)
				for k, v := range tc.header {
					r.Header[k] = v
				}
				if tc.token {
					r.Header.Set("X-CSRF-Token", tok)
				}
				res := c.send(r, m.Middleware(m.VerifyCSRF(wrap(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
					called = true
				}))))
				if ok := res.StatusCode == http.StatusOK && called; ok != tc.ok {
					t.Errorf("%s %s: status %d, called %v; want passed = %v", method, tc.name, res.StatusCode, called, tc.ok)
				}
				if !tc.ok && sessionCookie(res) != nil {
					t.Errorf("%s %s: a refused request set a cookie", method, tc.name)
				}
			}
		}
		// A refused request, token or not, leaves the session as it was.
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Flash("msg", "once") })
		r := httptest.NewRequest("POST", "http://example.com/", nil)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("X-CSRF-Token", tok)
		c.send(r, m.Middleware(m.VerifyCSRF(wrap(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("n", 2) }))))
		if c.get("msg") != "once" {
			t.Error("a refused request changed the session (flash aged)")
		}
		// Safe methods pass whatever the headers say.
		for _, method := range []string{"GET", "HEAD", "OPTIONS"} {
			r := httptest.NewRequest(method, "http://example.com/", nil)
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			called := false
			c.send(r, m.Middleware(m.VerifyCSRF(wrap(func(http.ResponseWriter, *http.Request, *session.Session) { called = true }))))
			if !called {
				t.Errorf("cross-site %s refused", method)
			}
		}
	})
}

// unreadBody fails the test when it is read.
type unreadBody struct {
	t *testing.T
}

func (b unreadBody) Read([]byte) (int, error) {
	b.t.Error("the body of a cross-origin request was read")
	return 0, io.EOF
}

// TestCSRFCrossOriginBodyNotRead: a cross-origin request is refused before
// its body is read.
func TestCSRFCrossOriginBodyNotRead(t *testing.T) {
	m, _ := newManager(t, memstore.New(), session.Config{})
	c := newClient(t, m)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Token() })
	r := httptest.NewRequest("POST", "http://example.com/", io.NopCloser(unreadBody{t}))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := c.send(r, m.Middleware(m.VerifyCSRF(wrap(nil)))); res.StatusCode != http.StatusForbidden {
		t.Errorf("status %d, want 403", res.StatusCode)
	}
}

// TestCSRFTrustedOriginsValidated: New refuses a trusted origin that is not
// scheme://host[:port].
func TestCSRFTrustedOriginsValidated(t *testing.T) {
	for _, o := range []string{"", "example.com", "https://", "https://example.com/", "https://example.com/path", "https://example.com?q", "https://example.com#f", "null", "https://exa mple.com"} {
		_, err := session.New(session.Config{Secret: testSecret, Driver: "memory", TrustedOrigins: []string{o}})
		if !errors.Is(err, session.ErrConfig) {
			t.Errorf("TrustedOrigins %q: err %v, want ErrConfig", o, err)
		} else if !strings.Contains(err.Error(), "TrustedOrigins") {
			t.Errorf("TrustedOrigins %q: error %q does not name the field", o, err)
		}
	}
	for _, o := range []string{"https://example.com", "http://127.0.0.1:8080", "https://[::1]:8443"} {
		m, err := session.New(session.Config{Secret: testSecret, Driver: "memory", TrustedOrigins: []string{o}})
		if err != nil {
			t.Errorf("TrustedOrigins %q: %v", o, err)
			continue
		}
		m.Close()
	}
}
