package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/sessions"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/cputime"
)

// cookieName is the session cookie of every library.
const cookieName = "session"

// gorilla's keys are fixed, as sessionkit's secret is (storetest.Secret),
// so that runs are reproducible.
var (
	gorillaHashKey  = []byte("gorilla hash key: 32 bytes long!") // HMAC-SHA256
	gorillaBlockKey = []byte("gorilla block key: AES-256 (32B)") // AES-256
)

// An action is what a handler does with the session.
type action int

const (
	// actSeed puts the session contents every "existing session" case
	// starts from: user.id=42, user.name="Ana", cart=[apple pear].
	actSeed action = iota
	// actRead reads user.name and writes it as the body.
	actRead
	// actWrite puts visits (a counter, so that every write changes the
	// session) and writes "ok".
	actWrite
	// actUntouched does not look at the session and writes "ok".
	actUntouched
	// actProbe writes "name=<user.name> visits=<visits>"; only the
	// correctness test uses it.
	actProbe
)

// A contender is one library set up on one store.
type contender struct {
	lib string // the benchmark's lib= key
	// handler returns the library's usual wiring of a handler that does a.
	handler func(a action) http.Handler
}

// bare is the floor: a handler with no session at all, writing the same
// body as the untouched handlers.
func bare() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
}

// sessionkitContender wires m's Middleware around handlers that use
// session.FromRequest.
func sessionkitContender(m *session.Manager) contender {
	return contender{lib: "sessionkit", handler: func(a action) http.Handler {
		var n atomic.Int64
		return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch a {
			case actSeed:
				s := session.FromRequest(r)
				s.Put("user.id", 42)
				s.Put("user.name", "Ana")
				s.Put("cart", []string{"apple", "pear"})
			case actRead:
				name, _ := session.FromRequest(r).Get("user.name").(string)
				io.WriteString(w, name)
				return
			case actWrite:
				session.FromRequest(r).Put("visits", int(n.Add(1)))
			case actProbe:
				s := session.FromRequest(r)
				name, _ := s.Get("user.name").(string)
				visits, _ := session.GetAs[int](s, "visits")
				fmt.Fprintf(w, "name=%s visits=%d", name, visits)
				return
			}
			io.WriteString(w, "ok")
		}))
	}}
}

// scsContender wires sm.LoadAndSave around handlers that use sm.GetString
// and sm.Put.
func scsContender(sm *scs.SessionManager) contender {
	return contender{lib: "scs", handler: func(a action) http.Handler {
		var n atomic.Int64
		return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			switch a {
			case actSeed:
				sm.Put(ctx, "user.id", 42)
				sm.Put(ctx, "user.name", "Ana")
				sm.Put(ctx, "cart", []string{"apple", "pear"})
			case actRead:
				io.WriteString(w, sm.GetString(ctx, "user.name"))
				return
			case actWrite:
				sm.Put(ctx, "visits", int(n.Add(1)))
			case actProbe:
				fmt.Fprintf(w, "name=%s visits=%d", sm.GetString(ctx, "user.name"), sm.GetInt(ctx, "visits"))
				return
			}
			io.WriteString(w, "ok")
		}))
	}}
}

// newSCS returns an scs manager with its defaults (24-hour absolute
// lifetime, no idle timeout, gob codec) on st.
func newSCS(st scs.Store) *scs.SessionManager {
	sm := scs.New()
	sm.Store = st
	return sm
}

// gorillaContender calls store.Get and sess.Save in the handler, as
// gorilla/sessions has no middleware; a handler that does not touch the
// session calls neither, and a read does not Save.
func gorillaContender(lib string, store sessions.Store) contender {
	return contender{lib: lib, handler: func(a action) http.Handler {
		var n atomic.Int64
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if a == actUntouched {
				io.WriteString(w, "ok")
				return
			}
			sess, err := store.Get(r, cookieName)
			if err != nil {
				http.Error(w, "gorilla: "+err.Error(), http.StatusInternalServerError)
				return
			}
			switch a {
			case actSeed:
				sess.Values["user.id"] = 42
				sess.Values["user.name"] = "Ana"
				sess.Values["cart"] = []string{"apple", "pear"}
			case actRead:
				name, _ := sess.Values["user.name"].(string)
				io.WriteString(w, name)
				return
			case actWrite:
				sess.Values["visits"] = int(n.Add(1))
			case actProbe:
				name, _ := sess.Values["user.name"].(string)
				visits, _ := sess.Values["visits"].(int)
				fmt.Fprintf(w, "name=%s visits=%d", name, visits)
				return
			}
			if err := sess.Save(r, w); err != nil {
				http.Error(w, "gorilla: "+err.Error(), http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "ok")
		})
	}}
}

