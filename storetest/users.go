package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// The sessions of a user, through the Manager (run by RunManager when the
// store implements session.UserIndex).

// userTests are RunManager's subtests of sessions that belong to a user.
var userTests = []struct {
	name string
	run  func(t *testing.T, st session.Store)
}{
	{"LoginRegeneratesAndLists", testLogin},
	{"LoginAsAnotherUserMoves", testLoginAnotherUser},
	{"RegenerateKeepsUser", testRegenerateKeepsUser},
	{"LoginThenRegenerateInOneRequest", testLoginThenRegenerate},
	{"DestroyUserSessions", testDestroyUserSessions},
	{"DestroyOtherSessions", testDestroyOtherSessions},
	{"DestroyUserSession", testDestroyUserSession},
	{"ConcurrentLogins", testConcurrentLogins},
	{"InFlightRequestStaysDestroyed", testInFlightStaysDestroyed},
	{"ListingCost", testListingCost},
	{"ExpiredNotListed", testExpiredNotListed},
}

// userClient is a client whose requests come from a given browser and
// address.
type userClient struct {
	client
	agent, addr string
}

func newUserClient(m *session.Manager, agent, addr string) *userClient {
	return &userClient{client: client{m: m}, agent: agent, addr: addr}
}

// do sends one request whose handler runs fn with the request's context.
func (c *userClient) do(t *testing.T, fn func(ctx context.Context, s *session.Session)) {
	t.Helper()
	h := c.m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn(r.Context(), session.FromRequest(r))
	}))
	r := httptest.NewRequestWithContext(t.Context(), "GET", "/", nil)
	r.Header.Set("User-Agent", c.agent)
	r.RemoteAddr = c.addr
	c.mu.Lock()
	if c.cookie != nil {
		r.AddCookie(c.cookie)
	}
	c.mu.Unlock()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("request failed: %d %s", w.Code, w.Body)
	}
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
}

// login logs c in as user, putting k=v first.
func (c *userClient) login(t *testing.T, user string) {
	t.Helper()
	c.do(t, func(_ context.Context, s *session.Session) {
		if err := s.Login(user); err != nil {
			t.Fatalf("Login(%q): %v", user, err)
		}
	})
}

// userOf returns the user of c's session as a request sees it ("" when the
// session is anonymous or gone) and whether the session holds key "k".
func (c *userClient) userOf(t *testing.T) (user string, hasK bool) {
	t.Helper()
	c.do(t, func(_ context.Context, s *session.Session) { user, hasK = s.UserID(), s.Has("k") })
	return user, hasK
}

func userSessions(t *testing.T, m *session.Manager, ctx context.Context, user string) []session.SessionInfo {
	t.Helper()
	infos, err := m.UserSessions(ctx, user)
	if err != nil {
		t.Fatalf("UserSessions(%q): %v", user, err)
	}
	return infos
}

func testLogin(t *testing.T, st session.Store) {
	m := NewManager(t, st, checkConfig)
	c := newUserClient(m, "TestBrowser/1.0", "192.0.2.7:5555")
	c.do(t, func(_ context.Context, s *session.Session) { s.Put("k", "v") })
	before := c.cookie
	c.login(t, "ana")
	if c.cookie == nil || c.cookie.Value == before.Value {
		t.Fatal("Login did not send a new cookie")
	}
	if user, hasK := c.userOf(t); user != "ana" || !hasK {
		t.Errorf("after Login: user %q, data kept %v; want ana, true", user, hasK)
	}
	old := &userClient{client: client{m: m, cookie: before}}
	if user, hasK := old.userOf(t); user != "" || hasK {
		t.Errorf("the pre-login cookie still loads the session (user %q, data %v)", user, hasK)
	}
	infos := userSessions(t, m, t.Context(), "ana")
	if len(infos) != 1 {
		t.Fatalf("UserSessions lists %d sessions, want 1", len(infos))
	}
	in := infos[0]
	if in.UserAgent != "TestBrowser/1.0" || in.IP != "192.0.2.7" || in.Current {
		t.Errorf("SessionInfo %+v: want agent TestBrowser/1.0, IP 192.0.2.7, not current", in)
	}
	now := time.Now()
	if in.Created.Before(now.Add(-time.Minute)) || in.Created.After(now) || in.LastSeen.After(now) || !in.Expires.After(now) {
		t.Errorf("SessionInfo times %+v, now %v", in, now)
	}
	if in.Handle == "" || strings.Contains(c.cookie.Value, in.Handle) || strings.Contains(in.Handle, c.cookie.Value[:10]) {
		t.Errorf("handle %q is empty or shares the cookie %q", in.Handle, c.cookie.Value)
	}
	c.do(t, func(ctx context.Context, s *session.Session) {
		infos := userSessions(t, m, ctx, "ana")
		if len(infos) != 1 || !infos[0].Current || infos[0].Handle != in.Handle {
			t.Errorf("from the session's own request: %+v, want it Current with a stable handle", infos)
		}
	})
	if got := userSessions(t, m, t.Context(), "bob"); len(got) != 0 {
		t.Errorf("another user lists %d sessions", len(got))
	}
	for _, bad := range []string{"", "a\x00b", "\xff", strings.Repeat("x", session.MaxUserIDLen+1)} {
		var err error
		c.do(t, func(_ context.Context, s *session.Session) { err = s.Login(bad) })
		if !errors.Is(err, session.ErrUserID) {
			t.Errorf("Login(%q) = %v, want ErrUserID", bad, err)
		}
	}
	if user, _ := c.userOf(t); user != "ana" {
		t.Errorf("a refused Login changed the session's user to %q", user)
	}
}

