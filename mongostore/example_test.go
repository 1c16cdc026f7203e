package mongostore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/mongostore"
)

// visits is the handler of the examples: it counts the visitor's requests
// in their session.
func visits(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	n, _ := session.GetAs[int](s, "visits")
	s.Put("visits", n+1) // saved before the body leaves
	fmt.Fprintf(w, "visit %d\n", n+1)
}

// The "mongodb" driver opens the store from Config.Connection, the
// collection from Config.Table: import this package (or
// .../session/drivers) for its side effect.
func Example_driver() {
	m, err := session.New(session.Config{
		Secret:     os.Getenv("SESSION_SECRET"), // at least 32 random bytes
		Driver:     "mongodb",
		Connection: os.Getenv("SESSION_CONNECTION"), // mongodb://user:pass@db1:27017,db2:27017/app?replicaSet=rs0
		Table:      "sessions",
		Lifetime:   30 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	http.Handle("/", m.Middleware(m.VerifyCSRF(http.HandlerFunc(visits))))
	log.Fatal(http.ListenAndServe(":8080", nil))
}

// Open connects, checks the server and creates the expiry index, all within
// its context; the store owns the client it makes.
func ExampleOpen() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := mongostore.Open(ctx, "mongodb://app:pa%2Fss@db1:27017,db2:27017/app?replicaSet=rs0", mongostore.Options{Collection: "sessions"})
	if err != nil {
		log.Fatal(err) // the password never appears in the error
	}
	defer st.Close()
	m, err := session.New(session.Config{Secret: os.Getenv("SESSION_SECRET"), Store: st})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	http.Handle("/", m.Middleware(m.VerifyCSRF(http.HandlerFunc(visits))))
	log.Fatal(http.ListenAndServe(":8080", nil))
}

// New builds the store over a collection of a client the application
// already has (the store never disconnects it); its context bounds the
// creation of the expiry index.
func ExampleNew() {
	client, err := mongo.Connect(options.Client().ApplyURI(os.Getenv("MONGODB_URI")))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Disconnect(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := mongostore.New(ctx, client.Database("app").Collection("sessions"), mongostore.Options{})
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

// A character that ends the user info, unescaped in a password, is refused
// before the driver sees the URL, and the error shows no part of the
// password; percent-encode it (here %2F for '/').
func ExampleOpen_badPassword() {
	_, err := mongostore.Open(context.Background(), "mongodb://app:pa/ss@db1:27017/app", mongostore.Options{})
	fmt.Println(err)
	// Output: mongostore: connection URL mongodb://xxxxx: an unescaped '/' before the '@': percent-encode '/' in a user name or password as %2F
}
