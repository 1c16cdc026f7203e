package mongostore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/session/internal/sessionid"
)

// Defaults for the zero fields of Options and for a URL without a database.
const (
	// DefaultDatabase is the database Open uses when the URL has no path.
	DefaultDatabase = "sessionkit"
	// DefaultCollection is the collection Open uses when
	// Options.Collection is empty.
	DefaultCollection = "sessions"
	// DefaultMaxRetries is Options.MaxRetries when it is zero.
	DefaultMaxRetries = 100
)

// Field names of a session document.
const (
	fieldID           = "_id"
	fieldPayload      = "payload"
	fieldLastActivity = "lastActivity"
	fieldExpiresAt    = "expiresAt"
	fieldVersion      = "version"

	expiryIndexName = "expiresAt_1"
)

var (
	// ErrInvalidID is wrapped by the errors Update, Delete and Touch return
	// for an ID outside the store's alphabet ([A-Za-z0-9_-], 1 to 128
	// characters, as every store of this module takes). Load reports such an
	// ID as not found instead.
	ErrInvalidID = errors.New("mongostore: invalid session ID")

	// ErrConflict is wrapped by the error Update returns when it lost the race
	// for one session to other writers more than Options.MaxRetries times in
	// a row.
	ErrConflict = errors.New("mongostore: too many concurrent updates")
)

// Options configures a Store. The zero value selects every default.
type Options struct {
	// Collection is the collection Open uses; default "sessions". The
	// "mongodb" driver sets it from Config.Table. New ignores it: it is given
	// its collection.
	Collection string

	// MaxRetries is how many times Update calls fn again after losing a
	// compare-and-swap to another writer of the same session, before it gives
	// up with ErrConflict; default 100. Retries also stop when the context
	// ends.
	MaxRetries int

	// SkipIndexes makes New and Open create no index: neither the one on
	// expiresAt nor the one on the user index's user field (the
	// application manages the collections' indexes itself).
	SkipIndexes bool
}

// Store is a session store in a MongoDB collection. It implements
// session.Store, session.Sweeper, session.BatchSweeper, session.Swapper,
// session.Lister and session.UserIndex, and is safe for concurrent use.
// Create one with New or Open.
type Store struct {
	coll       *mongo.Collection
	users      *mongo.Collection // the user index, <collection>_users
	userSweep  userSweep
	client     *mongo.Client // set when the store owns it (Open)
	maxRetries int
	ttl        bool
	queue      keyLocks // Updates of this process, per session ID

	closeOnce sync.Once
	closeErr  error
}

// New returns a store keeping sessions in coll, whose client the application
// owns: Close does not disconnect it. The user index (session.UserIndex)
// goes in the collection named coll's name plus "_users", in the same
// database. Unless opts.SkipIndexes is set, New creates the index on
// expiresAt and the one on the user index's user field (see the package
// documentation), which needs the server: ctx bounds that wait (with
// SkipIndexes New does no I/O).
func New(ctx context.Context, coll *mongo.Collection, opts Options) (*Store, error) {
	if coll == nil {
		return nil, errors.New("mongostore: nil collection")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mongostore: new: %w", err)
	}
	return newStore(ctx, coll, opts)
}

func checkOptions(opts Options) error {
	if opts.MaxRetries < 0 {
		return fmt.Errorf("mongostore: MaxRetries %d is negative", opts.MaxRetries)
	}
	return nil
}

