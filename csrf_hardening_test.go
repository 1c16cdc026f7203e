package session_test

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// uploadSize is the size of the file the multipart tests upload: more than
// the 32 MiB that net/http's ParseMultipartForm keeps in memory, so that it
// spills to a temporary file.
const uploadSize = 40 << 20

// zeros reads as an endless run of 'x'.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// countingBody counts the bytes the handlers read from a request body.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// statusWriter records the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// served is what the server saw of one request, reported once the whole
// handler chain has returned.
type served struct {
	status int   // the status the chain answered
	read   int64 // bytes the chain read from the request body
}

// privateTmp points TMPDIR, where mime/multipart spills large files, at a new
// empty directory and returns it. Call it after every t.TempDir of the test:
// those would be made inside it.
func privateTmp(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", dir)
	return dir
}

// leftFiles returns the names of the files in dir.
func leftFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// csrfServer is a real HTTP server running m.Middleware(m.VerifyCSRF(h)),
// with a browser-like client (a cookie jar). Each request's served record
// arrives on done once the server's handler chain has returned.
type csrfServer struct {
	t      *testing.T
	srv    *httptest.Server
	client *http.Client
	done   chan served
}

func newCSRFServer(t *testing.T, m *session.Manager, h http.Handler) *csrfServer {
	t.Helper()
	cs := &csrfServer{t: t, done: make(chan served, 1)}
	chain := m.Middleware(m.VerifyCSRF(h))
	cs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n atomic.Int64
		r.Body = countingBody{r.Body, &n}
		sw := &statusWriter{ResponseWriter: w}
		chain.ServeHTTP(sw, r)
		cs.done <- served{status: sw.code, read: n.Load()}
	}))
	t.Cleanup(cs.srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	cs.client = &http.Client{Jar: jar}
	return cs
}

// do sends r and returns what the server saw. The client's own outcome is
// not relied on: a server that answers before reading a large body closes
// the connection, and the client may see that as a write error.
func (cs *csrfServer) do(r *http.Request) served {
	cs.t.Helper()
	res, err := cs.client.Do(r)
	if err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	} else {
		cs.t.Logf("client: %v (the server closed the connection before reading the whole body)", err)
	}
	return <-cs.done
}

