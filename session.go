package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// A Session is one client's session as one request sees it. Get it with
// FromRequest or FromContext inside Middleware. Its methods are safe for
// concurrent use by the goroutines of one request; a Session must not be kept
// after its request ends.
//
// Keys use dot notation: Put("user.name", "Ana") stores
// {"user": {"name": "Ana"}}, and Get, Has, Forget, Pull and Push follow the
// same paths. Values must be JSON-encodable. Within the request that put it a
// value is returned as it was put; in later requests Get returns it as JSON
// decodes it (objects as map[string]any, lists as []any, integers as int,
// other numbers as float64): use GetAs to read it back as its own type.
type Session struct {
	mu  sync.Mutex
	m   *Manager
	ctx context.Context // the request's: every store call takes it
	req *http.Request   // the request Middleware hands down, when the session came through it: Login records its client

	// copies are the other requests passed to FromRequest (copies of req):
	// Middleware removes their multipart forms when the request ends.
	copies atomic.Pointer[copyNode]

	id     string    // "" until a new session needs one
	stored bool      // a record exists under id, as far as this request knows
	raw    []byte    // the record's payload as this request last read or wrote it
	expiry time.Time // the record's expiry as this request last read or wrote it
	seen   []string  // the flash keys the record held when this request loaded it

	st     state
	ops    []op  // changes since raw, replayed at save
	opsBuf [2]op // ops' first backing array, inside the Session's allocation

	touched    bool // put, flashed, or token read: a new session must be saved
	resave     bool // payload sealed under a previous secret: write it again
	reissue    bool // cookie signed with a previous secret: send it signed anew
	newID      bool // Regenerate gave the session a new ID in this request
	resend     bool // send the session's token even if nothing moved: SetLifetime changed its cookie, or Commit wants a token
	dropCookie bool // the request's cookie names no session: expire it unless a new one is saved
	skip       bool // VerifyCSRF refused the request: save nothing
	committed  bool // saved when the response started; later changes are lost
	late       bool // changed after commit
}

// newSession returns an empty session; its data map is made on the first
// change (most requests load theirs, or change nothing).
func newSession(m *Manager, ctx context.Context) *Session {
	return &Session{m: m, ctx: ctx}
}

// startClock starts the absolute lifetime of a loaded session that began
// before Config.AbsoluteLifetime was set: it ends that long after now.
func (s *Session) startClock(now time.Time) {
	if s.m.cfg.AbsoluteLifetime > 0 && s.st.who().born == 0 {
		s.change(op{kind: opBorn, value: now.UnixMilli()})
	}
}

// change applies o now and records it for the save.
func (s *Session) change(o op) {
	if s.st.data == nil {
		s.st.data = map[string]any{}
	}
	s.st.apply(o)
	if s.ops == nil {
		s.ops = s.opsBuf[:0] // most requests record one or two
	}
	s.ops = append(s.ops, o)
	if s.committed {
		s.late = true
	}
}

// ID returns the session ID. A new session gets its ID here or when it is
// first saved.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id == "" {
		s.id = randomID()
	}
	return s.id
}

// Put stores value at key. A key that held flash data becomes permanent.
func (s *Session) Put(key string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.change(op{kind: opPut, key: key, value: value})
	s.touched = true
}

// Push appends value to the list at key, creating the list when the key is
// missing or nil. When the value at key is not a list it returns an error
// wrapping ErrNotList and changes nothing.
func (s *Session) Push(key string, value any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := getPath(s.st.data, key); ok && cur != nil {
		if _, ok := asList(cur); !ok {
			return fmt.Errorf("session: push onto %q: %w (it holds a %T)", key, ErrNotList, cur)
		}
	}
	s.change(op{kind: opPush, key: key, value: value})
	s.touched = true
	return nil
}

// Get returns the value at key, or def[0] when the key is missing (nil when
// def is empty). A key present with a nil value returns nil, not the
// default. Change a returned map or list only through Put: the session does
// not see changes made to it in place.
func (s *Session) Get(key string, def ...any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := getPath(s.st.data, key); ok {
		return v
	}
	if len(def) > 0 {
		return def[0]
	}
	return nil
}

