package echosession_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/echosession"
	"github.com/sessionkit/session/internal/readmetest"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

// newEcho returns an echo instance that logs nothing.
func newEcho() *echo.Echo {
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	return e
}

// sessionCookie returns the session cookie that res sets, or nil.
func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == session.DefaultCookie {
			return c
		}
	}
	return nil
}

// serve runs req through e in the manner of echo's own tests, with cookie c
// (when not nil), and returns the response.
func serve(e *echo.Echo, req *http.Request, c *http.Cookie) *http.Response {
	if c != nil {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t testing.TB, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// put puts key in the session of c, when c has one (the same routes also
// serve an echo without sessions, to show what echo answers on its own).
func put(c echo.Context, key string, value any) {
	if s := echosession.From(c); s != nil {
		s.Put(key, value)
	}
}

// writers are routes that each answer through one of echo's writers.
var writers = map[string]echo.HandlerFunc{
	"json":     func(c echo.Context) error { return c.JSON(http.StatusOK, echo.Map{"ok": true}) },
	"string":   func(c echo.Context) error { return c.String(http.StatusCreated, "hello echo") },
	"html":     func(c echo.Context) error { return c.HTML(http.StatusOK, "<p>hi</p>") },
	"blob":     func(c echo.Context) error { return c.Blob(http.StatusOK, "text/csv", []byte("a,b\n")) },
	"redirect": func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/elsewhere") },
	"no-content": func(c echo.Context) error {
		return c.NoContent(http.StatusNoContent)
	},
	"stream": func(c echo.Context) error {
		return c.Stream(http.StatusOK, "text/plain", strings.NewReader("streamed"))
	},
	"flush": func(c echo.Context) error {
		c.Response().WriteHeader(http.StatusOK)
		c.Response().Flush()
		_, err := io.WriteString(c.Response(), "after flush")
		return err
	},
	"response-controller": func(c echo.Context) error {
		io.WriteString(c.Response(), "before flush")
		return http.NewResponseController(c.Response()).Flush()
	},
	"write-header": func(c echo.Context) error { c.Response().WriteHeader(http.StatusAccepted); return nil },
	"write":        func(c echo.Context) error { _, err := c.Response().Write([]byte("raw")); return err },
	"nothing":      func(c echo.Context) error { return nil },
	"before-hook": func(c echo.Context) error {
		c.Response().Before(func() { put(c, "hook", "saved") }) // runs before the session is saved
		return c.String(http.StatusOK, "hooked")
	},
}

// engines returns an echo with sessions and one with the same routes
// without them.
func engines(m *session.Manager) (withSessions, plain *echo.Echo) {
	withSessions, plain = newEcho(), newEcho()
	withSessions.Use(echosession.Middleware(m))
	for name, h := range writers {
		for _, e := range []*echo.Echo{withSessions, plain} {
			e.Any("/"+name, func(c echo.Context) error { put(c, "writer", name); return h(c) })
		}
	}
	withSessions.GET("/read", func(c echo.Context) error {
		s := echosession.From(c)
		return c.String(http.StatusOK, fmt.Sprint(s.Get("writer", "none"), " ", s.Get("hook", "none")))
	})
	return withSessions, plain
}

// TestWritersSetTheCookie: whichever of echo's writers answers, the
// response sets the session cookie, the session is saved, and status, body
// and headers are what echo answers without sessions.
func TestWritersSetTheCookie(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	e, plain := engines(m)
	for name := range writers {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(name+"/"+method, func(t *testing.T) {
				res := serve(e, httptest.NewRequest(method, "/"+name, nil), nil)
				want := serve(plain, httptest.NewRequest(method, "/"+name, nil), nil)
				c := sessionCookie(res)
				if c == nil {
					t.Fatalf("no session cookie: %v", res.Header)
				}
				got, wantBody := body(t, res), body(t, want)
				if res.StatusCode != want.StatusCode || got != wantBody {
					t.Errorf("answered %d %q, echo alone answers %d %q", res.StatusCode, got, want.StatusCode, wantBody)
				}
				for _, h := range []string{"Content-Type", "Location", "Content-Length"} {
					if res.Header.Get(h) != want.Header.Get(h) {
						t.Errorf("%s: %q, echo alone sends %q", h, res.Header.Get(h), want.Header.Get(h))
					}
				}
				next := serve(e, httptest.NewRequest(http.MethodGet, "/read", nil), c)
				wantRead := name + " none"
				if name == "before-hook" {
					wantRead = name + " saved"
				}
				if b := body(t, next); b != wantRead {
					t.Errorf("next request reads %q, want %q", b, wantRead)
				}
			})
		}
	}
}

// TestResponseKeepsEchoSemantics: c.Response() is the same *echo.Response
// before, inside and after Middleware, and reports Status, Size and
// Committed as echo does at every step.
func TestResponseKeepsEchoSemantics(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	var steps [2][]any
	var outer, inner [2]*echo.Response
	handler := func(i int) echo.HandlerFunc {
		return func(c echo.Context) error {
			put(c, "k", "v")
			res := c.Response()
			inner[i] = res
			rec := func() { steps[i] = append(steps[i], res.Status, res.Size, res.Committed) }
			rec()
			res.Header().Set("X-Before", "1")
			res.WriteHeader(http.StatusCreated)
			rec()
			res.WriteHeader(http.StatusTeapot) // too late: ignored, as in echo
			rec()
			res.Write([]byte("abc"))
			rec()
			res.Flush()
			rec()
			return nil
		}
	}
	for i := range 2 {
		e := newEcho()
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error { outer[i] = c.Response(); return next(c) }
		})
		if i == 0 {
			e.Use(echosession.Middleware(m))
		}
		e.GET("/", handler(i))
		res := serve(e, httptest.NewRequest("GET", "/", nil), nil)
		if res.StatusCode != http.StatusCreated || res.Header.Get("X-Before") != "1" || (i == 0) != (sessionCookie(res) != nil) {
			t.Errorf("answered %d %v", res.StatusCode, res.Header)
		}
	}
	if outer[0] != inner[0] {
		t.Error("c.Response() inside Middleware is another *echo.Response")
	}
	if fmt.Sprint(steps[0]) != fmt.Sprint(steps[1]) {
		t.Errorf("Status, Size, Committed: %v; echo alone: %v", steps[0], steps[1])
	}
}