// token gets the session's CSRF token through a GET to path, whose handler
// must write it.
func (cs *csrfServer) token(path string) string {
	cs.t.Helper()
	res, err := cs.client.Get(cs.srv.URL + path)
	if err != nil {
		cs.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	<-cs.done
	if res.StatusCode != http.StatusOK || len(b) == 0 {
		cs.t.Fatalf("GET %s: %d %q", path, res.StatusCode, b)
	}
	return string(b)
}

// multipartBody returns a multipart/form-data body whose parts are fields
// (name, value) in order, with the file part of uploadSize bytes at index
// filePos (-1: none), and its content type and length.
func multipartBody(fields [][2]string, filePos int) (io.Reader, string, int64) {
	var head strings.Builder
	mw := multipart.NewWriter(&head)
	var parts []io.Reader
	var size int64
	flush := func() {
		s := head.String()
		head.Reset()
		parts = append(parts, strings.NewReader(s))
		size += int64(len(s))
	}
	for i := 0; i <= len(fields); i++ {
		if i == filePos {
			if _, err := mw.CreateFormFile("file", "big.bin"); err != nil {
				panic(err)
			}
			flush()
			parts = append(parts, io.LimitReader(zeros{}, uploadSize))
			size += uploadSize
		}
		if i < len(fields) {
			fw, err := mw.CreateFormField(fields[i][0])
			if err != nil {
				panic(err)
			}
			io.WriteString(fw, fields[i][1])
		}
	}
	mw.Close()
	flush()
	return io.MultiReader(parts...), mw.FormDataContentType(), size
}

func (cs *csrfServer) postMultipart(path string, fields [][2]string, filePos int, header http.Header) served {
	cs.t.Helper()
	body, ct, size := multipartBody(fields, filePos)
	r, err := http.NewRequest("POST", cs.srv.URL+path, body)
	if err != nil {
		cs.t.Fatal(err)
	}
	r.ContentLength = size
	r.Header.Set("Content-Type", ct)
	for k, v := range header {
		r.Header[k] = v
	}
	return cs.do(r)
}

// tokenHandler writes the session's token on GET and reads the uploaded file
// on POST, through the request it was given or through a copy of it (as
// routers and middleware make with WithContext), answering 200 only when the
// whole file arrived.
func tokenHandler(t *testing.T, copyRequest bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if copyRequest {
			r = r.WithContext(context.WithValue(r.Context(), struct{}{}, "route"))
		}
		s := session.FromRequest(r)
		if r.Method == http.MethodGet {
			io.WriteString(w, s.Token())
			return
		}
		f, _, err := r.FormFile("file")
		if err != nil {
			t.Errorf("FormFile: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer f.Close()
		n, _ := io.Copy(io.Discard, f)
		if n != uploadSize {
			t.Errorf("the handler read %d bytes of the file, want %d", n, uploadSize)
		}
		if got := r.FormValue("note"); got != "hello" {
			t.Errorf("note = %q after VerifyCSRF, want hello", got)
		}
		w.WriteHeader(http.StatusOK)
	})
}

// TestCSRFForgedMultipartLeavesNoTempFile: forged multipart POSTs with a file
// too large for memory are refused after VerifyCSRF has read a bounded
// prefix of the body (never the file), and leave nothing in TMPDIR.
func TestCSRFForgedMultipartLeavesNoTempFile(t *testing.T) {
	m, _ := newManager(t, memstore.New(), session.Config{})
	called := false
	cs := newCSRFServer(t, m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			called = true
		}
		io.WriteString(w, session.FromRequest(r).Token())
	}))
	tmp := privateTmp(t)
	cs.token("/") // the client has a session: the forged requests are refused for their token alone
	for _, c := range []struct {
		name    string
		fields  [][2]string
		filePos int
	}{
		{"no token", [][2]string{{"note", "hello"}}, 0},
		{"forged token before the file", [][2]string{{"_token", "forged"}}, 1},
		{"forged token after the file", [][2]string{{"note", "hello"}, {"_token", "forged"}}, 1},
	} {
		got := cs.postMultipart("/", c.fields, c.filePos, nil)
		if got.status != http.StatusForbidden || called {
			t.Errorf("%s: status %d, handler called %v; want 403, not called", c.name, got.status, called)
		}
		if got.read > 1<<20 {
			t.Errorf("%s: the server read %d bytes of the body before refusing it; want at most %d", c.name, got.read, 1<<20)
		}
		if left := leftFiles(t, tmp); len(left) > 0 {
			t.Errorf("%s: temporary files left in TMPDIR: %v", c.name, left)
		}
	}
	// A urlencoded body is read no further than the limit either.
	body := io.MultiReader(strings.NewReader("pad="), io.LimitReader(zeros{}, uploadSize), strings.NewReader("&_token=forged"))
	r, err := http.NewRequest("POST", cs.srv.URL+"/", body)
	if err != nil {
		t.Fatal(err)
	}
	r.ContentLength = uploadSize + int64(len("pad=&_token=forged"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if got := cs.do(r); got.status != http.StatusForbidden || called || got.read > 1<<20 {
		t.Errorf("urlencoded: status %d, handler called %v, %d bytes read; want 403, not called, at most %d", got.status, called, got.read, 1<<20)
	}
}

// TestCSRFFormRemovedWhenHandlerPanics: the temporary files of a form parsed
// on a copy of Middleware's request (the second copy passed to FromRequest)
// are removed even when the handler panics.
func TestCSRFFormRemovedWhenHandlerPanics(t *testing.T) {
	m, _ := newManager(t, memstore.New(), session.Config{})
	tmp := privateTmp(t)
	body, ct, _ := multipartBody(nil, 0)
	r := httptest.NewRequest("POST", "/", body)
	r.Header.Set("Content-Type", ct)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 2 {
			r = r.WithContext(context.WithValue(r.Context(), struct{}{}, "route"))
			session.FromRequest(r)
		}
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			t.Error(err)
		}
		if len(leftFiles(t, tmp)) == 0 {
			t.Error("the form did not spill to disk")
		}
		panic(http.ErrAbortHandler)
	}))
	func() {
		defer func() { recover() }()
		h.ServeHTTP(httptest.NewRecorder(), r)
	}()
	if left := leftFiles(t, tmp); len(left) > 0 {
		t.Errorf("temporary files left in TMPDIR: %v", left)
	}
}

