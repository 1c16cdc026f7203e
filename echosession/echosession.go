// Package echosession puts sessionkit sessions into echo (v4) applications.
//
//	e := echo.New()
//	e.Use(echosession.Middleware(m), echosession.VerifyCSRF(m))
//	e.GET("/", func(c echo.Context) error {
//		s := echosession.From(c)
//		visits, _ := session.GetAs[int](s, "visits")
//		s.Put("visits", visits+1)
//		return c.String(http.StatusOK, fmt.Sprintf("visit %d", visits+1))
//	})
//
// Middleware does what [session.Manager.Middleware] does for net/http: it
// loads the session, and saves it, setting its cookie, just before echo
// sends the response head, whichever of echo's writers sends it (c.JSON,
// c.String, c.Redirect, c.NoContent, c.Stream, c.Response().Flush, ...), or
// when the handler returns having written nothing, before
// e.HTTPErrorHandler answers the error it returned.
//
// echosession is a module of its own (github.com/sessionkit/session/echosession),
// so that applications that do not use echo never download it.
package echosession

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/sessionkit/session"
)

// Middleware returns echo middleware that loads the session of each request
// and saves it before the response head is sent, as m.Middleware does for
// net/http (see [session.Manager.Middleware]). Inside it, [From] and
// session.FromRequest(c.Request()) return the session.
//
// c.Response() stays the same *echo.Response, with its Status, Size,
// Committed and Before/After hooks; only its Writer goes through the
// Manager's writer while the handler runs. An error the handler returns is
// returned unchanged, for the middleware before this one and for
// e.HTTPErrorHandler: the session has been saved by then, and the error
// response carries its cookie; changes the error handler makes to the
// session come too late to be saved (they are logged).
//
// When the store fails, m's Config.ErrorHandler answers (by default a logged
// error and a 500), and c.Response() records its status; when that happens
// before the handler runs, the handler does not run. A handler's panic
// propagates as in echo: the session is not saved, and the Recover
// middleware answers as usual.
func Middleware(m *session.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			h := &handler{c: c, next: next, res: res}
			h.tap = tap{ResponseWriter: res.Writer, res: res}
			defer func() { res.Writer = h.tap.ResponseWriter }()
			m.Middleware(h).ServeHTTP(&h.tap, c.Request())
			return h.err
		}
	}
}

// handler is the net/http handler that Middleware runs inside
// Manager.Middleware: it hands the request that carries the session, and the
// Manager's writer, to the rest of echo's chain.
type handler struct {
	c    echo.Context
	next echo.HandlerFunc
	res  *echo.Response
	tap  tap
	err  error
}

// ServeHTTP runs next with c.Request() = r and c.Response().Writer = w.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.c.SetRequest(r)
	h.res.Writer = w
	h.err = h.next(h.c)
}

// tap is the writer under the Manager's writer: what the Manager's
// ErrorHandler writes when the store fails passes only through it, not
// through c.Response(), so tap records that response's status in
// c.Response(), as echo would have.
type tap struct {
	http.ResponseWriter
	res *echo.Response
}

func (t *tap) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		t.res.Status, t.res.Committed = code, true
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *tap) Write(b []byte) (int, error) {
	if !t.res.Committed { // a body without WriteHeader: 200
		t.res.Status, t.res.Committed = http.StatusOK, true
	}
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer underneath (Flush,
// Hijack, deadlines).
func (t *tap) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// VerifyCSRF returns echo middleware that refuses requests with a method
// other than GET, HEAD, OPTIONS and TRACE that do not carry the session's
// CSRF token (the _token form field or the X-CSRF-Token header), as
// m.VerifyCSRF does for net/http: it answers 403 and does not call the next
// handler. Register it after [Middleware]:
//
//	e.Use(echosession.Middleware(m), echosession.VerifyCSRF(m))
func VerifyCSRF(m *session.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			v := &verdict{c: c, next: next}
			m.VerifyCSRF(v).ServeHTTP(c.Response(), c.Request())
			return v.err
		}
	}
}

// verdict is the handler VerifyCSRF runs behind Manager.VerifyCSRF: it is
// called only when the request passes.
type verdict struct {
	c    echo.Context
	next echo.HandlerFunc
	err  error
}

func (v *verdict) ServeHTTP(_ http.ResponseWriter, r *http.Request) {
	v.c.SetRequest(r)
	v.err = v.next(v.c)
}

// From returns the session of c, or nil when c did not pass [Middleware].
// It is session.FromRequest(c.Request()).
func From(c echo.Context) *session.Session { return session.FromRequest(c.Request()) }
