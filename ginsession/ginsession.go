// Package ginsession puts sessionkit sessions into gin applications.
//
//	r := gin.New()
//	r.Use(ginsession.Middleware(m), ginsession.VerifyCSRF(m))
//	r.GET("/", func(c *gin.Context) {
//		s := ginsession.From(c)
//		visits, _ := session.GetAs[int](s, "visits")
//		s.Put("visits", visits+1)
//		c.String(http.StatusOK, "visit %d", visits+1)
//	})
//
// Middleware does what [session.Manager.Middleware] does for net/http: it
// loads the session, and saves it, setting its cookie, just before gin
// sends the response head, whichever of gin's writers sends it (c.JSON,
// c.String, c.Redirect, c.Stream and c.SSEvent, c.AbortWithStatus,
// c.Writer.WriteHeaderNow, or gin itself when the handlers wrote nothing).
//
// Wrapping Manager.Middleware the way net/http middleware is usually adapted
// to gin (replace c.Request, call c.Next) does not work: gin keeps writing
// through its own c.Writer, which the Manager never sees, so no session is
// saved and no cookie is sent. This package routes c.Writer through the
// Manager's writer instead.
//
// ginsession is a module of its own (github.com/sessionkit/session/ginsession),
// so that applications that do not use gin never download it.
package ginsession

import (
	"bufio"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/session"
)

// Middleware returns gin middleware that loads the session of each request
// and saves it before the response head is sent, as m.Middleware does for
// net/http (see [session.Manager.Middleware]). Inside it, [From] and
// session.FromRequest(c.Request) return the session.
//
// The session is saved, and its cookie set, when the first of gin's writers
// sends the head, or when the handlers after Middleware return having written
// nothing; a middleware registered before Middleware that writes the response
// after c.Next (an error page built from c.Errors, say) then sends the cookie
// too, but its own changes to the session come too late to be saved (they
// are logged). c.Status, like gin's c.Writer.WriteHeader, sends nothing: the
// session can still change until the first byte is written.
//
// When the store fails, m's Config.ErrorHandler answers (by default a logged
// error and a 500), and Middleware aborts the chain when that happens before
// the handlers run. A handler's panic propagates as in gin: the session is
// not saved, and gin.Recovery answers as usual.
func Middleware(m *session.Manager) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := &handler{c: c}
		h.w.ResponseWriter = c.Writer
		defer func() { c.Writer = h.w.ResponseWriter }()
		m.Middleware(h).ServeHTTP(h.w.ResponseWriter, c.Request)
		if !h.called {
			c.Abort() // the session could not be loaded: ErrorHandler answered
		}
	}
}

// handler is the net/http handler that Middleware runs inside
// Manager.Middleware: it hands the request that carries the session, and a
// writer that saves it, to the rest of gin's chain.
type handler struct {
	c      *gin.Context
	w      writer
	called bool
}

// ServeHTTP runs the rest of the chain with c.Request = r and c.Writer
// writing through w.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.called = true
	h.w.mw = w
	h.c.Request = r
	h.c.Writer = &h.w
	h.c.Next()
}

// writer is the gin.ResponseWriter the handlers see inside Middleware. Its
// head and body go through mw, the Manager's writer, which saves the session
// first and then writes to gin's own writer (ResponseWriter); gin's writer
// keeps the status, the size and the headers, so Status, Size, Written,
// WriteHeader (which only records the status, as in gin), Header,
// CloseNotify and Pusher are its own.
type writer struct {
	gin.ResponseWriter
	mw http.ResponseWriter
}

var _ gin.ResponseWriter = (*writer)(nil)

// Write saves the session, then writes b as gin's writer does.
func (w *writer) Write(b []byte) (int, error) { return w.mw.Write(b) }

// WriteString saves the session, then writes s as gin's writer does.
func (w *writer) WriteString(s string) (int, error) {
	if _, err := w.mw.Write(nil); err != nil { // saves the session and sends the head
		return 0, err
	}
	return w.ResponseWriter.WriteString(s)
}

// WriteHeaderNow saves the session, then sends the head with the status
// recorded so far, as gin's writer does.
func (w *writer) WriteHeaderNow() {
	if !w.ResponseWriter.Written() {
		w.mw.WriteHeader(w.ResponseWriter.Status()) // saves; gin's writer only records the status
		w.ResponseWriter.WriteHeaderNow()           // sends it, unless ErrorHandler has answered
	}
}

// Flush saves the session, then flushes.
func (w *writer) Flush() { _ = http.NewResponseController(w.mw).Flush() }

// Hijack saves the session, then hands over the connection.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.mw).Hijack()
}

// Unwrap lets http.ResponseController reach the writers underneath.
func (w *writer) Unwrap() http.ResponseWriter { return w.mw }

// VerifyCSRF returns gin middleware that refuses requests with a method
// other than GET, HEAD, OPTIONS and TRACE that do not carry the session's
// CSRF token (the _token form field or the X-CSRF-Token header), as
// m.VerifyCSRF does for net/http: it answers 403 and aborts the chain, so no
// later handler runs. Register it after [Middleware]:
//
//	r.Use(ginsession.Middleware(m), ginsession.VerifyCSRF(m))
func VerifyCSRF(m *session.Manager) gin.HandlerFunc {
	return func(c *gin.Context) {
		v := &verdict{c: c}
		m.VerifyCSRF(v).ServeHTTP(c.Writer, c.Request)
		if !v.passed {
			c.Abort()
		}
	}
}

// verdict is the handler VerifyCSRF runs behind Manager.VerifyCSRF: it is
// called only when the request passes.
type verdict struct {
	c      *gin.Context
	passed bool
}

func (v *verdict) ServeHTTP(_ http.ResponseWriter, r *http.Request) {
	v.passed = true
	v.c.Request = r
}

// From returns the session of c, or nil when c did not pass [Middleware].
// It is session.FromRequest(c.Request).
func From(c *gin.Context) *session.Session { return session.FromRequest(c.Request) }
