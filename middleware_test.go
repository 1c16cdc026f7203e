package session_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// The 200-concurrent-requests check runs per store through
// storetest.RunManager (memstore and filestore's TestManager).

func TestDestroyedSessionIsNotBroughtBack(t *testing.T) {
	eachStore(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		var id string
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Put("user", "ana")
			id = s.ID()
		})
		inFlight := make(chan struct{})
		destroyed := make(chan struct{})
		done := make(chan *http.Response)
		go func() {
			done <- c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
				close(inFlight)
				<-destroyed // a slow request, still running when the user logs out
				s.Put("late", 1)
			})
		}()
		<-inFlight
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Destroy() })
		close(destroyed)
		res := <-done
		if _, _, found, _ := st.Load(t.Context(), id); found {
			t.Error("a slow request brought a destroyed session back")
		}
		if ck := sessionCookie(res); ck == nil || ck.MaxAge >= 0 {
			t.Errorf("slow request's response did not expire the cookie: %v", ck)
		}
	})
}

func TestSaveHappensBeforeTheBody(t *testing.T) {
	m, logs := newManager(t, memstore.New(), session.Config{})
	c := newClient(t, m)
	res := c.do(func(w http.ResponseWriter, _ *http.Request, s *session.Session) {
		s.Put("before", 1)
		io.WriteString(w, "body")
		s.Put("after", 2)
	})
	if sessionCookie(res) == nil {
		t.Fatal("no cookie: the session was not saved before the body")
	}
	if c.get("before") != 1 {
		t.Error("change before the body lost")
	}
	if c.get("after") != nil {
		t.Error("change after the body was saved (its cookie could not have been sent)")
	}
	if !strings.Contains(logs.String(), session.ErrHeadersWritten.Error()) {
		t.Errorf("change after the body not logged; logs:\n%s", logs)
	}
	c.do(func(w http.ResponseWriter, _ *http.Request, s *session.Session) {
		w.WriteHeader(http.StatusNoContent)
		if err := s.Regenerate(); !errors.Is(err, session.ErrHeadersWritten) {
			t.Errorf("Regenerate after WriteHeader: %v", err)
		}
	})
	if c.get("before") != 1 {
		t.Error("a refused Regenerate lost the session")
	}
}

func TestFlusherHijackerAndResponseController(t *testing.T) {
	m, _ := newManager(t, memstore.New(), session.Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		session.FromRequest(r).Put("flushed", true)
		io.WriteString(w, "part one\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("ResponseController.Flush: %v", err)
		}
		w.(http.Flusher).Flush()
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through the middleware: %v", err)
		}
		io.WriteString(w, "part two\n")
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		session.FromRequest(r).Put("hijacked", true)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		buf.Flush()
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		fmt.Fprintf(w, "%v %v", s.Get("flushed"), s.Get("hijacked"))
	})
	srv := httptest.NewServer(m.Middleware(mux))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	get := func(path string) string {
		res, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	if got := get("/flush"); got != "part one\npart two\n" {
		t.Errorf("flush body %q", got)
	}
	// A hijacked connection's own response carries no cookie; the session
	// of the earlier cookie was still saved before the hijack.
	if got := get("/hijack"); got != "hi" {
		t.Errorf("hijack body %q", got)
	}
	if got := get("/read"); got != "true true" {
		t.Errorf("after flush and hijack: %q", got)
	}
	// Raw hijack check that the connection is really ours.
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n")
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Errorf("hijacked response %q", line)
	}
}

