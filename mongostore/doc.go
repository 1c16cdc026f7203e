// Package mongostore keeps sessions in a MongoDB collection, one document per
// session, through the official driver go.mongodb.org/mongo-driver/v2.
//
// Importing the package (or github.com/sessionkit/session/drivers) registers
// the "mongodb" driver:
//
//	m, err := session.New(session.Config{
//		Secret:     os.Getenv("SESSION_SECRET"),
//		Driver:     "mongodb",
//		Connection: "mongodb://127.0.0.1:27017/app",
//		Table:      "sessions", // the collection; default "sessions"
//	})
//
// An application that already has a client builds the store in code with New
// and passes it as Config.Store; the store never disconnects that client.
// New creates the expiry index and the user index's index (unless
// Options.SkipIndexes), so it takes a context, which bounds that wait for
// the server:
//
//	st, err := mongostore.New(ctx, client.Database("app").Collection("sessions"), mongostore.Options{})
//
// # Connection URLs
//
// Open(ctx, url, opts) (and the "mongodb" driver, which gives it
// DriverOpenTimeout) connects, checks that the server answers and creates
// the index, all within ctx. It takes the driver's own connection strings:
//
//	mongodb://127.0.0.1:27017/app
//	mongodb://user:pass@db1:27017,db2:27017/app?replicaSet=rs0&authSource=admin
//	mongodb+srv://user:pass@cluster0.example.net/app?retryWrites=true
//
// The database is the URL's path ("app" above), "sessionkit" when the path is
// empty; every query option of the driver applies (timeouts, TLS, pool size,
// read and write concerns). The collection is Options.Collection (Config.Table
// for the driver), "sessions" by default. A store from Open owns its client:
// Close disconnects it.
//
// A user name or password holding '@', '/', ':' or '%' must be
// percent-encoded (%40, %2F, %3A, %25), as the driver requires. Open checks
// the URL the way the driver splits it before the driver sees it, and
// refuses the forms the driver would split wrongly or quote in its errors
// (such a character unescaped before the '@', more than one '@', a bad
// escape, a host that is not host[:port], a bad escape in a secret option).
// Its errors show the URL with the password and the values of
// tlsCertificateKeyFilePassword, sslClientCertificateKeyPassword and
// authMechanismProperties masked ("xxxxx"), or nothing of it after the
// scheme when it is too broken to tell the password from the rest; the
// driver's own errors pass through with those secrets masked. No error
// holds a part of a password, however malformed the URL.
//
// # Documents
//
// Each session is one document:
//
//	{
//	  _id:          "<session ID>",       // 43 characters of URL-safe base64
//	  payload:      "<encoded session>",  // a string (BSON binary for bytes that are not UTF-8)
//	  lastActivity: 1767225600,           // int64, Unix seconds of the last write or touch
//	  expiresAt:    ISODate("…"),         // a BSON date: the idle deadline
//	  version:      7                     // int64, incremented by every Update
//	}
//
// The Manager's payloads are JSON or, with Config.Encrypt, base64 text, so
// payload is a string in practice; other bytes are kept exactly as BSON binary
// (subtype 0), and both forms load. IDs outside the Manager's alphabet
// ([A-Za-z0-9_-], 1 to 128 characters) are never sent to the server: Load
// reports them as not found, and Update, Delete and Touch return an error
// wrapping ErrInvalidID. IDs only ever appear as string values in filters, so
// an ID cannot become a query operator.
//
// # Concurrency
//
// Update is optimistic: it reads the document (FindOne), calls fn, and writes
// with a compare-and-swap on the version: UpdateOne filtered by {_id, version}
// with $set of the new fields and $inc of version, InsertOne for a session that
// has no document (a duplicate-key error means another request created it
// first), DeleteOne filtered by {_id, version} when fn returns nil data. When
// the write matches nothing, another request got there first: Update reads
// the newer document and calls fn again, after a short randomized back-off,
// up to Options.MaxRetries times (ErrConflict after that) and never past the
// context's end. A single-document update is atomic on MongoDB, so no update
// is lost, in one process or many.
//
// Within one process, Updates of the same session wait for each other's turn
// (a per-ID queue that honours the context) before they start, so n
// concurrent requests on one session cost about 2n commands rather than
// O(n²) lost compare-and-swaps; only writers in different processes (or
// different Store values) ever race, and the version check settles those.
// Loads, Touches and Updates of other sessions do not wait.
//
// Touch moves expiresAt (and lastActivity)
// with one UpdateOne filtered by {_id, expiresAt > now}, without upsert: it
// never creates or revives a document.
//
// The store does not implement session.Mover: moving a session to a new ID
// touches two documents, which MongoDB makes atomic only inside a
// multi-document transaction, and transactions need a replica set. Regenerate
// therefore deletes the old document and creates the new one in two steps
// (a failure between them loses the session, never leaves the old ID
// loadable).
//
// # Expiry and the TTL index
//
// Load, Update and List treat a document whose expiresAt has passed as
// absent, whether or not it has been removed, so an expired session is never
// served. New and Open create, idempotently, an index on expiresAt. On a real
// MongoDB it is a TTL index with expireAfterSeconds 0: the server's TTL
// monitor then deletes expired documents by itself (it runs about once a
// minute), so nothing piles up even when Sweep is never called. Servers
// without TTL indexes (FerretDB 1.x answers "Index option expireAfterSeconds
// is not implemented yet") get a plain index on expiresAt instead; the store
// works the same, and Sweep (DeleteMany expiresAt <= now, which the Manager
// runs in the background by Config.Lottery) removes expired documents. TTL
// reports which index the store found or made. An existing index on
// expiresAt with other options is left as it is.
//
// Every decision on expiry (Load, Update, Swap, Touch, List, Sweep, the TTL
// index) reads the document's own expiresAt, which the writing Manager set
// from its Lifetime: no process decides a session's expiry from a lifetime
// of its own, so sessionctl run with another (or the default) lifetime
// neither sweeps nor hides a live session. ListActivity reports each
// session's lastActivity, which sessionctl list shows.
//
// # The sessions of a user
//
// The store implements session.UserIndex, which Manager.UserSessions,
// DestroyUserSessions, DestroyUserSession and Session.DestroyOtherSessions
// use, with a second collection in the same database, named after the
// first plus "_users" ("sessions_users"): one document per session of a
// user,
//
//	{
//	  _id:   "<user hash>/<session ID>",
//	  user:  "<user hash>",        // hex SHA-256 of the user ID
//	  added: ISODate("…")          // when the Manager added the entry (Login)
//	}
//
// with an index on user ("user_1"), which New and Open create idempotently
// (not with Options.SkipIndexes; an existing index on user with other
// options is kept). AddUserSession is one UpdateOne with upsert, filtered
// by the entry's _id: each entry is a document of its own, so concurrent
// logins of one user all land (nothing reads and rewrites a shared list).
// ListUserSessions is one Find by user, through that index;
// RemoveUserSessions is one DeleteMany by _id (per 1000 IDs). The _id
// starts with the user's hash, so a removal never touches another user's
// entries. The hash gives every user ID (up to session.MaxUserIDLen bytes
// of any content) a key of one length, within every index key limit; it is
// no secret: whoever reads the collection can confirm a guessed user ID (an
// e-mail address) against it.
//
// The index is a hint kept beside the sessions, with no transaction between
// them: the Manager adds a session's entry before the session is stored as
// the user's, checks the session each entry names (live, still that
// user's) and removes the entries that are not. An entry has no expiry of
// its own, since a session lives as long as it is used; entries whose
// session expired (removed by the TTL monitor, or by Sweep) or was deleted
// are removed by the Manager when it lists the user's sessions, or at a
// Login when the user's index has grown to 32 entries, and by Sweep: each
// Sweep checks the next 1000 entries older than a minute (SweepBatch, at its
// end, the next limit entries), in _id order from where the previous one
// stopped and from the first after the last, and removes those whose
// session is gone or expired (three commands: a Find of the entries, a Find
// of their sessions by _id, a DeleteMany). Entries younger than a minute
// stay: they may name the session of a Login in flight. The Manager runs
// Sweep by its lottery on MongoDB too, where the TTL index makes the
// sessions' part of it redundant.
//
// # FerretDB
//
// The tests run against FerretDB 1.24 with its SQLite back end, embedded in
// the test process (the separate module mongostore/ferrettest). FerretDB 1.x
// differs from MongoDB in two ways that matter here. It has no TTL indexes
// (see above). And it does not apply an update atomically with its filter: it
// finds the matching documents, then rewrites each whole document by _id, so
// updates racing on several connections can all pass the same version check
// (measured: up to 11 of 50 racing updates "won"), and a Touch racing an
// Update can write back the payload it read. Against FerretDB 1.x the store
// is therefore safe only when all its commands go through one connection
// (maxPoolSize=1 in the URL or client options, one process), as in those
// tests; MongoDB needs nothing of the sort.
//
// FerretDB 1.x's SQLite back end also uses the _id index only for a filter
// that is exactly {_id}: the store's filters that add a condition ({_id,
// version}, {_id, expiresAt > now}) scan the collection there, as do the
// user index's Find by user and DeleteMany by a list of _ids, so their cost
// grows with the number of sessions and entries. Benchmarks against FerretDB measure
// FerretDB, not MongoDB.
package mongostore
