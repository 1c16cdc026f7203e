package storetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/cputime"
)

// RunManager checks a store through session.Manager, as applications use it:
// 200 concurrent requests on one session each putting its own key and
// pushing onto one list lose nothing; a read-only request costs one Load and
// no write; Regenerate makes the old ID stop loading; a slow request does not
// bring back a session destroyed meanwhile. For a store that implements
// session.UserIndex it checks the sessions of a user too: Login, listing,
// destroying them all, the others or one, 50 concurrent logins, and the cost
// of listing; for one that does not, that listing fails with
// errors.ErrUnsupported while Login still works. Each subtest gets a fresh
// store.
func RunManager(t *testing.T, newStore func(t *testing.T) session.Store) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, st session.Store)
	}{
		{"ConcurrentRequests", testConcurrentRequests},
		{"ReadOnlyCost", testReadOnlyCost},
		{"Regenerate", testRegenerate},
		{"DestroyedStaysDestroyed", testDestroyedStaysDestroyed},
		{"OwnLifetimes", testOwnLifetimes},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
	if _, ok := newStore(t).(session.UserIndex); !ok {
		t.Run("UserSessionsUnsupported", func(t *testing.T) { testUserSessionsUnsupported(t, newStore(t)) })
		return
	}
	for _, tc := range userTests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

// BenchmarkRequests measures one request through the middleware over st: a
// new visitor whose handler puts a value (new), an existing session read
// (read), written (write), and not touched (untouched). Besides time, bytes
// and allocations it reports the process's CPU time per request
// (cpu-ns/op), which a busy machine disturbs less than wall time.
func BenchmarkRequests(b *testing.B, st session.Store) {
	BenchmarkManager(b, NewManager(b, st, checkConfig))
}

// BenchmarkManager is BenchmarkRequests through a Manager of the caller's,
// such as one on the cookie driver, which has no Store.
func BenchmarkManager(b *testing.B, m *session.Manager) {
	c := &client{m: m}
	c.do(context.Background(), func(s *session.Session) {
		s.Put("user.id", 42)
		s.Put("user.name", "Ana")
		s.Put("cart", []string{"apple", "pear"})
		s.Token()
	})
	cookie := c.cookie
	run := func(b *testing.B, fn func(*session.Session), cookie *http.Cookie) {
		h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fn(session.FromRequest(r))
			w.WriteHeader(http.StatusOK)
		}))
		r := httptest.NewRequest("GET", "/", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		b.ReportAllocs()
		stop := cputime.Report(b)
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
		stop()
	}
	b.Run("new", func(b *testing.B) { run(b, func(s *session.Session) { s.Put("visits", 1) }, nil) })
	b.Run("read", func(b *testing.B) { run(b, func(s *session.Session) { _ = s.Get("user.name") }, cookie) })
	b.Run("write", func(b *testing.B) {
		n := 0
		run(b, func(s *session.Session) { n++; s.Put("visits", n) }, cookie)
	})
	b.Run("untouched", func(b *testing.B) { run(b, func(*session.Session) {}, cookie) })
}

// checkConfig is the Config of the Managers of the checks and benchmarks:
// hundreds of concurrent writers queue on one session's lock; on a loaded
// machine under -race that can take longer than the default bound, and
// these checks are about lost updates, not timeouts.
var checkConfig = session.Config{StoreTimeout: time.Minute}