func testLoginAnotherUser(t *testing.T, st session.Store) {
	m := NewManager(t, st, checkConfig)
	c := newUserClient(m, "B", "192.0.2.1:1")
	c.do(t, func(_ context.Context, s *session.Session) { s.Put("k", "v") })
	c.login(t, "ana")
	c.login(t, "bob")
	if got := userSessions(t, m, t.Context(), "ana"); len(got) != 0 {
		t.Errorf("after logging in as bob, ana still lists %d sessions", len(got))
	}
	if got := userSessions(t, m, t.Context(), "bob"); len(got) != 1 {
		t.Errorf("bob lists %d sessions, want 1", len(got))
	}
	if user, hasK := c.userOf(t); user != "bob" || !hasK {
		t.Errorf("user %q, data %v; want bob, true", user, hasK)
	}
}

func testRegenerateKeepsUser(t *testing.T, st session.Store) {
	m := NewManager(t, st, checkConfig)
	c := newUserClient(m, "B", "192.0.2.1:1")
	c.login(t, "ana")
	handle := userSessions(t, m, t.Context(), "ana")[0].Handle
	c.do(t, func(_ context.Context, s *session.Session) {
		if err := s.Regenerate(); err != nil {
			t.Fatal(err)
		}
	})
	if user, _ := c.userOf(t); user != "ana" {
		t.Errorf("after Regenerate the user is %q", user)
	}
	infos := userSessions(t, m, t.Context(), "ana")
	if len(infos) != 1 || infos[0].Handle == handle {
		t.Errorf("after Regenerate: %+v, want one entry under a new handle", infos)
	}
	if n, err := m.DestroyUserSessions(t.Context(), "ana"); n != 1 || err != nil {
		t.Errorf("DestroyUserSessions after Regenerate = %d, %v; want 1", n, err)
	}
}

// testLoginThenRegenerate: a new session that logs in and regenerates in
// the same request (not stored yet) is listed under the ID it is saved
// with, so "log out everywhere" finds it.
func testLoginThenRegenerate(t *testing.T, st session.Store) {
	m := NewManager(t, st, checkConfig)
	c := newUserClient(m, "B", "192.0.2.1:1")
	c.do(t, func(_ context.Context, s *session.Session) {
		if err := s.Login("ana"); err != nil {
			t.Fatal(err)
		}
		if err := s.Regenerate(); err != nil {
			t.Fatal(err)
		}
	})
	if got := userSessions(t, m, t.Context(), "ana"); len(got) != 1 {
		t.Fatalf("ana lists %d sessions, want 1", len(got))
	}
	if n, err := m.DestroyUserSessions(t.Context(), "ana"); n != 1 || err != nil {
		t.Errorf("DestroyUserSessions = %d, %v; want 1", n, err)
	}
	if user, _ := c.userOf(t); user != "" {
		t.Error("the session survived DestroyUserSessions")
	}
}

