// Package session gives net/http applications sessions with one API over
// interchangeable stores: values put in one request and read in the next,
// dot-notation paths, flash data that survives exactly one more request,
// CSRF and one-time tokens, and ID regeneration on log in.
//
// Build a Manager with New, wrap the application's handler with
// Manager.Middleware, and get each request's Session with FromRequest:
//
//	m, err := session.New(session.Config{Secret: os.Getenv("SESSION_SECRET")})
//	...
//	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
//		s := session.FromRequest(r)
//		n, _ := session.GetAs[int](s, "visits")
//		s.Put("visits", n+1)
//	})
//	http.ListenAndServe(addr, m.Middleware(m.VerifyCSRF(mux)))
//
// # Stores
//
// Config.Driver chooses the store: "file" (the default, one file per session
// in Config.Files), "memory" and "null" are built in; other drivers register
// themselves when their package is imported (import
// github.com/sessionkit/session/drivers for all of them). A store built in
// code goes in Config.Store. A store implements the Store contract; package
// storetest checks a store against it.
//
// # Guarantees
//
// Session IDs are 256 bits from crypto/rand; the cookie carries the ID and an
// HMAC-SHA256 under a key derived from Config.Secret (Config.PreviousSecrets
// still verify, and such a cookie is re-signed). A cookie that does not
// verify, or that names a session the store does not hold, starts a new
// session under a new ID: an ID is never adopted from the client. A session
// idle longer than Config.Lifetime never loads again, swept or not. With
// Config.Encrypt the stored payload is sealed with AES-256-GCM, bound to the
// session ID.
//
// No update is lost when requests on one session overlap: each request
// records its changes and replays them at save time onto the record as it
// then stands, inside the store's atomic Update. A request that finds its
// session destroyed by another does not bring it back.
//
// A request that only reads its session writes nothing: the idle deadline is
// extended by a cheap touch at most once per twentieth of the lifetime (15 s
// for the default 5 minutes), and the persistent cookie is re-sent then. A
// new visitor whose handler does not put, flash or read a token gets no
// cookie and causes no store write.
package session
