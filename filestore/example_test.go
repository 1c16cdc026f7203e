package filestore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/filestore"
)

// visits is a handler that counts the requests of one visitor in its
// session.
func visits(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	n, _ := session.GetAs[int](s, "visits")
	s.Put("visits", n+1)
	fmt.Fprintf(w, "visit %d\n", n+1)
}

// get sends a GET request with cookies through h, prints the body and
// returns the cookies to send next.
func get(h http.Handler, cookies []*http.Cookie) []*http.Cookie {
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Body.String())
	if c := w.Result().Cookies(); len(c) > 0 {
		return c
	}
	return cookies
}

// A file store built in code and given to the Manager as Config.Store.
func Example() {
	root, err := os.MkdirTemp("", "app") // mode 0700: only this user writes it
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	st, err := filestore.New(filepath.Join(root, "sessions")) // created, mode 0700
	if err != nil {
		log.Fatal(err) // e.g. filestore.ErrUnsafeDir for a directory others may write
	}
	defer st.Close() // the Manager does not close a store it was given

	m, err := session.New(session.Config{
		Secret: "example secret - a test secret, not for production",
		Store:  st,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	h := m.Middleware(http.HandlerFunc(visits))
	cookies := get(h, nil)
	get(h, cookies)

	n := 0
	st.List(context.Background(), func(string, time.Time) bool { n++; return true })
	fmt.Println(n, "session file")
	// Output:
	// visit 1
	// visit 2
	// 1 session file
}

// The "file" driver (the default) opens a file store in Config.Files, and
// the Manager closes it.
func Example_driver() {
	root, err := os.MkdirTemp("", "app")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	m, err := session.New(session.Config{
		Secret: "example secret - a test secret, not for production",
		Driver: "file",
		Files:  filepath.Join(root, "sessions"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	h := m.Middleware(http.HandlerFunc(visits))
	cookies := get(h, nil)
	get(h, cookies)
	// Output:
	// visit 1
	// visit 2
}
