package session_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionkit/session"
)

// base64URL is the alphabet of masked tokens.
const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// TestMaskedToken: MaskedToken differs on every call, every one validates
// (ValidateToken, VerifyCSRF in the form and in the header) as the session's
// token, Token stays the stable token, and any changed character fails.
func TestMaskedToken(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		var tok, m1, m2 string
		res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			m1, m2 = s.MaskedToken(), s.MaskedToken()
			tok = s.Token()
			if m1 == m2 || m1 == tok || strings.Contains(m1, tok) {
				t.Errorf("masked tokens %q, %q of token %q: want two different strings, neither holding the token", m1, m2, tok)
			}
			if !s.ValidateToken(m1) || !s.ValidateToken(m2) || !s.ValidateToken(tok) {
				t.Error("a masked token or the token itself does not validate")
			}
		})
		if sessionCookie(res) == nil {
			t.Fatal("reading the masked token did not save the new session")
		}
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if s.Token() != tok {
				t.Error("Token changed after MaskedToken")
			}
			if !s.ValidateToken(m1) {
				t.Error("a masked token from an earlier response does not validate")
			}
			for i := range len(m1) {
				for _, ch := range base64URL {
					if byte(ch) == m1[i] {
						continue
					}
					if bad := m1[:i] + string(ch) + m1[i+1:]; s.ValidateToken(bad) {
						t.Fatalf("masked token with character %d changed to %q validates", i, ch)
					}
				}
			}
			for _, bad := range []string{m1[:len(m1)-1], m1 + "A", m1[1:], strings.ToUpper(m1), m1 + "\n", "\n" + m1[1:]} {
				if s.ValidateToken(bad) {
					t.Errorf("masked token %q validates", bad)
				}
			}
		})
		called := false
		ok := func(http.ResponseWriter, *http.Request, *session.Session) { called = true }
		if res := c.post(url.Values{"_token": {m1}}, nil, ok); res.StatusCode != http.StatusOK || !called {
			t.Errorf("masked token in the form: status %d", res.StatusCode)
		}
		called = false
		if res := c.post(nil, http.Header{"X-Csrf-Token": {m2}}, ok); res.StatusCode != http.StatusOK || !called {
			t.Errorf("masked token in the header: status %d", res.StatusCode)
		}
		called = false
		bad := m1[:10] + string(base64URL[(strings.IndexByte(base64URL, m1[10])+1)%64]) + m1[11:]
		if res := c.post(url.Values{"_token": {bad}}, nil, ok); res.StatusCode != http.StatusForbidden || called {
			t.Errorf("tampered masked token: status %d, called %v", res.StatusCode, called)
		}
		// After RegenerateToken the old masks die with the old token.
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.RegenerateToken()
			if s.ValidateToken(m1) {
				t.Error("a masked form of the replaced token validates")
			}
		})
	})
}

// TestMaskedTokenWithoutToken: no masked form validates for a session that
// has no token yet (a new one whose token nobody read).
func TestMaskedTokenWithoutToken(t *testing.T) {
	m, _ := newManager(t, nil, session.Config{})
	other := newClient(t, m)
	var masked string
	other.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { masked = s.MaskedToken() })
	newClient(t, m).do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		if s.ValidateToken(masked) || s.ValidateToken("") {
			t.Error("a token validates for a session without one")
		}
	})
}

// BenchmarkValidateMaskedToken compares the validation of a masked token
// that differs from the right one in its first unmasked byte with one that
// differs in its last: the comparison is constant-time, so the two take the
// same time (compare with benchstat).
func BenchmarkValidateMaskedToken(b *testing.B) {
	m, err := session.New(session.Config{Secret: testSecret, Driver: "memory"})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	h := m.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		good := s.MaskedToken()
		// The second half is mask XOR token: changing its first or last
		// character changes the first or last unmasked byte.
		half := len(good) / 2
		first := good[:half+1] + flip(good[half+1]) + good[half+2:]
		last := good[:len(good)-2] + flip(good[len(good)-2]) + good[len(good)-1:]
		for _, c := range []struct{ name, tok string }{{"right", good}, {"first-byte-wrong", first}, {"last-byte-wrong", last}} {
			b.Run(c.name, func(b *testing.B) {
				for b.Loop() {
					s.ValidateToken(c.tok)
				}
			})
		}
	}))
	h.ServeHTTP(nopWriter{}, &http.Request{Method: "GET", URL: &url.URL{Path: "/"}, Header: http.Header{}})
}

// flip returns another character of the base64 alphabet than c.
func flip(c byte) string { return string(base64URL[(strings.IndexByte(base64URL, c)+1)%64]) }

type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}

func ExampleSession_MaskedToken() {
	m, _ := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "memory"})
	defer m.Close()

	var a, b string
	c := in(m, nil, func(s *session.Session) {
		// In a template: <input type="hidden" name="_token" value="{{.Token}}">
		// with .Token set from s.MaskedToken(): each page carries another string.
		a, b = s.MaskedToken(), s.MaskedToken()
	})
	in(m, c, func(s *session.Session) {
		fmt.Println(a != b, s.ValidateToken(a), s.ValidateToken(b))
	})
	// Output:
	// true true true
}
