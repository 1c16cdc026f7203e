package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/sessionid"
)

// DefaultPrefix is the key prefix when Options.Prefix is empty.
const DefaultPrefix = "session:"

// maxAttempts bounds the optimistic attempts of one Update or Move.
const maxAttempts = 100

var (
	// ErrConflict is returned by Update and Move when other clients kept
	// changing the session for all of the store's attempts.
	ErrConflict = errors.New("redisstore: too many concurrent changes to one session; gave up")

	// ErrExists is returned by Move when the new ID already holds a record.
	ErrExists = errors.New("redisstore: the new session ID already holds a record")

	// ErrInvalidID is returned by Update, Move and Swap for an ID that no
	// store holds: outside the URL-safe base64 alphabet, or longer than
	// the shared limit of 128 characters.
	ErrInvalidID = errors.New("redisstore: invalid session ID")
)

// Options configures a Store.
type Options struct {
	// Prefix is put before each session ID to make its key; default
	// DefaultPrefix ("session:"). Give each application sharing a Redis
	// its own. It must end with a character that no session ID holds
	// (outside A-Z, a-z, 0-9, '-' and '_'; ':' by convention), so that no
	// application's prefix followed by the start of an ID is another's
	// prefix ("shop" would read the keys of "shop2"): New refuses any other.
	Prefix string
}

// Store keeps sessions in Redis. It implements session.Store,
// session.Swapper, session.Mover, session.Lister and session.UserIndex; it
// is safe for concurrent use. Create one with New or Open.
type Store struct {
	client redis.UniversalClient
	prefix string
	own    bool // opened by Open: Close closes the client
	// oneNode: the client talks to one master (*redis.Client, also behind
	// Sentinel), so a transaction can span two keys and Move is atomic.
	oneNode bool
}

var (
	_ session.Store   = (*Store)(nil)
	_ session.Mover   = (*Store)(nil)
	_ session.Lister  = (*Store)(nil)
	_ session.Swapper = (*Store)(nil)
)

func init() {
	session.Register("redis", func(cfg session.Config) (session.Store, error) {
		return Open(context.Background(), cfg.Connection, Options{})
	})
}

// New returns a store over client, which the application owns: Close does
// not close it. client may be a *redis.Client (one server, or a failover
// client from redis.NewFailoverClient), a *redis.ClusterClient, or any
// redis.UniversalClient. For a request's context deadline to bound each
// command, the client needs ContextTimeoutEnabled. New fails when client is
// nil.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	switch c := client.(type) {
	case nil:
		return nil, errors.New("redisstore: nil client")
	case *redis.Client:
		if c == nil {
			return nil, errors.New("redisstore: nil client")
		}
	case *redis.ClusterClient:
		if c == nil {
			return nil, errors.New("redisstore: nil client")
		}
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if err := checkPrefix(opts.Prefix); err != nil {
		return nil, fmt.Errorf("redisstore: prefix %q %w", opts.Prefix, err)
	}
	_, oneNode := client.(*redis.Client)
	return &Store{client: client, prefix: opts.Prefix, oneNode: oneNode}, nil
}

// Open returns a store on the server that url names (see the package
// documentation for the forms), owning its client: Close closes it. A
// prefix parameter in url sets the prefix when opts.Prefix is empty.
//
// ctx bounds the setup Open makes before it returns. None of it needs the
// server: Open does not contact Redis (the first command does), so an
// application starts while Redis is down, and its requests get the
// Manager's ErrorHandler response until Redis answers. An ended ctx makes
// Open fail.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: open: %w", err)
	}
	cfg, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	if opts.Prefix == "" && cfg.prefix != "" {
		if err := checkPrefix(cfg.prefix); err != nil {
			return nil, cfg.url.fail("the prefix parameter " + err.Error())
		}
		opts.Prefix = cfg.prefix
	}
	client, err := cfg.newClient()
	if err != nil {
		return nil, err
	}
	s, err := New(client, opts)
	if err != nil {
		client.Close()
		return nil, err
	}
	s.own = true
	return s, nil
}

// checkPrefix reports a prefix whose last byte could be part of a session
// ID, in words that quote nothing of it.
func checkPrefix(prefix string) error {
	last := prefix[len(prefix)-1:]
	if !sessionid.Valid(last) {
		return nil
	}
	return errors.New("ends with a character that a session ID may hold, so the keys of an application whose prefix starts with it (\"shop\" and \"shop2\") would mix: end it with one that no ID holds, such as ':'")
}

// Client returns the client the store uses.
func (s *Store) Client() redis.UniversalClient { return s.client }

// Prefix returns the key prefix.
func (s *Store) Prefix() string { return s.prefix }

