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
		for _, value := range []string{"", "abc.def-_"} {
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
				t.Errorf("cookie %q with %+v:\n got %s\nwant %s", value, cfg, got, want.String())
			}
		}
	}
}
