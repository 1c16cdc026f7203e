package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/promtext"
)

// client drives the demo like a browser: a cookie jar, redirects followed.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func startDemo(t *testing.T, cfg session.Config) *client {
	t.Helper()
	return startDemoWith(t, cfg, nil)
}

// startDemoWith is startDemo with metrics served at /metrics (nil: none);
// cfg.Hooks should feed them.
func startDemoWith(t *testing.T, cfg session.Config, metrics http.Handler) *client {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Secret = "test secret - a test secret, not for production"
	cfg.Logger = logger
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newServer(m, logger, cfg, metrics))
	t.Cleanup(func() {
		srv.Close()
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: srv.URL, http: &http.Client{Jar: jar}}
}

// get fetches path and returns the status and body.
func (c *client) get(path string) (int, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.read(resp)
}

// post submits form to path (following the 303) and returns the final
// status and body.
func (c *client) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	resp, err := c.http.PostForm(c.base+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.read(resp)
}

func (c *client) read(resp *http.Response) (int, string) {
	c.t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// cookie returns the session cookie's value in the jar ("" for none).
func (c *client) cookie() string {
	u, _ := url.Parse(c.base)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == session.DefaultCookie {
			return ck.Value
		}
	}
	return ""
}

// field scrapes the value of the hidden input name from a page.
func field(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s field in the page:\n%s", name, page)
	}
	return m[1]
}

// token loads the home page and returns its CSRF token.
func (c *client) token() string {
	c.t.Helper()
	_, page := c.get("/")
	return field(c.t, page, "_token")
}

func mustContain(t *testing.T, body, want string) {
	t.Helper()
	if !strings.Contains(body, want) {
		t.Fatalf("page does not contain %q:\n%s", want, body)
	}
}

func mustNotContain(t *testing.T, body, unwanted string) {
	t.Helper()
	if strings.Contains(body, unwanted) {
		t.Fatalf("page contains %q:\n%s", unwanted, body)
	}
}

// forEachStore runs test against the memory store, the file store (plain
// and encrypted) and the cookie driver.
func forEachStore(t *testing.T, test func(t *testing.T, c *client)) {
	for _, cfg := range []session.Config{
		{Driver: "memory"},
		{Driver: "cookie"},
		{Driver: "file", Files: t.TempDir()},
		{Driver: "file", Files: t.TempDir(), Encrypt: true},
	} {
		name := cfg.Driver
		if cfg.Encrypt {
			name += "+encrypt"
		}
		t.Run(name, func(t *testing.T) { test(t, startDemo(t, cfg)) })
	}
}

var visitsRE = regexp.MustCompile(`<span class="big">(\d+)</span>`)

func visits(t *testing.T, page string) string {
	t.Helper()
	m := visitsRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no visit counter in the page:\n%s", page)
	}
	return m[1]
}

func TestCounter(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *client) {
		for want := 1; want <= 3; want++ {
			status, page := c.get("/")
			if status != http.StatusOK {
				t.Fatalf("GET /: status %d", status)
			}
			if got := visits(t, page); got != strconv.Itoa(want) {
				t.Fatalf("visit %d: counter shows %s", want, got)
			}
		}
	})
}

func TestFlashShowsOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *client) {
		tok := c.token()
		_, page := c.post("/flash", url.Values{"_token": {tok}, "text": {"hello there"}})
		mustContain(t, page, "Your flash message: hello there")
		_, page = c.get("/")
		mustNotContain(t, page, "hello there")
	})
}

func TestFlashKeptOnceMore(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *client) {
		_, page := c.post("/flash", url.Values{"_token": {c.token()}, "text": {"keep me"}, "keep": {"1"}})
		mustContain(t, page, "keep me")
		mustContain(t, page, "Kept with")
		_, page = c.get("/")
		mustContain(t, page, "keep me")
		mustNotContain(t, page, "Kept with")
		_, page = c.get("/")
		mustNotContain(t, page, "keep me")
	})
}