// Close closes the client when Open made it; for a store from New it does
// nothing.
func (s *Store) Close() error {
	if !s.own {
		return nil
	}
	if err := s.client.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("redisstore: close: %w", err)
	}
	return nil
}

// fail wraps err from operation op, adding ctx's error when ctx has ended so
// that errors.Is finds context.Canceled or context.DeadlineExceeded.
func fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("redisstore: %s: %w (%w)", op, cerr, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// reader is what reading a record needs: a client, a Tx or a pipeline.
type reader interface {
	Get(ctx context.Context, key string) *redis.StringCmd
	PTTL(ctx context.Context, key string) *redis.DurationCmd
}

// queueRead queues GET and PTTL of key on p.
func queueRead(ctx context.Context, p reader, key string) (*redis.StringCmd, *redis.DurationCmd) {
	return p.Get(ctx, key), p.PTTL(ctx, key)
}

// record turns the replies of queueRead into a record by the rules of Load:
// a missing key, or one without time left, is not found.
func record(get *redis.StringCmd, ttl *redis.DurationCmd) (data []byte, expiry time.Time, found bool, err error) {
	if err := get.Err(); err != nil {
		if errors.Is(err, redis.Nil) {
			return nil, time.Time{}, false, nil
		}
		return nil, time.Time{}, false, err
	}
	if err := ttl.Err(); err != nil {
		return nil, time.Time{}, false, err
	}
	left := ttl.Val()
	if left <= 0 {
		// -2: gone meanwhile; -1: no TTL, so not written by this store; 0:
		// expiring now.
		return nil, time.Time{}, false, nil
	}
	data, _ = get.Bytes()
	if data == nil {
		data = []byte{}
	}
	return data, time.Now().Add(left), true, nil
}

// Load returns the record of id in one round trip: GET and PTTL,
// pipelined on one server (or behind Sentinel), one script running both on
// a Cluster (readScript). The pipeline is not wrapped in MULTI/EXEC, which
// would make Redis run four commands instead of two and go-redis allocate a
// third more: another client's command can fall between the two, and
// nothing goes wrong when one does. A write in between gives the data read
// with the newer write's expiry, which is later than its own, for a session
// that was live when it was read; a delete, an expiry or a move
// (Regenerate) in between makes PTTL answer -2, and the session is not
// found, as it would have been a moment later. A missing, expired or
// invalid ID is not found.
func (s *Store) Load(ctx context.Context, id string) (data []byte, expiry time.Time, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, false, fmt.Errorf("redisstore: load: %w", err)
	}
	if !sessionid.Valid(id) {
		return nil, time.Time{}, false, nil
	}
	key := s.prefix + id
	if !s.oneNode {
		data, expiry, found, err = loadScripted(ctx, s.client, key)
	} else {
		p := s.client.Pipeline()
		get, ttl := queueRead(ctx, p, key)
		if _, err = p.Exec(ctx); err == nil || errors.Is(err, redis.Nil) {
			data, expiry, found, err = record(get, ttl)
		}
	}
	if err != nil {
		return nil, time.Time{}, false, fail(ctx, "load", err)
	}
	return data, expiry, found, nil
}

// readScript is Load's read on a Cluster, one command: the value of
// KEYS[1] and its time left in milliseconds, or nil when the key holds no
// record (missing, or without a TTL: not written by this store). go-redis's
// cluster client runs a plain pipeline in a goroutine of its own per node,
// and MULTI/EXEC would make Redis run four commands.
var readScript = redis.NewScript(`
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return false end
return {redis.call('GET', KEYS[1]), ttl}
`)

// loadScripted reads the record under key with readScript, by the rules of
// Load.
func loadScripted(ctx context.Context, c redis.Scripter, key string) (data []byte, expiry time.Time, found bool, err error) {
	reply, err := readScript.Run(ctx, c, []string{key}).Slice()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, time.Time{}, false, nil
	case err != nil:
		return nil, time.Time{}, false, err
	}
	var (
		value string
		left  int64
		ok    = len(reply) == 2
	)
	if ok {
		value, ok = reply[0].(string)
	}
	if ok {
		left, ok = reply[1].(int64)
	}
	if !ok {
		return nil, time.Time{}, false, fmt.Errorf("unexpected reply to the read script: %d values", len(reply))
	}
	return []byte(value), time.Now().Add(time.Duration(left) * time.Millisecond), true, nil
}

// ttlOf returns the TTL to give a record expiring at expiry, rounded up to
// whole milliseconds, or 0 when it has no time left (it is to be deleted).
func ttlOf(expiry time.Time) time.Duration {
	d := time.Until(expiry)
	if d <= 0 {
		return 0
	}
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}

