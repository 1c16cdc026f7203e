package ginsession_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/ginsession"
	"github.com/sessionkit/session/internal/readmetest"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
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

// serve runs req through h in the manner of gin's own tests, with cookie c
// (when not nil), and returns the response.
func serve(h http.Handler, req *http.Request, c *http.Cookie) *http.Response {
	if c != nil {
		req.AddCookie(c)
	}
	w := recorder{httptest.NewRecorder()}
	h.ServeHTTP(w, req)
	return w.Result()
}

// recorder is httptest's ResponseRecorder with the CloseNotify that
// gin's c.Stream needs (as in gin's own tests); its client never goes away.
type recorder struct{ *httptest.ResponseRecorder }

func (recorder) CloseNotify() <-chan bool { return nil }

func body(t testing.TB, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// put puts key in the session of c, when c has one (the same routes also
// serve an engine without sessions, to show what gin answers on its own).
func put(c *gin.Context, key string, value any) {
	if s := ginsession.From(c); s != nil {
		s.Put(key, value)
	}
}

// writers are routes that each answer through one of gin's writers, after
// putting the writer's name into the session.
var writers = map[string]gin.HandlerFunc{
	"json":   func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) },
	"string": func(c *gin.Context) { c.String(http.StatusCreated, "hello %s", "gin") },
	"redirect": func(c *gin.Context) {
		c.Redirect(http.StatusSeeOther, "/elsewhere")
	},
	"data": func(c *gin.Context) { c.Data(http.StatusOK, "text/csv", []byte("a,b\n")) },
	"data-from-reader": func(c *gin.Context) {
		c.DataFromReader(http.StatusOK, 4, "text/plain", strings.NewReader("read"), map[string]string{"X-Extra": "1"})
	},
	"stream": func(c *gin.Context) {
		n := 0
		c.Stream(func(w io.Writer) bool {
			n++
			io.WriteString(w, "chunk ")
			return n < 3
		})
	},
	"sse":               func(c *gin.Context) { c.SSEvent("message", "hello"); c.Writer.Flush() },
	"write-header-now":  func(c *gin.Context) { c.Status(http.StatusAccepted); c.Writer.WriteHeaderNow() },
	"abort-with-status": func(c *gin.Context) { c.AbortWithStatus(http.StatusUnauthorized) },
	"abort-with-status-json": func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": "bad"})
	},
	"status-only":  func(c *gin.Context) { c.Status(http.StatusNoContent) }, // gin sends the head after the chain
	"nothing":      func(c *gin.Context) {},
	"write":        func(c *gin.Context) { c.Writer.Write([]byte("raw")) },
	"write-string": func(c *gin.Context) { c.Writer.WriteString("raw string") },
	"flush":        func(c *gin.Context) { c.Writer.Flush(); io.WriteString(c.Writer, "after flush") },
	"response-controller": func(c *gin.Context) {
		http.NewResponseController(c.Writer).Flush()
		io.WriteString(c.Writer, "after flush")
	},
	"header-after-status": func(c *gin.Context) {
		c.Status(http.StatusCreated) // records the status only, as in gin
		c.Header("X-Late", "still sent")
		put(c, "late", "saved") // nothing has been sent: saved
		c.String(http.StatusCreated, "created")
	},
}

// engines returns an engine with sessions and the same routes without them.
func engines(m *session.Manager) (withSessions, plain *gin.Engine) {
	withSessions, plain = gin.New(), gin.New()
	withSessions.Use(ginsession.Middleware(m))
	for name, h := range writers {
		for _, e := range []*gin.Engine{withSessions, plain} {
			e.Any("/"+name, func(c *gin.Context) { put(c, "writer", name) }, h)
		}
	}
	withSessions.GET("/read", func(c *gin.Context) {
		s := ginsession.From(c)
		c.String(http.StatusOK, "%v %v", s.Get("writer", "none"), s.Get("late", "none"))
	})
	return withSessions, plain
}