func TestCSRF(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *client) {
		tok := c.token()
		status, _ := c.post("/colour", url.Values{"colour": {"hacker green"}})
		if status != http.StatusForbidden {
			t.Fatalf("POST without _token: status %d, want 403", status)
		}
		status, _ = c.post("/colour", url.Values{"_token": {"not" + tok}, "colour": {"hacker green"}})
		if status != http.StatusForbidden {
			t.Fatalf("POST with a wrong _token: status %d, want 403", status)
		}
		status, page := c.post("/colour", url.Values{"_token": {tok}, "colour": {"teal"}})
		if status != http.StatusOK {
			t.Fatalf("POST with the token: status %d, want 200 after the redirect", status)
		}
		mustContain(t, page, "your favourite colour is now teal")
		mustNotContain(t, page, "hacker green</strong>")
	})
}

func TestOneTimeToken(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *client) {
		_, page := c.get("/")
		form := url.Values{"_token": {field(t, page, "_token")}, "_once": {field(t, page, "_once")}}
		_, page = c.post("/once", form)
		mustContain(t, page, "One-time token: accepted")
		_, page = c.post("/once", form) // Back, then submit again
		mustContain(t, page, "refused: this form was already submitted")
	})
}

func TestLoginLogout(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *client) {
		_, page := c.get("/")
		tok, id := field(t, page, "_token"), shownID(t, page)
		before := c.cookie()
		if before == "" {
			t.Fatal("no session cookie after the first page")
		}
		_, page = c.post("/login", url.Values{"_token": {tok}, "name": {"Ana"}})
		mustContain(t, page, "Logged in as <strong>Ana</strong>")
		mustContain(t, page, "Your session ID changed from <code>"+id+"</code> to <code>"+shownID(t, page)+"</code>")
		if shownID(t, page) == id {
			t.Fatal("log in did not change the session ID")
		}
		loggedIn := c.cookie()
		if loggedIn == before {
			t.Fatal("log in did not change the session cookie")
		}

		// The cookie from before log in no longer loads the session.
		if page := getWithCookie(t, c.base, before); strings.Contains(page, "Ana") {
			t.Fatal("the pre-login cookie shows the logged-in session")
		}
		// The old CSRF token died with the old ID.
		if status, _ := c.post("/logout", url.Values{"_token": {tok}}); status != http.StatusForbidden {
			t.Fatalf("log out with the pre-login token: status %d, want 403", status)
		}

		_, page = c.post("/logout", url.Values{"_token": {c.token()}})
		mustContain(t, page, "You are logged out")
		mustContain(t, page, "Not logged in")
		mustNotContain(t, page, "Ana")

		// Replaying the logged-in cookie by hand does not bring the session
		// back, except with the cookie driver, which has no record to remove:
		// a copied cookie stays valid until its deadline (as its docs say).
		page = getWithCookie(t, c.base, loggedIn)
		if revocable := !strings.HasSuffix(t.Name(), "/cookie"); strings.Contains(page, "Ana") == revocable {
			t.Fatalf("replayed logged-in cookie after log out (revocable %v):\n%s", revocable, page)
		}
	})
}

// shownID scrapes the abbreviated session ID from the page header.
func shownID(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`· session <code>([^<]+)</code>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no session ID in the page:\n%s", page)
	}
	return m[1]
}

// getWithCookie fetches / with only the given session cookie, as an attacker
// replaying a stolen cookie would.
func getWithCookie(t *testing.T, base, value string) string {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: session.DefaultCookie, Value: value})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / with a replayed cookie: status %d", resp.StatusCode)
	}
	return string(b)
}

func TestCart(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *client) {
		tok := c.token()
		for _, item := range []string{"apple", "bread", "cheese"} {
			c.post("/cart/add", url.Values{"_token": {tok}, "item": {item}})
		}
		_, page := c.post("/cart/remove", url.Values{"_token": {tok}, "index": {"1"}})
		mustContain(t, page, "Removed bread from the cart.")
		_, page = c.get("/session")
		mustContain(t, page, `&#34;items&#34;: [`)
		if !regexp.MustCompile(`apple&#34;,\s+&#34;cheese`).MatchString(page) {
			t.Fatalf("session page does not show [apple cheese]:\n%s", page)
		}
		_, page = c.post("/cart/clear", url.Values{"_token": {tok}})
		mustContain(t, page, "The cart is empty.")
		mustNotContain(t, page, "apple")
	})
}

