package mongostore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/sessionid"
)

// The user index (session.UserIndex): the collection <collection>_users
// holds one document per session of a user (see the package documentation).

var _ session.UserIndex = (*Store)(nil)

// Field names of a user index document, and the name of its index.
const (
	fieldUser      = "user"
	fieldAdded     = "added"
	userIndexName  = "user_1"
	userCollSuffix = "_users"
)

const (
	// userGrace is how long Sweep keeps an entry whose session is gone: the
	// Manager writes the entry before the session (a Login in flight).
	userGrace = time.Minute
	// userSweepWindow is how many old entries one Sweep checks.
	userSweepWindow = 1000
	// removeChunk is the most entries one DeleteMany of RemoveUserSessions
	// names.
	removeChunk = 1000
)

// userSweep is where the sweep of the user index goes on: it checks the
// entries in _id order, a window per Sweep, and starts again from the first
// after the last.
type userSweep struct {
	mu    sync.Mutex
	after string // the _id of the last entry checked; "" at the start of a pass
}

// userHash returns the hex SHA-256 of userID: the user field of its entries
// and the first part of their _id.
func userHash(userID string) string {
	sum := sha256.Sum256([]byte(userID))
	return hex.EncodeToString(sum[:])
}

// entryID returns the _id of the entry of session id in the index of the
// user whose hash is user.
func entryID(user, id string) string { return user + "/" + id }

// ensureUserIndex creates the index on the user field of the user index's
// collection, idempotently. An index on that field with other options (an
// application's own) is kept.
func ensureUserIndex(ctx context.Context, users *mongo.Collection) error {
	_, err := users.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: fieldUser, Value: 1}},
		Options: options.Index().SetName(userIndexName),
	})
	var se mongo.ServerError
	if err != nil && !(errors.As(err, &se) && (se.HasErrorCode(85) || se.HasErrorCode(86))) {
		return fmt.Errorf("mongostore: create the index on %s.%s: %w", users.Name(), fieldUser, ctxErr(ctx, err))
	}
	return nil
}

// UserCollection returns the collection of the user index,
// <collection>_users, in the database of the sessions' collection.
func (s *Store) UserCollection() *mongo.Collection { return s.users }

// AddUserSession adds id to the index of userID, stamped with the current
// time (an entry that is there already is stamped again): one UpdateOne with
// upsert of the entry's own document, filtered by its _id. Each entry is a
// document of its own, so concurrent adds for one user all land. A session
// ID outside the store's alphabet is an error wrapping ErrInvalidID.
func (s *Store) AddUserSession(ctx context.Context, userID, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: add user session: %w", err)
	}
	if !sessionid.Valid(id) {
		return fmt.Errorf("mongostore: add user session: %w", invalidID(id))
	}
	user := userHash(userID)
	filter := bson.D{{Key: fieldID, Value: entryID(user, id)}}
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: fieldUser, Value: user},
		{Key: fieldAdded, Value: dateOf(time.Now())},
	}}}
	_, err := s.users.UpdateOne(ctx, filter, update, options.UpdateOne().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		// Two adds of the same entry raced to insert it: it is there now,
		// and this one stamps it.
		_, err = s.users.UpdateOne(ctx, filter, update, options.UpdateOne().SetUpsert(true))
	}
	if err != nil {
		return fmt.Errorf("mongostore: add user session: %w", ctxErr(ctx, err))
	}
	return nil
}

// entry is a user index document as the store reads it.
type entry struct {
	ID    string    `bson:"_id"`
	Added time.Time `bson:"added"`
}

var entryProjection = bson.D{{Key: fieldID, Value: 1}, {Key: fieldAdded, Value: 1}}

// sessionOf returns the session ID of the entry whose _id is key, when it
// is an entry of the user whose hash is user.
func sessionOf(key, user string) (string, bool) {
	id, ok := strings.CutPrefix(key, user+"/")
	return id, ok && sessionid.Valid(id)
}

// ListUserSessions calls fn with each entry of userID's index and the time
// it was added, until fn returns false: one Find by the user field (through
// its index). The entries are read first, so fn runs with no cursor open.
// Documents that are not entries of this store (an _id of another form) are
// skipped.
func (s *Store) ListUserSessions(ctx context.Context, userID string, fn func(id string, added time.Time) bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: list user sessions: %w", err)
	}
	user := userHash(userID)
	cur, err := s.users.Find(ctx, bson.D{{Key: fieldUser, Value: user}}, options.Find().SetProjection(entryProjection))
	if err != nil {
		return fmt.Errorf("mongostore: list user sessions: %w", ctxErr(ctx, err))
	}
	var entries []entry
	if err := cur.All(ctx, &entries); err != nil {
		return fmt.Errorf("mongostore: list user sessions: %w", ctxErr(ctx, err))
	}
	for _, e := range entries {
		id, ok := sessionOf(e.ID, user)
		if !ok {
			continue
		}
		if !fn(id, e.Added) {
			break
		}
	}
	return nil
}

