package memstore_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
)

// A memory store built in code and given to the Manager as Config.Store;
// Driver: "memory" makes one too. Its sessions live in this process only.
func Example() {
	st := memstore.New()
	m, err := session.New(session.Config{
		Secret: "example secret - a test secret, not for production",
		Store:  st,
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
	for range 3 {
		r := httptest.NewRequest("GET", "/", nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Body.String())
		if c := w.Result().Cookies(); len(c) > 0 {
			cookies = c
		}
	}
	fmt.Println(st.Len(), "session in memory")
	// Output:
	// visit 1
	// visit 2
	// visit 3
	// 1 session in memory
}
