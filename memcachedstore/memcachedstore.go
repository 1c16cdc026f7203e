package memcachedstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/sessionid"
)

// DefaultPrefix is the key prefix when Options.Prefix is empty.
const DefaultPrefix = "session:"

// MaxKeyLength is memcached's limit on a key: prefix plus session ID.
const MaxKeyLength = 250

// DefaultMaxIdleConns is the idle connections per server that Open keeps
// unless the URL says otherwise.
const DefaultMaxIdleConns = 100

// maxAttempts bounds the optimistic attempts of one Update or Touch.
const maxAttempts = 100

// Value header: a format byte, then the expiry in Unix nanoseconds.
const (
	formatV1   = 1
	headerSize = 1 + 8
)

// thirtyDays is the longest expiration memcached takes as relative seconds;
// a larger number is an absolute Unix time.
const thirtyDays = 30 * 24 * 60 * 60

var (
	// ErrConflict is returned by Update and Touch when other clients kept
	// changing the session for all of the store's attempts, and by
	// AddUserSession and RemoveUserSessions when they kept changing the
	// user's index.
	ErrConflict = errors.New("memcachedstore: too many concurrent changes to one item; gave up")

	// ErrInvalidID is returned by Update and Swap for an ID outside the
	// URL-safe base64 alphabet, longer than 128 characters, or too long for
	// a memcached key with the prefix.
	ErrInvalidID = errors.New("memcachedstore: invalid session ID")
)

// Options configures a Store.
type Options struct {
	// Prefix is put before each session ID to make its key; default
	// DefaultPrefix ("session:"). It must be printable ASCII without
	// spaces, at most 200 bytes.
	Prefix string
}

// Store keeps sessions in memcached. It implements session.Store,
// session.Swapper and session.UserIndex, and is safe for concurrent use.
// Create one with New or Open.
type Store struct {
	client *memcache.Client
	prefix string
	own    bool   // opened by Open: Close closes the client's connections
	loads  *loads // recent Loads' CAS tokens, for Swap and Touch
}

var _ session.Store = (*Store)(nil)

// driverOpenTimeout bounds the "memcached" driver's Open (session.New has
// no context to pass on): the host names' resolution.
const driverOpenTimeout = 30 * time.Second

func init() {
	session.Register("memcached", func(cfg session.Config) (session.Store, error) {
		ctx, cancel := context.WithTimeout(context.Background(), driverOpenTimeout)
		defer cancel()
		return Open(ctx, cfg.Connection, Options{})
	})
}

// New returns a store over client, which the application owns: Close leaves
// it alone. It fails when opts.Prefix cannot start a memcached key.
func New(client *memcache.Client, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("memcachedstore: nil client")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if len(opts.Prefix) > 200 || !printable(opts.Prefix) {
		return nil, fmt.Errorf("memcachedstore: prefix %q: want at most 200 bytes of printable ASCII without spaces", opts.Prefix)
	}
	return &Store{client: client, prefix: opts.Prefix, loads: new(loads)}, nil
}

// Open connects to the servers that url names,
// memcached://host[:port][,host[:port]...][?prefix=P&timeout=D&max_idle_conns=N]
// (see the package documentation), and returns a store that owns its client.
// A prefix parameter sets the prefix when opts.Prefix is empty. Open needs no
// server: it resolves the host names (once: gomemcache does not follow later
// DNS changes), within ctx, and does not contact the servers; the first call
// does.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memcachedstore: open: %w", err)
	}
	servers, q, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	ss := new(memcache.ServerList)
	client := memcache.NewFromSelector(ss)
	client.MaxIdleConns = DefaultMaxIdleConns
	for key, vals := range q {
		v := vals[len(vals)-1]
		switch key {
		case "prefix":
			if opts.Prefix == "" {
				opts.Prefix = v
			}
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("memcachedstore: connection URL %s: timeout %q: want a positive duration such as 500ms", redact(rawURL), v)
			}
			client.Timeout = d
		case "max_idle_conns":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("memcachedstore: connection URL %s: max_idle_conns %q: want a positive number", redact(rawURL), v)
			}
			client.MaxIdleConns = n
		default:
			return nil, fmt.Errorf("memcachedstore: connection URL %s: unknown parameter %q (want prefix, timeout or max_idle_conns)", redact(rawURL), key)
		}
	}
	s, err := New(client, opts)
	if err != nil {
		return nil, err
	}
	addrs, err := resolve(ctx, servers)
	if err != nil {
		return nil, fmt.Errorf("memcachedstore: connection URL %s: %w", redact(rawURL), err)
	}
	if err := ss.SetServers(addrs...); err != nil {
		return nil, fmt.Errorf("memcachedstore: connection URL %s: %w", redact(rawURL), err)
	}
	s.own = true
	return s, nil
}