// RemoveUserSessions removes ids from userID's index: one DeleteMany by _id
// (per 1000 IDs). Each _id holds the user's hash, so another user's entries
// are never touched. IDs that are not there, or not valid, are ignored.
func (s *Store) RemoveUserSessions(ctx context.Context, userID string, ids ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: remove user sessions: %w", err)
	}
	user := userHash(userID)
	keys := make(bson.A, 0, min(len(ids), removeChunk))
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		_, err := s.users.DeleteMany(ctx, bson.D{{Key: fieldID, Value: bson.D{{Key: "$in", Value: keys}}}})
		if err != nil {
			return fmt.Errorf("mongostore: remove user sessions: %w", ctxErr(ctx, err))
		}
		keys = keys[:0]
		return nil
	}
	for _, id := range ids {
		if !sessionid.Valid(id) {
			continue
		}
		keys = append(keys, entryID(user, id))
		if len(keys) == removeChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// sweepUsers checks up to limit entries of the user index older than
// userGrace, the next ones in _id order after where the previous call
// stopped, and removes those whose session is gone or expired: a Find of
// the entries, a Find of their sessions by _id, and a DeleteMany of the
// stale ones (only while still older than the grace, so that an entry
// stamped again meanwhile stays). It reports how many it removed. When
// another sweep of the index is running, it does nothing.
func (s *Store) sweepUsers(ctx context.Context, limit int) (int, error) {
	if !s.userSweep.mu.TryLock() {
		return 0, nil
	}
	defer s.userSweep.mu.Unlock()
	now := time.Now()
	old := bson.E{Key: fieldAdded, Value: bson.D{{Key: "$lte", Value: dateOf(now.Add(-userGrace))}}}
	filter := bson.D{old}
	if after := s.userSweep.after; after != "" {
		filter = bson.D{{Key: fieldID, Value: bson.D{{Key: "$gt", Value: after}}}, old}
	}
	cur, err := s.users.Find(ctx, filter, options.Find().
		SetProjection(bson.D{{Key: fieldID, Value: 1}}).
		SetSort(bson.D{{Key: fieldID, Value: 1}}).
		SetLimit(int64(limit)))
	if err != nil {
		return 0, fmt.Errorf("mongostore: sweep user index: %w", ctxErr(ctx, err))
	}
	var entries []struct {
		ID bson.RawValue `bson:"_id"`
	}
	if err := cur.All(ctx, &entries); err != nil {
		return 0, fmt.Errorf("mongostore: sweep user index: %w", ctxErr(ctx, err))
	}
	next := ""
	if len(entries) == limit {
		if key, ok := entries[len(entries)-1].ID.StringValueOK(); ok {
			next = key
		}
	}
	// Session ID → the keys of its entries (one per user, in practice one).
	keysOf := make(map[string][]string, len(entries))
	ids := make(bson.A, 0, len(entries))
	for _, e := range entries {
		key, ok := e.ID.StringValueOK()
		if !ok {
			continue
		}
		_, id, ok := strings.Cut(key, "/")
		if !ok || !sessionid.Valid(id) {
			continue // not an entry of this store: left alone
		}
		if keysOf[id] == nil {
			ids = append(ids, id)
		}
		keysOf[id] = append(keysOf[id], key)
	}
	if len(ids) > 0 {
		cur, err := s.coll.Find(ctx, bson.D{
			{Key: fieldID, Value: bson.D{{Key: "$in", Value: ids}}},
			{Key: fieldExpiresAt, Value: bson.D{{Key: "$gt", Value: dateOf(now)}}},
		}, options.Find().SetProjection(bson.D{{Key: fieldID, Value: 1}}))
		if err != nil {
			return 0, fmt.Errorf("mongostore: sweep user index: %w", ctxErr(ctx, err))
		}
		var live []struct {
			ID bson.RawValue `bson:"_id"`
		}
		if err := cur.All(ctx, &live); err != nil {
			return 0, fmt.Errorf("mongostore: sweep user index: %w", ctxErr(ctx, err))
		}
		for _, d := range live {
			if id, ok := d.ID.StringValueOK(); ok {
				delete(keysOf, id)
			}
		}
	}
	var stale bson.A
	for _, keys := range keysOf {
		for _, k := range keys {
			stale = append(stale, k)
		}
	}
	removed := 0
	if len(stale) > 0 {
		res, err := s.users.DeleteMany(ctx, bson.D{{Key: fieldID, Value: bson.D{{Key: "$in", Value: stale}}}, old})
		if err != nil {
			return 0, fmt.Errorf("mongostore: sweep user index: %w", ctxErr(ctx, err))
		}
		removed = int(res.DeletedCount)
	}
	s.userSweep.after = next
	return removed, nil
}