func testDestroyUserSessions(t *testing.T, st session.Store) {
	m := NewManager(t, st, checkConfig)
	var anas []*userClient
	for i := range 3 {
		c := newUserClient(m, fmt.Sprint("device ", i), "192.0.2.1:1")
		c.do(t, func(_ context.Context, s *session.Session) { s.Put("k", "v") })
		c.login(t, "ana")
		anas = append(anas, c)
	}
	bob := newUserClient(m, "B", "192.0.2.2:1")
	bob.login(t, "bob")
	anon := newUserClient(m, "A", "192.0.2.3:1")
	anon.do(t, func(_ context.Context, s *session.Session) { s.Put("k", "v") })
	if got := userSessions(t, m, t.Context(), "ana"); len(got) != 3 {
		t.Fatalf("ana lists %d sessions, want 3", len(got))
	}
	n, err := m.DestroyUserSessions(t.Context(), "ana")
	if n != 3 || err != nil {
		t.Fatalf("DestroyUserSessions = %d, %v; want 3", n, err)
	}
	for i, c := range anas {
		if user, hasK := c.userOf(t); user != "" || hasK {
			t.Errorf("ana's session %d still loads (user %q)", i, user)
		}
	}
	if user, _ := bob.userOf(t); user != "bob" {
		t.Errorf("bob's session was touched: user %q", user)
	}
	if _, hasK := anon.userOf(t); !hasK {
		t.Error("an anonymous session was touched")
	}
	if got := userSessions(t, m, t.Context(), "ana"); len(got) != 0 {
		t.Errorf("after DestroyUserSessions ana lists %d", len(got))
	}
	if n, err := m.DestroyUserSessions(t.Context(), "ana"); n != 0 || err != nil {
		t.Errorf("DestroyUserSessions again = %d, %v; want 0", n, err)
	}
}

func testDestroyOtherSessions(t *testing.T, st session.Store) {
	m := NewManager(t, st, checkConfig)
	me, other1, other2 := newUserClient(m, "me", "192.0.2.1:1"), newUserClient(m, "o1", "192.0.2.1:1"), newUserClient(m, "o2", "192.0.2.1:1")
	for _, c := range []*userClient{me, other1, other2} {
		c.login(t, "ana")
	}
	var n int
	var err error
	me.do(t, func(_ context.Context, s *session.Session) { n, err = s.DestroyOtherSessions() })
	if n != 2 || err != nil {
		t.Fatalf("DestroyOtherSessions = %d, %v; want 2", n, err)
	}
	if user, _ := me.userOf(t); user != "ana" {
		t.Errorf("the caller's own session was ended (user %q)", user)
	}
	for _, c := range []*userClient{other1, other2} {
		if user, _ := c.userOf(t); user != "" {
			t.Errorf("another device's session survived")
		}
	}
	anon := newUserClient(m, "a", "192.0.2.1:1")
	anon.do(t, func(_ context.Context, s *session.Session) { n, err = s.DestroyOtherSessions() })
	if n != 0 || err != nil {
		t.Errorf("DestroyOtherSessions of an anonymous session = %d, %v; want 0, nil", n, err)
	}
}

func testDestroyUserSession(t *testing.T, st session.Store) {
	m := NewManager(t, st, checkConfig)
	laptop, phone := newUserClient(m, "laptop", "192.0.2.1:1"), newUserClient(m, "phone", "192.0.2.2:1")
	laptop.login(t, "ana")
	phone.login(t, "ana")
	bob := newUserClient(m, "bob", "192.0.2.3:1")
	bob.login(t, "bob")
	bobHandle := userSessions(t, m, t.Context(), "bob")[0].Handle
	if err := m.DestroyUserSession(t.Context(), "ana", bobHandle); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("destroying bob's handle as ana: %v, want ErrNoSession", err)
	}
	if user, _ := bob.userOf(t); user != "bob" {
		t.Error("bob's session was ended through ana's account")
	}
	for _, bad := range []string{"", "x", bobHandle + "x"} {
		if err := m.DestroyUserSession(t.Context(), "ana", bad); !errors.Is(err, session.ErrNoSession) {
			t.Errorf("DestroyUserSession(%q) = %v, want ErrNoSession", bad, err)
		}
	}
	var phoneHandle string
	for _, in := range userSessions(t, m, t.Context(), "ana") {
		if in.UserAgent == "phone" {
			phoneHandle = in.Handle
		}
	}
	if err := m.DestroyUserSession(t.Context(), "ana", phoneHandle); err != nil {
		t.Fatalf("DestroyUserSession: %v", err)
	}
	if user, _ := phone.userOf(t); user != "" {
		t.Error("the revoked device's session still loads")
	}
	if user, _ := laptop.userOf(t); user != "ana" {
		t.Error("the other device was logged out too")
	}
	if err := m.DestroyUserSession(t.Context(), "ana", phoneHandle); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("destroying a handle twice: %v, want ErrNoSession", err)
	}
}

