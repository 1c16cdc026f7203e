package session_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

// testSecret is the secret of newManager's Managers when the test sets none.
const testSecret = storetest.Secret

// stores are the stores every behaviour test runs on.
var stores = []struct {
	name string
	open func(t *testing.T) session.Store
}{
	{"memory", func(t *testing.T) session.Store { return memstore.New() }},
	{"memory+swap", func(t *testing.T) session.Store { return swapStore{memstore.New()} }},
	{"file", func(t *testing.T) session.Store {
		st, err := filestore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

// eachStore runs f once per store.
func eachStore(t *testing.T, f func(t *testing.T, st session.Store)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) { f(t, s.open(t)) })
	}
}

// eachDriver runs f once per store and once for the cookie driver, which has
// no store: f gets a nil st, and newManager turns that into Driver "cookie".
func eachDriver(t *testing.T, f func(t *testing.T, st session.Store)) {
	eachStore(t, f)
	t.Run("cookie", func(t *testing.T) { f(t, nil) })
}

// logBuffer collects log records for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newManager returns storetest.NewManager(t, st, cfg) logging at debug
// level into a buffer (returned); a nil st means the cookie driver.
func newManager(t *testing.T, st session.Store, cfg session.Config) (*session.Manager, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if st == nil {
		cfg.Driver = "cookie"
	}
	return storetest.NewManager(t, st, cfg), logs
}

// client is a browser with one cookie jar that sends requests through a
// Manager's middleware in process.
type client struct {
	t       *testing.T
	m       *session.Manager
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func newClient(t *testing.T, m *session.Manager) *client {
	return &client{t: t, m: m, cookies: map[string]*http.Cookie{}}
}

type handlerFunc = func(w http.ResponseWriter, r *http.Request, s *session.Session)

// do sends a request whose handler runs fn with the session, keeps the
// cookies the response sets, and returns the response.
func (c *client) do(fn handlerFunc) *http.Response {
	return c.send(httptest.NewRequest("GET", "/", nil), c.m.Middleware(wrap(fn)))
}

func wrap(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		if s == nil {
			panic("no session in request")
		}
		if fn != nil {
			fn(w, r, s)
		}
	})
}

// post sends a POST with form through VerifyCSRF.
func (c *client) post(form url.Values, header http.Header, fn handlerFunc) *http.Response {
	r := httptest.NewRequest("POST", "/", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		r.Header[k] = v
	}
	return c.send(r, c.m.Middleware(c.m.VerifyCSRF(wrap(fn))))
}

func (c *client) send(r *http.Request, h http.Handler) *http.Response {
	c.mu.Lock()
	for _, ck := range c.cookies {
		r.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	c.mu.Unlock()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	res := rec.Result()
	c.mu.Lock()
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	c.mu.Unlock()
	return res
}

// cookie returns the value of the session cookie the client holds.
func (c *client) cookie() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ck := c.cookies[session.DefaultCookie]; ck != nil {
		return ck.Value
	}
	return ""
}

func (c *client) setCookie(v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cookies[session.DefaultCookie] = &http.Cookie{Name: session.DefaultCookie, Value: v}
}

// get returns the value at key in the client's session, in a new request.
func (c *client) get(key string) any {
	var v any
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { v = s.Get(key) })
	return v
}

// sessionCookie returns the Set-Cookie of res for the session cookie, or nil.
func sessionCookie(res *http.Response) *http.Cookie {
	for _, ck := range res.Cookies() {
		if ck.Name == session.DefaultCookie {
			return ck
		}
	}
	return nil
}

// countingStore counts the calls to a store and can make them fail.
type countingStore struct {
	session.Store
	loads, updates, deletes, touches atomic.Int64
	fail                             atomic.Bool
}

var errDown = errors.New("store is down")

func (c *countingStore) Load(ctx context.Context, id string) ([]byte, time.Time, bool, error) {
	c.loads.Add(1)
	if c.fail.Load() {
		return nil, time.Time{}, false, errDown
	}
	return c.Store.Load(ctx, id)
}

func (c *countingStore) Update(ctx context.Context, id string, fn func([]byte, bool) ([]byte, time.Time, error)) error {
	c.updates.Add(1)
	if c.fail.Load() {
		return errDown
	}
	return c.Store.Update(ctx, id, fn)
}

func (c *countingStore) Delete(ctx context.Context, id string) error {
	c.deletes.Add(1)
	if c.fail.Load() {
		return errDown
	}
	return c.Store.Delete(ctx, id)
}

func (c *countingStore) Touch(ctx context.Context, id string, expiry time.Time) error {
	c.touches.Add(1)
	if c.fail.Load() {
		return errDown
	}
	return c.Store.Touch(ctx, id, expiry)
}

func (c *countingStore) writes() int64 { return c.updates.Load() + c.deletes.Load() + c.touches.Load() }

// writeRecord replaces the record of id with data.
func writeRecord(t *testing.T, st session.Store, id string, data []byte) {
	t.Helper()
	err := st.Update(t.Context(), id, func([]byte, bool) ([]byte, time.Time, error) {
		return data, time.Now().Add(time.Hour), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// copyRecord copies the record of from over the record of to.
func copyRecord(t *testing.T, st session.Store, from, to string) {
	t.Helper()
	data, _, found, err := st.Load(t.Context(), from)
	if err != nil || !found {
		t.Fatalf("load %s: %v %v", from, found, err)
	}
	writeRecord(t, st, to, data)
}

// sessionCookieValue returns the signed cookie value m gives id.
func sessionCookieValue(t *testing.T, m *session.Manager, id string) string {
	t.Helper()
	return session.SignForTest(m, id)
}

// swapStore gives a store the optional Swapper interface, built on its
// Update, so that the behaviour tests cover the Manager's Swap paths.
type swapStore struct{ session.Store }

var errNoSwap = errors.New("no swap")

func (s swapStore) Swap(ctx context.Context, id string, old, next []byte, expiry time.Time) (bool, error) {
	err := s.Update(ctx, id, func(data []byte, found bool) ([]byte, time.Time, error) {
		if old == nil && found || old != nil && (!found || !bytes.Equal(data, old)) {
			return nil, time.Time{}, errNoSwap
		}
		return bytes.Clone(next), expiry, nil
	})
	if errors.Is(err, errNoSwap) {
		return false, nil
	}
	return err == nil, err
}

// TestSwapPathManager runs the Manager-level conformance suite (concurrent
// requests on one session, read-only cost, Regenerate) over a store with
// Swap, where saves take the one-round-trip path.
func TestSwapPathManager(t *testing.T) {
	storetest.RunManager(t, func(t *testing.T) session.Store { return swapStore{memstore.New()} })
}