// TestFrom: From and session.FromRequest(c.Request()) give the same
// session, along the whole chain.
func TestFrom(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	e := newEcho()
	var ids []string
	e.Use(echosession.Middleware(m), func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if echosession.From(c) != session.FromRequest(c.Request()) {
				t.Error("From(c) is not session.FromRequest(c.Request())")
			}
			ids = append(ids, echosession.From(c).ID())
			err := next(c)
			ids = append(ids, echosession.From(c).ID())
			return err
		}
	})
	e.GET("/", func(c echo.Context) error {
		ids = append(ids, echosession.From(c).ID())
		return c.String(http.StatusOK, echosession.From(c).Token())
	})
	serve(e, httptest.NewRequest("GET", "/", nil), nil)
	if len(ids) != 3 || ids[0] == "" || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("IDs along the chain: %q", ids)
	}

	plain := newEcho()
	plain.GET("/", func(c echo.Context) error {
		if echosession.From(c) != nil {
			t.Error("From outside Middleware is not nil")
		}
		return nil
	})
	serve(plain, httptest.NewRequest("GET", "/", nil), nil)
}

// TestMiddlewareTwice: Middleware on the instance and again on a group with
// the same Manager loads and saves one session.
func TestMiddlewareTwice(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	e := newEcho()
	e.Use(echosession.Middleware(m))
	g := e.Group("/g", echosession.Middleware(m))
	g.GET("/", func(c echo.Context) error {
		put(c, "n", 1)
		return c.String(http.StatusOK, "ok")
	})
	res := serve(e, httptest.NewRequest("GET", "/g/", nil), nil)
	if n := len(res.Header.Values("Set-Cookie")); n != 1 || res.StatusCode != 200 {
		t.Fatalf("%d, %d Set-Cookie headers, want 200 and 1", res.StatusCode, n)
	}
}

