package memcachedstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/sessionid"
)

var _ session.Swapper = (*Store)(nil)

const (
	// loadSlots is the number of recent Loads a store remembers, one per
	// slot chosen by the session ID's hash: enough for as many requests in
	// flight, fewer only costing a round trip when two share a slot.
	loadSlots = 1024
	// maxRemembered is the largest payload a slot keeps: larger ones are
	// not remembered, and their Swap reads the item again (two round
	// trips). It bounds what the slots hold to loadSlots × maxRemembered
	// (16 MiB), about 1024 payloads of their real size in practice.
	maxRemembered = 16 << 10
)

// loaded is what Load read of one item: the data it returned, its expiry,
// and the item's CAS token, so that Swap from those very bytes (and Touch)
// is one cas, which memcached refuses when anyone wrote the item since.
type loaded struct {
	mu     sync.Mutex
	id     string
	data   []byte // the slice Load returned, which callers do not modify
	cas    uint64
	expiry time.Time
}

// loads are a store's slots of recent Loads.
type loads [loadSlots]loaded

// remember records what Load returned for id.
func (l *loads) remember(id string, data []byte, cas uint64, expiry time.Time) {
	if len(data) > maxRemembered {
		return
	}
	slot := &l[sessionid.Shard(id, loadSlots)]
	slot.mu.Lock()
	slot.id, slot.data, slot.cas, slot.expiry = id, data, cas, expiry
	slot.mu.Unlock()
}

// take returns and forgets the remembered Load of id, when there is one
// whose record had not expired by now; with old non-nil, only when its data
// is old byte for byte.
func (l *loads) take(id string, old []byte, now time.Time) (data []byte, cas uint64, ok bool) {
	slot := &l[sessionid.Shard(id, loadSlots)]
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.id != id || !slot.expiry.After(now) || old != nil && !bytes.Equal(slot.data, old) {
		return nil, 0, false
	}
	data, cas = slot.data, slot.cas
	slot.id, slot.data = "", nil
	return data, cas, true
}

// Swap stores next with expiry under id, and reports true, when the record
// of id is live and holds exactly old (old non-nil), or when there is no
// live record (old nil); otherwise it changes nothing and reports false. It
// implements session.Swapper with memcached's own compare-and-swap:
//
//   - old nil: add, one round trip; memcached refuses it when an item is
//     there, which may hold an expired record or one this store did not
//     write: Swap then reads it (gets) and replaces it with cas, or reports
//     false for a live record.
//   - old non-nil, the data a recent Load of this Store returned for id (as
//     the Manager passes it): cas with the CAS token that Load read, one
//     round trip. memcached takes it only when nobody wrote the item since
//     the Load, so the record still holds old.
//   - otherwise, or when that cas finds the item changed since (a Touch,
//     another writer of the same bytes): gets, a byte comparison, then cas.
//
// A cas or add that loses a race with another writer is tried again from a
// new gets, as Update does (ErrConflict after 100 attempts). An expiry that
// has passed deletes the record when it swaps (a cas with a negative
// expiration). An ID outside the store's alphabet is ErrInvalidID.
func (s *Store) Swap(ctx context.Context, id string, old, next []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("memcachedstore: swap: %w", err)
	}
	key, ok := s.key(id)
	if !ok {
		return false, ErrInvalidID
	}
	now := time.Now()
	value, exp := tombstone, int32(-1)
	if expiry.After(now) {
		value, exp = encode(next, expiry), expiration(expiry, now)
	}

	switch {
	case old == nil && expiry.After(now):
		err := s.client.Add(&memcache.Item{Key: key, Value: value, Expiration: exp})
		switch {
		case err == nil:
			return true, nil
		case !errors.Is(err, memcache.ErrNotStored):
			return false, fail(ctx, "swap", err)
		}
		// An item is there: read it below.
	case old != nil:
		if _, cas, ok := s.loads.take(id, old, now); ok {
			err := s.client.CompareAndSwap(&memcache.Item{Key: key, Value: value, Expiration: exp, CasID: cas})
			switch {
			case err == nil:
				return true, nil
			case errors.Is(err, memcache.ErrCacheMiss), errors.Is(err, memcache.ErrNotStored):
				return false, nil // no item: no record holds old
			case !errors.Is(err, memcache.ErrCASConflict):
				return false, fail(ctx, "swap", err)
			}
			// Written since the Load: compare what is there now.
		}
	}

	var swapped bool
	err := casLoop(ctx, "swap", func() error {
		item, err := s.get(key)
		if err != nil {
			return fail(ctx, "swap", err)
		}
		now := time.Now()
		data, _, live := live(item, now)
		switch {
		case old == nil && live, old != nil && (!live || !bytes.Equal(data, old)):
			swapped = false
			return nil
		case item == nil && !expiry.After(now):
			swapped = true // an expired record where there is none: nothing to write
			return nil
		}
		swapped = true
		if exp >= 0 && !expiry.After(now) {
			value, exp = tombstone, -1 // the expiry passed while Swap ran
		}
		return s.write(ctx, "swap", key, item, value, exp)
	})
	if err != nil {
		return false, err
	}
	return swapped, nil
}