func newStore(ctx context.Context, coll *mongo.Collection, opts Options) (*Store, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	s := &Store{coll: coll, maxRetries: opts.MaxRetries}
	s.users = coll.Database().Collection(coll.Name() + userCollSuffix)
	if s.maxRetries == 0 {
		s.maxRetries = DefaultMaxRetries
	}
	if !opts.SkipIndexes {
		ttl, err := ensureExpiryIndex(ctx, coll)
		if err != nil {
			return nil, err
		}
		s.ttl = ttl
		if err := ensureUserIndex(ctx, s.users); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Open connects to the server at rawURL (see the package documentation for
// the forms), checks that it answers, creates the index on expiresAt, and
// returns a store that owns its client: Close disconnects it. ctx bounds the
// whole set-up; an unreachable server makes Open fail when ctx ends (or after
// the URL's serverSelectionTimeoutMS, 30 s by default). It creates the
// index on the user index's user field too, as New does.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	collName := opts.Collection
	if collName == "" {
		collName = DefaultCollection
	}
	if err := checkCollectionName(collName); err != nil {
		return nil, err
	}
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	client, err := mongo.Connect(options.Client().ApplyURI(rawURL))
	if err != nil {
		return nil, fmt.Errorf("mongostore: connect to %s: %w", u.shown, u.scrub(err))
	}
	fail := func(err error) (*Store, error) {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = client.Disconnect(dctx)
		return nil, err
	}
	if err := client.Ping(ctx, nil); err != nil {
		return fail(fmt.Errorf("mongostore: connect to %s: %w", u.shown, ctxErr(ctx, u.scrub(err))))
	}
	s, err := newStore(ctx, client.Database(u.db).Collection(collName), opts)
	if err != nil {
		return fail(u.scrub(err))
	}
	s.client = client
	return s, nil
}

// ensureExpiryIndex creates the index on expiresAt: a TTL index when the
// server has them, a plain one otherwise. It reports whether a TTL index is
// in place.
func ensureExpiryIndex(ctx context.Context, coll *mongo.Collection) (ttl bool, err error) {
	keys := bson.D{{Key: fieldExpiresAt, Value: 1}}
	_, err = coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    keys,
		Options: options.Index().SetName(expiryIndexName).SetExpireAfterSeconds(0),
	})
	if err == nil {
		return true, nil
	}
	var se mongo.ServerError
	if !errors.As(err, &se) {
		return false, fmt.Errorf("mongostore: create the index on %s: %w", fieldExpiresAt, ctxErr(ctx, err))
	}
	// IndexOptionsConflict, IndexKeySpecsConflict: an index on expiresAt
	// exists with other options (or another name). Keep it, and find out
	// whether it is a TTL index.
	if se.HasErrorCode(85) || se.HasErrorCode(86) {
		specs, lerr := coll.Indexes().ListSpecifications(ctx)
		if lerr != nil {
			return false, fmt.Errorf("mongostore: list indexes: %w", ctxErr(ctx, lerr))
		}
		for _, spec := range specs {
			if isExpiryKey(spec.KeysDocument) && spec.ExpireAfterSeconds != nil {
				return true, nil
			}
		}
		return false, nil
	}
	// Any other refusal from the server (FerretDB 1.x: NotImplemented,
	// "Index option expireAfterSeconds is not implemented yet"): a plain
	// index, and Sweep does the TTL monitor's work.
	_, perr := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    keys,
		Options: options.Index().SetName(expiryIndexName),
	})
	if perr != nil {
		return false, fmt.Errorf("mongostore: create the index on %s (a TTL index was refused: %v): %w", fieldExpiresAt, err, ctxErr(ctx, perr))
	}
	return false, nil
}

func isExpiryKey(keys bson.Raw) bool {
	elems, err := keys.Elements()
	return err == nil && len(elems) == 1 && elems[0].Key() == fieldExpiresAt
}

// Collection returns the collection the store keeps its documents in.
func (s *Store) Collection() *mongo.Collection { return s.coll }

// TTL reports whether the collection has a TTL index on expiresAt, so that
// the server removes expired documents by itself. It is false on servers
// without TTL indexes (FerretDB 1.x) and when Options.SkipIndexes was set;
// Sweep works either way.
func (s *Store) TTL() bool { return s.ttl }

// Close disconnects the client when Open created it; for a store from New it
// does nothing (the application owns that client). Close is safe to call more
// than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.client == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.client.Disconnect(ctx); err != nil {
			s.closeErr = fmt.Errorf("mongostore: disconnect: %w", err)
		}
	})
	return s.closeErr
}

func invalidID(id string) error {
	return fmt.Errorf("%w (%d bytes: %.40q)", ErrInvalidID, len(id), id)
}

