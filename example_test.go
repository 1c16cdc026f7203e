package session_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

func ExampleNew() {
	secret := os.Getenv("SESSION_SECRET") // a long random string, kept out of the code
	if secret == "" {
		secret = "example secret - a test secret, not for production"
	}
	m, err := session.New(session.Config{
		Secret: secret,   // required: signs cookies, derives the encryption key
		Driver: "memory", // default "file", in ./sessions
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fmt.Println("ready")
	// Output: ready
}

func ExampleManager_Middleware() {
	m, err := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "memory"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		visits, _ := session.GetAs[int](s, "visits")
		s.Put("visits", visits+1) // saved, and the cookie set, before the body leaves
		fmt.Fprintf(w, "visit %d", visits+1)
	})
	// VerifyCSRF goes inside Middleware: it needs the session.
	handler := m.Middleware(m.VerifyCSRF(mux))

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Body.String())
	// Output: visit 1
}

// in runs fn inside one request through m's middleware and returns the
// response's cookies, for the examples below.
func in(m *session.Manager, cookies []*http.Cookie, fn func(s *session.Session)) []*http.Cookie {
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn(session.FromRequest(r))
	})).ServeHTTP(rec, r)
	if got := rec.Result().Cookies(); len(got) > 0 {
		return got
	}
	return cookies
}

func ExampleSession_Put() {
	m, _ := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "memory"})
	defer m.Close()

	c := in(m, nil, func(s *session.Session) {
		s.Put("user.name", "Ana") // {"user": {"name": "Ana"}}
		s.Put("user.lang", "pt")
		s.Push("cart.items", "apple") // a missing key becomes a list
	})
	in(m, c, func(s *session.Session) {
		fmt.Println(s.Get("user.name"))
		fmt.Println(s.Get("user"))
		fmt.Println(s.Get("cart.items"))
		fmt.Println(s.Get("theme", "light")) // a default for a missing key
		fmt.Println(s.Pull("user.lang"), s.Has("user.lang"))
	})
	// Output:
	// Ana
	// map[lang:pt name:Ana]
	// [apple]
	// light
	// pt false
}

func ExampleSession_Flash() {
	m, _ := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "memory"})
	defer m.Close()

	// POST /save: flash a message, then redirect.
	c := in(m, nil, func(s *session.Session) { s.Flash("message", "Saved.") })
	// GET /: the page after the redirect shows it.
	in(m, c, func(s *session.Session) { fmt.Println(s.Get("message")) })
	// A reload: it is gone.
	in(m, c, func(s *session.Session) { fmt.Println(s.Get("message", "(none)")) })
	// Output:
	// Saved.
	// (none)
}

func ExampleSession_Token() {
	m, _ := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "memory"})
	defer m.Close()

	var token string
	c := in(m, nil, func(s *session.Session) {
		// Put it in every form: <input type="hidden" name="_token" value="...">
		token = s.Token()
	})
	in(m, c, func(s *session.Session) {
		fmt.Println(s.ValidateToken(token), s.ValidateToken("forged"))
		once := s.GenerateOneTimeToken()
		fmt.Println(s.ValidateOneTimeToken(once), s.ValidateOneTimeToken(once))
	})
	// Output:
	// true false
	// true false
}

