package mongostore

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// SweepBatch removes at most limit documents whose expiresAt is not after
// now and reports how many it removed; fewer than limit means that none was
// left. DeleteMany takes no limit, so it finds the _ids of up to limit
// expired documents through the expiry index and deletes those that are
// still expired (a session renewed in between stays). When it finds fewer
// than limit, it then checks the next limit entries of the user index older
// than a minute and removes those whose session is gone or expired, as
// Sweep does (not counted in removed). It implements session.BatchSweeper.
// A limit below 1 is an error.
func (s *Store) SweepBatch(ctx context.Context, limit int) (removed int, err error) {
	if limit < 1 {
		return 0, fmt.Errorf("mongostore: sweep: batch limit %d is not positive", limit)
	}
	// Each round deletes at least one document or finds fewer than it
	// asked for, unless every document it found was renewed meanwhile
	// (and so is not found again): the loop ends.
	for removed < limit {
		want := limit - removed
		expired := bson.E{Key: fieldExpiresAt, Value: bson.D{{Key: "$lte", Value: dateOf(time.Now())}}}
		cur, err := s.coll.Find(ctx, bson.D{expired},
			options.Find().SetProjection(bson.D{{Key: fieldID, Value: 1}}).SetLimit(int64(want)))
		if err != nil {
			return removed, fmt.Errorf("mongostore: sweep: %w", ctxErr(ctx, err))
		}
		var docs []struct {
			ID bson.RawValue `bson:"_id"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			return removed, fmt.Errorf("mongostore: sweep: %w", ctxErr(ctx, err))
		}
		if len(docs) == 0 {
			break
		}
		ids := make(bson.A, len(docs))
		for i, d := range docs {
			ids[i] = d.ID
		}
		res, err := s.coll.DeleteMany(ctx, bson.D{{Key: fieldID, Value: bson.D{{Key: "$in", Value: ids}}}, expired})
		if err != nil {
			return removed, fmt.Errorf("mongostore: sweep: %w", ctxErr(ctx, err))
		}
		removed += int(res.DeletedCount)
		if len(docs) < want {
			break
		}
	}
	if removed < limit {
		if _, err := s.sweepUsers(ctx, limit); err != nil {
			return removed, err
		}
	}
	return removed, nil
}
