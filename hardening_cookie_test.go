package session_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

const otherSecret = "another application's secret - a test secret, not for production"

// forgedCookie returns a well-formed session cookie value that m's keys do
// not verify: a genuine cookie of another application (another secret) with
// the same driver, so that checking it costs m a full signature check or
// AES-GCM open per key.
func forgedCookie(t *testing.T, st session.Store) string {
	t.Helper()
	if st != nil {
		st = memstore.New()
	}
	other, _ := newManager(t, st, session.Config{Secret: otherSecret})
	c := newClient(t, other)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("user", "mallory") })
	if c.cookie() == "" {
		t.Fatal("the other application set no cookie")
	}
	return c.cookie()
}

// TestForgedCookiesAreNotAllVerified checks that a request carrying many
// well-formed forged cookies with the session's name costs at most
// MaxCookieCandidates verifications: a genuine cookie placed after that many
// forged ones is not even looked at, while one placed after fewer (stale
// duplicates a browser may send for other paths or domains) still loads.
func TestForgedCookiesAreNotAllVerified(t *testing.T) {
	max := session.MaxCookieCandidatesForTest
	if max < 2 || max > 8 {
		t.Fatalf("MaxCookieCandidates = %d: want a small constant above one", max)
	}
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, logs := newManager(t, st, session.Config{PreviousSecrets: []string{otherSecret + " (old)"}})
		genuine := newClient(t, m)
		genuine.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("user", "ana") })
		forged := forgedCookie(t, st)
		load := func(forgedFirst int) any {
			r := httptest.NewRequest("GET", "/", nil)
			for range forgedFirst {
				r.AddCookie(&http.Cookie{Name: session.DefaultCookie, Value: forged})
			}
			r.AddCookie(&http.Cookie{Name: session.DefaultCookie, Value: genuine.cookie()})
			var got any
			m.Middleware(wrap(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { got = s.Get("user") })).
				ServeHTTP(httptest.NewRecorder(), r)
			return got
		}
		for n := range max {
			if got := load(n); got != "ana" {
				t.Errorf("genuine cookie after %d forged ones: user = %v, want ana", n, got)
			}
		}
		if strings.Contains(logs.String(), "cookies=") {
			t.Errorf("a request whose genuine cookie loaded logged a warning:\n%s", logs)
		}
		for _, n := range []int{max, max + 1, 2900} {
			if got := load(n); got != nil {
				t.Errorf("genuine cookie after %d forged ones was verified: user = %v, want a fresh session", n, got)
			}
			if want := "cookies=" + strconv.Itoa(n+1); !strings.Contains(logs.String(), want) {
				t.Errorf("after %d forged cookies the log lacks %q:\n%s", n, want, logs)
			}
		}
	})
}

// BenchmarkForgedCookies measures a request that carries 2,900 well-formed
// forged cookies with the session's name, under four secrets (Secret and
// three PreviousSecrets).
func BenchmarkForgedCookies(b *testing.B) {
	for _, driver := range []string{"memory", "cookie"} {
		b.Run(driver, func(b *testing.B) {
			newM := func(secret string) *session.Manager {
				m, err := session.New(session.Config{
					Secret: secret, Driver: driver, Lottery: [2]int{0, 1}, Logger: slog.New(slog.DiscardHandler),
					PreviousSecrets: []string{secret + " one", secret + " two", secret + " three"},
				})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { m.Close() })
				return m
			}
			m, other := newM(testSecret), newM(otherSecret)
			w := httptest.NewRecorder()
			other.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				session.FromRequest(r).Put("user", "mallory")
			})).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			forged := w.Result().Cookies()[0]
			r := httptest.NewRequest("GET", "/", nil)
			for range 2900 {
				r.AddCookie(forged)
			}
			h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}

// TestSessionCookieResponsesAreNotPubliclyCacheable checks that a response
// that sets or expires the session cookie cannot be stored by a shared cache,
// whatever Cache-Control (or CDN-Cache-Control) the handler gave it, and that
// the handler's directives for the browser's own cache stay.
func TestSessionCookieResponsesAreNotPubliclyCacheable(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		for _, tc := range []struct {
			name, cc, cdn string
			fn            func(*session.Session)
		}{
			{"new session", "public, max-age=3600", "", func(s *session.Session) { s.Put("user", "ana") }},
			{"changed session", "max-age=3600, s-maxage=3600", "max-age=600", func(s *session.Session) { s.Put("user", "bob") }},
			{"regenerated", "Public, Max-Age=3600", "", func(s *session.Session) { s.Regenerate() }},
			{"destroyed", "public, max-age=3600", "public", func(s *session.Session) { s.Destroy() }},
		} {
			res := c.do(func(w http.ResponseWriter, _ *http.Request, s *session.Session) {
				w.Header().Set("Cache-Control", tc.cc)
				if tc.cdn != "" {
					w.Header().Set("CDN-Cache-Control", tc.cdn)
				}
				tc.fn(s)
			})
			if sessionCookie(res) == nil {
				t.Fatalf("%s: no session cookie set", tc.name)
			}
			cc := res.Header.Values("Cache-Control")
			if session.SharedCacheMayStore(cc) {
				t.Errorf("%s: handler's Cache-Control %q sent as %q: a shared cache may store the session cookie", tc.name, tc.cc, cc)
			}
			if !strings.Contains(strings.ToLower(strings.Join(cc, ",")), "max-age=3600") {
				t.Errorf("%s: Cache-Control %q lost the handler's max-age=3600", tc.name, cc)
			}
			if cdn := res.Header.Values("CDN-Cache-Control"); tc.cdn != "" && session.SharedCacheMayStore(cdn) {
				t.Errorf("%s: handler's CDN-Cache-Control %q sent as %q: a CDN may store the session cookie", tc.name, tc.cdn, cdn)
			}
		}
		// A response that sets no cookie keeps the handler's header as it is.
		res := c.do(func(w http.ResponseWriter, _ *http.Request, s *session.Session) {
			w.Header().Set("Cache-Control", "public, max-age=60")
		})
		if sessionCookie(res) != nil {
			t.Fatal("a fresh session the handler did not touch got a cookie")
		}
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=60" {
			t.Errorf("a response without cookie: Cache-Control %q, want the handler's", got)
		}
	})
}