// TestWritersSetTheCookie: whichever of gin's writers answers, and for GET
// and POST alike (http.Redirect writes no body for POST), the response sets
// the session cookie, the session is saved, and status, body and headers
// are what gin answers without sessions.
func TestWritersSetTheCookie(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	r, plain := engines(m)
	for name := range writers {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(name+"/"+method, func(t *testing.T) {
				res := serve(r, httptest.NewRequest(method, "/"+name, nil), nil)
				want := serve(plain, httptest.NewRequest(method, "/"+name, nil), nil)
				c := sessionCookie(res)
				if c == nil {
					t.Fatalf("no session cookie: %v", res.Header)
				}
				got, wantBody := body(t, res), body(t, want)
				if res.StatusCode != want.StatusCode || got != wantBody {
					t.Errorf("answered %d %q, gin alone answers %d %q", res.StatusCode, got, want.StatusCode, wantBody)
				}
				for _, h := range []string{"Content-Type", "Location", "X-Extra", "X-Late", "Content-Length"} {
					if res.Header.Get(h) != want.Header.Get(h) {
						t.Errorf("%s: %q, gin alone sends %q", h, res.Header.Get(h), want.Header.Get(h))
					}
				}
				next := serve(r, httptest.NewRequest(http.MethodGet, "/read", nil), c)
				wantRead := name + " none"
				if name == "header-after-status" {
					wantRead = name + " saved"
				}
				if b := body(t, next); b != wantRead {
					t.Errorf("next request reads %q, want %q", b, wantRead)
				}
			})
		}
	}
}

// TestWriterKeepsGinSemantics: inside Middleware, c.Writer reports Status,
// Size and Written as gin's own writer does at every step.
func TestWriterKeepsGinSemantics(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	var steps [2][]any
	handler := func(i int) gin.HandlerFunc {
		return func(c *gin.Context) {
			put(c, "k", "v")
			w := c.Writer
			rec := func() { steps[i] = append(steps[i], w.Status(), w.Size(), w.Written()) }
			rec()
			c.Status(http.StatusCreated)
			rec()
			c.Header("X-After-Status", "1")
			w.WriteHeaderNow()
			rec()
			w.WriteHeader(http.StatusTeapot) // too late: ignored, as in gin
			rec()
			w.Write([]byte("abc"))
			rec()
			w.WriteString("de")
			rec()
			w.Flush()
			rec()
		}
	}
	r, plain := gin.New(), gin.New()
	r.Use(ginsession.Middleware(m))
	r.GET("/", handler(0))
	plain.GET("/", handler(1))
	res := serve(r, httptest.NewRequest("GET", "/", nil), nil)
	serve(plain, httptest.NewRequest("GET", "/", nil), nil)
	if sessionCookie(res) == nil || res.StatusCode != http.StatusCreated || res.Header.Get("X-After-Status") != "1" {
		t.Errorf("answered %d %v", res.StatusCode, res.Header)
	}
	if len(steps[0]) != len(steps[1]) {
		t.Fatalf("steps %v, gin alone %v", steps[0], steps[1])
	}
	for i := range steps[0] {
		if steps[0][i] != steps[1][i] {
			t.Fatalf("Status, Size, Written: %v; gin alone: %v", steps[0], steps[1])
		}
	}
}

// TestFrom: From and session.FromRequest(c.Request) give the same session,
// which has the same ID in every handler and middleware of the chain.
func TestFrom(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	r := gin.New()
	var ids []string
	r.Use(ginsession.Middleware(m), func(c *gin.Context) {
		if ginsession.From(c) != session.FromRequest(c.Request) {
			t.Error("From(c) is not session.FromRequest(c.Request)")
		}
		ids = append(ids, ginsession.From(c).ID())
		c.Next()
		ids = append(ids, ginsession.From(c).ID())
	})
	r.GET("/", func(c *gin.Context) {
		ids = append(ids, ginsession.From(c).ID())
		c.String(http.StatusOK, "%s", ginsession.From(c).Token())
	})
	serve(r, httptest.NewRequest("GET", "/", nil), nil)
	if len(ids) != 3 || ids[0] == "" || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("IDs along the chain: %q", ids)
	}

	plain := gin.New()
	plain.GET("/", func(c *gin.Context) {
		if ginsession.From(c) != nil {
			t.Error("From outside Middleware is not nil")
		}
	})
	serve(plain, httptest.NewRequest("GET", "/", nil), nil)
}