func ExampleManager_VerifyCSRF() {
	m, _ := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "memory"})
	defer m.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		// In a template: <input type="hidden" name="_token" value="{{.Token}}">
		fmt.Fprint(w, session.FromRequest(r).Token())
	})
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "saved") })
	h := m.Middleware(m.VerifyCSRF(mux))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/form", nil))
	cookie, token := rec.Result().Cookies()[0], rec.Body.String()

	post := func(token string) int {
		r := httptest.NewRequest("POST", "/form", strings.NewReader(url.Values{"_token": {token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	fmt.Println(post(token), post("forged"))
	// Output: 200 403
}

func ExampleGetAs() {
	type Prefs struct {
		Theme string
		Size  int
	}
	m, _ := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "memory"})
	defer m.Close()
	c := in(m, nil, func(s *session.Session) { s.Put("prefs", Prefs{"dark", 14}); s.Put("n", 3) })
	in(m, c, func(s *session.Session) {
		p, _ := session.GetAs[Prefs](s, "prefs") // a struct comes back as the struct
		n, _ := session.GetAs[int](s, "n")       // an int as an int
		_, err := session.GetAs[int](s, "missing")
		fmt.Println(p.Theme, p.Size, n, errors.Is(err, session.ErrMissing))
		theme, _ := session.PullAs[string](s, "prefs.Theme") // GetAs, then Forget
		fmt.Println(theme, s.Has("prefs.Theme"))
	})
	// Output:
	// dark 14 3 true
	// dark false
}

func ExampleSession_Regenerate() {
	m, _ := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "memory"})
	defer m.Close()
	before := in(m, nil, func(s *session.Session) { s.Put("cart", "apple") })
	after := in(m, before, func(s *session.Session) {
		if err := s.Regenerate(); err != nil { // on any change of privilege
			log.Print(err)
		}
	})
	in(m, after, func(s *session.Session) { fmt.Println("new cookie:", s.Get("cart")) })
	in(m, before, func(s *session.Session) { fmt.Println("old cookie:", s.Get("cart")) })
	// Output:
	// new cookie: apple
	// old cookie: <nil>
}

func ExampleSession_Login() {
	m, _ := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "memory"})
	defer m.Close()
	laptop := in(m, nil, func(s *session.Session) { _ = s.Login("ana") })
	phone := in(m, nil, func(s *session.Session) {
		_ = s.Login("ana")
		s.SetLifetime(30 * 24 * time.Hour) // remember me
	})
	infos, _ := m.UserSessions(context.Background(), "ana")
	fmt.Println(len(infos), "sessions")
	in(m, laptop, func(s *session.Session) {
		n, _ := s.DestroyOtherSessions() // log out my other devices
		fmt.Println(s.UserID(), "logged out", n)
	})
	in(m, phone, func(s *session.Session) { fmt.Printf("phone: %q\n", s.UserID()) })
	// Output:
	// 2 sessions
	// ana logged out 1
	// phone: ""
}

// An API client carries its session in the Authorization header.
func ExampleConfig_tokenHeader() {
	m, _ := session.New(session.Config{
		Secret: "change me - a test secret, not for production", Driver: "memory",
		TokenHeader: "Authorization",
	})
	defer m.Close()
	api := m.Middleware(m.VerifyCSRF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		if r.Method == http.MethodPost {
			s.Push("cart", r.FormValue("item")) // no CSRF token: a header is no ambient credential
		}
		fmt.Fprint(w, s.Get("cart"))
	})))
	call := func(method, auth, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "/api/cart", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		return rec
	}
	rec := call("POST", "", "item=apple")
	auth := rec.Header().Get("Authorization") // "Bearer <token>"
	fmt.Println(rec.Code, strings.HasPrefix(auth, "Bearer "), rec.Header().Get("Set-Cookie") == "")
	fmt.Println(call("GET", auth, "").Body)
	// Output:
	// 200 true true
	// [apple]
}

// Load and Commit carry a session over any transport as a token string.
func ExampleManager_Load() {
	m, _ := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "memory"})
	defer m.Close()
	token := "" // what the client holds: a gRPC metadata value, a WebSocket message field...
	for range 3 {
		ctx, s, err := m.Load(context.Background(), token)
		if err != nil { // the store failed
			log.Fatal(err)
		}
		n, _ := session.GetAs[int](session.FromContext(ctx), "calls")
		s.Put("calls", n+1)
		if token, _, err = m.Commit(ctx, s); err != nil {
			log.Fatal(err)
		}
		fmt.Println("call", n+1)
	}
	// Output:
	// call 1
	// call 2
	// call 3
}

func ExampleRegister() {
	// A driver package registers its name from init, as database/sql drivers
	// do; Config.Driver then selects it.
	session.Register("example-memory", func(cfg session.Config) (session.Store, error) {
		return memstore.New(), nil
	})
	m, err := session.New(session.Config{Secret: "change me - a test secret, not for production", Driver: "example-memory"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fmt.Println(slices.Contains(session.Drivers(), "example-memory"))
	// Output: true
}