// ctxErr adds the context's error to err when the context has ended, so that
// errors.Is(err, context.Canceled) holds whatever the driver made of it.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

func dateOf(t time.Time) bson.DateTime { return bson.NewDateTimeFromTime(t) }

// payloadValue is what a session's bytes are stored as: a string when they
// are UTF-8 (always, for the Manager's payloads), BSON binary otherwise.
func payloadValue(data []byte) any {
	if utf8.Valid(data) {
		return string(data)
	}
	return bson.Binary{Subtype: 0, Data: append([]byte(nil), data...)}
}

// payloadBytes decodes a stored payload (a string or binary) into a new,
// non-nil slice.
func payloadBytes(v bson.RawValue) ([]byte, error) {
	if str, ok := v.StringValueOK(); ok {
		return append([]byte{}, str...), nil
	}
	if _, data, ok := v.BinaryOK(); ok {
		return append([]byte{}, data...), nil
	}
	return nil, fmt.Errorf("mongostore: field %s has BSON type %v, want a string or binary", fieldPayload, v.Type)
}

// document is a session document as Load and Update read it.
type document struct {
	Payload   bson.RawValue `bson:"payload"`
	ExpiresAt time.Time     `bson:"expiresAt"`
	Version   *int64        `bson:"version"` // nil: a document written by other software
}

var (
	loadProjection     = bson.D{{Key: fieldPayload, Value: 1}, {Key: fieldExpiresAt, Value: 1}, {Key: fieldID, Value: 0}}
	updateProjection   = bson.D{{Key: fieldPayload, Value: 1}, {Key: fieldExpiresAt, Value: 1}, {Key: fieldVersion, Value: 1}, {Key: fieldID, Value: 0}}
	listProjection     = bson.D{{Key: fieldExpiresAt, Value: 1}}
	activityProjection = bson.D{{Key: fieldExpiresAt, Value: 1}, {Key: fieldLastActivity, Value: 1}}
)

// Load returns the payload and expiry of the session id. A missing or expired
// document (expiresAt not after now, removed or not) and an ID outside the
// store's alphabet are reported as found == false with a nil error.
func (s *Store) Load(ctx context.Context, id string) (data []byte, expiry time.Time, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, false, fmt.Errorf("mongostore: load: %w", err)
	}
	if !sessionid.Valid(id) {
		return nil, time.Time{}, false, nil
	}
	filter := bson.D{
		{Key: fieldID, Value: id},
		{Key: fieldExpiresAt, Value: bson.D{{Key: "$gt", Value: dateOf(time.Now())}}},
	}
	var d document
	err = s.coll.FindOne(ctx, filter, options.FindOne().SetProjection(loadProjection)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("mongostore: load: %w", ctxErr(ctx, err))
	}
	data, err = payloadBytes(d.Payload)
	if err != nil {
		return nil, time.Time{}, false, err
	}
	return data, d.ExpiresAt, true, nil
}

// current is the document Update starts from.
type current struct {
	exists  bool // a document is stored, expired or not
	live    bool // and it has not expired
	data    []byte
	version *int64 // nil when the document has no version field
}

// versionIs is the filter matching the document of id only while it is still
// at cur's version.
func versionIs(id string, cur current) bson.D {
	if cur.version == nil {
		return bson.D{{Key: fieldID, Value: id}, {Key: fieldVersion, Value: bson.D{{Key: "$exists", Value: false}}}}
	}
	return bson.D{{Key: fieldID, Value: id}, {Key: fieldVersion, Value: *cur.version}}
}

func (s *Store) current(ctx context.Context, id string) (current, error) {
	var d document
	err := s.coll.FindOne(ctx, bson.D{{Key: fieldID, Value: id}}, options.FindOne().SetProjection(updateProjection)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return current{}, nil
	}
	if err != nil {
		return current{}, fmt.Errorf("mongostore: update: read: %w", ctxErr(ctx, err))
	}
	c := current{exists: true, version: d.Version}
	if d.ExpiresAt.After(time.Now()) {
		data, err := payloadBytes(d.Payload)
		if err != nil {
			return current{}, err
		}
		c.live, c.data = true, data
	}
	return c, nil
}

