package session

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/internal/sessionid"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/nullstore"
)

// Store is the contract between the Manager and a back end. A store keeps opaque
// records (the encoded session payload) under session IDs, each with an expiry
// deadline. The Manager never writes back a snapshot it loaded earlier: it
// replays the request's changes inside Update, so a store only has to make
// Update atomic for one ID.
//
// Every method takes the request's context first and must return when it is
// done. Method signatures use only standard-library types, so a store package
// need not import this one (and this package can use the built-in stores
// without an import cycle).
//
// The rules, each checked by the conformance suite in package storetest:
//
//   - Load returns found == false and a nil error for an ID that is missing,
//     whose expiry is not after now (whether or not a sweep has removed it
//     yet), or that the store cannot hold (an ID with characters outside its
//     alphabet; Update, Delete and Touch may return an error for such an ID).
//     A non-nil error means the store could not answer (it is down, the
//     context ended). Callers must not modify the returned slice.
//   - Update calls fn with the current record (data == nil and found ==
//     false when there is none, by the rules of Load) and stores what fn
//     returns, with no other writer to the same ID in between. A store that
//     uses optimistic concurrency (compare-and-swap, WATCH/MULTI, a version
//     column) may call fn again with the newer record after a conflict, so fn
//     must not depend on being called once. fn must not modify data, and must
//     not call the store (it may run under a lock). When fn returns an error,
//     nothing is written and Update returns that error unchanged (errors.Is
//     works on it). When fn returns nil data, the record is deleted; a
//     non-nil empty slice is an empty record. Otherwise the record is replaced
//     by data with the returned expiry, even an expiry in the past (such a
//     record is expired: Load never returns it, Sweep removes it). The store
//     must not keep the slice fn returned.
//   - Delete removes the record; deleting a missing record is not an error.
//   - Touch moves the expiry of an existing, unexpired record to expiry without
//     rewriting its data; it never creates a record and is not an error for a
//     missing one.
//   - A context that has ended before a call makes it return an error that
//     wraps the context's error, having written nothing.
//
// Session IDs reaching a store are the Manager's own: 43 characters of the
// URL-safe base64 alphabet. A store must still never let an ID name anything
// outside its own space (a path outside its directory, another table).
type Store interface {
	Load(ctx context.Context, id string) (data []byte, expiry time.Time, found bool, err error)
	Update(ctx context.Context, id string, fn func(data []byte, found bool) (next []byte, expiry time.Time, err error)) error
	Delete(ctx context.Context, id string) error
	Touch(ctx context.Context, id string, expiry time.Time) error
}

// Sweeper is implemented by stores that must remove expired records
// themselves (stores whose back end has no expiry of its own). The Manager
// calls Sweep in the background when a request wins the lottery
// (Config.Lottery); it never makes that request wait.
type Sweeper interface {
	// Sweep removes every record whose expiry is not after now and reports
	// how many it removed (on an error, how many it had removed by then).
	Sweep(ctx context.Context) (removed int, err error)
}

// BatchSweeper is implemented by Sweepers that can sweep in bounded steps,
// so that a caller (sessionctl gc) can report the progress of a long sweep
// and stop between steps.
type BatchSweeper interface {
	Sweeper
	// SweepBatch removes at most limit records whose expiry is not after
	// now and reports how many it removed; fewer than limit means that none
	// was left when it looked.
	SweepBatch(ctx context.Context, limit int) (removed int, err error)
}

// Swapper is implemented by stores that can write a record in one round trip
// when it still holds what the caller read: a compare-and-swap on the
// record's bytes. The Manager uses it to save a session that no other request
// changed meanwhile, and to create a new session, in one round trip; when
// Swap reports false it falls back to Update, which replays the request's
// changes onto the record as it stands.
type Swapper interface {
	// Swap stores next with expiry under id, and reports true, when the
	// record's data is byte for byte old and unexpired (old non-nil), or when
	// there is no unexpired record (old nil). Otherwise it changes nothing
	// and reports false. next is never nil. The store must not keep old or
	// next. A context that has ended makes it return an error wrapping the
	// context's error, having written nothing.
	Swap(ctx context.Context, id string, old, next []byte, expiry time.Time) (swapped bool, err error)
}

