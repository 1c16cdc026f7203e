package session

import (
	"bufio"
	"context"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
)

// Middleware loads the session of each request, exposes it to next through
// FromRequest, and saves it, setting its cookie, just before the first byte
// of the response leaves (on WriteHeader, Write or Flush, or when next
// returns). Nothing else needs calling. A change made after the response has
// started cannot be saved: it is logged as an error wrapping
// ErrHeadersWritten.
//
// A response that sets or expires the session cookie also gets "Vary:
// Cookie" and a Cache-Control that keeps shared caches from storing it: an
// unqualified "private", in place of the handler's "public" or "s-maxage"
// (the handler's other directives, and its "no-store", are kept).
//
// When the store fails, Config.ErrorHandler answers instead (by default a
// logged error and a 500). A cookie that does not verify, names no session,
// or names an expired or corrupt one starts a fresh session; it never causes
// an error page. Middleware applied twice with the same Manager loads the
// session once.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	return &middleware{m: m, next: next}
}

// middleware is the handler Middleware returns. It is a type with a method,
// not a closure: a closure would be compiled into each caller's package when
// Middleware is inlined there, and there Request.WithContext is not inlined
// in turn, so its copy of the request would escape to the heap.
type middleware struct {
	m    *Manager
	next http.Handler
}

// ServeHTTP loads the session, serves next with it, and saves it (see
// Manager.Middleware).
func (h *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m, next := h.m, h.next
	if m.FromContext(r.Context()) != nil {
		next.ServeHTTP(w, r)
		return
	}
	rq := new(request) // everything below in one allocation
	s := &rq.s
	s.m, s.ctx, s.req = m, r.Context(), r
	result, err := m.load(s, r)
	m.loaded(s.ctx, result)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	rq.w = responseWriter{ResponseWriter: w, m: m, r: r, s: s}
	rq.ctx = sessionContext{Context: s.ctx, s: s}
	rq.r = *r.WithContext(&rq.ctx) // the copy WithContext makes stays on the stack
	s.req = &rq.r                  // its copies are told apart from it (FromRequest)
	defer rq.removeForms(r)        // also when next panics
	next.ServeHTTP(&rq.w, &rq.r)
	rq.w.finish()
	m.lottery()
}

// FromRequest returns the session of r, or nil when r did not come through
// Middleware. Under two Managers' Middleware it returns the inner one's
// session; m.FromRequest returns m's.
//
// Middleware removes, when the request ends, the temporary files of a
// multipart form parsed on the request it handed down or on any request
// passed to FromRequest or m.FromRequest (copies made with WithContext, as
// routers make): net/http itself removes only those of the request the
// server made.
func FromRequest(r *http.Request) *Session { return tracked(r, FromContext(r.Context())) }

// FromRequest returns the session that m's Middleware gave r, or nil: with
// two Managers in one chain (an admin area with a cookie of its own, say),
// each finds its own session.
func (m *Manager) FromRequest(r *http.Request) *Session {
	return tracked(r, m.FromContext(r.Context()))
}

// tracked returns s, the session of r, after recording r when it is a copy
// of the request Middleware handed down (s.req), so that the multipart form
// parsed on it is removed when the request ends.
func tracked(r *http.Request, s *Session) *Session {
	if s != nil && r != s.req && s.req != nil {
		s.track(r)
	}
	return s
}

// request is what Middleware allocates per request: the session, the
// response writer that saves it, and the request next sees, whose context
// carries the session.
type request struct {
	s   Session
	w   responseWriter
	ctx sessionContext
	r   http.Request
}

// copyNode is an entry of Session.copies, a list that is only pushed to.
type copyNode struct {
	r    *http.Request
	next *copyNode
}

// track records r, a copy of the request Middleware handed down, so that
// the multipart form parsed on it is removed when the request ends.
func (s *Session) track(r *http.Request) {
	head := s.copies.Load()
	for n := head; n != nil; n = n.next {
		if n.r == r {
			return // a router's copy, passed again
		}
	}
	n := &copyNode{r: r, next: head}
	for !s.copies.CompareAndSwap(n.next, n) {
		n.next = s.copies.Load() // pushed by another goroutine: a duplicate is harmless
	}
}

// removeForms removes the temporary files of the multipart forms parsed on
// the request Middleware handed down and on the copies passed to
// FromRequest: net/http removes only those of the request it made. The form
// of orig, the request Middleware was given, belongs to whoever parsed it
// before Middleware (the server removes it) and is left alone, also when the
// copies share it.
func (rq *request) removeForms(orig *http.Request) {
	head := rq.s.copies.Load()
	if rq.r.MultipartForm == nil && head == nil {
		return
	}
	own := orig.MultipartForm
	rq.removeForm(&rq.r, own)
	for n := head; n != nil; n = n.next {
		rq.removeForm(n.r, own)
	}
}

