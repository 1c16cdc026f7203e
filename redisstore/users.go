package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/sessionid"
)

var _ session.UserIndex = (*Store)(nil)

// userKeyTag is what follows the prefix in the key of a user's index.
const userKeyTag = "user:"

// userKey returns the key of userID's index: the prefix, "user:", the
// SHA-256 of the user ID in hex, and ':'. The hash keeps the user ID out of
// the key space (no user ID can name another key, whatever it holds) and
// gives every index a key of one length; the final ':', which no session ID
// holds, keeps the key from being read as a session: not by List, whose
// remainder after the prefix it would be, nor by a store whose prefix ends
// inside it ("session:user:" + the hash would otherwise be a session ID).
// Two prefixes never share an index key, since the part after the prefix
// has a fixed length and the prefixes differ.
func (s *Store) userKey(userID string) string {
	sum := sha256.Sum256([]byte(userID))
	b := make([]byte, 0, len(s.prefix)+len(userKeyTag)+2*len(sum)+1)
	b = append(b, s.prefix...)
	b = append(b, userKeyTag...)
	b = hex.AppendEncode(b, sum[:])
	b = append(b, ':')
	return string(b)
}

// AddUserSession adds id to the index of userID (session.UserIndex): one
// ZADD, scored with the time of the call in Unix milliseconds (re-adding an
// ID restamps it). The index key has no TTL (see the package
// documentation). An invalid ID is refused with ErrInvalidID.
func (s *Store) AddUserSession(ctx context.Context, userID, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: add user session: %w", err)
	}
	if !sessionid.Valid(id) {
		return ErrInvalidID
	}
	z := redis.Z{Score: float64(time.Now().UnixMilli()), Member: id}
	if err := s.client.ZAdd(ctx, s.userKey(userID), z).Err(); err != nil {
		return fail(ctx, "add user session", err)
	}
	return nil
}

// ListUserSessions calls fn with each entry of userID's index and the time
// it was added (session.UserIndex), until fn returns false: one ZRANGE ...
// WITHSCORES. Members that are not valid session IDs (written by something
// else) are skipped.
func (s *Store) ListUserSessions(ctx context.Context, userID string, fn func(id string, added time.Time) bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: list user sessions: %w", err)
	}
	entries, err := s.client.ZRangeWithScores(ctx, s.userKey(userID), 0, -1).Result()
	if err != nil {
		return fail(ctx, "list user sessions", err)
	}
	for _, e := range entries {
		id, ok := e.Member.(string)
		if !ok || !sessionid.Valid(id) {
			continue
		}
		if !fn(id, time.UnixMilli(int64(e.Score))) {
			break
		}
	}
	return nil
}

// RemoveUserSessions removes ids from userID's index (session.UserIndex):
// one ZREM. Redis deletes the key with its last entry. IDs that are not
// there, or not valid, are ignored.
func (s *Store) RemoveUserSessions(ctx context.Context, userID string, ids ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: remove user sessions: %w", err)
	}
	members := make([]any, 0, len(ids))
	for _, id := range ids {
		if sessionid.Valid(id) {
			members = append(members, id)
		}
	}
	if len(members) == 0 {
		return nil
	}
	if err := s.client.ZRem(ctx, s.userKey(userID), members...).Err(); err != nil {
		return fail(ctx, "remove user sessions", err)
	}
	return nil
}
