package session_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// TestCSRFBodyLimit: VerifyCSRF finds the _token field only within the first
// Config.CSRFBodyLimit bytes of a form body (default DefaultCSRFBodyLimit),
// puts back what it read so that the handler sees the whole body, and reads
// the body as net/http's ParseForm does when the limit is negative.
func TestCSRFBodyLimit(t *testing.T) {
	pad := strings.Repeat("a", session.DefaultCSRFBodyLimit)
	for _, c := range []struct {
		name  string
		limit int64
		first bool // _token before the padding
		ok    bool
	}{
		{"token first", 0, true, true},
		{"token beyond the default limit", 0, false, false},
		{"limit raised", 2 * session.DefaultCSRFBodyLimit, false, true},
		{"no limit", -1, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, _ := newManager(t, memstore.New(), session.Config{CSRFBodyLimit: c.limit})
			cl := newClient(t, m)
			var tok string
			cl.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { tok = s.Token() })
			form := "pad=" + pad + "&_token=" + url.QueryEscape(tok)
			if c.first {
				form = "_token=" + url.QueryEscape(tok) + "&pad=" + pad
			}
			for _, kind := range []string{"urlencoded", "multipart"} {
				var r *http.Request
				if kind == "urlencoded" {
					r = httptest.NewRequest("POST", "/", strings.NewReader(form))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				} else {
					q, _ := url.ParseQuery(form)
					fields := [][2]string{{"pad", q.Get("pad")}, {"_token", tok}}
					if c.first {
						fields[0], fields[1] = fields[1], fields[0]
					}
					body, ct, _ := multipartBody(fields, -1)
					r = httptest.NewRequest("POST", "/", body)
					r.Header.Set("Content-Type", ct)
				}
				called := false
				res := cl.send(r, m.Middleware(m.VerifyCSRF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					called = true
					if r.FormValue("pad") != pad || r.FormValue("_token") != tok {
						t.Errorf("%s: the handler did not get the whole form", kind)
					}
				}))))
				if ok := res.StatusCode == http.StatusOK && called; ok != c.ok {
					t.Errorf("%s: status %d, called %v; want passed = %v", kind, res.StatusCode, called, c.ok)
				}
			}
		})
	}
}

// TestCSRFBodyLimitEdge: a urlencoded _token pair that ends exactly at the
// limit is found, whether the body ends there or goes on; one byte further
// it is not.
func TestCSRFBodyLimitEdge(t *testing.T) {
	m, _ := newManager(t, memstore.New(), session.Config{CSRFBodyLimit: 1000})
	cl := newClient(t, m)
	var tok string
	cl.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { tok = s.Token() })
	pair := "_token=" + tok
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{strings.Repeat("a", 1000-len(pair)-1) + "&" + pair, true},
		{strings.Repeat("a", 1000-len(pair)-1) + "&" + pair + "&b=c", true},
		{strings.Repeat("a", 1000-len(pair)) + "&" + pair, false},
		{strings.Repeat("a", 1000-len(pair)) + "&" + pair + "&b=c", false},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res := cl.send(r, m.Middleware(m.VerifyCSRF(wrap(nil))))
		if ok := res.StatusCode == http.StatusOK; ok != c.ok {
			t.Errorf("body of %d bytes, pair ending at %d: status %d, want passed = %v", len(c.body), strings.Index(c.body, pair)+len(pair), res.StatusCode, c.ok)
		}
	}
}

func ExampleConfig_csrfBodyLimit() {
	// VerifyCSRF looks for the _token field in the first 64 KiB of a form
	// body. Upload forms need no more when _token comes before the file
	// inputs (browsers send fields in document order) or when the token
	// travels in the X-CSRF-Token header. A form whose _token can come after
	// large fields needs a larger limit; what VerifyCSRF reads is held in
	// memory until the token has been compared.
	m, err := session.New(session.Config{
		Secret:        "example secret: not for production - a test secret, not for production",
		Driver:        "memory",
		CSRFBodyLimit: 1 << 20,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	fmt.Println("ok")
	// Output: ok
}