// queueWrite queues the write of next with expiry under key on p: SET with
// PX, or DEL when next is nil or the expiry has passed (Redis would remove
// the key at once anyway).
func queueWrite(ctx context.Context, p redis.Pipeliner, key string, next []byte, expiry time.Time) {
	if ttl := ttlOf(expiry); next != nil && ttl > 0 {
		p.Set(ctx, key, next, ttl)
	} else {
		p.Del(ctx, key)
	}
}

// read reads key inside a WATCH, in one round trip.
func read(ctx context.Context, tx *redis.Tx, key string) ([]byte, time.Time, bool, error) {
	var (
		get *redis.StringCmd
		ttl *redis.DurationCmd
	)
	_, err := tx.Pipelined(ctx, func(p redis.Pipeliner) error {
		get, ttl = queueRead(ctx, p, key)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, time.Time{}, false, err
	}
	return record(get, ttl)
}

// fnError marks an error from the caller's fn, returned unchanged.
type fnError struct{ err error }

func (e *fnError) Error() string { return e.err.Error() }

// retry runs attempt until it succeeds, fails with something other than a
// failed transaction, or maxAttempts pass; between attempts it waits a
// short, growing, random time (so that many writers to one session do not
// collide forever), honouring ctx. An error from fn comes back unchanged.
func retry(ctx context.Context, op string, attempt func() error) error {
	for i := 0; ; i++ {
		err := attempt()
		var fe *fnError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &fe):
			return fe.err
		case !errors.Is(err, redis.TxFailedErr):
			return fail(ctx, op, err)
		case i+1 >= maxAttempts:
			return fmt.Errorf("%w (%s, %d attempts)", ErrConflict, op, maxAttempts)
		}
		if err := sleep(ctx, backoff(i)); err != nil {
			return fmt.Errorf("redisstore: %s: %w", op, err)
		}
	}
}

// backoff returns a random wait before attempt i+1: up to 1 ms doubling to
// at most 32 ms.
func backoff(i int) time.Duration {
	limit := time.Millisecond << min(i, 5)
	return rand.N(limit) + 50*time.Microsecond
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Update calls fn with the record of id and stores what it returns, with no
// other writer in between: WATCH, GET+PTTL, then MULTI/SET/EXEC (or DEL
// when fn returns nil data or an expiry that has passed). When another client
// changes the record in between, Update calls fn again with the newer record
// (see the package documentation). An error from fn is returned unchanged and
// nothing is written.
func (s *Store) Update(ctx context.Context, id string, fn func(data []byte, found bool) (next []byte, expiry time.Time, err error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: update: %w", err)
	}
	if !sessionid.Valid(id) {
		return ErrInvalidID
	}
	key := s.prefix + id
	return retry(ctx, "update", func() error {
		return s.client.Watch(ctx, func(tx *redis.Tx) error {
			data, _, found, err := read(ctx, tx, key)
			if err != nil {
				return err
			}
			next, expiry, err := fn(data, found)
			if err != nil {
				return &fnError{err}
			}
			if next == nil && !found {
				return nil // nothing to delete
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				queueWrite(ctx, p, key, next, expiry)
				return nil
			})
			return err
		}, key)
	})
}

// Delete removes the record of id (DEL). A missing or invalid ID is not an
// error.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	if !sessionid.Valid(id) {
		return nil
	}
	if err := s.client.Del(ctx, s.prefix+id).Err(); err != nil {
		return fail(ctx, "delete", err)
	}
	return nil
}

// Touch moves the expiry of the record of id (PEXPIRE), without rewriting its
// data. PEXPIRE does nothing to a missing key, so Touch never creates a
// record nor revives one that expired. An expiry that has passed deletes the
// record. A missing or invalid ID is not an error.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: touch: %w", err)
	}
	if !sessionid.Valid(id) {
		return nil
	}
	key := s.prefix + id
	var err error
	if ttl := ttlOf(expiry); ttl > 0 {
		err = s.client.PExpire(ctx, key, ttl).Err()
	} else {
		err = s.client.Del(ctx, key).Err()
	}
	if err != nil {
		return fail(ctx, "touch", err)
	}
	return nil
}

