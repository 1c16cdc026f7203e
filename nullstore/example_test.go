package nullstore_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/nullstore"
)

// A null store keeps nothing: each request starts with an empty session,
// whatever cookie it sends. Driver: "null" makes one too.
func Example() {
	m, err := session.New(session.Config{
		Secret: "example secret - a test secret, not for production",
		Store:  nullstore.New(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		n, _ := session.GetAs[int](s, "visits")
		s.Put("visits", n+1)
		fmt.Fprintf(w, "visit %d\n", n+1)
	}))
	var cookies []*http.Cookie
	for range 2 {
		r := httptest.NewRequest("GET", "/", nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Body.String())
		cookies = w.Result().Cookies()
	}
	// Output:
	// visit 1
	// visit 1
}