// newGorillaCookie returns a CookieStore that signs (and, when encrypt is
// set, encrypts with AES-256) with gorilla's default options.
func newGorillaCookie(encrypt bool) *sessions.CookieStore {
	if encrypt {
		return sessions.NewCookieStore(gorillaHashKey, gorillaBlockKey)
	}
	return sessions.NewCookieStore(gorillaHashKey)
}

// do serves one request through h with cookie (if not nil) and returns the
// response.
func do(h http.Handler, cookie *http.Cookie) *http.Response {
	r := httptest.NewRequest("GET", "/", nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

// responseCookie returns the session cookie resp sets, or nil.
func responseCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	return nil
}

// seed creates a session holding the seed contents through c and returns
// its cookie.
func seed(tb testing.TB, c contender) *http.Cookie {
	tb.Helper()
	resp := do(c.handler(actSeed), nil)
	ck := responseCookie(resp)
	if resp.StatusCode != http.StatusOK || ck == nil || ck.Value == "" {
		tb.Fatalf("bench: %s: seeding a session answered %d with cookie %v", c.lib, resp.StatusCode, ck)
	}
	return ck
}

// serve is the measured loop: each iteration serves a fresh shallow copy of
// one prepared request, with a context of its own as net/http gives each
// request (see connContext; gorilla keeps its sessions in the request's
// context, so serving the same *http.Request again would measure a cache
// hit), into a new recorder, and checks the status. It reports the
// process's CPU time per request (cpu-ns/op) beside wall time.
func serve(b *testing.B, h http.Handler, cookie *http.Cookie) {
	tmpl := httptest.NewRequest("GET", "/", nil)
	if cookie != nil {
		tmpl.AddCookie(cookie)
	}
	conn, stop := connContext()
	defer stop()
	b.ReportAllocs()
	report := cputime.Report(b)
	for b.Loop() {
		ctx, cancel := context.WithCancel(conn)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, tmpl.WithContext(ctx))
		cancel()
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	report()
}

// connContext returns a context like the one net/http's server makes for
// each connection (cancellable, carrying the server and the local address),
// from which serve derives each request's as the server does: a context the
// request's handler sees cancelled when it returns. A context that could
// never be cancelled (httptest.NewRequest's, context.Background) would
// spare the SQL clients work they do for every real request: database/sql
// watches a cancellable context with a goroutine per query, and the drivers
// with one of their own.
func connContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ctx = context.WithValue(ctx, http.ServerContextKey, &http.Server{})
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080})
	return ctx, cancel
}

// parallelSessions is how many sessions the parallel read spreads its
// goroutines over.
const parallelSessions = 16

// serveParallel is serve under b.RunParallel: goroutine i reads session
// i mod len(cookies) (nil cookies: no cookie).
func serveParallel(b *testing.B, h http.Handler, cookies []*http.Cookie) {
	tmpls := make([]*http.Request, len(cookies))
	for i, c := range cookies {
		tmpls[i] = httptest.NewRequest("GET", "/", nil)
		if c != nil {
			tmpls[i].AddCookie(c)
		}
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		tmpl := tmpls[int(next.Add(1)-1)%len(tmpls)]
		conn, stop := connContext()
		defer stop()
		for pb.Next() {
			ctx, cancel := context.WithCancel(conn)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tmpl.WithContext(ctx))
			cancel()
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}

// caseName is the benchmark key of an action.
func caseName(a action) string {
	switch a {
	case actRead:
		return "read"
	case actWrite:
		return "write"
	case actUntouched:
		return "untouched"
	}
	return "action" + strconv.Itoa(int(a))
}
