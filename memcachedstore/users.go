package memcachedstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/sessionid"
)

// The user index (session.UserIndex): one item per user holding a line
// "<session ID> <Unix seconds>\n" per entry (see the package documentation).

var _ session.UserIndex = (*Store)(nil)

// userKeyTag is what follows the prefix in the key of a user's index.
const userKeyTag = "user:"

// userKey returns the key of userID's index: the prefix, "user:", the
// SHA-256 of the user ID in unpadded URL-safe base64 (43 bytes), and ':'.
// The hash keeps the user ID out of the key (memcached keys are at most 250
// bytes of ASCII without spaces; a user ID may be 512 bytes of anything)
// and gives every index a key of one length: with the longest prefix (200
// bytes) it is 249 bytes. The ':', which no session ID holds, keeps it from
// being the key of a session, of this store or of one whose prefix ends
// inside it ("session:user:" + a hash would otherwise be a session key).
func (s *Store) userKey(userID string) string {
	sum := sha256.Sum256([]byte(userID))
	b := make([]byte, 0, len(s.prefix)+len(userKeyTag)+base64.RawURLEncoding.EncodedLen(len(sum))+1)
	b = append(b, s.prefix...)
	b = append(b, userKeyTag...)
	b = base64.RawURLEncoding.AppendEncode(b, sum[:])
	b = append(b, ':')
	return string(b)
}

// userLine returns the line of an entry of id added at t.
func userLine(id string, t time.Time) []byte {
	b := make([]byte, 0, len(id)+12)
	b = append(b, id...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, t.Unix(), 10)
	return append(b, '\n')
}

// parseLine returns the session ID and stamp of one line (without its
// newline); ok is false for a line this store did not write.
func parseLine(line []byte) (id string, added int64, ok bool) {
	i := bytes.IndexByte(line, ' ')
	if i < 0 {
		return "", 0, false
	}
	id = string(line[:i])
	added, err := strconv.ParseInt(string(line[i+1:]), 10, 64)
	if err != nil || !sessionid.Valid(id) {
		return "", 0, false
	}
	return id, added, true
}

// AddUserSession adds id to the index of userID, stamped with the current
// time (re-adding an ID adds a newer line; listing shows the newest): one
// append of the line to the user's item, and, when there is no item yet,
// one add that creates it. When another add created the item between the
// two, the line is appended again. memcached applies each append and add
// atomically, so concurrent adds for one user all land. The item never
// expires (see the package documentation). A session ID outside the
// store's alphabet is refused with ErrInvalidID.
func (s *Store) AddUserSession(ctx context.Context, userID, id string) error {
	const op = "add user session"
	if err := ctx.Err(); err != nil {
		return fail(ctx, op, err)
	}
	if !sessionid.Valid(id) {
		return ErrInvalidID
	}
	key, line := s.userKey(userID), userLine(id, time.Now())
	return casLoop(ctx, op, func() error {
		err := s.client.Append(&memcache.Item{Key: key, Value: line})
		if !errors.Is(err, memcache.ErrNotStored) { // NOT_STORED: no item to append to
			if err != nil {
				return fail(ctx, op, err)
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fail(ctx, op, err)
		}
		err = s.client.Add(&memcache.Item{Key: key, Value: line, Expiration: 0})
		switch {
		case err == nil:
			return nil
		case errors.Is(err, memcache.ErrNotStored): // created meanwhile: append to it
			return errRetry
		}
		return fail(ctx, op, err)
	})
}

// userEntries returns the entries of an index item's value, each ID once
// with its newest stamp, in the order of their first lines.
func userEntries(v []byte) (ids []string, added map[string]int64) {
	added = make(map[string]int64)
	for len(v) > 0 {
		line := v
		if i := bytes.IndexByte(v, '\n'); i >= 0 {
			line, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		id, t, ok := parseLine(line)
		if !ok {
			continue
		}
		if prev, seen := added[id]; !seen {
			ids = append(ids, id)
			added[id] = t
		} else if t > prev {
			added[id] = t
		}
	}
	return ids, added
}

// ListUserSessions calls fn with each entry of userID's index and the time
// it was added, until fn returns false: one get of the user's item. Lines
// that this store did not write are skipped.
func (s *Store) ListUserSessions(ctx context.Context, userID string, fn func(id string, added time.Time) bool) error {
	const op = "list user sessions"
	if err := ctx.Err(); err != nil {
		return fail(ctx, op, err)
	}
	item, err := s.get(s.userKey(userID))
	if err != nil {
		return fail(ctx, op, err)
	}
	if item == nil {
		return nil
	}
	ids, added := userEntries(item.Value)
	for _, id := range ids {
		if !fn(id, time.Unix(added[id], 0)) {
			break
		}
	}
	return nil
}

// RemoveUserSessions removes ids from userID's index: gets the user's item,
// then a cas of the item without their lines (with a negative expiration,
// which drops it, when no line is left), so that an entry added in between
// is never lost: the cas fails and the removal starts again from the newer
// item. IDs that are not there, or not valid, are ignored; when none of
// ids is there, nothing is written.
func (s *Store) RemoveUserSessions(ctx context.Context, userID string, ids ...string) error {
	const op = "remove user sessions"
	if err := ctx.Err(); err != nil {
		return fail(ctx, op, err)
	}
	drop := make(map[string]bool, len(ids))
	for _, id := range ids {
		if sessionid.Valid(id) {
			drop[id] = true
		}
	}
	if len(drop) == 0 {
		return nil
	}
	key := s.userKey(userID)
	return casLoop(ctx, op, func() error {
		item, err := s.get(key)
		if err != nil {
			return fail(ctx, op, err)
		}
		if item == nil {
			return nil
		}
		kept := make([]byte, 0, len(item.Value))
		changed := false
		for v := item.Value; len(v) > 0; {
			line := v
			if i := bytes.IndexByte(v, '\n'); i >= 0 {
				line, v = v[:i+1], v[i+1:]
			} else {
				v = nil
			}
			if id, _, ok := parseLine(bytes.TrimSuffix(line, []byte("\n"))); ok && drop[id] {
				changed = true
				continue
			}
			kept = append(kept, line...)
		}
		if !changed {
			return nil
		}
		if len(kept) == 0 {
			return s.write(ctx, op, key, item, kept, -1)
		}
		return s.write(ctx, op, key, item, kept, 0)
	})
}
