package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/readmetest"
)

// TestRouter runs the chi application on a real server with a client that
// keeps cookies: values across requests, the CSRF token from a GET accepted
// on POST and a forged one refused with 403, the flash message shown once
// after the redirect.
func TestRouter(t *testing.T) {
	m, err := session.New(session.Config{Secret: "chi example test secret - 32+ bytes, not for production", Driver: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv := httptest.NewServer(newRouter(m))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	do := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	for _, want := range []string{"visit 1", "visit 2"} {
		if _, b := do("GET", "/", nil); b != want {
			t.Errorf("GET /: %q, want %q", b, want)
		}
	}
	_, page := do("GET", "/form", nil)
	token := regexp.MustCompile(`name="_token" value="([^"]+)"`).FindStringSubmatch(page)
	if token == nil {
		t.Fatalf("no token in %q", page)
	}
	if code, _ := do("POST", "/form", url.Values{"title": {"draft"}, "_token": {"forged"}}); code != http.StatusForbidden {
		t.Errorf("forged POST: %d, want 403", code)
	}
	code, b := do("POST", "/form", url.Values{"title": {"draft"}, "_token": {token[1]}})
	if code != http.StatusOK || !strings.Contains(b, "<p>saved draft</p>") {
		t.Errorf("POST with the token, redirected: %d %q", code, b)
	}
	if _, b := do("GET", "/form", nil); strings.Contains(b, "saved draft") {
		t.Errorf("flash shown twice: %q", b)
	}
}

// TestREADME: the wiring code of the README's chi section is this
// package's tested code, line for line (imports aside).
func TestREADME(t *testing.T) {
	readmetest.Check(t, "../../README.md", "chi", "main.go")
}