// Mover is implemented by stores that can move a record to a new ID in one
// atomic step (one transaction, one script). Session.Regenerate uses it when
// the store has it; otherwise it deletes the old record in one Update and
// creates the new one in another, so that a failure between the two loses
// the session rather than leaving the old ID loadable.
type Mover interface {
	// Move calls fn with the record of oldID (by the rules of Update's fn)
	// and, unless fn returns an error, removes the record of oldID and stores
	// what fn returns under newID, with no other writer to either ID in
	// between. When fn returns an error, nothing changes and Move returns
	// it. Move fails, changing nothing, when newID already holds an unexpired
	// record or equals oldID; an expired record at newID counts as absent.
	// When fn returns nil data, the old record is removed and nothing is
	// stored.
	Move(ctx context.Context, oldID, newID string, fn func(data []byte, found bool) (next []byte, expiry time.Time, err error)) error
}

// Lister is implemented by stores that can enumerate their records, for
// operators' tools such as sessionctl. Stores that cannot (a cache that does
// not enumerate keys, the client-side cookie driver) do not implement it.
type Lister interface {
	// List calls fn with the ID and expiry of every unexpired record, in no
	// particular order, until fn returns false. Records written or removed
	// while List runs may or may not be seen.
	List(ctx context.Context, fn func(id string, expiry time.Time) bool) error
}

// UserIndex is implemented by stores that can find the sessions of one user
// without scanning every session: what Manager.UserSessions,
// Manager.DestroyUserSessions, Manager.DestroyUserSession and
// Session.DestroyOtherSessions need. The index is kept beside the records,
// and it is a hint: the Manager checks every record it names (live? still
// that user's?) and removes the entries that are not, so an entry whose
// session expired, was destroyed or evicted never makes a wrong answer. What
// the index must never do is lose an entry of a live session: the Manager
// adds a session's entry before the session is stored as the user's.
//
// User IDs are the application's: any non-empty UTF-8 string of at most
// MaxUserIDLen bytes without NUL (slashes, dots, spaces, quotes, any script). A store must
// keep the indexes of different user IDs apart, and must never let a user ID
// name anything outside its own space (a path, a table, a key of another
// prefix). Session IDs are as for Store.
type UserIndex interface {
	// AddUserSession adds id to the index of userID, stamped with the time
	// it was added (adding an ID that is there already may restamp it). It
	// is atomic: concurrent adds for one user all land.
	AddUserSession(ctx context.Context, userID, id string) error
	// ListUserSessions calls fn with the ID of each entry of userID's index
	// and the time the entry was added (to within a second), in no
	// particular order and each ID once, until fn returns false. Entries
	// added or removed while it runs may or may not be seen.
	ListUserSessions(ctx context.Context, userID string, fn func(id string, added time.Time) bool) error
	// RemoveUserSessions removes ids from userID's index; an ID that is not
	// there is not an error, and other users' indexes are untouched.
	RemoveUserSessions(ctx context.Context, userID string, ids ...string) error
}

// MaxUserIDLen is the longest user ID Session.Login accepts, in bytes.
const MaxUserIDLen = sessionid.MaxUserLen

// A Driver opens the store that Config.Driver names. It gets the Config with
// its defaults filled in (Connection, Table, Lifetime, Files, ...). A store a
// Driver opens belongs to the Manager: Manager.Close closes it when it has a
// Close method.
type Driver func(cfg Config) (Store, error)

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{
		"file":   func(cfg Config) (Store, error) { return filestore.New(cfg.Files) },
		"memory": func(Config) (Store, error) { return memstore.New(), nil },
		"null":   func(Config) (Store, error) { return nullstore.New(), nil },
	}
)

// Register makes a driver available under name for Config.Driver, in the
// manner of database/sql.Register. Driver packages call it from init; it
// panics when name is empty, d is nil, or name is already registered.
func Register(name string, d Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if name == "" || d == nil {
		panic("session: Register with an empty name or a nil driver")
	}
	if _, dup := drivers[name]; dup || name == "cookie" {
		panic("session: Register called twice for driver " + name)
	}
	drivers[name] = d
}

// Drivers returns the sorted names of the registered drivers.
func Drivers() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	names := make([]string, 0, len(drivers)+1)
	names = append(names, "cookie") // built into the Manager: it has no Store
	for name := range drivers {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func openDriver(cfg Config) (Store, error) {
	driversMu.RLock()
	d, ok := drivers[cfg.Driver]
	driversMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q (registered: %v; import github.com/sessionkit/session/drivers for all of them)", ErrUnknownDriver, cfg.Driver, Drivers())
	}
	st, err := d(cfg)
	if err != nil {
		return nil, fmt.Errorf("session: open %s store: %w", cfg.Driver, err)
	}
	return st, nil
}
