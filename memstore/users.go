package memstore

import (
	"context"
	"sync"
	"time"
)

// users is the index of each user's sessions: user ID → session ID → when
// the entry was added (Unix seconds). It has a lock of its own: an index
// call never waits for a session's shard.
type users struct {
	mu sync.Mutex
	m  map[string]map[string]int64
}

// AddUserSession adds id to the index of userID (session.UserIndex).
func (s *Store) AddUserSession(ctx context.Context, userID, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	u := &s.users
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = make(map[string]map[string]int64)
	}
	ids := u.m[userID]
	if ids == nil {
		ids = make(map[string]int64)
		u.m[userID] = ids
	}
	ids[id] = time.Now().Unix()
	return nil
}

// ListUserSessions calls fn with each entry of userID's index
// (session.UserIndex). fn runs without the index's lock held.
func (s *Store) ListUserSessions(ctx context.Context, userID string, fn func(id string, added time.Time) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	type entry struct {
		id    string
		added int64
	}
	u := &s.users
	u.mu.Lock()
	entries := make([]entry, 0, len(u.m[userID]))
	for id, added := range u.m[userID] {
		entries = append(entries, entry{id, added})
	}
	u.mu.Unlock()
	for _, e := range entries {
		if !fn(e.id, time.Unix(e.added, 0)) {
			break
		}
	}
	return nil
}

// RemoveUserSessions removes ids from userID's index (session.UserIndex).
func (s *Store) RemoveUserSessions(ctx context.Context, userID string, ids ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	u := &s.users
	u.mu.Lock()
	defer u.mu.Unlock()
	m := u.m[userID]
	for _, id := range ids {
		delete(m, id)
	}
	if len(m) == 0 {
		delete(u.m, userID)
	}
	return nil
}