// Client returns the client the store uses.
func (s *Store) Client() *memcache.Client { return s.client }

// Close closes the client's idle connections when Open made it; for a store
// from New it does nothing.
func (s *Store) Close() error {
	if !s.own {
		return nil
	}
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("memcachedstore: close: %w", err)
	}
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// key returns the memcached key of id, or false when id is not a valid
// session ID (1 to sessionid.MaxLen characters of the URL-safe base64
// alphabet) fitting in a key with the prefix.
func (s *Store) key(id string) (string, bool) {
	if !sessionid.Valid(id) || len(s.prefix)+len(id) > MaxKeyLength {
		return "", false
	}
	return s.prefix + id, true
}

// encode returns the value for data expiring at expiry.
func encode(data []byte, expiry time.Time) []byte {
	v := make([]byte, headerSize+len(data))
	v[0] = formatV1
	binary.BigEndian.PutUint64(v[1:headerSize], uint64(expiry.UnixNano()))
	copy(v[headerSize:], data)
	return v
}

// decode splits a value into data and expiry; ok is false for a value this
// store did not write.
func decode(v []byte) (data []byte, expiry time.Time, ok bool) {
	if len(v) < headerSize || v[0] != formatV1 {
		return nil, time.Time{}, false
	}
	ns := int64(binary.BigEndian.Uint64(v[1:headerSize]))
	return v[headerSize:len(v):len(v)], time.Unix(0, ns), true
}

// live returns the record an item holds by the rules of Load: nothing for a
// missing, foreign or expired item.
func live(item *memcache.Item, now time.Time) ([]byte, time.Time, bool) {
	if item == nil {
		return nil, time.Time{}, false
	}
	data, expiry, ok := decode(item.Value)
	if !ok || !expiry.After(now) {
		return nil, time.Time{}, false
	}
	return data, expiry, true
}

// expiration returns memcached's expiration for a record expiring at expiry:
// one to two seconds after it (whole seconds, rounded up, plus one), as
// relative seconds up to 30 days and as an absolute Unix time beyond, which
// is what memcached's protocol requires. expiry must be after now.
func expiration(expiry, now time.Time) int32 {
	secs := int64((expiry.Sub(now)+time.Second-1)/time.Second) + 1
	if secs <= thirtyDays {
		return int32(secs)
	}
	abs := expiry.Unix() + 2
	if abs > math.MaxInt32 {
		return 0 // beyond 2038: never expires in memcached; the header still ends it
	}
	return int32(abs)
}

// fail wraps err from operation op, adding ctx's error when ctx has ended.
func fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("memcachedstore: %s: %w (%w)", op, cerr, err)
	}
	return fmt.Errorf("memcachedstore: %s: %w", op, err)
}

// get returns the item under key with its CAS token, or nil when there is
// none.
func (s *Store) get(key string) (*memcache.Item, error) {
	item, err := s.client.Get(key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, nil
	}
	return item, err
}

// Load returns the record of id (one gets), and remembers the item's CAS
// token for a Swap or Touch of the same record (see the package
// documentation). A missing, expired or invalid ID, or an item this store
// did not write, is not found.
func (s *Store) Load(ctx context.Context, id string) (data []byte, expiry time.Time, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, false, fmt.Errorf("memcachedstore: load: %w", err)
	}
	key, ok := s.key(id)
	if !ok {
		return nil, time.Time{}, false, nil
	}
	item, err := s.get(key)
	if err != nil {
		return nil, time.Time{}, false, fail(ctx, "load", err)
	}
	data, expiry, found = live(item, time.Now())
	if found {
		s.loads.remember(id, data, item.CasID, expiry)
	}
	return data, expiry, found, nil
}

// errRetry makes casLoop try again.
var errRetry = errors.New("retry")

// casLoop runs attempt, which reads and conditionally writes one item,
// until it returns anything but errRetry (a lost CAS race), at most
// maxAttempts times, with a short random back-off between attempts and the
// context checked before each.
func casLoop(ctx context.Context, op string, attempt func() error) error {
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("memcachedstore: %s: %w", op, err)
		}
		err := attempt()
		if !errors.Is(err, errRetry) {
			return err
		}
		if i+1 >= maxAttempts {
			return fmt.Errorf("%w (%s, %d attempts)", ErrConflict, op, maxAttempts)
		}
		t := time.NewTimer(rand.N(time.Millisecond<<min(i, 5)) + 50*time.Microsecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("memcachedstore: %s: %w", op, ctx.Err())
		case <-t.C:
		}
	}
}