func TestStoreDown(t *testing.T) {
	cs := &countingStore{Store: memstore.New()}
	m, logs := newManager(t, cs, session.Config{})
	c := newClient(t, m)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("a", 1) })
	cs.fail.Store(true)
	called := false
	res := c.do(func(http.ResponseWriter, *http.Request, *session.Session) { called = true })
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 500 || called || strings.Contains(string(body), errDown.Error()) {
		t.Errorf("load failure: status %d, handler called %v, body %q", res.StatusCode, called, body)
	}
	if !strings.Contains(logs.String(), errDown.Error()) {
		t.Error("store failure not logged")
	}
	// A save failure replaces the handler's response.
	cs.fail.Store(false)
	fresh := newClient(t, m)
	var once sync.Once
	res = fresh.do(func(w http.ResponseWriter, _ *http.Request, s *session.Session) {
		once.Do(func() { cs.fail.Store(true) })
		s.Put("a", 1)
		w.Header().Set("Location", "/next")
		w.WriteHeader(http.StatusSeeOther)
	})
	if res.StatusCode != 500 || res.Header.Get("Location") != "" || sessionCookie(res) != nil {
		t.Errorf("save failure: status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	// Back up: requests work again.
	cs.fail.Store(false)
	if c.get("a") != 1 {
		t.Error("session lost across the outage")
	}

	// A custom error handler and errors.Is on what it gets.
	var got error
	m2, _ := newManager(t, cs, session.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		http.Error(w, "try later", http.StatusServiceUnavailable)
	}})
	c.m = m2
	cs.fail.Store(true)
	if res := c.do(nil); res.StatusCode != 503 || !errors.Is(got, session.ErrStore) || !errors.Is(got, errDown) {
		t.Errorf("custom handler: status %d, err %v", res.StatusCode, got)
	}
}

// TestShortSecretRefused: a secret, current or previous, shorter than 32
// bytes is refused with an error that says how to make one and does not
// quote it (a 3-byte secret was recovered offline from one cookie).
func TestShortSecretRefused(t *testing.T) {
	for _, cfg := range []session.Config{
		{Secret: "kq7-secret-word", Driver: "cookie"},
		{Secret: strings.Repeat("k", 32), PreviousSecrets: []string{"kq7-secret-word"}, Driver: "cookie"},
	} {
		_, err := session.New(cfg)
		if !errors.Is(err, session.ErrConfig) {
			t.Fatalf("New with a 15-byte secret: err = %v, want ErrConfig", err)
		}
		if msg := err.Error(); !strings.Contains(msg, "openssl rand") || strings.Contains(msg, "kq7") {
			t.Errorf("error %q: want how to make a secret, and never the secret", msg)
		}
	}
	if _, err := session.New(session.Config{Secret: strings.Repeat("k", 32), Driver: "cookie"}); err != nil {
		t.Errorf("New with a 32-byte secret: %v", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  session.Config
		want error
	}{
		"no secret":         {session.Config{Driver: "memory"}, session.ErrConfig},
		"negative lifetime": {session.Config{Secret: "s - a test secret, not for production", Driver: "memory", Lifetime: -time.Second}, session.ErrConfig},
		"lottery 5/0":       {session.Config{Secret: "s - a test secret, not for production", Driver: "memory", Lottery: [2]int{5, 0}}, session.ErrConfig},
		"lottery 3/2":       {session.Config{Secret: "s - a test secret, not for production", Driver: "memory", Lottery: [2]int{3, 2}}, session.ErrConfig},
		"lottery -1/2":      {session.Config{Secret: "s - a test secret, not for production", Driver: "memory", Lottery: [2]int{-1, 2}}, session.ErrConfig},
		"bad cookie name":   {session.Config{Secret: "s - a test secret, not for production", Driver: "memory", Cookie: "a b"}, session.ErrConfig},
		"samesite none":     {session.Config{Secret: "s - a test secret, not for production", Driver: "memory", SameSite: http.SameSiteNoneMode}, session.ErrConfig},
		"unknown driver":    {session.Config{Secret: "s - a test secret, not for production", Driver: "nosuch"}, session.ErrUnknownDriver},
		"empty previous":    {session.Config{Secret: "s - a test secret, not for production", Driver: "memory", PreviousSecrets: []string{""}}, session.ErrConfig},
		"short secret":      {session.Config{Secret: "kq7", Driver: "memory"}, session.ErrConfig},
		"31-byte secret":    {session.Config{Secret: strings.Repeat("x", 31), Driver: "cookie"}, session.ErrConfig},
		"short previous":    {session.Config{Secret: "s - a test secret, not for production", Driver: "memory", PreviousSecrets: []string{"old"}}, session.ErrConfig},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := session.New(tc.cfg)
			if !errors.Is(err, tc.want) || m != nil {
				t.Errorf("New = %v, %v; want %v", m, err, tc.want)
			}
		})
	}
}