// TestMiddlewareTwice: Middleware on the engine and again on a group with
// the same Manager loads and saves one session.
func TestMiddlewareTwice(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	r := gin.New()
	r.Use(ginsession.Middleware(m))
	g := r.Group("/g", ginsession.Middleware(m))
	var outer *session.Session
	g.GET("/", func(c *gin.Context) {
		put(c, "n", 1)
		outer = ginsession.From(c)
		c.String(http.StatusOK, "ok")
	})
	res := serve(r, httptest.NewRequest("GET", "/g/", nil), nil)
	if n := len(res.Header.Values("Set-Cookie")); n != 1 || outer == nil {
		t.Fatalf("%d Set-Cookie headers, want 1", n)
	}
}

// TestVerifyCSRFAborts: a POST without the token gets the Manager's 403 and
// no later middleware or handler runs; with the token (form field or
// header), the chain goes on and the form is still readable.
func TestVerifyCSRFAborts(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	r := gin.New()
	var ran []string
	r.Use(ginsession.Middleware(m), ginsession.VerifyCSRF(m), func(c *gin.Context) { ran = append(ran, "middleware") })
	r.GET("/form", func(c *gin.Context) { c.String(http.StatusOK, ginsession.From(c).Token()) })
	r.POST("/submit", func(c *gin.Context) {
		ran = append(ran, "handler")
		c.String(http.StatusOK, "got %s", c.PostForm("name"))
	})

	res := serve(r, httptest.NewRequest("GET", "/form", nil), nil)
	cookie, token := sessionCookie(res), body(t, res)
	ran = nil

	post := func(form url.Values, header string) *http.Response {
		req := httptest.NewRequest("POST", "/submit", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if header != "" {
			req.Header.Set("X-CSRF-Token", header)
		}
		return serve(r, req, cookie)
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		header string
	}{
		{"none", url.Values{"name": {"ana"}}, ""},
		{"forged field", url.Values{"name": {"ana"}, "_token": {"forged"}}, ""},
		{"forged header", url.Values{"name": {"ana"}}, "forged"},
	} {
		res := post(tc.form, tc.header)
		if res.StatusCode != http.StatusForbidden || len(ran) != 0 {
			t.Errorf("%s: %d, ran %v; want 403 and nothing run", tc.name, res.StatusCode, ran)
		}
		ran = nil
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		header string
	}{
		{"field", url.Values{"name": {"ana"}, "_token": {token}}, ""},
		{"header", url.Values{"name": {"ana"}}, token},
	} {
		res := post(tc.form, tc.header)
		if b := body(t, res); res.StatusCode != http.StatusOK || b != "got ana" || len(ran) != 2 {
			t.Errorf("%s: %d %q, ran %v; want 200, the form, both run", tc.name, res.StatusCode, b, ran)
		}
		ran = nil
	}
}

// TestErrorHandling: gin's ways of answering errors answer as they do
// without sessions, and set the cookie.
func TestErrorHandling(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	errorWriter := func(c *gin.Context) {
		c.Next()
		if len(c.Errors) > 0 {
			c.JSON(http.StatusInternalServerError, gin.H{"errors": c.Errors.Errors()})
		}
	}
	failing := func(c *gin.Context) {
		put(c, "k", "v")
		c.Error(errors.New("boom"))
	}
	panicking := func(c *gin.Context) {
		put(c, "k", "v")
		panic("boom")
	}
	for _, tc := range []struct {
		name       string
		chain      []gin.HandlerFunc // session middleware first
		plain      []gin.HandlerFunc // the same chain without it
		wantStatus int
		wantBody   string
		wantCookie bool
	}{
		{"c.Error, error writer after Middleware",
			[]gin.HandlerFunc{ginsession.Middleware(m), errorWriter, failing},
			[]gin.HandlerFunc{errorWriter, failing},
			500, `{"errors":["boom"]}`, true},
		{"c.Error, error writer before Middleware",
			[]gin.HandlerFunc{errorWriter, ginsession.Middleware(m), failing},
			[]gin.HandlerFunc{errorWriter, failing},
			500, `{"errors":["boom"]}`, true},
		{"AbortWithError",
			[]gin.HandlerFunc{ginsession.Middleware(m), func(c *gin.Context) {
				put(c, "k", "v")
				c.AbortWithError(http.StatusConflict, errors.New("conflict"))
			}, func(c *gin.Context) { t.Error("handler after AbortWithError ran") }},
			[]gin.HandlerFunc{func(c *gin.Context) { c.AbortWithError(http.StatusConflict, errors.New("conflict")) }},
			409, "", true},
		{"panic, Recovery after Middleware",
			[]gin.HandlerFunc{ginsession.Middleware(m), gin.RecoveryWithWriter(io.Discard), panicking},
			[]gin.HandlerFunc{gin.RecoveryWithWriter(io.Discard), panicking},
			500, "", true},
		{"panic, Recovery before Middleware",
			[]gin.HandlerFunc{gin.RecoveryWithWriter(io.Discard), ginsession.Middleware(m), panicking},
			[]gin.HandlerFunc{gin.RecoveryWithWriter(io.Discard), panicking},
			500, "", false}, // the request failed before its response began: nothing is saved
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, plain := gin.New(), gin.New()
			r.GET("/", tc.chain...)
			plain.GET("/", tc.plain...)
			res := serve(r, httptest.NewRequest("GET", "/", nil), nil)
			want := serve(plain, httptest.NewRequest("GET", "/", nil), nil)
			if b := body(t, res); res.StatusCode != tc.wantStatus || b != tc.wantBody {
				t.Errorf("answered %d %q, want %d %q", res.StatusCode, b, tc.wantStatus, tc.wantBody)
			}
			if res.StatusCode != want.StatusCode || res.Header.Get("Content-Type") != want.Header.Get("Content-Type") {
				t.Errorf("answered %d %q, gin alone %d %q", res.StatusCode, res.Header.Get("Content-Type"),
					want.StatusCode, want.Header.Get("Content-Type"))
			}
			if got := sessionCookie(res) != nil; got != tc.wantCookie {
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
// answers (500), no handler's response is mixed into it, gin's writer
// reports the 500 to the middleware outside, and a session that cannot be
// loaded runs no handler.
func TestStoreFailure(t *testing.T) {
	store := &flakyStore{Store: memstore.New()}
	m := storetest.NewManager(t, store, session.Config{})
	var status []int
	handled := 0
	r := gin.New()
	r.Use(func(c *gin.Context) { c.Next(); status = append(status, c.Writer.Status()) }, ginsession.Middleware(m))
	r.GET("/json", func(c *gin.Context) {
		handled++
		put(c, "k", "v")
		c.JSON(http.StatusOK, gin.H{"handler": "answered"})
	})
	r.GET("/status", func(c *gin.Context) { handled++; put(c, "k", "v"); c.Status(http.StatusAccepted) })
	r.GET("/now", func(c *gin.Context) { handled++; put(c, "k", "v"); c.AbortWithStatus(http.StatusAccepted) })
	r.GET("/string", func(c *gin.Context) { handled++; put(c, "k", "v"); c.Writer.WriteString("handler") })

	cookie := sessionCookie(serve(r, httptest.NewRequest("GET", "/json", nil), nil))
	if cookie == nil {
		t.Fatal("no cookie")
	}
	store.failSave.Store(true)
	for _, path := range []string{"/json", "/status", "/now", "/string"} {
		status, handled = nil, 0
		res := serve(r, httptest.NewRequest("GET", path, nil), cookie)
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
	res := serve(r, httptest.NewRequest("GET", "/json", nil), cookie)
	if res.StatusCode != 500 || handled != 0 || len(status) != 1 || status[0] != 500 {
		t.Errorf("load fails: %d, handler ran %d times, outside saw %v; want 500 and no handler", res.StatusCode, handled, status)
	}
	store.failLoad.Store(false)
	if res := serve(r, httptest.NewRequest("GET", "/json", nil), cookie); res.StatusCode != 200 {
		t.Errorf("store back: %d", res.StatusCode)
	}
}

// app is a small gin application: counter, flash across a redirect, a
// CSRF-protected form, log in with Regenerate.
func app(m *session.Manager) *gin.Engine {
	r := gin.New()
	r.Use(gin.Recovery(), ginsession.Middleware(m), ginsession.VerifyCSRF(m))
	r.GET("/put", func(c *gin.Context) {
		ginsession.From(c).Put("colour", c.Query("colour"))
		c.String(http.StatusOK, "put")
	})
	r.GET("/get", func(c *gin.Context) {
		c.String(http.StatusOK, "%v", ginsession.From(c).Get("colour", "none"))
	})
	r.GET("/token", func(c *gin.Context) { c.String(http.StatusOK, "%s", ginsession.From(c).Token()) })
	r.POST("/save", func(c *gin.Context) {
		ginsession.From(c).Flash("status", "saved "+c.PostForm("name"))
		c.Redirect(http.StatusSeeOther, "/show")
	})
	r.GET("/show", func(c *gin.Context) {
		c.String(http.StatusOK, "%v", ginsession.From(c).Get("status", "no message"))
	})
	r.POST("/login", func(c *gin.Context) {
		s := ginsession.From(c)
		if err := s.Regenerate(); err != nil {
			c.AbortWithError(http.StatusInternalServerError, err)
			return
		}
		s.Put("user", "ana")
		c.JSON(http.StatusOK, gin.H{"user": "ana"})
	})
	r.GET("/events", func(c *gin.Context) {
		ginsession.From(c).Put("streamed", true)
		release := streams[c.Query("id")]
		i := 0
		c.Stream(func(w io.Writer) bool {
			i++
			c.SSEvent("tick", i)
			if i == 1 {
				c.Writer.Flush()
				<-release // the client has the head and the first event
			}
			return i < 3
		})
	})
	return r
}

// streams holds the channels TestFlowThroughServer's stream waits on.
var streams = map[string]chan struct{}{}

// TestFlowThroughServer runs the application of app on a real server with a
// client that keeps cookies, as a browser does.
func TestFlowThroughServer(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	srv := httptest.NewServer(app(m))
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
	if res.StatusCode != 200 || b != `{"user":"ana"}` {
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
	release := make(chan struct{})
	streams["1"] = release
	sres, err := (&http.Client{Jar: jar2}).Get(srv.URL + "/events?id=1")
	if err != nil {
		t.Fatal(err)
	}
	defer sres.Body.Close()
	if sessionCookie(sres) == nil || !strings.HasPrefix(sres.Header.Get("Content-Type"), "text/event-stream") {
		t.Errorf("stream head: %v", sres.Header)
	}
	first, err := bufio.NewReader(sres.Body).ReadString('\n')
	if err != nil || first != "event:tick\n" {
		t.Errorf("first event: %q, %v", first, err)
	}
	close(release)
	io.Copy(io.Discard, sres.Body)
}

// TestHijack: a handler can take over the connection through c.Writer, as
// a WebSocket upgrade does; the session is saved first.
func TestHijack(t *testing.T) {
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory"})
	r := gin.New()
	r.Use(ginsession.Middleware(m))
	r.GET("/raw", func(c *gin.Context) {
		ginsession.From(c).Put("hijacked", true)
		conn, rw, err := c.Writer.Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		if !c.Writer.Written() {
			t.Error("after Hijack, Written is false")
		}
		rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nraw")
		rw.Flush()
	})
	srv := httptest.NewServer(r)
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

// TestREADME: the wiring code of the README's gin section is this
// package's tested code, line for line (imports aside).
func TestREADME(t *testing.T) {
	readmetest.Check(t, "../README.md", "gin", "example_test.go")
}
