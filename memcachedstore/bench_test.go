package memcachedstore_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/session"
)

// BenchmarkRequest measures one request through the middleware over
// memcached, as the root package's BenchmarkRequest does for the built-in
// stores: a new visitor whose handler puts a value (new), an existing session
// read (read), written (write) and not touched (untouched).
func BenchmarkRequest(b *testing.B) {
	m := newManager(b, newStore(b, newClient(b)))
	handler := func(fn func(s *session.Session)) http.Handler {
		return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fn(session.FromRequest(r))
			w.WriteHeader(http.StatusOK)
		}))
	}
	rec := httptest.NewRecorder()
	handler(func(s *session.Session) {
		s.Put("user.id", 42)
		s.Put("user.name", "Ana")
		s.Put("cart", []string{"apple", "pear"})
		s.Token()
	}).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cookie := rec.Result().Cookies()[0]

	run := func(b *testing.B, h http.Handler, cookie *http.Cookie) {
		r := httptest.NewRequest("GET", "/", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	}
	b.Run("new", func(b *testing.B) {
		run(b, handler(func(s *session.Session) { s.Put("visits", 1) }), nil)
	})
	b.Run("read", func(b *testing.B) {
		run(b, handler(func(s *session.Session) { _ = s.Get("user.name") }), cookie)
	})
	b.Run("write", func(b *testing.B) {
		n := 0
		run(b, handler(func(s *session.Session) { n++; s.Put("visits", n) }), cookie)
	})
	b.Run("untouched", func(b *testing.B) {
		run(b, handler(func(*session.Session) {}), cookie)
	})
}