// Pull returns the value at key as Get does, then forgets the key.
func (s *Session) Pull(key string, def ...any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := getPath(s.st.data, key)
	if !ok {
		if len(def) > 0 {
			return def[0]
		}
		return nil
	}
	s.change(op{kind: opForget, key: key})
	return v
}

// All returns a copy of the session's data (live flash data included, the
// library's bookkeeping never). The caller may change the copy.
func (s *Session) All() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return deepCopy(s.st.data).(map[string]any)
}

// Has reports whether key is present with a non-nil value; false, 0 and ""
// are present values.
func (s *Session) Has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := getPath(s.st.data, key)
	return ok && v != nil
}

// Forget removes keys. Forgetting a nested key leaves its parent, even when
// the parent becomes empty.
func (s *Session) Forget(keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range keys {
		if _, ok := getPath(s.st.data, key); ok {
			s.change(op{kind: opForget, key: key})
		}
	}
}

// Flush removes all data, flash data included. The session, its ID, its CSRF
// token and its one-time tokens stay.
func (s *Session) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.change(op{kind: opFlush})
}

// Flash stores value at key for this request and the next one only. Flashing
// a permanent key makes it flash data.
func (s *Session) Flash(key string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.change(op{kind: opFlash, key: key, value: value})
	s.touched = true
}

// Reflash keeps all flash data for one more request.
func (s *Session) Reflash() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.st.flashNow) > 0 {
		s.change(op{kind: opReflash})
	}
}

// Keep keeps the named flash keys for one more request. A key that is not
// flash data is left as it is.
func (s *Session) Keep(keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var kept []string
	for _, k := range keys {
		for _, f := range s.st.flashNow {
			if f == k {
				kept = append(kept, k)
				break
			}
		}
	}
	if len(kept) > 0 {
		s.change(op{kind: opKeep, value: kept})
	}
}

// Regenerate gives the session a new ID and a new CSRF token and keeps its
// data; call it on log in and on any change of privilege. The record moves to
// the new ID at once: the old ID no longer loads, not even for a request
// already in flight. Regenerate after the response has started returns an
// error wrapping ErrHeadersWritten and changes nothing.
func (s *Session) Regenerate() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return fmt.Errorf("session: regenerate: %w", ErrHeadersWritten)
	}
	s.change(op{kind: opToken, key: randomID()})
	id, oldID, user := randomID(), s.id, s.st.who().user
	idx := s.m.users
	if s.m.clientSide {
		idx = nil
	}
	if user != "" && idx != nil {
		// The user's index lists the new ID before the session is stored
		// under it (now, or at the end of the request for a new session).
		ctx, cancel := s.m.bound(s.ctx)
		err := idx.AddUserSession(ctx, user, id)
		cancel()
		if err != nil {
			return storeErr("regenerate", err)
		}
	}
	if !s.stored || s.m.clientSide {
		s.id, s.newID = id, true // saved under it at the end of the request
		event(s.m.hooks.SessionRegenerated, s.ctx)
	} else if err := s.moveTo(id); err != nil {
		return err
	}
	if user != "" && idx != nil && oldID != "" {
		s.m.unindex(s.ctx, idx, user, oldID)
	}
	return nil
}

// moveTo moves the stored session to the new ID id now, with this request's
// changes so far, so that its old ID stops loading at once.
func (s *Session) moveTo(id string) error {
	m := s.m
	expiry := s.expiryFrom(time.Now())
	var (
		moved state
		raw   []byte
	)
	ctx, cancel := m.bound(s.ctx)
	defer cancel()
	err := m.move(ctx, s.id, id, func(data []byte, found bool) ([]byte, time.Time, error) {
		if !found {
			return nil, time.Time{}, errGone
		}
		st, err := s.current(data)
		if err != nil {
			return nil, time.Time{}, err
		}
		b, err := m.encode(id, &st)
		moved, raw = st, b
		return b, expiry, err
	})
	switch {
	case errors.Is(err, errGone), errors.Is(err, ErrCorrupt):
		// Destroyed by another request meanwhile: it stays destroyed.
		m.log.LogAttrs(s.ctx, slog.LevelInfo, "session: regenerate found the session gone; starting a new one")
		s.reset()
		return nil
	case errors.Is(err, ErrEncode):
		return fmt.Errorf("session: regenerate: %w", err)
	case errors.Is(err, errLost):
		s.reset()
		return storeErr("regenerate", err)
	case err != nil:
		return storeErr("regenerate", err)
	}
	s.id, s.raw, s.expiry, s.st, s.ops, s.newID = id, raw, expiry, moved, nil, true
	event(m.hooks.SessionRegenerated, s.ctx)
	return nil
}

