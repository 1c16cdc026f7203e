package mongostore

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/sessionid"
)

var _ session.Swapper = (*Store)(nil)

// Swap stores next with expiry under id, and reports true, when the document
// of id is unexpired and its payload is exactly old (old non-nil), or when
// there is no unexpired document (old nil); otherwise it changes nothing and
// reports false. It implements session.Swapper with one command, atomic on
// MongoDB:
//
//   - old non-nil: UpdateOne filtered by {_id, payload: old, expiresAt >
//     now} (payload compared as a string, or as BSON binary for bytes that
//     are not UTF-8, the form the store writes them in);
//   - old nil: UpdateOne with upsert filtered by {_id, expiresAt <= now}:
//     it overwrites an expired document or inserts a new one, and fails
//     with a duplicate-key error, which Swap reports as false, when an
//     unexpired document holds the ID.
//
// Both set payload, lastActivity and expiresAt and increment version, so
// that an Update that read the document before the swap loses its own
// compare-and-swap and starts again from the new record. A document that
// other software wrote without an expiresAt field is not one that Swap
// with old nil overwrites (it reports false; Update replaces it). Against
// FerretDB 1.x, which applies a filtered update non-atomically, the store
// needs maxPoolSize=1 (see the package documentation), as Update does. An ID
// outside the store's alphabet is an error wrapping ErrInvalidID.
func (s *Store) Swap(ctx context.Context, id string, old, next []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("mongostore: swap: %w", err)
	}
	if !sessionid.Valid(id) {
		return false, invalidID(id)
	}
	now := time.Now()
	update := bson.D{
		{Key: "$set", Value: bson.D{
			{Key: fieldPayload, Value: payloadValue(next)},
			{Key: fieldLastActivity, Value: now.Unix()},
			{Key: fieldExpiresAt, Value: dateOf(expiry)},
		}},
		{Key: "$inc", Value: bson.D{{Key: fieldVersion, Value: int64(1)}}},
	}
	if old != nil {
		res, err := s.coll.UpdateOne(ctx, bson.D{
			{Key: fieldID, Value: id},
			{Key: fieldPayload, Value: payloadValue(old)},
			{Key: fieldExpiresAt, Value: bson.D{{Key: "$gt", Value: dateOf(now)}}},
		}, update)
		if err != nil {
			return false, fmt.Errorf("mongostore: swap: %w", ctxErr(ctx, err))
		}
		return res.MatchedCount == 1, nil
	}
	res, err := s.coll.UpdateOne(ctx, bson.D{
		{Key: fieldID, Value: id},
		{Key: fieldExpiresAt, Value: bson.D{{Key: "$lte", Value: dateOf(now)}}},
	}, update, options.UpdateOne().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mongostore: swap: %w", ctxErr(ctx, err))
	}
	return res.MatchedCount == 1 || res.UpsertedCount == 1, nil
}
