// Package faulttest drives concurrent session traffic through a
// session.Manager for the drivers' fault tests: clients, each with its own
// session, increment a counter while a test breaks the store, and the
// traffic records, phase by phase, how requests ended and how long they took,
// then checks that no acknowledged increment was lost. NewManager and Proxy
// set a test up (a Manager on a driver, a fault proxy in front of its
// server); Outage and Slow are the scenarios every driver with a server
// runs.
package faulttest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/faultproxy"
	"github.com/sessionkit/session/storetest"
)

// Bound is the time within which every request must end while the store
// fails, for a Manager with StoreTimeout storeTimeout: a correctness bound
// (no request hangs), not a speed target. A request makes at most a load
// and a save, each bounded by the StoreTimeout.
func Bound(storeTimeout time.Duration) time.Duration { return 5 * storeTimeout }

// NewManager returns a Manager on driver's store at connection with
// storeTimeout and ErrorHandler, and storetest.NewManager's test defaults
// otherwise, closed when t ends.
func NewManager(t testing.TB, driver, connection string, storeTimeout time.Duration) *session.Manager {
	t.Helper()
	return storetest.NewManager(t, nil, session.Config{
		Driver: driver, Connection: connection, StoreTimeout: storeTimeout, ErrorHandler: ErrorHandler,
	})
}

// Proxy starts a fault proxy in mode in front of backend (host:port),
// closed when t ends.
func Proxy(t testing.TB, backend string, mode faultproxy.Mode) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(backend, mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// StatusStoreDown is the status ErrorHandler answers with, so that a test
// can tell the error handler's response from any other failure.
const StatusStoreDown = http.StatusServiceUnavailable

// ErrorHandler is a session.Config.ErrorHandler that answers
// StatusStoreDown.
func ErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	http.Error(w, "store down: "+err.Error(), StatusStoreDown)
}

// Handler returns the application the traffic runs against, wrapped in m's
// middleware: GET /inc increments the session's counter "n" and answers its
// new value; GET /get answers it unchanged.
func Handler(m *session.Manager) http.Handler {
	return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		n, _ := s.Get("n", 0).(int)
		if r.URL.Path == "/inc" {
			n++
			s.Put("n", n)
		}
		io.WriteString(w, strconv.Itoa(n))
	}))
}

// Result is one request's outcome.
type Result struct {
	Status int
	Body   string
	Took   time.Duration
	Cookie *http.Cookie // the session cookie to send next
}

