package session

// VerifyCSRF and what it needs: the configured names, the Origin and
// Sec-Fetch-Site check, and reading the token from a bounded prefix of the
// body. The tokens themselves are in token.go.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// DefaultCSRFBodyLimit is the default Config.CSRFBodyLimit: VerifyCSRF
// looks for the token field in the first 64 KiB of a form body.
const DefaultCSRFBodyLimit = 64 << 10

// csrfConfig is the Manager's CSRF settings, from Config with defaults.
type csrfConfig struct {
	field     string          // the form field that carries the token
	header    string          // the request header that carries the token
	bodyLimit int64           // bytes of a form body read looking for field; < 0: no limit
	trusted   map[string]bool // Config.TrustedOrigins
	fail      func(http.ResponseWriter, *http.Request, error)
}

// Default CSRF names (Config.CSRFField, Config.CSRFHeader).
const (
	DefaultCSRFField  = "_token"
	DefaultCSRFHeader = "X-CSRF-Token"
)

// newCSRF returns the CSRF settings of cfg, or an error wrapping ErrConfig.
func newCSRF(cfg Config) (csrfConfig, error) {
	c := csrfConfig{field: cfg.CSRFField, header: cfg.CSRFHeader, bodyLimit: cfg.CSRFBodyLimit, fail: cfg.CSRFFailureHandler}
	if c.field == "" {
		c.field = DefaultCSRFField
	}
	if c.header == "" {
		c.header = DefaultCSRFHeader
	}
	if !validHeaderName(c.header) {
		return c, fmt.Errorf("%w: CSRFHeader %q is not a valid header name", ErrConfig, c.header)
	}
	if c.bodyLimit == 0 {
		c.bodyLimit = DefaultCSRFBodyLimit
	}
	if c.fail == nil {
		c.fail = defaultCSRFFailure
	}
	for i, o := range cfg.TrustedOrigins {
		if err := checkOrigin(o); err != nil {
			return c, fmt.Errorf("%w: TrustedOrigins[%d] %q: %v", ErrConfig, i, o, err)
		}
		if c.trusted == nil {
			c.trusted = map[string]bool{}
		}
		c.trusted[o] = true
	}
	return c, nil
}

// validHeaderName reports whether name is an RFC 9110 token, as header
// names must be.
func validHeaderName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return name != ""
}

// csrfError is the error VerifyCSRF gives the failure handler: it wraps
// ErrCSRF, and ErrCrossOrigin when cross is set.
type csrfError struct {
	reason string
	cross  bool
}

func (e *csrfError) Error() string { return "session: CSRF check failed: " + e.reason }

func (e *csrfError) Is(target error) bool {
	return target == ErrCSRF || e.cross && target == ErrCrossOrigin
}

// defaultCSRFFailure answers 403 Forbidden, saying why.
func defaultCSRFFailure(w http.ResponseWriter, _ *http.Request, err error) {
	reason := "missing or invalid CSRF token"
	if errors.Is(err, ErrCrossOrigin) {
		reason = "cross-origin request"
	}
	http.Error(w, "Forbidden: "+reason, http.StatusForbidden)
}

// checkOrigin reports an origin that is not "scheme://host[:port]", the form
// of the Origin header it is compared with, byte for byte.
func checkOrigin(origin string) error {
	u, err := url.Parse(origin)
	switch {
	case err != nil:
		return errors.New("not a URL")
	case u.Scheme == "" || u.Host == "":
		return errors.New(`want "scheme://host[:port]"`)
	case u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil || u.Opaque != "":
		return errors.New(`want "scheme://host[:port]" without path, query, fragment or user`)
	case u.Scheme+"://"+u.Host != origin:
		return errors.New(`want "scheme://host[:port]" as a browser sends it`)
	}
	return nil
}

