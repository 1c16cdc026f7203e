package session

import (
	"net/http"
	"testing"
	"time"
)

// TestCookieFormatMatchesNetHTTP checks that the Set-Cookie values built from
// pre-formatted parts are what http.Cookie.String writes.
func TestCookieFormatMatchesNetHTTP(t *testing.T) {
	now := time.Date(2026, 11, 23, 13, 14, 15, 999, time.FixedZone("CET", 3600))
	for _, cfg := range []Config{
		{},
		{Cookie: "sid", Path: "/app", Domain: "example.com", Secure: true, SameSite: http.SameSiteStrictMode, Lifetime: 90*time.Minute + 500*time.Millisecond},
		{ExpireOnClose: true, SameSite: http.SameSiteNoneMode, Secure: true},
		{Path: "/a;b", Domain: "bad domain"}, // net/http sanitizes the path and drops the domain
	} {
		cfg.Secret = "s"
		cfg, err := cfg.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		m := &Manager{cfg: cfg, cookieFmt: newCookieFormat(cfg)}
		// The Expires date is cached per second: the same second, the next
		// one, and back again.
		for _, at := range []time.Time{now, now.Add(300 * time.Millisecond), now.Add(time.Second), now} {
			for _, value := range []string{"", "abc.def-_"} {
				checkCookie(t, m, cfg, value, at)
			}
		}
	}
}

func checkCookie(t *testing.T, m *Manager, cfg Config, value string, now time.Time) {
	t.Helper()
	want := http.Cookie{
		Name: cfg.Cookie, Value: value, Path: cfg.Path, Domain: cfg.Domain,
		Secure: cfg.Secure, HttpOnly: true, SameSite: cfg.SameSite,
	}
	switch {
	case value == "":
		want.MaxAge, want.Expires = -1, time.Unix(1, 0)
	case !cfg.ExpireOnClose:
		want.MaxAge = int((cfg.Lifetime + time.Second - 1) / time.Second)
		want.Expires = now.Add(cfg.Lifetime)
	}
	if got := m.cookieWithValue(value, now); got != want.String() {
		t.Errorf("cookie %q at %v with %+v:\n got %s\nwant %s", value, now, cfg, got, want.String())
	}
}

func TestNewIDs(t *testing.T) {
	var id, token string
	newIDs(&id, &token)
	if !validID(id) || !validID(token) || id == token {
		t.Fatalf("newIDs from nothing: %q, %q", id, token)
	}
	keep := id
	token = ""
	newIDs(&id, &token)
	if id != keep || !validID(token) {
		t.Errorf("newIDs with an ID: %q (want %q kept), token %q", id, keep, token)
	}
	keep = token
	id = ""
	newIDs(&id, &token)
	if token != keep || !validID(id) {
		t.Errorf("newIDs with a token: %q (want %q kept), ID %q", token, keep, id)
	}
	seen := map[string]bool{}
	for range 1000 {
		var a, b string
		newIDs(&a, &b)
		if seen[a] || seen[b] {
			t.Fatal("newIDs repeated a value")
		}
		seen[a], seen[b] = true, true
	}
}
