package memstore

import (
	"context"
	"fmt"
	"time"
)

// SweepBatch removes at most limit expired records and reports how many it
// removed; fewer than limit means that none was left. Like Sweep, it locks
// one shard at a time. It implements session.BatchSweeper. A limit below 1
// is an error.
func (s *Store) SweepBatch(ctx context.Context, limit int) (removed int, err error) {
	if limit < 1 {
		return 0, fmt.Errorf("memstore: sweep: batch limit %d is not positive", limit)
	}
	for i := range s.shards {
		if err := ctx.Err(); err != nil {
			return removed, fmt.Errorf("memstore: sweep: %w", err)
		}
		sh := &s.shards[i]
		now := time.Now()
		sh.mu.Lock()
		for id, r := range sh.m {
			if removed == limit {
				break
			}
			if r.expired(now) {
				delete(sh.m, id)
				removed++
			}
		}
		sh.mu.Unlock()
		if removed == limit {
			return removed, nil
		}
	}
	return removed, nil
}