func testConcurrentLogins(t *testing.T, st session.Store) {
	m := NewManager(t, st, checkConfig)
	const n = 50
	clients := make([]*userClient, n)
	var wg sync.WaitGroup
	for i := range clients {
		clients[i] = newUserClient(m, fmt.Sprint("device ", i), "192.0.2.1:1")
		wg.Go(func() {
			clients[i].do(t, func(_ context.Context, s *session.Session) {
				s.Put("k", i)
				if err := s.Login("busy"); err != nil {
					t.Errorf("Login: %v", err)
				}
			})
		})
	}
	wg.Wait()
	if got := userSessions(t, m, t.Context(), "busy"); len(got) != n {
		t.Errorf("%d of %d concurrent logins listed", len(got), n)
	}
	if got, err := m.DestroyUserSessions(t.Context(), "busy"); got != n || err != nil {
		t.Errorf("DestroyUserSessions = %d, %v; want %d", got, err, n)
	}
	for i, c := range clients {
		if user, _ := c.userOf(t); user != "" {
			t.Fatalf("session %d survived DestroyUserSessions", i)
		}
	}
}

func testInFlightStaysDestroyed(t *testing.T, st session.Store) {
	m := NewManager(t, st, checkConfig)
	for _, change := range []func(s *session.Session){
		func(s *session.Session) { s.Put("late", 1) },
		func(s *session.Session) { _ = s.Regenerate() },
		func(s *session.Session) { s.Flash("f", 1) },
		func(s *session.Session) {}, // a touch, or nothing
	} {
		c := newUserClient(m, "B", "192.0.2.1:1")
		c.login(t, "ana")
		c.do(t, func(ctx context.Context, s *session.Session) {
			// The request has the session loaded when every session of
			// its user is destroyed; it then changes and saves it.
			if n, err := m.DestroyUserSessions(context.WithoutCancel(ctx), "ana"); n != 1 || err != nil {
				t.Errorf("DestroyUserSessions = %d, %v", n, err)
			}
			change(s)
		})
		if user, _ := c.userOf(t); user != "" {
			t.Errorf("a request that had the session loaded brought it back after DestroyUserSessions")
		}
		if got := userSessions(t, m, t.Context(), "ana"); len(got) != 0 {
			t.Errorf("ana lists %d sessions after they were destroyed", len(got))
		}
	}
}

// countingIndex counts the calls of a store that is also a UserIndex.
type countingIndex struct {
	counting
	idx      session.UserIndex
	listings int
}

func (c *countingIndex) AddUserSession(ctx context.Context, userID, id string) error {
	return c.idx.AddUserSession(ctx, userID, id)
}

func (c *countingIndex) ListUserSessions(ctx context.Context, userID string, fn func(string, time.Time) bool) error {
	c.listings++
	return c.idx.ListUserSessions(ctx, userID, fn)
}

func (c *countingIndex) RemoveUserSessions(ctx context.Context, userID string, ids ...string) error {
	return c.idx.RemoveUserSessions(ctx, userID, ids...)
}

func testListingCost(t *testing.T, st session.Store) {
	ci := &countingIndex{counting: counting{Store: st}, idx: st.(session.UserIndex)}
	m := NewManager(t, ci, checkConfig)
	// Many sessions of others, three of ana's.
	for i := range 20 {
		c := newUserClient(m, "x", "192.0.2.1:1")
		if i%2 == 0 {
			c.login(t, fmt.Sprint("user", i))
		} else {
			c.do(t, func(_ context.Context, s *session.Session) { s.Put("k", i) })
		}
	}
	for range 3 {
		newUserClient(m, "ana", "192.0.2.1:1").login(t, "ana")
	}
	ci.loads.Store(0)
	ci.listings = 0
	if got := userSessions(t, m, t.Context(), "ana"); len(got) != 3 {
		t.Fatalf("ana lists %d", len(got))
	}
	if l, n := ci.listings, ci.loads.Load(); l != 1 || n != 3 {
		t.Errorf("listing 3 sessions among 23 took %d index listings and %d loads; want 1 and 3", l, n)
	}
	// A logged-in session's read is one store call.
	c := newUserClient(m, "ana", "192.0.2.1:1")
	c.login(t, "ana")
	ci.loads.Store(0)
	ci.writes.Store(0)
	ci.listings = 0
	c.do(t, func(_ context.Context, s *session.Session) { _ = s.Get("k") })
	if l, w, n := ci.listings, ci.writes.Load(), ci.loads.Load(); n != 1 || w != 0 || l != 0 {
		t.Errorf("a logged-in read took %d loads, %d writes, %d index listings; want 1, 0, 0", n, w, l)
	}
}