// TestCacheControlRewrite checks the Cache-Control (and CDN-Cache-Control)
// that a response setting the session cookie gets, given the handler's.
func TestCacheControlRewrite(t *testing.T) {
	for _, tc := range []struct {
		handler []string // nil: not set
		want    []string
	}{
		{nil, []string{"private"}},
		{[]string{""}, []string{"private"}},
		{[]string{"public"}, []string{"private"}},
		{[]string{"public, max-age=3600"}, []string{"private, max-age=3600"}},
		{[]string{"PUBLIC, Max-Age=3600, S-MaxAge=7200"}, []string{"private, Max-Age=3600"}},
		{[]string{"max-age=60", "s-maxage=600", "must-revalidate"}, []string{"private, max-age=60, must-revalidate"}},
		{[]string{"no-cache"}, []string{"private, no-cache"}},
		{[]string{`no-cache="Set-Cookie, Authorization", max-age=0`}, []string{`private, no-cache="Set-Cookie, Authorization", max-age=0`}},
		{[]string{`private="Set-Cookie", max-age=60`}, []string{"private, max-age=60"}},
		{[]string{"private, public"}, []string{"private"}},
		{[]string{"no-store, must-understand, public"}, []string{"private, no-store, must-understand"}},
		// Already kept out of shared caches: sent as the handler set it.
		{[]string{"no-store"}, []string{"no-store"}},
		{[]string{"public, no-store"}, []string{"public, no-store"}},
		{[]string{"private, max-age=3600"}, []string{"private, max-age=3600"}},
		{[]string{"max-age=0", "Private"}, []string{"max-age=0", "Private"}},
		{[]string{`no-cache="a,private"`}, []string{`private, no-cache="a,private"`}},
	} {
		h := http.Header{}
		if tc.handler != nil {
			h["Cache-Control"] = slices.Clone(tc.handler)
			h["Cdn-Cache-Control"] = slices.Clone(tc.handler)
		}
		session.AddCookieHeadersForTest(h, "session=v")
		if got := h["Cache-Control"]; !slices.Equal(got, tc.want) {
			t.Errorf("Cache-Control %q: sent %q, want %q", tc.handler, got, tc.want)
		}
		if session.SharedCacheMayStore(h["Cache-Control"]) {
			t.Errorf("Cache-Control %q: sent %q, which a shared cache may store", tc.handler, h["Cache-Control"])
		}
		if got := h["Cdn-Cache-Control"]; tc.handler == nil && got != nil || tc.handler != nil && !slices.Equal(got, tc.want) {
			t.Errorf("CDN-Cache-Control %q: sent %q, want %q", tc.handler, got, tc.want)
		}
	}
}

// TestAddCookieHeadersAllocations checks that the headers of a response that
// sets the cookie cost one allocation when the handler set no Cache-Control
// or one that already keeps shared caches out.
func TestAddCookieHeadersAllocations(t *testing.T) {
	for _, cc := range [][]string{nil, {"no-store"}, {"private, max-age=60"}} {
		h := make(http.Header, 8)
		allocs := testing.AllocsPerRun(100, func() {
			clear(h)
			if cc != nil {
				h["Cache-Control"] = cc
			}
			session.AddCookieHeadersForTest(h, "session=v")
		})
		if allocs != 1 {
			t.Errorf("Cache-Control %q: %v allocations, want 1", cc, allocs)
		}
	}
}

// BenchmarkAddCookieHeaders measures the headers added to a response that
// sets the session cookie, by the handler's Cache-Control.
func BenchmarkAddCookieHeaders(b *testing.B) {
	for _, tc := range []struct {
		name string
		cc   []string
	}{
		{"none", nil},
		{"no-store", []string{"no-store"}},
		{"public", []string{"public, max-age=3600"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := make(http.Header, 8)
			b.ReportAllocs()
			for b.Loop() {
				clear(h)
				if tc.cc != nil {
					h["Cache-Control"] = tc.cc
				}
				session.AddCookieHeadersForTest(h, "session=v")
			}
		})
	}
}