// Do sends GET path through h with cookie (when not nil) and no deadline of
// its own, so that only the Manager's StoreTimeout bounds the store calls.
func Do(h http.Handler, path string, cookie *http.Cookie) Result {
	r := httptest.NewRequest("GET", path, nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(w, r)
	res := Result{Status: w.Code, Body: w.Body.String(), Took: time.Since(start), Cookie: cookie}
	for _, c := range w.Result().Cookies() {
		if c.Name == session.DefaultCookie && c.MaxAge >= 0 && c.Value != "" {
			res.Cookie = c
		}
	}
	return res
}

// Stats counts the requests of one phase of the traffic.
type Stats struct {
	OK, StoreDown, Other int64         // 200, StatusStoreDown, anything else
	Max                  time.Duration // the slowest request
	LastError            string        // the body of the last response that was not 200
}

// Check logs s and fails t when the phase saw a response other than 200 or
// the error handler's, or a request slower than bound.
func (s Stats) Check(t testing.TB, what string, bound time.Duration) {
	t.Helper()
	t.Logf("%s: %v", what, s)
	if s.Other > 0 {
		t.Errorf("%s: %d responses were neither 200 nor the error handler's %d", what, s.Other, StatusStoreDown)
	}
	if s.Max > bound {
		t.Errorf("%s: a request took %v, more than %v", what, s.Max, bound)
	}
}

func (s Stats) String() string {
	msg := fmt.Sprintf("%d ok, %d store-down, %d other, slowest %v", s.OK, s.StoreDown, s.Other, s.Max.Round(time.Millisecond))
	if s.LastError != "" {
		msg += fmt.Sprintf(" (last error: %.300s)", strings.TrimSpace(s.LastError))
	}
	return msg
}

type phase struct {
	mu sync.Mutex
	st Stats
}

func (p *phase) add(r Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.Status {
	case http.StatusOK:
		p.st.OK++
	case StatusStoreDown:
		p.st.StoreDown++
	default:
		p.st.Other++
	}
	if r.Status != http.StatusOK {
		p.st.LastError = r.Body
	}
	p.st.Max = max(p.st.Max, r.Took)
}

// client is one client's session and its count of increments.
type client struct {
	cookie   *http.Cookie
	acked    atomic.Int64 // increments answered 200
	attempts atomic.Int64 // increments sent
}

// Traffic is a set of clients sending requests in a loop until Stop.
type Traffic struct {
	h       http.Handler
	clients []*client
	cur     atomic.Pointer[phase]
	phases  map[string]*phase
	mu      sync.Mutex
	stop    chan struct{}
	wg      sync.WaitGroup
	pause   time.Duration
}

// Start creates one session per client (failing t when it cannot) and
// starts the clients: each sends /inc and /get in turn, pausing pause
// between requests. Requests are counted in the phase "start" until Phase
// names another.
func Start(t testing.TB, h http.Handler, clients int, pause time.Duration) *Traffic {
	t.Helper()
	tr := &Traffic{h: h, phases: map[string]*phase{}, stop: make(chan struct{}), pause: pause}
	for i := range clients {
		res := Do(h, "/inc", nil)
		if res.Status != http.StatusOK || res.Cookie == nil {
			t.Fatalf("faulttest: creating session %d: status %d %q", i, res.Status, res.Body)
		}
		c := &client{cookie: res.Cookie}
		c.acked.Store(1)
		c.attempts.Store(1)
		tr.clients = append(tr.clients, c)
	}
	tr.Phase("start")
	for _, c := range tr.clients {
		tr.wg.Go(func() { tr.run(c) })
	}
	return tr
}

func (tr *Traffic) run(c *client) {
	for i := 0; ; i++ {
		select {
		case <-tr.stop:
			return
		default:
		}
		p := tr.cur.Load()
		path := "/get"
		if i%2 == 0 {
			path = "/inc"
			c.attempts.Add(1)
		}
		res := Do(tr.h, path, c.cookie)
		if path == "/inc" && res.Status == http.StatusOK {
			c.acked.Add(1)
		}
		p.add(res)
		if tr.pause > 0 {
			time.Sleep(tr.pause)
		}
	}
}

// Phase counts the requests that start from now on under name.
func (tr *Traffic) Phase(name string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	p := tr.phases[name]
	if p == nil {
		p = &phase{}
		tr.phases[name] = p
	}
	tr.cur.Store(p)
}

// Stats returns the counts of the phase name so far.
func (tr *Traffic) Stats(name string) Stats {
	tr.mu.Lock()
	p := tr.phases[name]
	tr.mu.Unlock()
	if p == nil {
		return Stats{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// WaitOK waits until the current phase has counted n successful requests, or
// timeout passes, and reports whether it did.
func (tr *Traffic) WaitOK(n int64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		p := tr.cur.Load()
		p.mu.Lock()
		ok := p.st.OK
		p.mu.Unlock()
		if ok >= n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop stops the clients and waits for their last requests.
func (tr *Traffic) Stop() {
	select {
	case <-tr.stop:
	default:
		close(tr.stop)
	}
	tr.wg.Wait()
}

// Verify reads every client's counter (through h, with the store working)
// and fails t unless it lies between the increments answered 200 (none of
// them lost) and the increments sent (a request that failed may still have
// been stored). It returns the number of sessions checked.
func (tr *Traffic) Verify(t testing.TB) int {
	t.Helper()
	for i, c := range tr.clients {
		res := Do(tr.h, "/get", c.cookie)
		if res.Status != http.StatusOK {
			t.Errorf("faulttest: reading client %d's counter: status %d %q", i, res.Status, res.Body)
			continue
		}
		n, err := strconv.ParseInt(res.Body, 10, 64)
		if err != nil {
			t.Errorf("faulttest: client %d's counter %q: %v", i, res.Body, err)
			continue
		}
		if acked, attempts := c.acked.Load(), c.attempts.Load(); n < acked || n > attempts {
			t.Errorf("faulttest: client %d's counter is %d; want between %d (increments acknowledged) and %d (sent): lost updates or a lost session", i, n, acked, attempts)
		}
	}
	return len(tr.clients)
}

// Outage runs traffic through h (a Manager with storeTimeout whose
// connections go through p, up) while the server goes away (connections
// cut, new ones refused), then stalls (bytes held), each for hold, and comes
// back. Every request in the meantime must end within Bound(storeTimeout)
// with 200 or the error handler's response, some with the latter; traffic
// must recover without a restart; and no acknowledged write may be lost.
// server names the server in messages ("Redis", "the database").
func Outage(t testing.TB, server string, h http.Handler, p *faultproxy.Proxy, storeTimeout, hold time.Duration) {
	t.Helper()
	bound := Bound(storeTimeout)
	tr := Start(t, h, 8, 2*time.Millisecond)
	defer tr.Stop()
	if !tr.WaitOK(50, 30*time.Second) {
		t.Fatalf("traffic did not start: %v", tr.Stats("start"))
	}
	for _, fault := range []faultproxy.Mode{faultproxy.Down, faultproxy.Hang} {
		tr.Phase(fault.String())
		p.Set(fault)
		time.Sleep(hold)
		recovering := "recovering after " + fault.String()
		tr.Phase(recovering)
		p.Set(faultproxy.Up)
		if !tr.WaitOK(50, 30*time.Second) {
			t.Fatalf("traffic did not recover within 30s after %v: %v", fault, tr.Stats(recovering))
		}
		st := tr.Stats(fault.String())
		st.Check(t, server+" "+fault.String(), bound)
		if st.StoreDown == 0 {
			t.Errorf("%s %v: no request got the error handler's response", server, fault)
		}
		tr.Stats(recovering).Check(t, recovering, bound)
	}
	tr.Stop()
	t.Logf("%d sessions checked", tr.Verify(t))
}

// Slow makes the server behind p slow (every byte delayed 20 ms), then
// swallow every byte: requests through h (a Manager with storeTimeout) must
// get the error handler's response within Bound(storeTimeout), and work
// again once p forwards normally. An increment that failed may have been
// stored before its answer was lost; none may be applied twice. server
// names the server in messages ("Redis", "the database").
func Slow(t testing.TB, server string, h http.Handler, p *faultproxy.Proxy, storeTimeout time.Duration) {
	t.Helper()
	bound := Bound(storeTimeout)
	p.SetDelay(20 * time.Millisecond)
	first := Do(h, "/inc", nil)
	if first.Status != http.StatusOK {
		t.Fatalf("first request: %d %q", first.Status, first.Body)
	}
	want := 1
	for _, fault := range []faultproxy.Mode{faultproxy.Slow, faultproxy.Blackhole} {
		p.Set(fault)
		for i := range 3 {
			res := Do(h, "/inc", first.Cookie)
			if res.Status != StatusStoreDown || res.Took > bound {
				t.Errorf("request %d with %s %v: status %d after %v; want %d within %v",
					i, server, fault, res.Status, res.Took, StatusStoreDown, bound)
			}
		}
		p.Set(faultproxy.Up)
		var res Result
		for range 5 { // connections the fault left broken may fail once
			if res = Do(h, "/get", first.Cookie); res.Status == http.StatusOK {
				break
			}
		}
		if res.Status != http.StatusOK {
			t.Fatalf("after %s was %v: status %d %q", server, fault, res.Status, res.Body)
		}
		n, err := strconv.Atoi(res.Body)
		if err != nil || n < want || n > want+3 {
			t.Errorf("after %s was %v: counter %q, want %d to %d", server, fault, res.Body, want, want+3)
		}
		want = n
	}
}
