package memstore

import (
	"bytes"
	"context"
	"time"
)

// Swap stores a copy of next with expiry under id, and reports true, when
// the record there is live and holds exactly old (old non-nil), or when
// there is no live record (old nil); otherwise it changes nothing and
// reports false. It compares and writes under the lock of id's shard, so of
// concurrent Swaps from the same old exactly one succeeds. It implements
// session.Swapper.
func (s *Store) Swap(ctx context.Context, id string, old, next []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	sh := s.shardFor(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r, found := sh.m[id]
	live := found && !r.expired(time.Now())
	if old == nil && live || old != nil && (!live || !bytes.Equal(r.data, old)) {
		return false, nil
	}
	sh.m[id] = newRecord(bytes.Clone(next), expiry)
	return true, nil
}