// TestCookieNamePrefixes checks that New refuses a Cookie whose __Host-,
// __Secure- or __Http- prefix asks for attributes the Config does not give
// (browsers would drop the cookie without a word), saying what to set, and
// accepts the ones browsers keep.
func TestCookieNamePrefixes(t *testing.T) {
	base := session.Config{Secret: testSecret, Driver: "memory"}
	for _, tc := range []struct {
		name string
		cfg  session.Config
		want []string // in the error; nil: New succeeds
	}{
		{"host without Secure", session.Config{Cookie: "__Host-sid"}, []string{`"__Host-sid"`, "Secure: true"}},
		{"host with Domain", session.Config{Cookie: "__Host-sid", Secure: true, Domain: "example.com"}, []string{"no Domain"}},
		{"host with Path", session.Config{Cookie: "__Host-sid", Secure: true, Path: "/app"}, []string{`Path "/"`}},
		{"host with all three", session.Config{Cookie: "__Host-sid", Domain: "example.com", Path: "/app"}, []string{"Secure: true", "no Domain", `Path "/"`}},
		{"host in lower case", session.Config{Cookie: "__host-sid", Secure: true, Domain: "example.com"}, []string{"no Domain", "__host-"}},
		{"host-http", session.Config{Cookie: "__Host-Http-sid", Path: "/app", Secure: true}, []string{`Path "/"`}},
		{"secure without Secure", session.Config{Cookie: "__Secure-sid", Domain: "example.com", Path: "/app"}, []string{"Secure: true", "__Secure-"}},
		{"secure in upper case", session.Config{Cookie: "__SECURE-sid"}, []string{"Secure: true"}},
		{"http without Secure", session.Config{Cookie: "__Http-sid"}, []string{"Secure: true"}},
		{"partitioned without Secure", session.Config{Partitioned: true}, []string{"Partitioned", "Secure: true"}},
		{"host", session.Config{Cookie: "__Host-sid", Secure: true}, nil},
		{"host with Path /", session.Config{Cookie: "__Host-sid", Secure: true, Path: "/"}, nil},
		{"secure with Domain and Path", session.Config{Cookie: "__Secure-sid", Secure: true, Domain: "example.com", Path: "/app"}, nil},
		{"not a prefix", session.Config{Cookie: "_Host-sid", Domain: "example.com", Path: "/app"}, nil},
		{"partitioned", session.Config{Cookie: "__Host-sid", Secure: true, Partitioned: true, SameSite: http.SameSiteNoneMode}, nil},
	} {
		cfg := tc.cfg
		cfg.Secret, cfg.Driver = base.Secret, base.Driver
		m, err := session.New(cfg)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else {
				m.Close()
			}
			continue
		}
		if m != nil {
			m.Close()
		}
		if !errors.Is(err, session.ErrConfig) || m != nil {
			t.Errorf("%s: New gave error %v; want one wrapping ErrConfig", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
	}
}

// TestPartitionedCookie checks that Partitioned puts the attribute on the
// cookie that sets the session and on the one that expires it.
func TestPartitionedCookie(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{Secure: true, Partitioned: true, SameSite: http.SameSiteNoneMode})
		c := newClient(t, m)
		for _, fn := range []func(*session.Session){
			func(s *session.Session) { s.Put("a", 1) },
			func(s *session.Session) { s.Destroy() },
		} {
			res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { fn(s) })
			ck := sessionCookie(res)
			if ck == nil || !ck.Partitioned || !ck.Secure || !strings.HasSuffix(res.Header.Get("Set-Cookie"), "; Partitioned") {
				t.Errorf("Set-Cookie %q: want Secure and Partitioned", res.Header.Get("Set-Cookie"))
			}
		}
		m2, _ := newManager(t, st, session.Config{Secure: true})
		res := newClient(t, m2).do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("a", 1) })
		if strings.Contains(res.Header.Get("Set-Cookie"), "Partitioned") {
			t.Errorf("Set-Cookie %q: Partitioned without Config.Partitioned", res.Header.Get("Set-Cookie"))
		}
	})
}

// TestConfigFromEnvPartitioned checks SESSION_PARTITIONED.
func TestConfigFromEnvPartitioned(t *testing.T) {
	env := map[string]string{"SESSION_SECRET": testSecret, "SESSION_SECURE": "true", "SESSION_PARTITIONED": "true"}
	cfg, err := session.ConfigFromFunc(func(k string) string { return env[k] })
	if err != nil || !cfg.Partitioned || !cfg.Secure {
		t.Fatalf("SESSION_PARTITIONED=true: %+v, %v", cfg, err)
	}
	env["SESSION_PARTITIONED"] = "chips"
	if _, err := session.ConfigFromFunc(func(k string) string { return env[k] }); !errors.Is(err, session.ErrConfig) || !strings.Contains(err.Error(), "SESSION_PARTITIONED") {
		t.Errorf("SESSION_PARTITIONED=chips: %v, want ErrConfig naming the variable", err)
	}
}