// Move moves the record of oldID to newID for Session.Regenerate: it calls fn
// with the record of oldID, deletes that record and stores what fn returns
// under newID. When fn returns an error, nothing changes and Move returns it;
// when newID already holds a record, Move returns ErrExists. On a single
// server and behind Sentinel this is one transaction watching both keys; on a
// Cluster it is two steps (see the package documentation).
func (s *Store) Move(ctx context.Context, oldID, newID string, fn func(data []byte, found bool) (next []byte, expiry time.Time, err error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: move: %w", err)
	}
	if !sessionid.Valid(oldID) || !sessionid.Valid(newID) {
		return ErrInvalidID
	}
	if oldID == newID {
		return fmt.Errorf("%w (moving a session onto its own ID)", ErrExists)
	}
	if !s.oneNode {
		return s.moveInSteps(ctx, oldID, newID, fn)
	}
	oldKey, newKey := s.prefix+oldID, s.prefix+newID
	return retry(ctx, "move", func() error {
		return s.client.Watch(ctx, func(tx *redis.Tx) error {
			var (
				get    *redis.StringCmd
				ttl    *redis.DurationCmd
				exists *redis.IntCmd
			)
			_, err := tx.Pipelined(ctx, func(p redis.Pipeliner) error {
				get, ttl = queueRead(ctx, p, oldKey)
				exists = p.Exists(ctx, newKey)
				return nil
			})
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			data, _, found, err := record(get, ttl)
			if err != nil {
				return err
			}
			if n, err := exists.Result(); err != nil {
				return err
			} else if n > 0 {
				return &fnError{ErrExists}
			}
			next, expiry, err := fn(data, found)
			if err != nil {
				return &fnError{err}
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Del(ctx, oldKey)
				if ttl := ttlOf(expiry); next != nil && ttl > 0 {
					p.Set(ctx, newKey, next, ttl)
				}
				return nil
			})
			return err
		}, oldKey, newKey)
	})
}

// moveInSteps is Move for clients whose two keys may live on different
// nodes: read and delete the old record in one transaction, then create the
// new one if it is still free. A failure in between loses the session; the
// old ID never stays loadable.
func (s *Store) moveInSteps(ctx context.Context, oldID, newID string, fn func(data []byte, found bool) (next []byte, expiry time.Time, err error)) error {
	newKey := s.prefix + newID
	if n, err := s.client.Exists(ctx, newKey).Result(); err != nil {
		return fail(ctx, "move", err)
	} else if n > 0 {
		return ErrExists
	}
	var (
		next   []byte
		expiry time.Time
	)
	err := s.Update(ctx, oldID, func(data []byte, found bool) ([]byte, time.Time, error) {
		var err error
		next, expiry, err = fn(data, found)
		if err != nil {
			return nil, time.Time{}, err
		}
		next = bytes.Clone(next)     // the caller may reuse fn's slice; nil stays nil
		return nil, time.Time{}, nil // delete the old record
	})
	if err != nil {
		return err
	}
	ttl := ttlOf(expiry)
	if next == nil || ttl <= 0 {
		return nil
	}
	ok, err := s.client.SetNX(ctx, newKey, next, ttl).Result()
	if err != nil {
		return fmt.Errorf("redisstore: move: the old record is deleted but the new one could not be written (the session is lost): %w", fail(ctx, "move", err))
	}
	if !ok {
		return fmt.Errorf("%w (the old record is deleted: the session is lost)", ErrExists)
	}
	return nil
}

// List calls fn with the ID and expiry of every unexpired session under the
// store's prefix, until fn returns false. It SCANs the key space (every
// master of a Cluster) in batches, reading the TTLs of each batch in one
// pipeline.
func (s *Store) List(ctx context.Context, fn func(id string, expiry time.Time) bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: list: %w", err)
	}
	var (
		mu      sync.Mutex // fn is called from one goroutine at a time
		stopped bool
	)
	errStop := errors.New("stop")
	match := escapeGlob(s.prefix) + "*"
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, match, 500).Result()
			if err != nil {
				return err
			}
			if len(keys) > 0 {
				cmds := make([]*redis.DurationCmd, len(keys))
				_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
					for i, k := range keys {
						cmds[i] = p.PTTL(ctx, k)
					}
					return nil
				})
				if err != nil {
					return err
				}
				now := time.Now()
				mu.Lock()
				for i, k := range keys {
					id := strings.TrimPrefix(k, s.prefix)
					if left := cmds[i].Val(); left > 0 && sessionid.Valid(id) && !stopped {
						if !fn(id, now.Add(left)) {
							stopped = true
						}
					}
				}
				done := stopped
				mu.Unlock()
				if done {
					return errStop
				}
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	var err error
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return scan(ctx, node) })
	case *redis.Ring:
		err = c.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error { return scan(ctx, node) })
	default:
		err = scan(ctx, s.client)
	}
	if err != nil && !errors.Is(err, errStop) {
		return fail(ctx, "list", err)
	}
	return nil
}

// escapeGlob escapes the characters that SCAN's MATCH pattern treats
// specially.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
