package session_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

// BenchmarkRequest measures one request through the middleware: a bare
// handler with no session (the floor), then per built-in store a new visitor
// whose handler puts a value (new), an existing session read (read), written
// (write), and not touched (untouched). The driver packages run the same
// storetest.BenchmarkRequests against their back ends.
func BenchmarkRequest(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
		r := httptest.NewRequest("GET", "/", nil)
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
	})
	b.Run("memory", func(b *testing.B) { storetest.BenchmarkRequests(b, memstore.New()) })
	b.Run("cookie", func(b *testing.B) {
		storetest.BenchmarkManager(b, storetest.NewManager(b, nil, session.Config{Driver: "cookie"}))
	})
	b.Run("file", func(b *testing.B) {
		st, err := filestore.New(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		storetest.BenchmarkRequests(b, st)
	})
}