// removeForm removes the temporary files of r's multipart form unless it is
// own (or has no form).
func (rq *request) removeForm(r *http.Request, own *multipart.Form) {
	f := r.MultipartForm
	if f == nil || f == own {
		return
	}
	// Copies may share a form: RemoveAll skips the files already removed.
	if err := f.RemoveAll(); err != nil {
		m := rq.s.m
		m.log.LogAttrs(rq.s.ctx, slog.LevelError, "session: cannot remove a multipart form's temporary files", slog.Any("error", err))
	}
}

// sessionContext is the context of the request next sees: the request's own,
// with the session as the value of ctxKey{}. It takes the place of
// context.WithValue, which would be an allocation of its own.
type sessionContext struct {
	context.Context
	s *Session
}

// Value returns the session for ctxKey{} (any Manager's) and for ctxKey{m}
// when m is the session's Manager, and asks the request's context for every
// other key: so FromContext finds the innermost session, and m.FromContext
// the session of m, even under another Manager's Middleware.
func (c *sessionContext) Value(key any) any {
	if k, ok := key.(ctxKey); ok && (k.m == nil || k.m == c.s.m) {
		return c.s
	}
	return c.Context.Value(key)
}

// load reads the session of r into the empty session s, from its cookie or,
// with Config.TokenHeader, from that header (see loadTokens).
func (m *Manager) load(s *Session, r *http.Request) (LoadResult, error) {
	if m.cfg.TokenHeader != "" {
		token := requestToken(r, m.cfg.TokenHeader)
		if token == "" {
			return LoadNew, nil
		}
		return m.loadTokens(s, "header", r.RemoteAddr, 1, 1, func(int) string { return token })
	}
	cookies := r.CookiesNamed(m.cfg.Cookie)
	if len(cookies) == 0 {
		return LoadNew, nil
	}
	return m.loadTokens(s, "cookie", r.RemoteAddr, min(len(cookies), maxCookieCandidates), len(cookies), func(i int) string { return cookies[i].Value })
}

// responseWriter saves the session before the response starts.
type responseWriter struct {
	http.ResponseWriter
	m    *Manager
	r    *http.Request
	s    *Session
	done bool  // the session was saved (or its save failed)
	err  error // the save failed: the error handler answered instead
}

// commit saves the session once and sets its cookie. It reports false when
// the save failed and the error handler has answered.
func (w *responseWriter) commit() bool {
	if w.done {
		return w.err == nil
	}
	w.done = true
	s := w.s
	s.mu.Lock()
	sv, err := s.save()
	s.committed = true
	h := w.ResponseWriter.Header()
	if err == nil && sv.out != keepToken {
		if w.m.cfg.TokenHeader != "" {
			addTokenHeaders(h, w.m.cfg.TokenHeader, w.m.headerToken(s, sv))
		} else {
			addCookieHeaders(h, w.m.setCookie(s, sv))
		}
	}
	s.mu.Unlock()
	if err != nil {
		w.err = err
		clear(h) // the handler's response is replaced
		w.m.fail(w.ResponseWriter, w.r, err)
		return false
	}
	return true
}

// addCookieHeaders adds the Set-Cookie header for cookie, with "Vary:
// Cookie", and keeps every shared cache (a proxy, a CDN) from storing the
// response, which would hand this client's cookie to others: see
// privateCacheControl. With no Cache-Control from the handler, the common
// case, it is h.Add, h.Add and h.Set("Cache-Control", "private") with one
// allocation for the three values instead of three: each slice is capped at
// its own element, so an append by the handler copies it rather than writing
// into its neighbour.
func addCookieHeaders(h http.Header, cookie string) {
	v := make([]string, 3)
	v[0], v[1], v[2] = cookie, "Cookie", "private"
	add := func(key string, v []string) {
		if old := h[key]; len(old) > 0 {
			h[key] = append(old, v[0])
		} else {
			h[key] = v
		}
	}
	add("Set-Cookie", v[0:1:1])
	add("Vary", v[1:2:2])
	if cc, keep := privateCacheControl(h["Cache-Control"]); !keep {
		if cc == "private" {
			h["Cache-Control"] = v[2:3:3]
		} else {
			h["Cache-Control"] = []string{cc}
		}
	}
	// A CDN obeys CDN-Cache-Control (RFC 9213) instead of Cache-Control
	// when the handler sets it.
	if cdn := h["Cdn-Cache-Control"]; len(cdn) > 0 {
		if cc, keep := privateCacheControl(cdn); !keep {
			h["Cdn-Cache-Control"] = []string{cc}
		}
	}
}