// testUserSessionsUnsupported: on a store that is no UserIndex, Login and
// UserID work, and listing or destroying a user's sessions fails with an
// error wrapping errors.ErrUnsupported.
func testUserSessionsUnsupported(t *testing.T, st session.Store) {
	m := NewManager(t, st, checkConfig)
	UserSessionsUnsupported(t, m)
}

// UserSessionsUnsupported checks, through m, that Login and UserID work and
// that listing or destroying a user's sessions fails with an error wrapping
// errors.ErrUnsupported: for the cookie and null drivers, and stores that are
// no session.UserIndex.
func UserSessionsUnsupported(t *testing.T, m *session.Manager) {
	t.Helper()
	c := newUserClient(m, "B", "192.0.2.1:1")
	c.do(t, func(_ context.Context, s *session.Session) { s.Put("k", "v") })
	c.do(t, func(_ context.Context, s *session.Session) {
		if err := s.Login("ana"); err != nil {
			t.Fatalf("Login: %v", err)
		}
		if s.UserID() != "ana" {
			t.Errorf("UserID = %q right after Login", s.UserID())
		}
		if _, err := s.DestroyOtherSessions(); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("DestroyOtherSessions: %v, want errors.ErrUnsupported", err)
		}
	})
	if _, err := m.UserSessions(t.Context(), "ana"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("UserSessions: %v, want errors.ErrUnsupported", err)
	}
	if _, err := m.DestroyUserSessions(t.Context(), "ana"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("DestroyUserSessions: %v, want errors.ErrUnsupported", err)
	}
	if err := m.DestroyUserSession(t.Context(), "ana", "h"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("DestroyUserSession: %v, want errors.ErrUnsupported", err)
	}
}

// testOwnLifetimes: a session's own idle lifetime (SetLifetime) and the
// absolute lifetime reach the store as the record's expiry, whatever the
// Manager's Lifetime, and a session past its own lifetime never loads, even
// before a sweep.
func testOwnLifetimes(t *testing.T, st session.Store) {
	cfg := checkConfig
	cfg.Lifetime, cfg.AbsoluteLifetime = 2*time.Hour, time.Hour
	m := NewManager(t, st, cfg)
	expiry := func(c *userClient) time.Time {
		t.Helper()
		var id string
		c.do(t, func(_ context.Context, s *session.Session) { id = s.ID() })
		_, exp, found, err := st.Load(t.Context(), id)
		if err != nil || !found {
			t.Fatalf("load: found %v, %v", found, err)
		}
		return exp
	}
	near := func(a, b time.Time) bool { return a.Sub(b).Abs() < 5*time.Second }

	c := newUserClient(m, "B", "192.0.2.1:1")
	c.login(t, "ana")
	if exp := expiry(c); !near(exp, time.Now().Add(time.Hour)) {
		t.Errorf("expiry %v: want the absolute end, an hour from now (not the 2-hour idle lifetime)", exp)
	}
	c.do(t, func(_ context.Context, s *session.Session) { s.SetLifetime(10 * time.Minute) })
	if exp := expiry(c); !near(exp, time.Now().Add(10*time.Minute)) {
		t.Errorf("after SetLifetime(10m) the expiry is %v, want 10 minutes from now", exp)
	}
	c.do(t, func(_ context.Context, s *session.Session) { s.SetLifetime(300 * time.Millisecond) })
	time.Sleep(1100 * time.Millisecond) // past the session's own lifetime (stores count in whole seconds at worst)
	if user, _ := c.userOf(t); user != "" {
		t.Error("a session past its own lifetime loaded")
	}
}

// testExpiredNotListed: a session past its lifetime is not listed, even
// before a sweep removes it.
func testExpiredNotListed(t *testing.T, st session.Store) {
	m := NewManager(t, st, checkConfig)
	c := newUserClient(m, "B", "192.0.2.1:1")
	c.login(t, "ana")
	newUserClient(m, "B", "192.0.2.1:1").login(t, "ana")
	c.do(t, func(_ context.Context, s *session.Session) { s.SetLifetime(300 * time.Millisecond) })
	time.Sleep(1100 * time.Millisecond)
	if got := userSessions(t, m, t.Context(), "ana"); len(got) != 1 {
		t.Errorf("ana lists %d sessions, want 1: an expired one is listed", len(got))
	}
}