func TestDefaultsUseFileDriver(t *testing.T) {
	t.Chdir(t.TempDir())
	m, err := session.New(session.Config{Secret: "s - a test secret, not for production"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := newClient(t, m)
	res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("a", 1) })
	raw := res.Header.Get("Set-Cookie")
	for _, want := range []string{"session=", "Path=/", "Max-Age=300", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(raw, want) {
			t.Errorf("default cookie %q lacks %q", raw, want)
		}
	}
	entries, err := os.ReadDir("sessions")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			n++
			b, _ := os.ReadFile(filepath.Join("sessions", e.Name()))
			if !strings.Contains(string(b), `"a":1`) {
				t.Errorf("session file holds %q", b)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d session files in ./sessions, want 1", n)
	}
}

func TestNullDriver(t *testing.T) {
	m, err := session.New(session.Config{Secret: "s - a test secret, not for production", Driver: "null"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := newClient(t, m)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		s.Put("a", 1)
		if s.Get("a") != 1 {
			t.Error("null driver: value not readable in its own request")
		}
	})
	if c.get("a") != nil {
		t.Error("null driver persisted a value")
	}
}

// blockingSweeper's Sweep waits until released.
type blockingSweeper struct {
	session.Store
	started, release chan struct{}
}

func (b *blockingSweeper) Sweep(ctx context.Context) (int, error) {
	close(b.started)
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return 0, nil
}

func TestLotteryNeverMakesTheRequestWait(t *testing.T) {
	st := &blockingSweeper{Store: memstore.New(), started: make(chan struct{}), release: make(chan struct{})}
	m, _ := newManager(t, st, session.Config{Lottery: [2]int{1, 1}})
	c := newClient(t, m)
	done := make(chan struct{})
	go func() {
		c.do(nil)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the request that won the lottery waited for the sweep")
	}
	<-st.started
	c.do(nil) // a sweep is running: no second one starts (started would be closed twice)
	close(st.release)
	if err := m.Close(); err != nil { // waits for the sweep
		t.Fatal(err)
	}
}

// The request next sees carries the incoming request's context (its values,
// deadline and cancellation) with the session added, and contexts derived
// from it still find the session.
func TestHandlerContext(t *testing.T) {
	m, _ := newManager(t, memstore.New(), session.Config{})
	type key struct{}
	parent, cancel := context.WithTimeout(context.WithValue(t.Context(), key{}, "v"), time.Hour)
	defer cancel()
	deadline, _ := parent.Deadline()
	var cancelled error
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if ctx.Value(key{}) != "v" {
			t.Errorf("a value of the request's context is lost: %v", ctx.Value(key{}))
		}
		if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
			t.Errorf("deadline = %v, %v; want %v", d, ok, deadline)
		}
		s := session.FromRequest(r)
		if s == nil {
			t.Fatal("FromRequest = nil")
		}
		derived, stop := context.WithCancel(context.WithValue(ctx, key{}, "w"))
		defer stop()
		if session.FromContext(derived) != s {
			t.Error("a derived context does not find the session")
		}
		if session.FromContext(context.WithoutCancel(ctx)) != s {
			t.Error("context.WithoutCancel loses the session")
		}
		cancel() // the incoming request's context ends: so does the handler's and what derives from it
		<-derived.Done()
		cancelled = ctx.Err()
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(parent))
	if !errors.Is(cancelled, context.Canceled) {
		t.Errorf("handler's context after cancel: %v, want context.Canceled", cancelled)
	}
	if session.FromContext(parent) != nil {
		t.Error("the incoming request's context got the session")
	}
}

// headerWriter is a ResponseWriter that keeps nothing, so that it allocates
// nothing per request.
type headerWriter struct{ h http.Header }

