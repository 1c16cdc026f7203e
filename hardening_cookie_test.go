package session_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

const otherSecret = "another application's secret - a test secret, not for production"

// forgedCookie returns a well-formed session cookie value that m's keys do
// not verify: a genuine cookie of another application (another secret) with
// the same driver, so that checking it costs m a full signature check or
// AES-GCM open per key.
func forgedCookie(t *testing.T, st session.Store) string {
	t.Helper()
	if st != nil {
		st = memstore.New()
	}
	other, _ := newManager(t, st, session.Config{Secret: otherSecret})
	c := newClient(t, other)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("user", "mallory") })
	if c.cookie() == "" {
		t.Fatal("the other application set no cookie")
	}
	return c.cookie()
}

// TestForgedCookiesAreNotAllVerified checks that a request carrying many
// well-formed forged cookies with the session's name costs at most
// MaxCookieCandidates verifications: a genuine cookie placed after that many
// forged ones is not even looked at, while one placed after fewer (stale
// duplicates a browser may send for other paths or domains) still loads.
func TestForgedCookiesAreNotAllVerified(t *testing.T) {
	max := session.MaxCookieCandidatesForTest
	if max < 2 || max > 8 {
		t.Fatalf("MaxCookieCandidates = %d: want a small constant above one", max)
	}
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, logs := newManager(t, st, session.Config{PreviousSecrets: []string{otherSecret + " (old)"}})
		genuine := newClient(t, m)
		genuine.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("user", "ana") })
		forged := forgedCookie(t, st)
		load := func(forgedFirst int) any {
			r := httptest.NewRequest("GET", "/", nil)
			for range forgedFirst {
				r.AddCookie(&http.Cookie{Name: session.DefaultCookie, Value: forged})
			}
			r.AddCookie(&http.Cookie{Name: session.DefaultCookie, Value: genuine.cookie()})
			var got any
			m.Middleware(wrap(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { got = s.Get("user") })).
				ServeHTTP(httptest.NewRecorder(), r)
			return got
		}
		for n := range max {
			if got := load(n); got != "ana" {
				t.Errorf("genuine cookie after %d forged ones: user = %v, want ana", n, got)
			}
		}
		if strings.Contains(logs.String(), "cookies=") {
			t.Errorf("a request whose genuine cookie loaded logged a warning:\n%s", logs)
		}
		for _, n := range []int{max, max + 1, 2900} {
			if got := load(n); got != nil {
				t.Errorf("genuine cookie after %d forged ones was verified: user = %v, want a fresh session", n, got)
			}
			if want := "cookies=" + strconv.Itoa(n+1); !strings.Contains(logs.String(), want) {
				t.Errorf("after %d forged cookies the log lacks %q:\n%s", n, want, logs)
			}
		}
	})
}

// BenchmarkForgedCookies measures a request that carries 2,900 well-formed
// forged cookies with the session's name, under four secrets (Secret and
// three PreviousSecrets).
func BenchmarkForgedCookies(b *testing.B) {
	for _, driver := range []string{"memory", "cookie"} {
		b.Run(driver, func(b *testing.B) {
			newM := func(secret string) *session.Manager {
				m, err := session.New(session.Config{
					Secret: secret, Driver: driver, Lottery: [2]int{0, 1}, Logger: slog.New(slog.DiscardHandler),
					PreviousSecrets: []string{secret + " one", secret + " two", secret + " three"},
				})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { m.Close() })
				return m
			}
			m, other := newM(testSecret), newM(otherSecret)
			w := httptest.NewRecorder()
			other.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				session.FromRequest(r).Put("user", "mallory")
			})).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			forged := w.Result().Cookies()[0]
			r := httptest.NewRequest("GET", "/", nil)
			for range 2900 {
				r.AddCookie(forged)
			}
			h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}