// privateCacheControl returns the Cache-Control value of a response that
// sets the session cookie, given the handler's values cc: keep reports that
// cc already keeps shared caches from storing the response, and is sent as
// it is. That is the case when cc has an unqualified "private" and neither
// "public" nor "s-maxage", or has "no-store" (without "must-understand",
// which lets a cache that knows the status code store it all the same).
// Otherwise the value is "private" followed by the handler's other
// directives in their order (max-age, no-cache, must-revalidate, ... still
// govern the browser's own cache), without "public", "s-maxage" and a
// qualified private="...", which the unqualified one replaces. With nothing
// from the handler it is "private" alone, the one value that costs no
// allocation.
func privateCacheControl(cc []string) (value string, keep bool) {
	var noStore, mustUnderstand, private, drop, some bool
	for _, v := range cc {
		for rest := v; rest != ""; {
			var d string
			d, rest = nextDirective(rest)
			switch directiveKind(d) {
			case ccNoStore:
				noStore = true
			case ccMustUnderstand:
				mustUnderstand = true
			case ccPrivate:
				private = true
			case ccShared:
				drop = true
			}
			some = some || d != ""
		}
	}
	switch {
	case noStore && !mustUnderstand, private && !drop:
		return "", true
	case !some:
		return "private", false
	}
	var b strings.Builder
	n := len("private")
	for _, v := range cc {
		n += len(", ") + len(v)
	}
	b.Grow(n)
	b.WriteString("private")
	for _, v := range cc {
		for rest := v; rest != ""; {
			var d string
			d, rest = nextDirective(rest)
			if k := directiveKind(d); k != ccNone && k != ccPrivate && k != ccShared {
				b.WriteString(", ")
				b.WriteString(d)
			}
		}
	}
	return b.String(), false
}

// Kinds of Cache-Control directive, as privateCacheControl sees them.
const (
	ccNone           = iota // empty: no directive
	ccOther                 // kept as it is
	ccNoStore               // no-store
	ccMustUnderstand        // must-understand
	ccPrivate               // unqualified private
	ccShared                // public, s-maxage, private="...": dropped
)

// directiveKind classifies the Cache-Control directive d; directive names
// are case-insensitive.
func directiveKind(d string) int {
	if d == "" {
		return ccNone
	}
	name, _, qualified := strings.Cut(d, "=")
	switch name = strings.TrimSpace(name); {
	case strings.EqualFold(name, "no-store"):
		return ccNoStore
	case strings.EqualFold(name, "must-understand"):
		return ccMustUnderstand
	case strings.EqualFold(name, "private"):
		if qualified {
			return ccShared
		}
		return ccPrivate
	case strings.EqualFold(name, "public"), strings.EqualFold(name, "s-maxage"):
		return ccShared
	}
	return ccOther
}

// nextDirective returns the first directive of the Cache-Control list s,
// trimmed, and the rest of the list; a comma inside a quoted string (as in
// no-cache="Set-Cookie, Authorization") does not end a directive.
func nextDirective(s string) (d, rest string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++ // the escaped character
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return strings.TrimSpace(s[:i]), s[i+1:]
		}
	}
	return strings.TrimSpace(s), ""
}

// finish saves the session if the handler wrote nothing, and reports changes
// made after the response started.
func (w *responseWriter) finish() {
	if !w.done {
		if bypassed(w.ResponseWriter) {
			w.m.warnBypass(w.r)
		}
		w.commit()
		return
	}
	w.s.mu.Lock()
	late := w.s.late
	w.s.mu.Unlock()
	if late {
		w.m.log.LogAttrs(w.r.Context(), slog.LevelError, "session: changes not saved", slog.Any("error", ErrHeadersWritten),
			slog.String("method", w.r.Method), slog.String("path", w.r.URL.Path))
	}
}

// bypassed reports whether the writer Middleware was given has written a
// response that did not pass through the session's writer: a framework
// wrote through its own writer (gin's c.Writer, chi's WrapResponseWriter),
// so the session's cookie could not be set. Writers that can tell say so
// with Written or BytesWritten; others cannot be asked.
func bypassed(w http.ResponseWriter) bool {
	switch w := w.(type) {
	case interface{ Written() bool }:
		return w.Written()
	case interface{ BytesWritten() int }:
		return w.BytesWritten() > 0
	}
	return false
}

// warnBypass logs, once per Manager, that a handler's response bypassed the
// session's writer.
func (m *Manager) warnBypass(r *http.Request) {
	m.bypassOnce.Do(func() {
		m.log.LogAttrs(r.Context(), slog.LevelError, "session: the response was written around the session middleware's writer (a framework writing through its own writer?), so the session could not set its cookie: use the framework's adapter (ginsession, echosession) or hand the request's writer down",
			slog.String("method", r.Method), slog.String("path", r.URL.Path))
	})
}

func (w *responseWriter) WriteHeader(code int) {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: the response has not started
		return
	}
	if w.commit() {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.commit() {
		return 0, w.err
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { w.FlushError() }

// FlushError saves the session, then flushes; http.ResponseController uses it.
func (w *responseWriter) FlushError() error {
	if !w.commit() {
		return w.err
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker: the session is saved first.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.commit() {
		return nil, nil, w.err
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
