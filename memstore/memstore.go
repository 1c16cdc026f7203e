// Package memstore is an in-process session store: records live in a map in
// the server's memory, so they are lost on restart and are not shared between
// processes. It suits a single-instance server, development and tests.
//
// The map is split into shards, each with its own mutex, chosen by a hash of
// the session ID, so requests for different sessions rarely contend. Update
// holds its shard's lock while fn runs.
//
// Expired records are never returned, but they stay in memory until Sweep
// removes them (the Manager calls Sweep in the background) or an Update
// replaces them.
package memstore

import (
	"bytes"
	"context"
	"math"
	"sync"
	"time"

	"github.com/sessionkit/session/internal/sessionid"
)

// shardCount is the number of independently locked shards (a power of two).
const shardCount = 32

type record struct {
	data []byte
	exp  int64 // the expiry in Unix nanoseconds: 8 bytes and no pointer for the garbage collector, where a time.Time is 24 and one
}

// newRecord returns the record of data expiring at expiry, which is clamped
// to the years 1678 to 2262 that Unix nanoseconds hold.
func newRecord(data []byte, expiry time.Time) record {
	return record{data: data, exp: unixNano(expiry)}
}

var (
	minExpiry = time.Unix(0, math.MinInt64)
	maxExpiry = time.Unix(0, math.MaxInt64)
)

func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minExpiry):
		return math.MinInt64
	case t.After(maxExpiry):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// expiry returns r's expiry as a time.Time.
func (r record) expiry() time.Time { return time.Unix(0, r.exp) }

// expired reports whether r is dead at now.
func (r record) expired(now time.Time) bool { return r.exp <= now.UnixNano() }

type shard struct {
	mu sync.Mutex
	m  map[string]record
}

// Store is an in-memory session store. It implements session.Store,
// session.Sweeper, session.BatchSweeper, session.Swapper, session.Lister
// and session.UserIndex. Create one with New; the zero value is not usable. A Store
// is safe for concurrent use.
type Store struct {
	shards [shardCount]shard
	users  users // each user's sessions (session.UserIndex)
}

// New returns an empty in-memory store.
func New() *Store {
	s := &Store{}
	for i := range s.shards {
		s.shards[i].m = make(map[string]record)
	}
	return s
}

// shardFor picks id's shard.
func (s *Store) shardFor(id string) *shard {
	return &s.shards[sessionid.Shard(id, shardCount)]
}

// Load returns the record stored under id. It reports found == false for a
// missing or expired record. The returned slice is the store's own copy:
// callers must not modify it.
func (s *Store) Load(ctx context.Context, id string) (data []byte, expiry time.Time, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, false, err
	}
	sh := s.shardFor(id)
	sh.mu.Lock()
	r, ok := sh.m[id]
	sh.mu.Unlock()
	if !ok || r.expired(time.Now()) {
		return nil, time.Time{}, false, nil
	}
	return r.data, r.expiry(), true, nil
}

// Update calls fn with the current record under id (nil, false when there is
// none or it has expired) while holding the lock for id's shard, then stores a
// copy of what fn returns, or deletes the record when fn returns nil data. If
// fn returns an error, nothing changes and Update returns that error as is.
// fn must not modify the data it is given, and must not call the store
// (that would deadlock on the shard lock).
func (s *Store) Update(ctx context.Context, id string, fn func(data []byte, found bool) (next []byte, expiry time.Time, err error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shardFor(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()

	var cur []byte
	r, found := sh.m[id]
	if found && r.expired(time.Now()) {
		found = false
	}
	if found {
		cur = r.data[:len(r.data):len(r.data)] // an append by fn cannot write into the store
	}
	next, expiry, err := fn(cur, found)
	if err != nil {
		return err
	}
	if next == nil {
		delete(sh.m, id)
		return nil
	}
	sh.m[id] = newRecord(bytes.Clone(next), expiry)
	return nil
}

// Delete removes the record under id. Deleting a missing record is not an
// error.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shardFor(id)
	sh.mu.Lock()
	delete(sh.m, id)
	sh.mu.Unlock()
	return nil
}

// Touch sets the expiry of the record under id, if it exists and has not
// expired, without changing its data. It does nothing for a missing or
// expired record.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shardFor(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r, ok := sh.m[id]
	if !ok || r.expired(time.Now()) {
		return nil
	}
	sh.m[id] = newRecord(r.data, expiry)
	return nil
}

// Sweep removes every expired record and reports how many it removed. It
// locks one shard at a time, so it never stops the whole store. If ctx ends
// part way, Sweep returns the count so far and ctx's error.
func (s *Store) Sweep(ctx context.Context) (removed int, err error) {
	for i := range s.shards {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		sh := &s.shards[i]
		now := time.Now()
		sh.mu.Lock()
		for id, r := range sh.m {
			if r.expired(now) {
				delete(sh.m, id)
				removed++
			}
		}
		sh.mu.Unlock()
	}
	return removed, nil
}

// Len reports the number of unexpired records in the store.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		now := time.Now()
		sh.mu.Lock()
		for _, r := range sh.m {
			if !r.expired(now) {
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}