// BenchmarkUserRead measures a read-only request through the middleware
// over st, on an anonymous session (session=anonymous) and on a logged-in
// one (session=user) holding the same values, and reports the store calls each request made
// (loads/op, writes/op) beside time, CPU time, bytes and allocations. A
// session's user is kept in its record, so a logged-in read costs one Load
// and no write, as an anonymous one does; the handler checks that it sees
// the user.
func BenchmarkUserRead(b *testing.B, st session.Store) {
	var (
		counted session.Store
		cs      *counting
	)
	if idx, ok := st.(session.UserIndex); ok {
		ci := &countingIndex{counting: counting{Store: st}, idx: idx}
		counted, cs = ci, &ci.counting
	} else {
		cs = &counting{Store: st}
		counted = cs
	}
	m := NewManager(b, counted, checkConfig)
	for _, tc := range []struct{ name, user string }{{"anonymous", ""}, {"user", "ana"}} {
		b.Run("session="+tc.name, func(b *testing.B) {
			c := &client{m: m}
			var err error
			c.do(context.Background(), func(s *session.Session) {
				s.Put("user.id", 42)
				s.Put("user.name", "Ana")
				s.Put("cart", []string{"apple", "pear"})
				s.Token()
				if tc.user != "" {
					err = s.Login(tc.user)
				}
			})
			if err != nil || c.cookie == nil {
				b.Fatalf("seeding the session: %v (cookie %v)", err, c.cookie)
			}
			h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := session.FromRequest(r)
				if s.UserID() != tc.user || s.Get("user.name") != "Ana" {
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
				w.WriteHeader(http.StatusOK)
			}))
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(c.cookie)
			loads, writes := cs.loads.Load(), cs.writes.Load()
			b.ReportAllocs()
			stop := cputime.Report(b)
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: the handler did not see the session of user %q", w.Code, tc.user)
				}
			}
			stop()
			b.ReportMetric(float64(cs.loads.Load()-loads)/float64(b.N), "loads/op")
			b.ReportMetric(float64(cs.writes.Load()-writes)/float64(b.N), "writes/op")
		})
	}
}

// client carries one session cookie across requests.
type client struct {
	m      *session.Manager
	mu     sync.Mutex
	cookie *http.Cookie
}

// do sends one request whose handler runs fn, and keeps the cookie the
// response sets. It returns the status.
func (c *client) do(ctx context.Context, fn func(*session.Session)) int {
	h := c.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn(session.FromRequest(r))
		io.WriteString(w, "ok")
	}))
	r := httptest.NewRequestWithContext(ctx, "GET", "/", nil)
	c.mu.Lock()
	if c.cookie != nil {
		r.AddCookie(c.cookie)
	}
	c.mu.Unlock()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	for _, ck := range w.Result().Cookies() {
		if ck.Name == session.DefaultCookie {
			c.mu.Lock()
			if ck.MaxAge < 0 {
				c.cookie = nil
			} else {
				c.cookie = ck
			}
			c.mu.Unlock()
		}
	}
	return w.Code
}

func testConcurrentRequests(t *testing.T, st session.Store) {
	c := &client{m: NewManager(t, st, checkConfig)}
	c.do(t.Context(), func(s *session.Session) { s.Put("start", true) })
	const n = 200
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := c.do(t.Context(), func(s *session.Session) {
				s.Put(fmt.Sprintf("keys.k%03d", i), i)
				if err := s.Push("log", i); err != nil {
					t.Error(err)
				}
			})
			if code != http.StatusOK {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d concurrent requests failed", failed.Load(), n)
	}
	c.do(t.Context(), func(s *session.Session) {
		keys, _ := s.Get("keys").(map[string]any)
		if len(keys) != n {
			t.Errorf("%d of %d keys present after %d concurrent requests", len(keys), n, n)
		}
		for i := range n {
			if got := s.Get(fmt.Sprintf("keys.k%03d", i)); got != i {
				t.Fatalf("key %d = %v", i, got)
			}
		}
		if log, _ := s.Get("log").([]any); len(log) != n {
			t.Errorf("%d of %d concurrent pushes landed", len(log), n)
		}
	})
}

// counting counts a store's calls.
type counting struct {
	session.Store
	loads, writes atomic.Int64
}

func (c *counting) Load(ctx context.Context, id string) ([]byte, time.Time, bool, error) {
	c.loads.Add(1)
	return c.Store.Load(ctx, id)
}

func (c *counting) Update(ctx context.Context, id string, fn func([]byte, bool) ([]byte, time.Time, error)) error {
	c.writes.Add(1)
	return c.Store.Update(ctx, id, fn)
}

func (c *counting) Delete(ctx context.Context, id string) error {
	c.writes.Add(1)
	return c.Store.Delete(ctx, id)
}

