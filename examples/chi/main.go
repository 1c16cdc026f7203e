// Command chi shows sessionkit in a chi application, as the README's chi
// section does: chi's middleware is net/http middleware, so the Manager's
// Middleware and VerifyCSRF go into r.Use as they are.
//
//	cd examples/chi && SESSION_SECRET="$(openssl rand -base64 32)" go run .
package main

import (
	"fmt"
	"html"
	"log"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"
	"github.com/sessionkit/session"
)

func main() {
	m, err := session.New(session.Config{Secret: os.Getenv("SESSION_SECRET"), Driver: "memory"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", newRouter(m)))
}

// newRouter is the application: a visit counter, and a CSRF-protected form
// whose POST flashes a message across a redirect.
func newRouter(m *session.Manager) http.Handler {
	r := chi.NewRouter()
	r.Use(m.Middleware, m.VerifyCSRF)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		visits, _ := session.GetAs[int](s, "visits")
		s.Put("visits", visits+1)
		fmt.Fprintf(w, "visit %d", visits+1)
	})
	r.Get("/form", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		fmt.Fprintf(w, `<p>%s</p><form method="post"><input type="hidden" name="_token" value="%s">`+
			`<input name="title"><button>Save</button></form>`,
			html.EscapeString(fmt.Sprint(s.Get("status", ""))), html.EscapeString(s.Token()))
	})
	r.Post("/form", func(w http.ResponseWriter, r *http.Request) { // runs only with the session's token
		session.FromRequest(r).Flash("status", "saved "+r.PostFormValue("title"))
		http.Redirect(w, r, "/form", http.StatusSeeOther)
	})
	return r
}