// TestVerifyCSRFStops: a POST without the token gets the Manager's 403 and
// no later middleware or handler runs; with the token (form field or
// header) the chain goes on and the form is still readable.
func TestVerifyCSRFStops(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	e := newEcho()
	var ran []string
	e.Use(echosession.Middleware(m), echosession.VerifyCSRF(m), func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { ran = append(ran, "middleware"); return next(c) }
	})
	e.GET("/form", func(c echo.Context) error { return c.String(http.StatusOK, echosession.From(c).Token()) })
	e.POST("/submit", func(c echo.Context) error {
		ran = append(ran, "handler")
		return c.String(http.StatusOK, "got "+c.FormValue("name"))
	})

	res := serve(e, httptest.NewRequest("GET", "/form", nil), nil)
	cookie, token := sessionCookie(res), body(t, res)
	ran = nil

	post := func(form url.Values, header string) *http.Response {
		req := httptest.NewRequest("POST", "/submit", strings.NewReader(form.Encode()))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
		if header != "" {
			req.Header.Set("X-CSRF-Token", header)
		}
		return serve(e, req, cookie)
	}
	for name, tc := range map[string]struct {
		form   url.Values
		header string
	}{
		"none":          {url.Values{"name": {"ana"}}, ""},
		"forged field":  {url.Values{"name": {"ana"}, "_token": {"forged"}}, ""},
		"forged header": {url.Values{"name": {"ana"}}, "forged"},
	} {
		res := post(tc.form, tc.header)
		if res.StatusCode != http.StatusForbidden || len(ran) != 0 {
			t.Errorf("%s: %d, ran %v; want 403 and nothing run", name, res.StatusCode, ran)
		}
		ran = nil
	}
	for name, tc := range map[string]struct {
		form   url.Values
		header string
	}{
		"field":  {url.Values{"name": {"ana"}, "_token": {token}}, ""},
		"header": {url.Values{"name": {"ana"}}, token},
	} {
		res := post(tc.form, tc.header)
		if b := body(t, res); res.StatusCode != http.StatusOK || b != "got ana" || len(ran) != 2 {
			t.Errorf("%s: %d %q, ran %v; want 200, the form, both run", name, res.StatusCode, b, ran)
		}
		ran = nil
	}
}