// crossOrigin returns why the browser that sent r marks it as a
// cross-origin request, or "" when it does not (or no header says), in the
// manner of net/http's CrossOriginProtection: Sec-Fetch-Site other than
// same-origin or none; without it, an Origin whose host is not r.Host. A
// request from a trusted origin is not refused.
func (c *csrfConfig) crossOrigin(r *http.Request) string {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "":
	case "same-origin", "none":
		return ""
	default:
		if c.trusted[r.Header.Get("Origin")] {
			return ""
		}
		return "cross-origin request (Sec-Fetch-Site)"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return "" // same-origin from an older browser, or no browser: the token decides
	}
	if u, err := url.Parse(origin); err == nil && u.Host == r.Host || c.trusted[origin] {
		return ""
	}
	return "cross-origin request (Origin is not Host)"
}

// maxTokenLen bounds the token value VerifyCSRF reads from a multipart
// part: longer values cannot be a token, plain or masked.
const maxTokenLen = 1024

// requestToken returns the CSRF token r carries: its token header or, when
// that is absent, its token form field, looked for in at most bodyLimit
// bytes of the body of a POST, PUT or PATCH (the methods whose form bodies
// net/http parses). The bytes read are put back in front of r.Body, so that
// the handler reads the whole body. It parses no form on r: a multipart file
// is never spilled to disk here.
func (c *csrfConfig) requestToken(r *http.Request) string {
	if t := r.Header.Get(c.header); t != "" {
		return t
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return ""
	}
	if r.PostForm != nil { // parsed before VerifyCSRF
		return r.PostForm.Get(c.field)
	}
	if c.bodyLimit < 0 || r.Body == nil || r.MultipartForm != nil {
		return r.PostFormValue(c.field)
	}
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	switch ct {
	case "application/x-www-form-urlencoded":
		// One byte more than the limit tells whether a pair that ends
		// at the limit is whole.
		p := c.readPrefix(r, c.bodyLimit+1)
		b, complete := p.bytes()
		if !complete { // only the pairs that end within the limit
			b = b[:max(bytes.LastIndexByte(b, '&'), 0)]
		}
		q, _ := url.ParseQuery(string(b)) // as net/http: valid pairs count, invalid ones are skipped
		return q.Get(c.field)
	case "multipart/form-data":
		if params["boundary"] == "" {
			return ""
		}
		p := c.readPrefix(r, c.bodyLimit)
		return multipartField(multipart.NewReader(p, params["boundary"]), c.field)
	}
	return ""
}

// multipartField returns the value of the first non-file part named field
// that mr yields, or "" when mr ends (or fails) first. The parts before it
// are read and discarded, never stored.
func multipartField(mr *multipart.Reader, field string) string {
	for {
		p, err := mr.NextPart()
		if err != nil {
			return ""
		}
		if p.FormName() != field || p.FileName() != "" {
			continue // NextPart skips what is left of p
		}
		v, err := io.ReadAll(io.LimitReader(p, maxTokenLen+1))
		if err != nil {
			return "" // the part does not end within the body limit
		}
		return string(v) // a longer value is no token: it fails the comparison
	}
}

// errBodyLimit ends a prefixReader's reads at its limit.
var errBodyLimit = errors.New("session: CSRF body limit reached")

// prefixReader reads the first bytes of a request body, at most limit, and
// keeps them so that they can be put back in front of the rest.
type prefixReader struct {
	body  io.ReadCloser
	buf   []byte
	limit int
	err   error // the body's error (io.EOF: the whole body is in buf)
}

// readPrefix returns a prefixReader of at most limit bytes over r.Body and
// puts it back as r.Body's start: r.Body then reads what the prefixReader
// read, then the rest of the body.
func (c *csrfConfig) readPrefix(r *http.Request, limit int64) *prefixReader {
	p := &prefixReader{body: r.Body, limit: int(min(limit, math.MaxInt32))}
	if r.ContentLength > 0 {
		p.buf = make([]byte, 0, min(r.ContentLength, int64(p.limit)))
	}
	r.Body = &replayBody{p: p}
	return p
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if len(p.buf) >= p.limit {
		return 0, errBodyLimit
	}
	if room := p.limit - len(p.buf); len(b) > room {
		b = b[:room]
	}
	n, err := p.body.Read(b)
	p.buf = append(p.buf, b[:n]...)
	p.err = err
	return n, err
}

