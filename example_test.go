package session_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/sessionkit/session"
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