// TestErrorHandling: echo's ways of answering errors answer as they do
// without sessions, set the cookie, and the error reaches the middleware
// before Middleware unchanged.
func TestErrorHandling(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	errTeapot := echo.NewHTTPError(http.StatusTeapot, "short and stout")
	for _, tc := range []struct {
		name       string
		handler    echo.HandlerFunc
		recover    int // 0: no Recover; 1: before Middleware; 2: after
		custom     bool
		wantStatus int
		wantBody   string
		wantErr    bool
		wantCookie bool
	}{
		{"plain error", func(c echo.Context) error { return errors.New("boom") }, 0, false,
			500, `{"message":"Internal Server Error"}` + "\n", true, true},
		{"echo.NewHTTPError", func(c echo.Context) error { return errTeapot }, 0, false,
			418, `{"message":"short and stout"}` + "\n", true, true},
		{"custom HTTPErrorHandler", func(c echo.Context) error { return errTeapot }, 0, true,
			418, "custom: short and stout", true, true},
		{"c.Error in the handler", func(c echo.Context) error { c.Error(errTeapot); return nil }, 0, false,
			418, `{"message":"short and stout"}` + "\n", false, true},
		{"error after writing", func(c echo.Context) error { c.String(http.StatusOK, "partial"); return errors.New("late") }, 0, false,
			200, "partial", true, true},
		{"panic, Recover after Middleware", func(c echo.Context) error { panic("boom") }, 2, false,
			500, `{"message":"Internal Server Error"}` + "\n", true, true},
		{"panic, Recover before Middleware", func(c echo.Context) error { panic("boom") }, 1, false,
			500, `{"message":"Internal Server Error"}` + "\n", true, false}, // the request failed before its response began: nothing saved
	} {
		t.Run(tc.name, func(t *testing.T) {
			var res [2]*http.Response
			var errs [2]error
			for i, withSessions := range []bool{true, false} {
				e := newEcho()
				if tc.custom {
					e.HTTPErrorHandler = func(err error, c echo.Context) {
						if c.Response().Committed {
							return
						}
						var he *echo.HTTPError
						if errors.As(err, &he) {
							c.String(he.Code, fmt.Sprint("custom: ", he.Message))
						}
					}
				}
				e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
					return func(c echo.Context) error { errs[i] = next(c); return errs[i] }
				})
				rec := middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true, DisableErrorHandler: true})
				if tc.recover == 1 {
					e.Use(rec)
				}
				if withSessions {
					e.Use(echosession.Middleware(m))
				}
				if tc.recover == 2 {
					e.Use(rec)
				}
				e.GET("/", func(c echo.Context) error { put(c, "k", "v"); return tc.handler(c) })
				res[i] = serve(e, httptest.NewRequest("GET", "/", nil), nil)
			}
			got, want := body(t, res[0]), body(t, res[1])
			if res[0].StatusCode != tc.wantStatus || got != tc.wantBody {
				t.Errorf("answered %d %q, want %d %q", res[0].StatusCode, got, tc.wantStatus, tc.wantBody)
			}
			if res[0].StatusCode != res[1].StatusCode || got != want || res[0].Header.Get("Content-Type") != res[1].Header.Get("Content-Type") {
				t.Errorf("answered %d %q, echo alone %d %q", res[0].StatusCode, got, res[1].StatusCode, want)
			}
			if (errs[0] != nil) != tc.wantErr || fmt.Sprint(errs[0]) != fmt.Sprint(errs[1]) {
				t.Errorf("the middleware outside got %v, echo alone %v", errs[0], errs[1])
			}
			if got := sessionCookie(res[0]) != nil; got != tc.wantCookie {
				t.Errorf("session cookie sent: %v, want %v", got, tc.wantCookie)
			}
		})
	}
}

// flakyStore is the memory store, failing on demand.
type flakyStore struct {
	session.Store
	failLoad, failSave atomic.Bool
}

var errDown = errors.New("store is down")

func (s *flakyStore) Load(ctx context.Context, id string) ([]byte, time.Time, bool, error) {
	if s.failLoad.Load() {
		return nil, time.Time{}, false, errDown
	}
	return s.Store.Load(ctx, id)
}

func (s *flakyStore) Update(ctx context.Context, id string, fn func([]byte, bool) ([]byte, time.Time, error)) error {
	if s.failSave.Load() {
		return errDown
	}
	return s.Store.Update(ctx, id, fn)
}