// Update calls fn with the current record of id (nil, false when there is
// none or it has expired) and stores what fn returns with a compare-and-swap
// on the document's version; after losing the swap to another writer it
// calls fn again with the newer record (see the package documentation), so
// fn may run more than once. An error from fn is returned unchanged and
// nothing is written; nil data deletes the document.
//
// Updates of one session through one Store take turns (other processes are
// kept apart by the version check), so fn must not call Update on the same
// Store for the same ID: that call would wait for the running one until its
// context ends.
func (s *Store) Update(ctx context.Context, id string, fn func(data []byte, found bool) (next []byte, expiry time.Time, err error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongostore: update: %w", err)
	}
	if !sessionid.Valid(id) {
		return invalidID(id)
	}
	unlock, err := s.queue.lock(ctx, id)
	if err != nil {
		return fmt.Errorf("mongostore: update: %w", err)
	}
	defer unlock()
	for attempt := 0; ; attempt++ {
		cur, err := s.current(ctx, id)
		if err != nil {
			return err
		}
		next, expiry, err := fn(cur.data, cur.live)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("mongostore: update: %w", err)
		}
		done, err := s.swap(ctx, id, cur, next, expiry)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if attempt >= s.maxRetries {
			return fmt.Errorf("%w: the session changed under each of %d attempts", ErrConflict, attempt+1)
		}
		if err := backoff(ctx, attempt); err != nil {
			return fmt.Errorf("mongostore: update: %w", err)
		}
	}
}

// swap writes next over cur if the document is still at cur's version. It
// reports false when another writer changed the document first.
func (s *Store) swap(ctx context.Context, id string, cur current, next []byte, expiry time.Time) (bool, error) {
	switch {
	case next == nil && !cur.exists:
		return true, nil
	case next == nil:
		res, err := s.coll.DeleteOne(ctx, versionIs(id, cur))
		if err != nil {
			return false, fmt.Errorf("mongostore: update: delete: %w", ctxErr(ctx, err))
		}
		return res.DeletedCount == 1, nil
	case !cur.exists:
		_, err := s.coll.InsertOne(ctx, bson.D{
			{Key: fieldID, Value: id},
			{Key: fieldPayload, Value: payloadValue(next)},
			{Key: fieldLastActivity, Value: time.Now().Unix()},
			{Key: fieldExpiresAt, Value: dateOf(expiry)},
			{Key: fieldVersion, Value: int64(1)},
		})
		if mongo.IsDuplicateKeyError(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("mongostore: update: insert: %w", ctxErr(ctx, err))
		}
		return true, nil
	default:
		res, err := s.coll.UpdateOne(ctx, versionIs(id, cur),
			bson.D{
				{Key: "$set", Value: bson.D{
					{Key: fieldPayload, Value: payloadValue(next)},
					{Key: fieldLastActivity, Value: time.Now().Unix()},
					{Key: fieldExpiresAt, Value: dateOf(expiry)},
				}},
				{Key: "$inc", Value: bson.D{{Key: fieldVersion, Value: int64(1)}}},
			})
		if err != nil {
			return false, fmt.Errorf("mongostore: update: %w", ctxErr(ctx, err))
		}
		return res.MatchedCount == 1, nil
	}
}

