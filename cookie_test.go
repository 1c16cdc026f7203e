package session

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

// sign returns the cookie value for id, as a string (the middleware builds
// it on the stack with signTo).
func (s signer) sign(id string) string {
	var b [cookieValueLen]byte
	return string(s.signTo(&b, id))
}

// TestCookieFormatMatchesNetHTTP checks that the Set-Cookie values built from
// pre-formatted parts are what http.Cookie.String writes.
func TestCookieFormatMatchesNetHTTP(t *testing.T) {
	now := time.Date(2026, 11, 23, 13, 14, 15, 999, time.FixedZone("CET", 3600))
	for _, cfg := range []Config{
		{},
		{Cookie: "sid", Path: "/app", Domain: "example.com", Secure: true, SameSite: http.SameSiteStrictMode, Lifetime: 90*time.Minute + 500*time.Millisecond},
		{ExpireOnClose: true, SameSite: http.SameSiteNoneMode, Secure: true},
		{Path: "/a;b", Domain: "bad domain"}, // net/http sanitizes the path and drops the domain
		{Cookie: "__Host-sid", Secure: true, Partitioned: true, SameSite: http.SameSiteNoneMode},
		{Secure: true, Partitioned: true, ExpireOnClose: true},
	} {
		cfg.Secret = "s - a test secret, not for production"
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
		Secure: cfg.Secure, HttpOnly: true, SameSite: cfg.SameSite, Partitioned: cfg.Partitioned,
	}
	switch {
	case value == "":
		want.MaxAge, want.Expires = -1, time.Unix(1, 0)
	case !cfg.ExpireOnClose:
		want.MaxAge = int((cfg.Lifetime + time.Second - 1) / time.Second)
		want.Expires = now.Add(cfg.Lifetime)
	}
	if got := m.cookieWithValue([]byte(value), now); got != want.String() {
		t.Errorf("cookie %q at %v with %+v:\n got %s\nwant %s", value, now, cfg, got, want.String())
	}
}

func TestNewIDs(t *testing.T) {
	var id, token string
	newIDs(&id, &token, nil)
	if !validID(id) || !validID(token) || id == token {
		t.Fatalf("newIDs from nothing: %q, %q", id, token)
	}
	keep := id
	token = ""
	newIDs(&id, &token, nil)
	if id != keep || !validID(token) {
		t.Errorf("newIDs with an ID: %q (want %q kept), token %q", id, keep, token)
	}
	keep = token
	id = ""
	newIDs(&id, &token, nil)
	if token != keep || !validID(id) {
		t.Errorf("newIDs with a token: %q (want %q kept), ID %q", token, keep, id)
	}
	keepID, keepToken := id, token
	var nonce [nonceLen]byte
	newIDs(&id, &token, nonce[:])
	if id != keepID || token != keepToken || nonce == [nonceLen]byte{} {
		t.Errorf("newIDs with both and a nonce: %q, %q (want them kept), nonce %x", id, token, nonce)
	}
	seen := map[string]bool{}
	for i := range 3000 {
		var a, b string
		var n [nonceLen]byte
		var nonce []byte // every third call also fills a nonce, every third keeps a token
		switch i % 3 {
		case 1:
			nonce = n[:]
		case 2:
			nonce, b = n[:], "kept"
		}
		newIDs(&a, &b, nonce)
		for _, v := range []string{a, b, string(nonce)} {
			if v == "" || v == "kept" {
				continue
			}
			if seen[v] {
				t.Fatal("newIDs repeated a value")
			}
			seen[v] = true
		}
		// Each ID is 32 bytes encoded on its own: canonical base64 that
		// decodes to 32 bytes (one encoding of 64 cut in two would not).
		for _, v := range []string{a, b} {
			if v == "kept" {
				continue
			}
			if raw, err := strictBase64.DecodeString(v); err != nil || len(raw) != 32 {
				t.Fatalf("ID %q does not decode to 32 bytes: %d, %v", v, len(raw), err)
			}
		}
	}
}

// TestAddCookieHeaders checks that addCookieHeaders does what h.Add, h.Add
// and, unless the handler set a Cache-Control that keeps shared caches out,
// h.Set do, whatever the handler set before, and that the three values
// sharing one allocation stay apart when the handler changes them after.
func TestAddCookieHeaders(t *testing.T) {
	const cookie = "session=v; Path=/; HttpOnly"
	for name, before := range map[string]http.Header{
		"nothing set":         {},
		"all three set":       {"Set-Cookie": {"other=1"}, "Vary": {"Accept-Encoding"}, "Cache-Control": {"no-store"}},
		"empty cache control": {"Cache-Control": {""}, "Vary": {}},
		"other headers":       {"Content-Type": {"text/plain"}},
	} {
		want, got := before.Clone(), before.Clone()
		want.Add("Set-Cookie", cookie)
		want.Add("Vary", "Cookie")
		if want.Get("Cache-Control") == "" {
			want.Set("Cache-Control", "private")
		}
		addCookieHeaders(got, cookie)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	h := http.Header{}
	addCookieHeaders(h, cookie)
	h.Add("Set-Cookie", "other=1")
	h.Add("Vary", "Accept-Encoding")
	h["Cache-Control"][0] = "no-store"
	want := http.Header{"Set-Cookie": {cookie, "other=1"}, "Vary": {"Cookie", "Accept-Encoding"}, "Cache-Control": {"no-store"}}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("after the handler's changes: got %v, want %v", h, want)
	}
}
