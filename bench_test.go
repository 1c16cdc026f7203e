package session_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/internal/cputime"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

// BenchmarkRequest measures one request through the middleware: a bare
// handler with no session (the floor), then per built-in store a new visitor
// whose handler puts a value (new), an existing session read (read), written
// (write), and not touched (untouched). Each reports the process's CPU time
// per request (cpu-ns/op) beside wall time. The driver packages run the same
// storetest.BenchmarkRequests against their back ends.
func BenchmarkRequest(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
		r := httptest.NewRequest("GET", "/", nil)
		b.ReportAllocs()
		stop := cputime.Report(b)
		for b.Loop() {
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
		stop()
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

// BenchmarkUserRead measures a read-only request on a logged-in session
// against one on an anonymous session, over the memory and file stores,
// with the store calls each makes (storetest.BenchmarkUserRead): one Load,
// no write, for both. Compare the two with
//
//	go test -run '^$' -bench UserRead -benchmem -cpu 1 -count 10 . > user.txt
//	benchstat -col /session user.txt
func BenchmarkUserRead(b *testing.B) {
	b.Run("store=memory", func(b *testing.B) { storetest.BenchmarkUserRead(b, memstore.New()) })
	b.Run("store=file", func(b *testing.B) {
		st, err := filestore.New(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		storetest.BenchmarkUserRead(b, st)
	})
}
