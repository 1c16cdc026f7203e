package session

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The store calls whose best form depends on an optional capability of the
// store. Each picks the capability when the store has it and falls back on
// the Store contract otherwise, as io.Copy picks WriterTo or ReaderFrom: the
// rest of the package states what it wants done, never how a store does it.

// recordFn computes the record to store from the one that stands, by the
// rules of Store.Update's fn.
type recordFn = func(data []byte, found bool) (next []byte, expiry time.Time, err error)

// errLost reports a move that removed the old record but could not write the
// new one: the session is lost, as after Destroy.
var errLost = errors.New("session: session lost while moving it to a new ID")

// create stores a new record under id, failing with errTaken when an
// unexpired one exists: one Swap (compare with no record) when the store is a
// Swapper, else an Update.
func (m *Manager) create(ctx context.Context, id string, raw []byte, expiry time.Time) error {
	if m.swapper != nil {
		swapped, err := m.swapper.Swap(ctx, id, nil, raw, expiry)
		if err == nil && !swapped {
			err = errTaken
		}
		return err
	}
	return m.store.Update(ctx, id, func(_ []byte, found bool) ([]byte, time.Time, error) {
		if found {
			return nil, time.Time{}, errTaken
		}
		return raw, expiry, nil
	})
}

// A replayer recomputes the record to store, with expiry, from the record
// that stands (by the rules of Store.Update's fn). A Session is one: it
// replays its request's changes.
type replayer interface {
	replay(data []byte, found bool, expiry time.Time) ([]byte, time.Time, error)
}

// write replaces the record of id that this request read as old with next:
// in one round trip when the store is a Swapper and no other request changed
// the record meanwhile; otherwise (or when old or next is nil) through
// Update, where r recomputes the record from the one that now stands.
// swapped reports that next itself was stored.
func (m *Manager) write(ctx context.Context, id string, old, next []byte, expiry time.Time, r replayer) (swapped bool, err error) {
	if m.swapper != nil && old != nil && next != nil {
		if swapped, err = m.swapper.Swap(ctx, id, old, next, expiry); err != nil || swapped {
			return swapped, err
		}
	}
	return false, m.store.Update(ctx, id, func(data []byte, found bool) ([]byte, time.Time, error) {
		return r.replay(data, found, expiry)
	})
}

// move moves the record of oldID to newID, storing what fn computes from it:
// in one atomic step when the store is a Mover; otherwise it deletes the old
// record in one Update and creates the new one, so that a failure between
// the two loses the session (an error wrapping errLost) rather than leaving
// the old ID loadable.
func (m *Manager) move(ctx context.Context, oldID, newID string, fn recordFn) error {
	if m.mover != nil {
		return m.mover.Move(ctx, oldID, newID, fn)
	}
	var (
		next   []byte
		expiry time.Time
	)
	err := m.store.Update(ctx, oldID, func(data []byte, found bool) ([]byte, time.Time, error) {
		var err error
		next, expiry, err = fn(data, found)
		return nil, time.Time{}, err // nil data: delete the old record
	})
	if err != nil || next == nil {
		return err
	}
	if err := m.create(ctx, newID, next, expiry); err != nil {
		return fmt.Errorf("%w: %w", errLost, err)
	}
	return nil
}