func (w *headerWriter) Header() http.Header         { return w.h }
func (w *headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerWriter) WriteHeader(int)             {}

// TestMiddlewareAllocations checks that Middleware, called from another
// package as applications call it, allocates once for a request whose
// handler does not touch the session: the session, its response writer and
// the request the handler sees share one allocation.
func TestMiddlewareAllocations(t *testing.T) {
	m, err := session.New(session.Config{Secret: "alloc secret - a test secret, not for production", Store: memstore.New(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var seen *session.Session
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = session.FromRequest(r)
		w.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest("GET", "/", nil)
	w := &headerWriter{h: http.Header{}}
	if got := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); got != 1 {
		t.Errorf("a request that does not touch its session: %v allocations, want 1", got)
	}
	if seen == nil {
		t.Fatal("the handler saw no session")
	}
}

// writtenRecorder is a framework's response writer: it can tell whether a
// response was written through it.
type writtenRecorder struct {
	*httptest.ResponseRecorder
	written bool
}

func (w *writtenRecorder) WriteHeader(code int) {
	w.written = true
	w.ResponseRecorder.WriteHeader(code)
}
func (w *writtenRecorder) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseRecorder.Write(b)
}
func (w *writtenRecorder) Written() bool { return w.written }

// TestBypassIsLogged: a handler that writes its response around the
// session's writer (gin's usual wrapping of net/http middleware: the
// framework keeps writing through its own writer) is logged, once.
func TestBypassIsLogged(t *testing.T) {
	m, logs := newManager(t, memstore.New(), session.Config{})
	for range 3 {
		fw := &writtenRecorder{ResponseRecorder: httptest.NewRecorder()}
		h := m.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			session.FromRequest(r).Put("k", 1)
			fw.WriteHeader(http.StatusOK) // the framework's own writer, not the one handed down
		}))
		h.ServeHTTP(fw, httptest.NewRequest("GET", "/", nil))
	}
	if n := strings.Count(logs.String(), "written around the session middleware's writer"); n != 1 {
		t.Errorf("bypass logged %d times, want once:\n%s", n, logs)
	}
	// Through the writer handed down: no warning.
	m2, logs2 := newManager(t, memstore.New(), session.Config{})
	fw := &writtenRecorder{ResponseRecorder: httptest.NewRecorder()}
	m2.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.FromRequest(r).Put("k", 1)
		w.WriteHeader(http.StatusOK)
	})).ServeHTTP(fw, httptest.NewRequest("GET", "/", nil))
	if strings.Contains(logs2.String(), "written around") {
		t.Errorf("a normal response was logged as a bypass:\n%s", logs2)
	}
}

// countingSweeper counts the sweeps the Manager starts.
type countingSweeper struct {
	session.Store
	sweeps atomic.Int64
}

func (c *countingSweeper) Sweep(context.Context) (int, error) { c.sweeps.Add(1); return 0, nil }

// TestSweepInterval: a lottery that every request wins starts one sweep per
// SweepInterval, not one per request.
func TestSweepInterval(t *testing.T) {
	st := &countingSweeper{Store: memstore.New()}
	m, _ := newManager(t, st, session.Config{Lottery: [2]int{1, 1}, SweepInterval: time.Hour})
	c := newClient(t, m)
	for range 50 {
		c.do(nil)
	}
	m.Close() // waits for the sweeps
	if n := st.sweeps.Load(); n != 1 {
		t.Errorf("50 winning requests started %d sweeps within the interval, want 1", n)
	}
	st2 := &countingSweeper{Store: memstore.New()}
	m2, _ := newManager(t, st2, session.Config{Lottery: [2]int{1, 1}, SweepInterval: -1})
	c2 := newClient(t, m2)
	for range 20 {
		c2.do(nil)
		time.Sleep(5 * time.Millisecond) // the background sweep ends: the next request may start one
	}
	m2.Close()
	if n := st2.sweeps.Load(); n < 10 {
		t.Errorf("with no minimum interval, %d sweeps for 20 winning requests", n)
	}
}