// Destroy removes the session's record. The request goes on with a fresh,
// empty session (a new ID and a new CSRF token), which is saved, and its
// cookie sent, only if the handler then puts or flashes something in it or
// reads its token; otherwise the response expires the cookie.
func (s *Session) Destroy() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stored && !s.m.clientSide {
		ctx, cancel := s.m.bound(s.ctx)
		err := s.m.store.Delete(ctx, s.id)
		cancel()
		if err != nil {
			return storeErr("destroy", err)
		}
		if idx := s.m.users; idx != nil && s.st.who().user != "" {
			s.m.unindex(s.ctx, idx, s.st.who().user, s.id)
		}
		event(s.m.hooks.SessionDestroyed, s.ctx)
	} else if s.stored {
		event(s.m.hooks.SessionDestroyed, s.ctx) // the cookie driver's: its cookie is expired
	}
	s.reset()
	return nil
}

// reset makes s a fresh, unsaved session whose response expires the
// request's cookie unless the new session gets saved.
func (s *Session) reset() {
	s.id, s.stored, s.raw, s.expiry, s.seen = "", false, nil, time.Time{}, nil
	s.st, s.ops = state{data: map[string]any{}}, nil
	s.touched, s.resave, s.reissue, s.newID, s.resend, s.dropCookie = false, false, false, false, false, true
}

// current returns the state to write over a record that now holds data: the
// request's own state when the record has not changed since the request read
// it, otherwise the record with the request's changes replayed onto it.
func (s *Session) current(data []byte) (state, error) {
	if s.raw != nil && bytes.Equal(data, s.raw) {
		return s.st, nil
	}
	st, _, err := s.m.decode(s.id, data)
	if err != nil {
		return state{}, err
	}
	st.restrictFlash(s.seen)
	for _, o := range s.ops {
		st.apply(o)
	}
	return st, nil
}

// An outcome is what saving a session tells its client.
type outcome uint8

const (
	keepToken   outcome = iota // nothing: the client's token (if any) stays as it is
	sendToken                  // send the session's token: new, moved to a new ID, re-signed, or its cookie's deadline slid
	expireToken                // the client's token names no session any more: drop it
)

// A saved is the result of Session.save.
type saved struct {
	out   outcome
	value []byte    // the cookie driver's sealed session, when sendToken; nil for a stored session (its token is its signed ID)
	at    time.Time // when it was saved
}

// save writes the session as the request leaves it and says what to tell
// the client. It does one of three things: store a new session, write a
// stored one's changes, or move a stored one's expiry (touch); a request
// that needs none of them costs no store call.
func (s *Session) save() (saved, error) {
	m := s.m
	if s.skip || !s.stored && !s.touched && !s.dropCookie {
		return saved{}, nil // nothing to write, no token to expire: not even the clock is read
	}
	now := time.Now()
	if m.clientSide {
		return s.saveClient(now)
	}
	moved := false // the record's expiry moved: a persistent cookie slides with it
	switch {
	case !s.stored && !s.touched: // the request's token names no session
		return saved{out: expireToken, at: now}, nil
	case !s.stored:
		if err := s.saveNew(now); err != nil {
			return saved{}, err
		}
		return saved{out: sendToken, at: now}, nil
	case s.changed():
		gone, err := s.saveChanges(now)
		if err != nil {
			return saved{}, err
		}
		if gone {
			return saved{out: expireToken, at: now}, nil
		}
		moved = true
	case s.touchDue(now):
		moved = s.touch(now)
	}
	if s.newID || s.reissue || s.resend || moved && (!m.cfg.ExpireOnClose || s.st.who().life > 0) {
		return saved{out: sendToken, at: now}, nil
	}
	return saved{out: keepToken, at: now}, nil
}