// bytes reads up to the limit and returns what was read, and whether it is
// the whole body.
func (p *prefixReader) bytes() ([]byte, bool) {
	var b [4096]byte
	for {
		if _, err := p.Read(b[:]); err != nil {
			return p.buf, err == io.EOF
		}
	}
}

// replayBody is the body the handler reads after VerifyCSRF: what the
// prefixReader read, then the rest of the original body.
type replayBody struct {
	p   *prefixReader
	off int
}

func (b *replayBody) Read(dst []byte) (int, error) {
	if b.off < len(b.p.buf) {
		n := copy(dst, b.p.buf[b.off:])
		b.off += n
		return n, nil
	}
	if b.p.err != nil && b.p.err != errBodyLimit {
		return 0, b.p.err // EOF, or the error the body gave VerifyCSRF
	}
	return b.p.body.Read(dst)
}

func (b *replayBody) Close() error { return b.p.body.Close() }

// VerifyCSRF rejects requests with a method other than GET, HEAD, OPTIONS and
// TRACE whose X-CSRF-Token header, or when that is absent _token form field,
// is not the session's CSRF token (plain or masked), or that the browser
// marks as cross-origin: it answers 403 Forbidden (or calls
// Config.CSRFFailureHandler), does not call next, and leaves the session
// exactly as it was (not even flash data ages). Wrap it inside Middleware:
// m.Middleware(m.VerifyCSRF(handler)). Config.CSRFHeader and
// Config.CSRFField rename the header and the field.
//
// A browser marks a request as cross-origin with Sec-Fetch-Site (anything
// but same-origin or none) or, when it does not send that header, with an
// Origin whose host is not the request's Host; such a request is refused
// before its body is read, even with a valid token (one that leaked must
// not let another site post), unless its Origin is one of
// Config.TrustedOrigins. A request with neither header (an older browser,
// a client that is not a browser) is judged by its token alone.
//
// The form field is looked for in the first Config.CSRFBodyLimit bytes of a
// urlencoded or multipart body (64 KiB by default), which VerifyCSRF puts
// back for the handler: a forged upload costs the server that much, not a
// parse of its files. Put the _token field before any file input of a form,
// or send the token in the header.
func (m *Manager) VerifyCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			next.ServeHTTP(w, r)
			return
		}
		if m.cfg.TokenHeader != "" {
			// The session comes from a header, which a cross-site page
			// cannot make a browser send: there is no ambient credential
			// to forge a request with.
			next.ServeHTTP(w, r)
			return
		}
		s := m.FromRequest(r) // its own session, also under another Manager's Middleware
		if s == nil {
			m.log.LogAttrs(r.Context(), slog.LevelError, "session: VerifyCSRF used outside Middleware; refusing the request")
			event(m.hooks.CSRFRejected, r.Context())
			m.csrf.fail(w, r, &csrfError{reason: "no session: VerifyCSRF is not inside Middleware"})
			return
		}
		var err *csrfError
		if reason := m.csrf.crossOrigin(r); reason != "" {
			err = &csrfError{reason: reason, cross: true}
		} else if !s.ValidateToken(m.csrf.requestToken(r)) {
			err = &csrfError{reason: "token missing or invalid"}
		} else {
			next.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		s.skip = true
		s.mu.Unlock()
		m.log.LogAttrs(r.Context(), slog.LevelInfo, "session: CSRF check failed",
			slog.String("reason", err.reason), slog.String("method", r.Method), slog.String("path", r.URL.Path))
		event(m.hooks.CSRFRejected, r.Context())
		m.csrf.fail(w, r, err)
	})
}
