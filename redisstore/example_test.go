package redisstore_test

// These examples need a Redis server, so they are compiled but not run.

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/redisstore"
)

// The "redis" driver, registered by importing the package: the Manager
// opens the store from Config.Connection and closes it with Close.
func Example() {
	m, err := session.New(session.Config{
		Secret:     os.Getenv("SESSION_SECRET"), // at least 32 random bytes: openssl rand -base64 32
		Driver:     "redis",
		Connection: os.Getenv("SESSION_CONNECTION"), // redis://:password@127.0.0.1:6379/0?prefix=myapp:session:
		Lifetime:   30 * time.Minute,
	})
	if err != nil {
		log.Fatal(err) // names the URL by scheme and host, never its password
	}
	defer m.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		visits, _ := session.GetAs[int](s, "visits")
		s.Put("visits", visits+1)
		fmt.Fprintf(w, "visit %d\n", visits+1)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", m.Middleware(m.VerifyCSRF(mux))))
}

// Open builds the store from a URL (here three Sentinels and the master
// they watch), to pass to the Manager as Config.Store. It does not contact
// Redis: the application starts while Redis is down, and its requests get
// the ErrorHandler's response until Redis answers.
func ExampleOpen() {
	ctx := context.Background()
	st, err := redisstore.Open(ctx,
		"redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster/0?dial_timeout=1s",
		redisstore.Options{Prefix: "myapp:session:"})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close() // the store owns the client Open made

	m, err := session.New(session.Config{Secret: os.Getenv("SESSION_SECRET"), Store: st})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	// ... m.Middleware(handler)
}

// New builds the store on a client the application already has, here a
// Redis Cluster's; the store never closes it.
func ExampleNew() {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{"10.0.1.1:7000", "10.0.1.2:7000", "10.0.1.3:7000"},
		ContextTimeoutEnabled: true, // a request's deadline bounds each command
	})
	defer rdb.Close()

	st, err := redisstore.New(rdb, redisstore.Options{Prefix: "myapp:session:"})
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(session.Config{Secret: os.Getenv("SESSION_SECRET"), Store: st})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	// ... m.Middleware(handler)
}

// List enumerates the live sessions under the store's prefix, as sessionctl
// list does: for operators' tools, not request paths.
func ExampleStore_List() {
	ctx := context.Background()
	st, err := redisstore.Open(ctx, "redis://127.0.0.1:6379/0", redisstore.Options{Prefix: "myapp:session:"})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	n := 0
	err = st.List(ctx, func(id string, expiry time.Time) bool {
		n++
		return true
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "live sessions")
}