// changed reports whether the stored session must be written: the request
// changed it, flash data must age, or it was sealed under a previous secret.
func (s *Session) changed() bool {
	return len(s.ops) > 0 || s.st.needsAging() || s.resave
}

// lifetime returns the session's idle lifetime: its own (SetLifetime), else
// Config.Lifetime.
func (s *Session) lifetime() time.Duration {
	if s.st.who().life > 0 {
		return time.Duration(s.st.who().life) * time.Millisecond
	}
	return s.m.cfg.Lifetime
}

// expiryFrom returns the deadline of a session used at now: its idle
// lifetime from now, but never past the end of its absolute lifetime.
func (s *Session) expiryFrom(now time.Time) time.Time {
	e := now.Add(s.lifetime())
	if end, ok := s.m.absoluteEnd(&s.st); ok && end.Before(e) {
		return end
	}
	return e
}

// absoluteEnd returns when st's absolute lifetime ends, when there is one.
func (m *Manager) absoluteEnd(st *state) (time.Time, bool) {
	if m.cfg.AbsoluteLifetime <= 0 || st.who().born == 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(st.who().born).Add(m.cfg.AbsoluteLifetime), true
}

// touchDue reports whether an unchanged session's expiry is worth moving:
// when it would move by at least a twentieth of the idle lifetime, so that
// reads rarely write.
func (s *Session) touchDue(now time.Time) bool {
	return s.expiryFrom(now).Sub(s.expiry) >= s.lifetime()/20
}

// saveNew stores a session that this request started and put something in.
func (s *Session) saveNew(now time.Time) error {
	m := s.m
	newIDs(&s.id, &s.st.token, nil)
	if a := s.st.who(); m.cfg.AbsoluteLifetime > 0 && a.born == 0 {
		a.born = now.UnixMilli() // the absolute lifetime starts
		s.st.setAccount(a)
	}
	s.st.age()
	raw, err := m.encode(s.id, &s.st)
	if err != nil {
		return err
	}
	expiry := s.expiryFrom(now)
	ctx, cancel := m.bound(s.ctx)
	err = m.create(ctx, s.id, raw, expiry)
	cancel()
	if err != nil {
		return storeErr("save", err)
	}
	s.stored, s.expiry = true, expiry
	event(m.hooks.SessionCreated, s.ctx)
	return nil
}

// saveChanges writes a stored session's changes: its state as this request
// leaves it when no other request changed the record since this one read it,
// otherwise this request's changes replayed onto the record as it stands.
// gone reports a record that another request destroyed (or that expired)
// meanwhile: it is not brought back.
func (s *Session) saveChanges(now time.Time) (gone bool, err error) {
	m := s.m
	expiry := s.expiryFrom(now)
	var raw []byte
	if m.swapper != nil && s.raw != nil {
		s.st.age()
		if raw, err = m.encode(s.id, &s.st); err != nil {
			return false, err
		}
	}
	ctx, cancel := m.bound(s.ctx)
	defer cancel()
	_, err = m.write(ctx, s.id, s.raw, raw, expiry, s)
	if err == nil {
		s.expiry = expiry
	}
	switch {
	case errors.Is(err, errGone), errors.Is(err, ErrCorrupt):
		m.log.LogAttrs(s.ctx, slog.LevelInfo, "session: not saved: the session was destroyed or expired by another request")
		return true, nil
	case errors.Is(err, ErrEncode):
		return false, err
	case err != nil:
		return false, storeErr("save", err)
	}
	return false, nil
}

// replay returns the record to store over data: the request's changes
// replayed onto it, flash data aged (see current). A record that is gone is
// not brought back (errGone).
func (s *Session) replay(data []byte, found bool, expiry time.Time) ([]byte, time.Time, error) {
	if !found {
		return nil, time.Time{}, errGone
	}
	st, err := s.current(data)
	if err != nil {
		return nil, time.Time{}, err
	}
	st.age()
	raw, err := s.m.encode(s.id, &st)
	return raw, expiry, err
}

