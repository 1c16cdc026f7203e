package bench

import (
	"net/http"
	"os"
	"testing"

	"github.com/sessionkit/session/internal/testserver"
)

// TestMain stops the private servers once every test and benchmark of the
// binary is done.
func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopPostgres()
	testserver.StopMariaDB()
	testserver.StopRedis()
	testserver.StopMemcached()
	os.Exit(code)
}

// actions are the measured handler bodies, in the order they run.
var actions = []action{actRead, actWrite, actUntouched}

// BenchmarkRequest measures one GET through each library's usual wiring, in
// process with httptest, per store pairing, with an existing session cookie
// (cookie=yes: a session seeded with user.id, user.name and a two-item cart
// just before the measurement) and without one (cookie=no: every request is
// a new visitor; a write then saves a new session each time, so the store
// grows), for a handler that reads user.name, one that puts a counter, and
// one that does not touch the session. store=none/lib=bare is the floor: the
// same request to a handler with no session at all; each store's
// case=floor/lib=bare is that floor measured again with the store's pairing
// set up (cmd/report takes it as the pairing's floor).
//
// The libraries run innermost, next to one another, so that the machine's
// drift affects them alike. Names are key=value pairs for benchstat:
//
//	go test -run '^$' -bench Request -benchmem -cpu 1 -count 6 > new.txt
//	go tool benchstat -table /store -row /cookie,/case -col /lib new.txt
func BenchmarkRequest(b *testing.B) {
	for _, cookie := range []string{"yes", "no"} {
		b.Run("store=none/cookie="+cookie+"/case=floor/lib=bare", func(b *testing.B) {
			var ck *http.Cookie
			if cookie == "yes" {
				ck = &http.Cookie{Name: cookieName, Value: "a-cookie-the-floor-never-reads"}
			}
			serve(b, bare(), ck)
		})
	}
	for _, p := range pairings {
		b.Run("store="+p.store, func(b *testing.B) {
			contenders := p.setup(b)
			for _, cookie := range []string{"yes", "no"} {
				// The floor again, in this pairing's process state: its
				// stores' pools, background goroutines and heap cost the
				// bare handler too, and are no library's overhead.
				b.Run("cookie="+cookie+"/case=floor/lib=bare", func(b *testing.B) {
					if p.fresh {
						p.setup(b)
					}
					var ck *http.Cookie
					if cookie == "yes" {
						ck = &http.Cookie{Name: cookieName, Value: "a-cookie-the-floor-never-reads"}
					}
					serve(b, bare(), ck)
				})
				for _, a := range actions {
					for i, c := range contenders {
						b.Run("cookie="+cookie+"/case="+caseName(a)+"/lib="+c.lib, func(b *testing.B) {
							if p.fresh {
								c = p.setup(b)[i]
							}
							var ck *http.Cookie
							if cookie == "yes" {
								ck = seed(b, c)
							}
							serve(b, c.handler(a), ck)
						})
					}
				}
			}
		})
	}
}

// BenchmarkParallelRead measures the read handler under b.RunParallel (run
// it at GOMAXPROCS > 1), the goroutines spread over 16 seeded sessions;
// store=none/lib=bare is the floor.
func BenchmarkParallelRead(b *testing.B) {
	b.Run("store=none/lib=bare", func(b *testing.B) {
		serveParallel(b, bare(), []*http.Cookie{nil})
	})
	for _, p := range pairings {
		b.Run("store="+p.store, func(b *testing.B) {
			contenders := p.setup(b)
			for _, c := range contenders {
				b.Run("lib="+c.lib, func(b *testing.B) {
					cookies := make([]*http.Cookie, parallelSessions)
					for i := range cookies {
						cookies[i] = seed(b, c)
					}
					serveParallel(b, c.handler(actRead), cookies)
				})
			}
		})
	}
}
