package session_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// TestCSRFNames: Config.CSRFField and Config.CSRFHeader replace _token and
// X-CSRF-Token (as applications coming from nosurf or gorilla/csrf name
// them); the default names are then not read.
func TestCSRFNames(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{CSRFField: "csrf_token", CSRFHeader: "X-XSRF-TOKEN"})
		c := newClient(t, m)
		var tok, masked string
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			tok, masked = s.Token(), s.MaskedToken()
		})
		for _, tc := range []struct {
			name   string
			form   url.Values
			header http.Header
			ok     bool
		}{
			{"configured field", url.Values{"csrf_token": {tok}}, nil, true},
			{"configured field, masked", url.Values{"csrf_token": {masked}}, nil, true},
			{"configured header", nil, http.Header{"X-Xsrf-Token": {tok}}, true},
			{"default field", url.Values{"_token": {tok}}, nil, false},
			{"default header", nil, http.Header{"X-Csrf-Token": {tok}}, false},
		} {
			called := false
			res := c.post(tc.form, tc.header, func(http.ResponseWriter, *http.Request, *session.Session) { called = true })
			if ok := res.StatusCode == http.StatusOK && called; ok != tc.ok {
				t.Errorf("%s: status %d, called %v; want passed = %v", tc.name, res.StatusCode, called, tc.ok)
			}
		}
		// In a multipart body too.
		body, ct, _ := multipartBody([][2]string{{"_token", tok}, {"csrf_token", tok}}, -1)
		r := httptest.NewRequest("POST", "/", body)
		r.Header.Set("Content-Type", ct)
		called := false
		if res := c.send(r, m.Middleware(m.VerifyCSRF(wrap(func(http.ResponseWriter, *http.Request, *session.Session) { called = true })))); res.StatusCode != http.StatusOK || !called {
			t.Errorf("configured field in a multipart body: status %d", res.StatusCode)
		}
	})
}

// TestCSRFFailureHandler: Config.CSRFFailureHandler answers a refused request
// instead of the default 403, with an error wrapping ErrCSRF (and
// ErrCrossOrigin for a cross-origin one); the handler is not called and the
// session stays as it was, whatever the failure handler does with it.
func TestCSRFFailureHandler(t *testing.T) {
	var got error
	m, logs := newManager(t, memstore.New(), session.Config{
		CSRFFailureHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			if s := session.FromRequest(r); s != nil {
				s.Put("failed", true) // not saved
				s.Flash("msg", "changed")
			}
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(419)
			io.WriteString(w, "Page expired")
		},
	})
	c := newClient(t, m)
	var tok string
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		tok = s.Token()
		s.Flash("msg", "once")
	})
	called := false
	next := func(http.ResponseWriter, *http.Request, *session.Session) { called = true }

	res := c.post(url.Values{"_token": {"forged"}}, nil, next)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 419 || string(body) != "Page expired" || called {
		t.Fatalf("forged token: %d %q, handler called %v; want the failure handler's 419", res.StatusCode, body, called)
	}
	if !errors.Is(got, session.ErrCSRF) || errors.Is(got, session.ErrCrossOrigin) || !strings.HasPrefix(got.Error(), "session: ") || strings.Contains(got.Error(), "session: session:") {
		t.Errorf("forged token: err %v; want ErrCSRF, not ErrCrossOrigin", got)
	}
	if sessionCookie(res) != nil {
		t.Error("a refused request set a cookie")
	}

	r := httptest.NewRequest("POST", "http://example.com/", nil)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.Header.Set("X-CSRF-Token", tok)
	if res := c.send(r, m.Middleware(m.VerifyCSRF(wrap(next)))); res.StatusCode != 419 || called {
		t.Fatalf("cross-origin: %d, handler called %v", res.StatusCode, called)
	}
	if !errors.Is(got, session.ErrCSRF) || !errors.Is(got, session.ErrCrossOrigin) {
		t.Errorf("cross-origin: err %v; want ErrCSRF and ErrCrossOrigin", got)
	}
	if c.get("msg") != "once" || c.get("failed") != nil {
		t.Error("the failure handler's changes to the session were saved")
	}
	if !strings.Contains(logs.String(), "CSRF check failed") {
		t.Error("refusals not logged")
	}

	// Outside Middleware, the failure handler answers too.
	got = nil
	rec := httptest.NewRecorder()
	m.VerifyCSRF(wrap(next)).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	if rec.Code != 419 || called || !errors.Is(got, session.ErrCSRF) {
		t.Errorf("outside Middleware: %d, called %v, err %v", rec.Code, called, got)
	}
}

// TestCSRFDefaultFailure: without a failure handler a refusal is a 403 whose
// body says why.
func TestCSRFDefaultFailure(t *testing.T) {
	m, _ := newManager(t, memstore.New(), session.Config{})
	c := newClient(t, m)
	res := c.post(nil, nil, nil)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "CSRF token") {
		t.Errorf("%d %q", res.StatusCode, body)
	}
}

// TestCSRFNamesValidated: New refuses a CSRFHeader that is not a header
// name.
func TestCSRFNamesValidated(t *testing.T) {
	for _, cfg := range []session.Config{
		{CSRFHeader: "X CSRF"},
		{CSRFHeader: "X-CSRF:"},
		{CSRFHeader: "X-Tökén"},
	} {
		cfg.Secret, cfg.Driver = testSecret, "memory"
		if _, err := session.New(cfg); !errors.Is(err, session.ErrConfig) {
			t.Errorf("%q %q: err %v, want ErrConfig", cfg.CSRFField, cfg.CSRFHeader, err)
		}
	}
}

// TestCSRFTwoManagers: under two Managers' Middleware, each VerifyCSRF checks
// the token of its own Manager's session.
func TestCSRFTwoManagers(t *testing.T) {
	outer, _ := newManager(t, memstore.New(), session.Config{Cookie: "site"})
	inner, _ := newManager(t, memstore.New(), session.Config{Cookie: "admin"})
	var siteTok, adminTok string
	chain := func(h http.Handler) http.Handler { return outer.Middleware(inner.Middleware(h)) }
	c := newClient(t, outer)
	c.send(httptest.NewRequest("GET", "/", nil), chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		siteTok, adminTok = outer.FromRequest(r).Token(), inner.FromRequest(r).Token()
	})))
	for _, tc := range []struct {
		name string
		m    *session.Manager
		tok  string
		ok   bool
	}{
		{"outer, its token", outer, siteTok, true},
		{"outer, inner's token", outer, adminTok, false},
		{"inner, its token", inner, adminTok, true},
		{"inner, outer's token", inner, siteTok, false},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("X-CSRF-Token", tc.tok)
		called := false
		res := c.send(r, chain(tc.m.VerifyCSRF(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))))
		if ok := res.StatusCode == http.StatusOK && called; ok != tc.ok {
			t.Errorf("%s: status %d, called %v; want passed = %v", tc.name, res.StatusCode, called, tc.ok)
		}
	}
}
