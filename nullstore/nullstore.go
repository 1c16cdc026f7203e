// Package nullstore is a session store that keeps nothing: every Load misses
// and every write is thrown away, so sessions never persist beyond the
// request that created them.
//
// It is for tests that exercise request handling without caring about
// storage, and for stateless applications that use the session API (for
// example through shared middleware) but do not want server-side state. It
// does not pass the storetest conformance suite, by design.
package nullstore

import (
	"context"
	"time"
)

// Store is a session store that stores nothing. It implements session.Store.
// The zero value is ready to use and safe for concurrent use.
type Store struct{}

// New returns a Store.
func New() Store { return Store{} }

// Load always reports found == false; it returns ctx's error if ctx has ended.
func (Store) Load(ctx context.Context, id string) (data []byte, expiry time.Time, found bool, err error) {
	return nil, time.Time{}, false, ctx.Err()
}

// Update calls fn with (nil, false), as for a missing record, and discards
// what it returns. It returns fn's error unchanged, or ctx's error (without
// calling fn) if ctx has ended.
func (Store) Update(ctx context.Context, id string, fn func(data []byte, found bool) (next []byte, expiry time.Time, err error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, _, err := fn(nil, false)
	return err
}

// Delete does nothing; it returns ctx's error if ctx has ended.
func (Store) Delete(ctx context.Context, id string) error { return ctx.Err() }

// Touch does nothing; it returns ctx's error if ctx has ended.
func (Store) Touch(ctx context.Context, id string, expiry time.Time) error { return ctx.Err() }