// TestStoreFailure: when the store fails, the Manager's ErrorHandler
// answers (500) alone, c.Response() records it for the middleware outside
// (so that e.HTTPErrorHandler does not answer a second time), and a session
// that cannot be loaded runs no handler.
func TestStoreFailure(t *testing.T) {
	store := &flakyStore{Store: memstore.New()}
	m := storetest.NewManager(t, store, session.Config{})
	var status []int
	handled := 0
	e := newEcho()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			status = append(status, c.Response().Status)
			if !c.Response().Committed {
				t.Error("the ErrorHandler's response is not recorded as committed")
			}
			return err
		}
	}, echosession.Middleware(m))
	e.GET("/json", func(c echo.Context) error {
		handled++
		put(c, "k", "v")
		return c.JSON(http.StatusOK, echo.Map{"handler": "answered"})
	})
	e.GET("/nothing", func(c echo.Context) error { handled++; put(c, "k", "v"); return nil })
	e.GET("/no-content", func(c echo.Context) error { handled++; put(c, "k", "v"); return c.NoContent(http.StatusAccepted) })
	e.GET("/error", func(c echo.Context) error {
		handled++
		put(c, "k", "v")
		return echo.NewHTTPError(http.StatusTeapot, "handler")
	})

	cookie := sessionCookie(serve(e, httptest.NewRequest("GET", "/json", nil), nil))
	if cookie == nil {
		t.Fatal("no cookie")
	}
	store.failSave.Store(true)
	for _, path := range []string{"/json", "/nothing", "/no-content", "/error"} {
		status, handled = nil, 0
		res := serve(e, httptest.NewRequest("GET", path, nil), cookie)
		if b := body(t, res); res.StatusCode != 500 || strings.Contains(b, "handler") || sessionCookie(res) != nil {
			t.Errorf("save fails, %s: %d %q, cookie %v; want the ErrorHandler's 500 alone", path, res.StatusCode, b, sessionCookie(res))
		}
		if len(status) != 1 || status[0] != 500 || handled != 1 {
			t.Errorf("save fails, %s: the middleware outside saw status %v, handler ran %d times", path, status, handled)
		}
	}
	store.failSave.Store(false)
	store.failLoad.Store(true)
	status, handled = nil, 0
	res := serve(e, httptest.NewRequest("GET", "/json", nil), cookie)
	if res.StatusCode != 500 || handled != 0 || len(status) != 1 || status[0] != 500 {
		t.Errorf("load fails: %d, handler ran %d times, outside saw %v; want 500 and no handler", res.StatusCode, handled, status)
	}
	store.failLoad.Store(false)
	if res := serve(e, httptest.NewRequest("GET", "/json", nil), cookie); res.StatusCode != 200 {
		t.Errorf("store back: %d", res.StatusCode)
	}
}

// app is a small echo application: values across requests, flash across a
// redirect, a CSRF-protected form, log in with Regenerate, a stream.
func app(m *session.Manager, release chan struct{}) *echo.Echo {
	e := newEcho()
	e.Use(middleware.Recover(), echosession.Middleware(m), echosession.VerifyCSRF(m))
	e.GET("/put", func(c echo.Context) error {
		echosession.From(c).Put("colour", c.QueryParam("colour"))
		return c.String(http.StatusOK, "put")
	})
	e.GET("/get", func(c echo.Context) error {
		return c.String(http.StatusOK, fmt.Sprint(echosession.From(c).Get("colour", "none")))
	})
	e.GET("/token", func(c echo.Context) error { return c.String(http.StatusOK, echosession.From(c).Token()) })
	e.POST("/save", func(c echo.Context) error {
		echosession.From(c).Flash("status", "saved "+c.FormValue("name"))
		return c.Redirect(http.StatusSeeOther, "/show")
	})
	e.GET("/show", func(c echo.Context) error {
		return c.String(http.StatusOK, fmt.Sprint(echosession.From(c).Get("status", "no message")))
	})
	e.POST("/login", func(c echo.Context) error {
		s := echosession.From(c)
		if err := s.Regenerate(); err != nil {
			return err
		}
		s.Put("user", "ana")
		return c.JSON(http.StatusOK, echo.Map{"user": "ana"})
	})
	e.GET("/events", func(c echo.Context) error {
		echosession.From(c).Put("streamed", true)
		res := c.Response()
		res.Header().Set(echo.HeaderContentType, "text/event-stream")
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(res, "data: %d\n\n", i)
			res.Flush()
			if i == 1 {
				<-release // the client has the head and the first event
			}
		}
		return nil
	})
	return e
}