// TestCSRFValidUploadLeavesNoTempFile: an upload with a valid token reaches
// the handler whole, and the temporary file its parse spilled is removed when
// the request ends, whether the handler parsed the request it was given or a
// copy of it (which it passed to FromRequest).
func TestCSRFValidUploadLeavesNoTempFile(t *testing.T) {
	for _, c := range []struct {
		name   string
		copy   bool
		header bool // the token in X-CSRF-Token, not in the form
	}{
		{"same request", false, false},
		{"copied request", true, false},
		{"token in header", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, _ := newManager(t, memstore.New(), session.Config{})
			cs := newCSRFServer(t, m, tokenHandler(t, c.copy))
			tmp := privateTmp(t)
			tok := cs.token("/")
			fields, header := [][2]string{{"_token", tok}, {"note", "hello"}}, http.Header(nil)
			if c.header {
				fields, header = [][2]string{{"note", "hello"}}, http.Header{"X-Csrf-Token": {tok}}
			}
			if got := cs.postMultipart("/", fields, len(fields), header); got.status != http.StatusOK {
				t.Fatalf("valid upload: status %d", got.status)
			}
			if left := leftFiles(t, tmp); len(left) > 0 {
				t.Errorf("temporary files left in TMPDIR after the request: %v", left)
			}
		})
	}
}

// TestCSRFOuterParsedFormIsLeftToItsOwner: a form parsed before Middleware,
// on the request the server owns, is not removed by Middleware: its owner
// still reads it after Middleware returns (and the server removes it).
func TestCSRFOuterParsedFormIsLeftToItsOwner(t *testing.T) {
	m, _ := newManager(t, memstore.New(), session.Config{})
	c := newClient(t, m)
	var tok string
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { tok = s.Token() })
	tmp := privateTmp(t)
	body, ct, _ := multipartBody([][2]string{{"_token", tok}}, 1)
	r := httptest.NewRequest("POST", "/", body)
	r.Header.Set("Content-Type", ct)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		t.Fatal(err)
	}
	defer r.MultipartForm.RemoveAll()
	called := false
	res := c.send(r, m.Middleware(m.VerifyCSRF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called = true
		if _, _, err := r.FormFile("file"); err != nil {
			t.Error(err)
		}
	}))))
	if res.StatusCode != http.StatusOK || !called {
		t.Fatalf("status %d, called %v", res.StatusCode, called)
	}
	f, err := r.MultipartForm.File["file"][0].Open()
	if err != nil {
		t.Fatalf("the outer handler's form was removed under it: %v", err)
	}
	f.Close()
	if len(leftFiles(t, tmp)) == 0 {
		t.Fatal("the test's form did not spill to disk")
	}
}

// TestCSRFCopiesTrackedConcurrently: copies passed to FromRequest from
// several goroutines at once are all recorded; the form parsed on one of them
// is removed at the end of the request.
func TestCSRFCopiesTrackedConcurrently(t *testing.T) {
	m, _ := newManager(t, memstore.New(), session.Config{})
	tmp := privateTmp(t)
	body, ct, _ := multipartBody(nil, 0)
	r := httptest.NewRequest("POST", "/", body)
	r.Header.Set("Content-Type", ct)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		copies := make([]*http.Request, 16)
		done := make(chan struct{})
		for i := range copies {
			copies[i] = r.WithContext(context.WithValue(r.Context(), struct{}{}, i))
			go func() {
				defer func() { done <- struct{}{} }()
				for range 3 {
					session.FromRequest(copies[i])
				}
			}()
		}
		for range copies {
			<-done
		}
		if err := copies[7].ParseMultipartForm(1 << 20); err != nil {
			t.Error(err)
		}
		if len(leftFiles(t, tmp)) == 0 {
			t.Error("the form did not spill to disk")
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), r)
	if left := leftFiles(t, tmp); len(left) > 0 {
		t.Errorf("temporary files left in TMPDIR: %v", left)
	}
}

// TestCSRFStripPrefixCopy: http.StripPrefix hands down a shallow copy of the
// request with the same context; a form parsed on it is removed too.
func TestCSRFStripPrefixCopy(t *testing.T) {
	m, _ := newManager(t, memstore.New(), session.Config{})
	tmp := privateTmp(t)
	body, ct, _ := multipartBody(nil, 0)
	r := httptest.NewRequest("POST", "/app/upload", body)
	r.Header.Set("Content-Type", ct)
	h := m.Middleware(http.StripPrefix("/app", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if session.FromRequest(r) == nil {
			t.Fatal("no session")
		}
		if _, _, err := r.FormFile("file"); err != nil {
			t.Error(err)
		}
	})))
	h.ServeHTTP(httptest.NewRecorder(), r)
	if left := leftFiles(t, tmp); len(left) > 0 {
		t.Errorf("temporary files left in TMPDIR: %v", left)
	}
}
