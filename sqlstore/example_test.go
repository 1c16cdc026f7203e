package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sqlstore"
	_ "github.com/sessionkit/session/sqlstore/sqlite" // SQLite's backend and driver: sqlite:// URLs
)

// exampleSecret is at least 32 bytes, as session.New requires; make a real
// one with openssl rand -base64 32.
const exampleSecret = "example secret, 32 bytes or more: not for production"

// Open opens a database by URL with a pool of its own and creates the
// table; the Manager keeps its sessions there. Here a visitor's first
// request puts a name in the session and the next one, with the cookie the
// first set, reads it back.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(dir, "sessions.db"), sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close() // Open's pool is the Store's: Close closes it
	fmt.Println(st.SchemaChanges())

	m, err := session.New(session.Config{Secret: exampleSecret, Store: st, Lifetime: 30 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		if err := s.Regenerate(); err != nil { // a new ID at every change of privilege
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		s.Put("user.name", "Ana")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello, %v", session.FromRequest(r).Get("user.name", "stranger"))
	})
	h := m.Middleware(mux)

	login := httptest.NewRecorder()
	h.ServeHTTP(login, httptest.NewRequest("POST", "/login", nil))
	next := httptest.NewRequest("GET", "/", nil)
	for _, c := range login.Result().Cookies() {
		next.AddCookie(c)
	}
	page := httptest.NewRecorder()
	h.ServeHTTP(page, next)
	fmt.Println(page.Body.String())
	// Output:
	// [created table "sessions" created table "sessions_users"]
	// hello, Ana
}

// New builds a Store on a pool the application owns (its own settings and
// limits), which the Store never closes. Each session is one row of the
// table, with its own expiry: here the Manager's one-hour lifetime.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// modernc.org/sqlite, which sqlstore/sqlite imports, registers
	// "sqlite". A busy timeout and WAL, as Open sets them.
	db, err := sql.Open("sqlite", filepath.Join(dir, "app.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)

	ctx := context.Background()
	st, err := sqlstore.New(ctx, db, sqlstore.SQLite, sqlstore.Options{Table: "web_sessions"})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close() // its prepared statements; the pool stays open
	m, err := session.New(session.Config{Secret: exampleSecret, Store: st, Lifetime: time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	// A request that puts something in its session saves it.
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.FromRequest(r).Put("cart", []string{"apple", "pear"})
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))

	var rows int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM web_sessions").Scan(&rows); err != nil {
		log.Fatal(err)
	}
	fmt.Println("rows:", rows)
	err = st.ListActivity(ctx, func(id string, lastActivity, expiry time.Time) bool {
		fmt.Println("expires", expiry.Sub(lastActivity).Round(time.Minute), "after its last activity")
		return true
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// rows: 1
	// expires 1h0m0s after its last activity
}