// backoff waits a random time before retry attempt+1: up to 1 ms, doubling
// per attempt to at most 64 ms, so that many writers of one session spread
// out instead of colliding again.
func backoff(ctx context.Context, attempt int) error {
	limit := time.Millisecond << min(attempt, 6)
	t := time.NewTimer(rand.N(limit) + 100*time.Microsecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Delete removes the document of id. Deleting a missing document is not an
// error; an ID outside the store's alphabet is (ErrInvalidID).
func (s *Store) Delete(ctx context.Context, id string) error {
	if !sessionid.Valid(id) {
		return invalidID(id)
	}
	if _, err := s.coll.DeleteOne(ctx, bson.D{{Key: fieldID, Value: id}}); err != nil {
		return fmt.Errorf("mongostore: delete: %w", ctxErr(ctx, err))
	}
	return nil
}

// Touch moves the expiry of the unexpired document of id to expiry, and sets
// its lastActivity, without rewriting the payload. It never creates a
// document (no upsert) and does not revive an expired one; a missing document
// is not an error.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) error {
	if !sessionid.Valid(id) {
		return invalidID(id)
	}
	now := time.Now()
	_, err := s.coll.UpdateOne(ctx,
		bson.D{
			{Key: fieldID, Value: id},
			{Key: fieldExpiresAt, Value: bson.D{{Key: "$gt", Value: dateOf(now)}}},
		},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: fieldExpiresAt, Value: dateOf(expiry)},
			{Key: fieldLastActivity, Value: now.Unix()},
		}}})
	if err != nil {
		return fmt.Errorf("mongostore: touch: %w", ctxErr(ctx, err))
	}
	return nil
}

// Sweep removes every document whose expiresAt is not after now
// (DeleteMany), and reports how many it removed. It works with or without a
// TTL index; with one, it merely does early what the server would do. Then
// it checks the next 1000 entries of the user index older than a minute and
// removes those whose session is gone or expired (see the package
// documentation); they are not counted in removed.
func (s *Store) Sweep(ctx context.Context) (removed int, err error) {
	res, err := s.coll.DeleteMany(ctx, bson.D{
		{Key: fieldExpiresAt, Value: bson.D{{Key: "$lte", Value: dateOf(time.Now())}}},
	})
	if err != nil {
		return 0, fmt.Errorf("mongostore: sweep: %w", ctxErr(ctx, err))
	}
	removed = int(res.DeletedCount)
	if _, err := s.sweepUsers(ctx, userSweepWindow); err != nil {
		return removed, err
	}
	return removed, nil
}

// List calls fn with the ID and expiry of every unexpired session, in no
// particular order, until fn returns false. It reads only _id and expiresAt.
// Documents whose _id is not a string are not sessions and are skipped.
func (s *Store) List(ctx context.Context, fn func(id string, expiry time.Time) bool) error {
	return s.list(ctx, listProjection, func(id string, d listed) bool { return fn(id, d.ExpiresAt) })
}

// ListActivity is List with each session's last activity: the lastActivity
// field, the time of its last write or touch to the second (the zero time
// for a document without one, written by other software). Operators' tools
// (sessionctl list) show it rather than deriving it from a lifetime of
// their own.
func (s *Store) ListActivity(ctx context.Context, fn func(id string, lastActivity, expiry time.Time) bool) error {
	return s.list(ctx, activityProjection, func(id string, d listed) bool {
		var last time.Time
		if sec, ok := d.LastActivity.AsInt64OK(); ok {
			last = time.Unix(sec, 0)
		}
		return fn(id, last, d.ExpiresAt)
	})
}

// listed is a document as List and ListActivity read it.
type listed struct {
	ID           bson.RawValue `bson:"_id"`
	ExpiresAt    time.Time     `bson:"expiresAt"`
	LastActivity bson.RawValue `bson:"lastActivity"`
}

// list calls fn with every unexpired document with a string _id, read with
// projection, until fn returns false.
func (s *Store) list(ctx context.Context, projection bson.D, fn func(id string, d listed) bool) error {
	filter := bson.D{{Key: fieldExpiresAt, Value: bson.D{{Key: "$gt", Value: dateOf(time.Now())}}}}
	cur, err := s.coll.Find(ctx, filter, options.Find().SetProjection(projection))
	if err != nil {
		return fmt.Errorf("mongostore: list: %w", ctxErr(ctx, err))
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d listed
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("mongostore: list: %w", err)
		}
		id, ok := d.ID.StringValueOK()
		if !ok {
			continue
		}
		if !fn(id, d) {
			return nil
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("mongostore: list: %w", ctxErr(ctx, err))
	}
	return nil
}