// TestFlowThroughServer runs app on a real server with a client that keeps
// cookies, as a browser does.
func TestFlowThroughServer(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	release := make(chan struct{})
	srv := httptest.NewServer(app(m, release))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	u, _ := url.Parse(srv.URL)

	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return res, body(t, res)
	}
	postForm := func(path string, form url.Values) (*http.Response, string) {
		t.Helper()
		res, err := client.PostForm(srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return res, body(t, res)
	}
	current := func() string {
		for _, c := range jar.Cookies(u) {
			if c.Name == session.DefaultCookie {
				return c.Value
			}
		}
		return ""
	}

	if _, b := get("/get"); b != "none" {
		t.Fatalf("new visitor reads %q", b)
	}
	if current() != "" {
		t.Error("a visitor whose session is untouched got a cookie")
	}
	get("/put?colour=teal")
	if _, b := get("/get"); b != "teal" {
		t.Errorf("put, then the next request reads %q", b)
	}

	_, token := get("/token")
	if res, _ := postForm("/save", url.Values{"name": {"draft"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("POST without the token: %d, want 403", res.StatusCode)
	}
	if res, _ := postForm("/save", url.Values{"name": {"draft"}, "_token": {"forged"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("POST with a forged token: %d, want 403", res.StatusCode)
	}
	if _, b := get("/show"); b != "no message" {
		t.Errorf("a refused POST left a flash message: %q", b)
	}
	res, b := postForm("/save", url.Values{"name": {"draft"}, "_token": {token}})
	if res.StatusCode != 200 || b != "saved draft" || res.Request.URL.Path != "/show" {
		t.Errorf("POST with the token, redirected: %d %q at %s", res.StatusCode, b, res.Request.URL.Path)
	}
	if _, b := get("/show"); b != "no message" {
		t.Errorf("flash read a second time: %q", b)
	}

	before := current()
	res, b = postForm("/login", url.Values{"_token": {token}})
	if res.StatusCode != 200 || b != `{"user":"ana"}`+"\n" {
		t.Fatalf("login: %d %q", res.StatusCode, b)
	}
	if after := current(); after == before || after == "" {
		t.Error("Regenerate did not change the cookie")
	}
	if _, b := get("/get"); b != "teal" {
		t.Errorf("after Regenerate the data reads %q", b)
	}
	if _, newToken := get("/token"); newToken == token {
		t.Error("Regenerate kept the CSRF token")
	}

	// Streaming: the head, with the cookie, leaves with the first event,
	// while the handler still waits.
	jar2, _ := cookiejar.New(nil)
	sres, err := (&http.Client{Jar: jar2}).Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer sres.Body.Close()
	if sessionCookie(sres) == nil || sres.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("stream head: %v", sres.Header)
	}
	first, err := bufio.NewReader(sres.Body).ReadString('\n')
	if err != nil || first != "data: 1\n" {
		t.Errorf("first event: %q, %v", first, err)
	}
	close(release)
	io.Copy(io.Discard, sres.Body)
}

// TestHijack: a handler can take over the connection through c.Response(),
// as a WebSocket upgrade does.
func TestHijack(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	e := newEcho()
	e.Use(echosession.Middleware(m))
	e.GET("/raw", func(c echo.Context) error {
		echosession.From(c).Put("hijacked", true)
		conn, rw, err := c.Response().Hijack()
		if err != nil {
			return err
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nraw")
		return rw.Flush()
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/raw")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if b := body(t, res); b != "raw" {
		t.Errorf("hijacked response: %q", b)
	}
}

// TestREADME: the wiring code of the README's echo section is this
// package's tested code, line for line (imports aside).
func TestREADME(t *testing.T) {
	readmetest.Check(t, "../README.md", "echo", "example_test.go")
}