// write stores value under key with expiration exp, conditionally: with
// CAS on item when there is one, with add when there is none. It returns
// errRetry when another client wrote, deleted (or memcached evicted) the
// item since item was read.
func (s *Store) write(ctx context.Context, op, key string, item *memcache.Item, value []byte, exp int32) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memcachedstore: %s: %w", op, err)
	}
	var err error
	if item == nil {
		err = s.client.Add(&memcache.Item{Key: key, Value: value, Expiration: exp})
	} else {
		item.Value, item.Expiration = value, exp
		err = s.client.CompareAndSwap(item)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, memcache.ErrCASConflict), errors.Is(err, memcache.ErrNotStored), errors.Is(err, memcache.ErrCacheMiss):
		// A cas finds the item changed (EXISTS) or gone (NOT_FOUND: deleted
		// or evicted since the gets); an add finds one there (NOT_STORED).
		return errRetry
	}
	return fail(ctx, op, err)
}

// tombstone is the value of a deletion by CAS: an expired header. With a
// negative expiration memcached drops the item at once anyway.
var tombstone = encode(nil, time.Unix(0, 0))

// Update calls fn with the record of id and stores what it returns, with no
// other writer in between: gets, fn, then cas (or add). When another client
// wrote in between, Update calls fn again with the newer record. Nil data
// from fn, or an expiry that has passed, deletes the record (a cas with a
// negative expiration). An error from fn is returned unchanged and nothing is
// written.
func (s *Store) Update(ctx context.Context, id string, fn func(data []byte, found bool) (next []byte, expiry time.Time, err error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memcachedstore: update: %w", err)
	}
	key, ok := s.key(id)
	if !ok {
		return ErrInvalidID
	}
	return casLoop(ctx, "update", func() error {
		item, err := s.get(key)
		if err != nil {
			return fail(ctx, "update", err)
		}
		data, _, found := live(item, time.Now())
		next, expiry, err := fn(data, found)
		if err != nil {
			return err
		}
		now := time.Now()
		if next == nil || !expiry.After(now) {
			if item == nil {
				return nil // nothing to delete
			}
			return s.write(ctx, "update", key, item, tombstone, -1)
		}
		return s.write(ctx, "update", key, item, encode(next, expiry), expiration(expiry, now))
	})
}

// Delete removes the record of id. A missing or invalid ID is not an error.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memcachedstore: delete: %w", err)
	}
	key, ok := s.key(id)
	if !ok {
		return nil
	}
	if err := s.client.Delete(key); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return fail(ctx, "delete", err)
	}
	return nil
}

// Touch moves the expiry of the record of id: it rewrites the item's header
// and memcached expiration with a cas of the same payload, one round trip
// after a Load of the record (see the package documentation). It does
// nothing for a missing, expired or invalid ID; an expiry that has passed
// deletes the record.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memcachedstore: touch: %w", err)
	}
	key, ok := s.key(id)
	if !ok {
		return nil
	}
	now := time.Now()
	if data, cas, ok := s.loads.take(id, nil, now); ok {
		// One cas with the token a Load of this request read: taken only
		// when nobody wrote the item since, so it still holds data.
		value, exp := tombstone, int32(-1)
		if expiry.After(now) {
			value, exp = encode(data, expiry), expiration(expiry, now)
		}
		err := s.client.CompareAndSwap(&memcache.Item{Key: key, Value: value, Expiration: exp, CasID: cas})
		switch {
		case err == nil, errors.Is(err, memcache.ErrCacheMiss), errors.Is(err, memcache.ErrNotStored):
			return nil // touched, or there is no record to touch
		case !errors.Is(err, memcache.ErrCASConflict):
			return fail(ctx, "touch", err)
		}
		// Written since the Load: read it again below.
	}
	return casLoop(ctx, "touch", func() error {
		item, err := s.get(key)
		if err != nil {
			return fail(ctx, "touch", err)
		}
		now := time.Now()
		data, _, found := live(item, now)
		switch {
		case !found:
			return nil
		case !expiry.After(now):
			return s.write(ctx, "touch", key, item, tombstone, -1)
		}
		return s.write(ctx, "touch", key, item, encode(data, expiry), expiration(expiry, now))
	})
}