// touch moves an unchanged session's expiry without rewriting it, and
// reports whether it did. A failure is logged, not returned: the request
// itself went well; the session may expire early.
func (s *Session) touch(now time.Time) bool {
	m := s.m
	ctx, cancel := m.bound(s.ctx)
	expiry := s.expiryFrom(now)
	err := m.store.Touch(ctx, s.id, expiry)
	cancel()
	if err != nil {
		m.log.LogAttrs(s.ctx, slog.LevelError, "session: touch failed", slog.Any("error", storeErr("touch", err)))
		return false
	}
	s.expiry = expiry
	return true
}

func storeErr(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrStore, op, err)
}

// decode opens (when sealed) and decodes a stored payload; rotated reports
// that it was sealed under a previous secret.
func (m *Manager) decode(id string, b []byte) (st state, rotated bool, err error) {
	switch {
	case isSealed(b):
		if b, rotated, err = m.sealer.open(id, b); err != nil {
			return state{}, false, err
		}
	case m.cfg.Encrypt:
		return state{}, false, fmt.Errorf("%w: payload is not sealed but Encrypt is on", ErrCorrupt)
	}
	st, err = decodeState(b)
	return st, rotated, err
}

// DecodePayload returns the JSON envelope of a payload that the Manager
// stored under id, decrypting it when it is sealed (with the current secret or a previous
// one), for operators' tools such as sessionctl. The envelope holds the
// session's data under "data", its flash keys under "flash", its CSRF token
// under "token" and its one-time tokens under "ott". A payload that does not
// open or decode is an error wrapping ErrCorrupt.
func (m *Manager) DecodePayload(id string, payload []byte) ([]byte, error) {
	if isSealed(payload) {
		b, _, err := m.sealer.open(id, payload)
		if err != nil {
			return nil, err
		}
		payload = b
	}
	if _, err := decodeState(payload); err != nil {
		return nil, err
	}
	return payload, nil
}

// encode returns the stored form of st: JSON, sealed when Config.Encrypt.
func (m *Manager) encode(id string, st *state) ([]byte, error) {
	b, err := encodeState(st)
	if err != nil || !m.cfg.Encrypt {
		return b, err
	}
	return m.sealer.seal(id, b), nil
}

// GetAs returns the value at key as a T. Values keep their type across
// requests for any JSON-encodable T: an int stays an int, a struct comes back
// as the struct, a time.Time as a time.Time. It returns an error wrapping
// ErrMissing when the key is absent and one wrapping ErrType when the value
// does not decode into T.
func GetAs[T any](s *Session, key string) (T, error) {
	var t T
	s.mu.Lock()
	v, ok := getPath(s.st.data, key)
	if ok {
		v = deepCopy(v) // decoding below must not share the session's maps
	}
	s.mu.Unlock()
	if !ok {
		return t, fmt.Errorf("session: get %q: %w", key, ErrMissing)
	}
	if tv, ok := v.(T); ok {
		return tv, nil
	}
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil {
		return t, fmt.Errorf("session: get %q as %T: %w: %v", key, t, ErrType, err)
	}
	return t, nil
}

// PullAs returns the value at key as a T, as GetAs does, and forgets the
// key; when the key is absent (ErrMissing) or its value does not decode into
// T (ErrType), it returns the error and the session is unchanged.
func PullAs[T any](s *Session, key string) (T, error) {
	t, err := GetAs[T](s, key)
	if err == nil {
		s.Forget(key)
	}
	return t, err
}

// ctxKey is the context key of a session: ctxKey{} finds the innermost
// session, ctxKey{m} the session of Manager m.
type ctxKey struct{ m *Manager }

// FromContext returns the session that Middleware put in ctx, or nil when ctx
// did not come through Middleware.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(ctxKey{}).(*Session)
	return s
}

// FromContext returns the session of m that Middleware (or Load) put in ctx,
// or nil.
func (m *Manager) FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(ctxKey{m}).(*Session)
	return s
}