func TestSessionPage(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *client) {
		c.post("/login", url.Values{"_token": {c.token()}, "name": {"Ana"}})
		status, page := c.get("/session")
		if status != http.StatusOK {
			t.Fatalf("GET /session: status %d", status)
		}
		if strings.HasSuffix(t.Name(), "/cookie") {
			mustContain(t, page, "has no store")
		} else {
			mustContain(t, page, "Expires")
		}
		mustContain(t, page, "&#34;name&#34;: &#34;Ana&#34;") // All(), and the plain record
		if strings.Contains(page, "payload is sealed") != strings.Contains(t.Name(), "encrypt") {
			t.Fatalf("sealed payload shown wrongly:\n%s", page)
		}
	})
}

func TestDemoSecret(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if s, _ := demoSecret("flag", "env", t.TempDir(), logger); s != "flag" {
		t.Errorf("-secret not preferred: %q", s)
	}
	if s, _ := demoSecret("", "env", t.TempDir(), logger); s != "env" {
		t.Errorf("SESSION_SECRET not used: %q", s)
	}

	dir := filepath.Join(t.TempDir(), "sessions")
	first, err := demoSecret("", "", dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(first) {
		t.Errorf("generated secret %q is not 32 bytes in hex", first)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, secretFile): 0o600} {
		if fi, err := os.Stat(path); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	second, err := demoSecret("", "", dir, logger)
	if err != nil || second != first {
		t.Errorf("second run: %q, %v; want the saved %q", second, err, first)
	}
}

func TestFaviconSkipsTheSession(t *testing.T) {
	c := startDemo(t, session.Config{Driver: "memory"})
	resp, err := c.http.Get(c.base + "/favicon.ico")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Set-Cookie") != "" {
		t.Fatalf("favicon: status %d, Set-Cookie %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
}

// other returns a second browser on the same demo, with its own cookies.
func (c *client) other() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return &client{t: c.t, base: c.base, http: &http.Client{Jar: jar}}
}

// TestYourSessions: the "Your sessions" page lists each browser the user
// logged in from, marks this one, logs out the others, and revokes one.
func TestYourSessions(t *testing.T) {
	laptop := startDemo(t, session.Config{Driver: "memory"})
	phone, tablet := laptop.other(), laptop.other()
	for _, c := range []*client{laptop, phone, tablet} {
		c.post("/login", url.Values{"_token": {c.token()}, "name": {"ana"}})
	}
	_, page := laptop.get("/sessions")
	if n := strings.Count(page, "<tr"); n != 4 { // the header and three sessions
		t.Fatalf("the page lists %d rows, want 3 sessions:\n%s", n-1, page)
	}
	mustContain(t, page, "(this browser)")
	mustContain(t, page, "Go program")
	mustContain(t, page, "127.0.0.1")

	// Revoke the phone's session by its handle: the one the laptop lists
	// and the phone does not (a page offers no Revoke for its own session).
	handles := func(page string) map[string]bool {
		hs := map[string]bool{}
		for _, m := range regexp.MustCompile(`name="handle" value="([^"]+)"`).FindAllStringSubmatch(page, -1) {
			hs[m[1]] = true
		}
		return hs
	}
	_, phonePage := phone.get("/sessions")
	onPhone := handles(phonePage)
	var phoneHandle string
	for h := range handles(page) {
		if !onPhone[h] {
			phoneHandle = h
		}
	}
	if phoneHandle == "" {
		t.Fatal("no handle to revoke")
	}
	_, page = laptop.post("/sessions/revoke", url.Values{"_token": {field(t, page, "_token")}, "handle": {phoneHandle}})
	mustContain(t, page, "Session revoked.")
	if n := strings.Count(page, "<tr"); n != 3 {
		t.Errorf("after revoking one, %d sessions listed, want 2", n-1)
	}
	_, page = laptop.post("/sessions/others", url.Values{"_token": {field(t, page, "_token")}})
	mustContain(t, page, "Logged out 1 other session.")
	if n := strings.Count(page, "<tr"); n != 2 {
		t.Errorf("after logging out the others, %d sessions listed, want 1", n-1)
	}
	for name, c := range map[string]*client{"revoked": phone, "logged out": tablet} {
		if _, home := c.get("/"); !strings.Contains(home, "Not logged in") {
			t.Errorf("the %s browser is still logged in", name)
		}
	}
	_, home := laptop.get("/")
	mustContain(t, home, "Logged in as <strong>ana</strong>")
}

// TestYourSessionsUnsupported: on the cookie driver the page says why it
// cannot list sessions.
func TestYourSessionsUnsupported(t *testing.T) {
	c := startDemo(t, session.Config{Driver: "cookie"})
	c.post("/login", url.Values{"_token": {c.token()}, "name": {"ana"}})
	_, page := c.get("/sessions")
	mustContain(t, page, "cookie driver")
}

// TestRememberMe: "Remember me" gives the session cookie a 30-day Max-Age.
func TestRememberMe(t *testing.T) {
	c := startDemo(t, session.Config{Driver: "memory", ExpireOnClose: true})
	form := url.Values{"_token": {c.token()}, "name": {"ana"}, "remember": {"1"}}
	req, _ := http.NewRequest("POST", c.base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	u, _ := url.Parse(c.base)
	for _, ck := range c.http.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var maxAge int
	for _, ck := range resp.Cookies() {
		if ck.Name == session.DefaultCookie {
			maxAge = ck.MaxAge
		}
	}
	if maxAge != int(rememberFor/time.Second) {
		t.Errorf("remember me: cookie Max-Age %d, want %d", maxAge, int(rememberFor/time.Second))
	}
}

// With -metrics the demo serves sessionkit's metrics at /metrics, counting
// the requests before the scrape; the scrape itself gets no session.
func TestMetrics(t *testing.T) {
	pm := promtext.New()
	c := startDemoWith(t, session.Config{Driver: "memory", Hooks: pm.Hooks()}, pm)
	c.get("/")
	if status, _ := c.post("/colour", url.Values{"colour": {"hacker green"}}); status != http.StatusForbidden {
		t.Fatalf("POST without _token: status %d, want 403", status)
	}
	resp, err := c.http.Get(c.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Set-Cookie") != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("/metrics: Set-Cookie %q, Content-Type %q", resp.Header.Get("Set-Cookie"), resp.Header.Get("Content-Type"))
	}
	status, body := c.read(resp)
	if status != http.StatusOK {
		t.Fatalf("/metrics: status %d", status)
	}
	for _, want := range []string{
		"# TYPE sessionkit_sessions_created_total counter\nsessionkit_sessions_created_total 1\n",
		`sessionkit_sessions_loaded_total{result="new"} 1` + "\n",
		`sessionkit_sessions_loaded_total{result="found"} 1` + "\n", // the refused POST
		"sessionkit_sessions_destroyed_total 0\n",
		"sessionkit_sessions_regenerated_total 0\n",
		"sessionkit_csrf_rejected_total 1\n",
		"sessionkit_sweep_removed_total 0\n",
		"# TYPE sessionkit_store_operation_duration_seconds histogram\n",
		`sessionkit_store_operation_duration_seconds_count{driver="memory",op="load"} 1` + "\n",
		`sessionkit_store_operation_duration_seconds_bucket{driver="memory",op="load",le="2.5e-05"} `,
		`sessionkit_store_operation_duration_seconds_bucket{driver="memory",op="load",le="+Inf"} 1` + "\n",
		`sessionkit_store_errors_total{driver="memory",op="load"} 0` + "\n",
	} {
		mustContain(t, body, want)
	}

	plain := startDemo(t, session.Config{Driver: "memory"})
	if status, _ := plain.get("/metrics"); status != http.StatusNotFound {
		t.Errorf("/metrics without -metrics: status %d, want 404", status)
	}
}
