package session_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/memstore"
)

// BenchmarkRequest measures one request through the middleware: a bare
// handler with no session (the floor), then per store a new visitor whose
// handler puts a value (new), an existing session read (read), an existing
// session written (write), and an existing session not touched (untouched).
func BenchmarkRequest(b *testing.B) {
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	b.Run("bare", func(b *testing.B) { runRequests(b, bare, nil) })

	for _, store := range []struct {
		name string
		open func(b *testing.B) session.Store
	}{
		{"memory", func(b *testing.B) session.Store { return memstore.New() }},
		{"file", func(b *testing.B) session.Store {
			st, err := filestore.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}},
	} {
		b.Run(store.name, func(b *testing.B) {
			m, err := session.New(session.Config{Secret: testSecret, Store: store.open(b), Lottery: [2]int{0, 1}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { m.Close() })
			handler := func(fn func(s *session.Session)) http.Handler {
				return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					fn(session.FromRequest(r))
					w.WriteHeader(http.StatusOK)
				}))
			}
			// An existing session with a few typical values.
			rec := httptest.NewRecorder()
			handler(func(s *session.Session) {
				s.Put("user.id", 42)
				s.Put("user.name", "Ana")
				s.Put("cart", []string{"apple", "pear"})
				s.Token()
			}).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			cookie := rec.Result().Cookies()[0]

			b.Run("new", func(b *testing.B) {
				runRequests(b, handler(func(s *session.Session) { s.Put("visits", 1) }), nil)
			})
			b.Run("read", func(b *testing.B) {
				runRequests(b, handler(func(s *session.Session) { _ = s.Get("user.name") }), cookie)
			})
			b.Run("write", func(b *testing.B) {
				n := 0
				runRequests(b, handler(func(s *session.Session) { n++; s.Put("visits", n) }), cookie)
			})
			b.Run("untouched", func(b *testing.B) {
				runRequests(b, handler(func(*session.Session) {}), cookie)
			})
		})
	}
}

func runRequests(b *testing.B, h http.Handler, cookie *http.Cookie) {
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
