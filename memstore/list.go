package memstore

import (
	"context"
	"time"
)

// List calls fn with the ID and expiry of every unexpired record, until fn
// returns false. It copies one shard's live records under its lock and calls
// fn with the lock released, so fn may call the store. It implements
// session.Lister.
func (s *Store) List(ctx context.Context, fn func(id string, expiry time.Time) bool) error {
	type entry struct {
		id     string
		expiry time.Time
	}
	var batch []entry
	for i := range s.shards {
		if err := ctx.Err(); err != nil {
			return err
		}
		sh := &s.shards[i]
		now := time.Now()
		batch = batch[:0]
		sh.mu.Lock()
		for id, r := range sh.m {
			if !r.expired(now) {
				batch = append(batch, entry{id, r.expiry()})
			}
		}
		sh.mu.Unlock()
		for _, e := range batch {
			if !fn(e.id, e.expiry) {
				return nil
			}
		}
	}
	return nil
}