func (c *counting) Touch(ctx context.Context, id string, expiry time.Time) error {
	c.writes.Add(1)
	return c.Store.Touch(ctx, id, expiry)
}

// countingSwapper is counting for a store that has Swap, which it counts
// as a write.
type countingSwapper struct{ *counting }

func (c countingSwapper) Swap(ctx context.Context, id string, old, next []byte, expiry time.Time) (bool, error) {
	c.writes.Add(1)
	return c.Store.(session.Swapper).Swap(ctx, id, old, next, expiry)
}

func testReadOnlyCost(t *testing.T, st session.Store) {
	cs := &counting{Store: st}
	var counted session.Store = cs
	if _, ok := st.(session.Swapper); ok {
		counted = countingSwapper{cs}
	}
	c := &client{m: NewManager(t, counted, checkConfig)}
	c.do(t.Context(), func(s *session.Session) { s.Put("a", 1) })
	loads, writes := cs.loads.Load(), cs.writes.Load()
	var got any
	c.do(t.Context(), func(s *session.Session) { got = s.Get("a") })
	if got != 1 {
		t.Fatalf("read %v, want 1", got)
	}
	if l, w := cs.loads.Load()-loads, cs.writes.Load()-writes; l != 1 || w != 0 {
		t.Errorf("a read-only request made %d loads and %d writes, want 1 and 0", l, w)
	}
	loads, writes = cs.loads.Load(), cs.writes.Load()
	c.do(t.Context(), func(s *session.Session) { s.Put("a", 2) })
	if l, w := cs.loads.Load()-loads, cs.writes.Load()-writes; l != 1 || w != 1 {
		t.Errorf("a writing request made %d loads and %d writes, want 1 and 1", l, w)
	}
	fresh := &client{m: c.m}
	loads, writes = cs.loads.Load(), cs.writes.Load()
	fresh.do(t.Context(), func(s *session.Session) { _ = s.Get("a") })
	if l, w := cs.loads.Load()-loads, cs.writes.Load()-writes; l != 0 || w != 0 || fresh.cookie != nil {
		t.Errorf("a new visitor who touches nothing: %d loads, %d writes, cookie %v", l, w, fresh.cookie)
	}
}

func testRegenerate(t *testing.T, st session.Store) {
	c := &client{m: NewManager(t, st, checkConfig)}
	var oldID, newID string
	c.do(t.Context(), func(s *session.Session) { s.Put("a", 1); oldID = s.ID() })
	old := c.cookie
	c.do(t.Context(), func(s *session.Session) {
		if err := s.Regenerate(); err != nil {
			t.Error(err)
		}
		newID = s.ID()
	})
	if newID == oldID {
		t.Fatal("Regenerate kept the ID")
	}
	if _, _, found, err := st.Load(t.Context(), oldID); found || err != nil {
		t.Errorf("old ID after Regenerate: found %v, err %v", found, err)
	}
	var got any
	c.do(t.Context(), func(s *session.Session) { got = s.Get("a") })
	if got != 1 {
		t.Errorf("data after Regenerate: %v", got)
	}
	replay := &client{m: c.m, cookie: old}
	replay.do(t.Context(), func(s *session.Session) { got = s.Get("a") })
	if got != nil {
		t.Error("the old cookie still loads the session")
	}
}

func testDestroyedStaysDestroyed(t *testing.T, st session.Store) {
	c := &client{m: NewManager(t, st, checkConfig)}
	var id string
	c.do(t.Context(), func(s *session.Session) { s.Put("a", 1); id = s.ID() })
	inFlight, destroyed, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	slow := &client{m: c.m, cookie: c.cookie}
	go func() {
		defer close(done)
		slow.do(t.Context(), func(s *session.Session) {
			close(inFlight)
			<-destroyed
			s.Put("late", 1)
		})
	}()
	<-inFlight
	c.do(t.Context(), func(s *session.Session) {
		if err := s.Destroy(); err != nil {
			t.Error(err)
		}
	})
	close(destroyed)
	<-done
	if _, _, found, _ := st.Load(t.Context(), id); found {
		t.Error("a slow request brought a destroyed session back")
	}
}
