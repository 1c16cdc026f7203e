package memcachedstore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memcachedstore"
)

// visits is the handler of the examples: it counts the visitor's requests
// in their session.
func visits(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	n, _ := session.GetAs[int](s, "visits")
	s.Put("visits", n+1) // saved (one cas after the load) before the body leaves
	fmt.Fprintf(w, "visit %d\n", n+1)
}

// The "memcached" driver opens the store from Config.Connection: import
// this package (or .../session/drivers) for its side effect.
func Example_driver() {
	m, err := session.New(session.Config{
		Secret:     os.Getenv("SESSION_SECRET"), // at least 32 random bytes
		Driver:     "memcached",
		Connection: "memcached://10.0.0.1:11211,10.0.0.2:11211?prefix=shop:",
		Lifetime:   30 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	http.Handle("/", m.Middleware(m.VerifyCSRF(http.HandlerFunc(visits))))
	log.Fatal(http.ListenAndServe(":8080", nil))
}

// Open builds the store from a URL in code, as the driver does; its context
// bounds the resolution of the host names (no server is contacted).
func ExampleOpen() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := memcachedstore.Open(ctx, "memcached://cache1:11211,cache2:11211?timeout=200ms", memcachedstore.Options{Prefix: "shop:"})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close() // the store owns the client Open made
	m, err := session.New(session.Config{Secret: os.Getenv("SESSION_SECRET"), Store: st})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	http.Handle("/", m.Middleware(m.VerifyCSRF(http.HandlerFunc(visits))))
	log.Fatal(http.ListenAndServe(":8080", nil))
}

// New builds the store over a client the application already has; the
// store never closes it.
func ExampleNew() {
	client := memcache.New("10.0.0.1:11211", "10.0.0.2:11211")
	client.MaxIdleConns = 256 // above the number of concurrent requests
	st, err := memcachedstore.New(client, memcachedstore.Options{Prefix: "shop:"})
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(session.Config{Secret: os.Getenv("SESSION_SECRET"), Store: st})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	http.Handle("/", m.Middleware(m.VerifyCSRF(http.HandlerFunc(visits))))
	log.Fatal(http.ListenAndServe(":8080", nil))
}

// memcached takes no credentials: a URL holding one is refused, and the
// error does not show it.
func ExampleOpen_credentials() {
	_, err := memcachedstore.Open(context.Background(), "memcached://app:s3cret@cache1:11211", memcachedstore.Options{})
	fmt.Println(err)
	// Output: memcachedstore: connection URL memcached://xxxxx: memcached takes no user name or password (no '@'; percent-encode one in the prefix as %40)
}
