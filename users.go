package session

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessionkit/session/internal/sessionid"
)

// Sessions that belong to a user. Session.Login ties a session to a user ID
// (kept in the record, so a loaded session knows its user with no other
// store call) and adds it to the user's index in the store (UserIndex),
// before the session is stored as the user's, so that listing or destroying
// a user's sessions never misses one. The index is a hint: every entry is
// checked against its record, and entries whose session is gone, expired or
// now another user's are removed. A request for an anonymous session never
// touches the index.

// purposeHandle is the purpose of the key that derives session handles.
const purposeHandle = "sessionkit/v1 session handle"

// indexGrace is how long an index entry whose session cannot be found is
// kept: the entry is written before its session (a Login in flight), so an
// entry that young may name a session about to exist.
const indexGrace = time.Minute

// pruneAt is the number of entries in a user's index at which Login checks
// them all and removes the stale ones, so that the index of a user who never
// lists their sessions stays small.
const pruneAt = 32

// ErrUserID is wrapped by the error of Session.Login for an empty user ID or
// one longer than MaxUserIDLen bytes.
var ErrUserID = errors.New("session: invalid user ID")

// ErrNoSession is wrapped by the error of Manager.DestroyUserSession when the
// handle names no live session of the user.
var ErrNoSession = errors.New("session: no such session")

// SessionInfo describes one live session of a user, for a "your sessions"
// page or an operator.
type SessionInfo struct {
	Handle    string    // stable, non-secret name of one session; never its ID, nor anything that helps forge its cookie
	Current   bool      // it is the session of the request whose context was passed
	Created   time.Time // when the user logged in on it
	LastSeen  time.Time // last request that used it, to within the touch granularity
	Expires   time.Time
	UserAgent string // of the Login request
	IP        string // host of the Login request's RemoteAddr
}

// Login ties the session to userID: it regenerates the session's ID and CSRF
// token (no fixation: the pre-login cookie no longer loads anything), keeps
// its data, restarts its absolute lifetime (Config.AbsoluteLifetime), records
// the request's User-Agent and remote IP for SessionInfo, and lists it among
// userID's sessions. Logging in as another user moves the session from the
// first user's list to the other's. userID is the application's stable user
// key: any non-empty UTF-8 string of at most MaxUserIDLen bytes, without NUL.
//
// Login works on every driver; listing a user's sessions needs a store that
// implements UserIndex.
func (s *Session) Login(userID string) error {
	if !sessionid.ValidUser(userID) {
		return fmt.Errorf("%w: %d bytes (want 1 to %d bytes of UTF-8, no NUL)", ErrUserID, len(userID), MaxUserIDLen)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return fmt.Errorf("session: login: %w", ErrHeadersWritten)
	}
	m := s.m
	l := login{user: userID, born: time.Now().UnixMilli()}
	if s.req != nil {
		l.agent, l.ip = s.req.UserAgent(), remoteHost(s.req.RemoteAddr)
	}
	prevUser, prevID, wasStored := s.st.who().user, s.id, s.stored
	newID := randomID()
	idx := m.users
	if idx != nil {
		// The entry first: a session is never the user's without one.
		ctx, cancel := m.bound(s.ctx)
		err := idx.AddUserSession(ctx, userID, newID)
		cancel()
		if err != nil {
			return storeErr("login", err)
		}
	}
	s.change(op{kind: opLogin, value: l})
	s.change(op{kind: opToken, key: randomID()})
	s.touched = true
	if wasStored && !m.clientSide {
		if err := s.moveTo(newID); err != nil {
			return err
		}
		if !s.stored { // destroyed meanwhile: log in on the fresh session
			s.change(op{kind: opLogin, value: l})
			s.touched = true
		}
	}
	if s.id != newID {
		s.id, s.newID = newID, true // saved under it at the end of the request
		event(m.hooks.SessionRegenerated, s.ctx)
	}
	if idx != nil {
		if prevUser != "" && wasStored {
			m.unindex(s.ctx, idx, prevUser, prevID)
		}
		m.pruneIfLarge(s.ctx, idx, userID)
	}
	return nil
}

// UserID returns the ID of the user the session belongs to (Login), or ""
// for an anonymous session.
func (s *Session) UserID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.who().user
}

// SetLifetime gives the session its own idle lifetime d from now on
// ("remember me"), kept across Regenerate and Login, and a persistent cookie
// (Max-Age d) even with Config.ExpireOnClose. d <= 0 returns it to
// Config.Lifetime (and, with ExpireOnClose, to a cookie that ends with the
// browser). Config.AbsoluteLifetime still bounds it. A d that is not a whole
// number of milliseconds is rounded up to one.
func (s *Session) SetLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ms int64
	if d > 0 {
		ms = int64((d + time.Millisecond - 1) / time.Millisecond)
	}
	if ms == s.st.who().life {
		return
	}
	s.change(op{kind: opLife, value: ms})
	s.touched = true
	s.resend = true
}

// DestroyOtherSessions ends every other session of this session's user ("log
// out my other devices") and reports how many it ended; 0 for an anonymous
// session. Its error wraps errors.ErrUnsupported when the store cannot list
// a user's sessions (the cookie and null drivers).
func (s *Session) DestroyOtherSessions() (int, error) {
	s.mu.Lock()
	user, id, ctx := s.st.who().user, s.id, s.ctx
	s.mu.Unlock()
	if user == "" {
		return 0, nil
	}
	return s.m.destroyUserSessions(ctx, "destroy other sessions", user, true, func(other string) bool { return other != id })
}

// UserSessions returns the live sessions of userID, most recently seen
// first: destroyed and expired sessions never appear, even before a sweep.
// Called with a request's context (or one derived from it), the session of
// that request is marked Current. Its error wraps errors.ErrUnsupported when
// the store cannot list a user's sessions (the cookie and null drivers).
func (m *Manager) UserSessions(ctx context.Context, userID string) ([]SessionInfo, error) {
	idx, err := m.userIndex("list user sessions")
	if err != nil {
		return nil, err
	}
	live, _, err := m.userRecords(ctx, idx, userID)
	if err != nil {
		return nil, fmt.Errorf("session: list user sessions: %w", err)
	}
	current := ""
	if s := m.FromContext(ctx); s != nil {
		s.mu.Lock()
		current = s.id
		s.mu.Unlock()
	}
	out := make([]SessionInfo, 0, len(live))
	now := time.Now()
	for _, r := range live {
		life := m.cfg.Lifetime
		if r.st.who().life > 0 {
			life = time.Duration(r.st.who().life) * time.Millisecond
		}
		seen := r.expiry.Add(-life)
		if end, ok := m.absoluteEnd(&r.st); ok && !r.expiry.Before(end) {
			seen = now // capped by the absolute lifetime: the idle deadline says nothing
		}
		if seen.After(now) {
			seen = now
		}
		out = append(out, SessionInfo{
			Handle:    m.handle(r.id),
			Current:   r.id == current,
			Created:   time.UnixMilli(r.st.who().born),
			LastSeen:  seen,
			Expires:   r.expiry,
			UserAgent: r.st.who().agent,
			IP:        r.st.who().ip,
		})
	}
	slices.SortFunc(out, func(a, b SessionInfo) int {
		return cmp.Or(b.LastSeen.Compare(a.LastSeen), strings.Compare(a.Handle, b.Handle))
	})
	return out, nil
}

// DestroyUserSessions ends every session of userID (after a password change,
// or by an administrator) and reports how many it ended. Another user's
// sessions are never touched, and a request that has one of them loaded does
// not bring it back when it saves. Sessions in the user's index that do not
// open (sealed under a secret this Manager lacks, or corrupt) are left, and
// make the error wrap ErrCorrupt, with the count of those ended. Its error
// wraps errors.ErrUnsupported when the store cannot list a user's sessions.
func (m *Manager) DestroyUserSessions(ctx context.Context, userID string) (int, error) {
	return m.destroyUserSessions(ctx, "destroy user sessions", userID, true, func(string) bool { return true })
}

// DestroyUserSession ends the one session of userID that handle (from
// SessionInfo) names: "log out that device". A handle that names no live
// session of userID (another user's, one already ended, garbage) is an error
// wrapping ErrNoSession, and nothing changes. Its error wraps
// errors.ErrUnsupported when the store cannot list a user's sessions.
func (m *Manager) DestroyUserSession(ctx context.Context, userID, handle string) error {
	n, err := m.destroyUserSessions(ctx, "destroy user session", userID, false, func(id string) bool {
		return hmac.Equal([]byte(m.handle(id)), []byte(handle))
	})
	if err == nil && n == 0 {
		err = fmt.Errorf("session: destroy user session: %w", ErrNoSession)
	}
	return err
}

// userIndex returns the store's UserIndex, or an error wrapping
// errors.ErrUnsupported naming what op cannot do.
func (m *Manager) userIndex(op string) (UserIndex, error) {
	if m.users != nil {
		return m.users, nil
	}
	why := "its store does not implement session.UserIndex"
	switch {
	case m.clientSide:
		why = "the cookie driver keeps sessions in the clients, where the server cannot find them"
	case m.cfg.Store == nil:
		why = "the " + m.cfg.Driver + " driver keeps no index of a user's sessions"
	}
	return nil, fmt.Errorf("session: %s: %s: %w", op, why, errors.ErrUnsupported)
}

// A userRecord is a live session of a user, as the store holds it.
type userRecord struct {
	id     string
	expiry time.Time
	st     state
}

// userRecords loads every session in userID's index and returns the live ones
// that still belong to userID, removing the other entries (but those young
// enough to name a Login in flight). A live record that does not open is
// left in the index and counted in unopened: it may be the user's, sealed
// under a secret this Manager lacks (a misconfigured replica, an operator's
// tool), and dropping its entry would hide it from a later "log out
// everywhere" by a Manager that has the secret.
func (m *Manager) userRecords(ctx context.Context, idx UserIndex, userID string) (live []userRecord, unopened int, err error) {
	entries, err := indexEntries(ctx, idx, userID)
	if err != nil {
		return nil, 0, err
	}
	var (
		stale []string
		now   = time.Now()
	)
	for _, e := range entries {
		data, expiry, found, err := m.store.Load(ctx, e.ID)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: load: %w", ErrStore, err)
		}
		if !found || !expiry.After(now) {
			if now.Sub(e.Added) >= indexGrace {
				stale = append(stale, e.ID)
			}
			continue
		}
		st, _, err := m.decode(e.ID, data)
		if err != nil {
			unopened++
			continue
		}
		if end, ok := m.absoluteEnd(&st); st.who().user != userID || ok && !end.After(now) {
			stale = append(stale, e.ID) // another user's, or past its absolute lifetime
			continue
		}
		live = append(live, userRecord{id: e.ID, expiry: expiry, st: st})
	}
	if len(stale) > 0 {
		m.unindex(ctx, idx, userID, stale...)
	}
	if unopened > 0 {
		m.log.LogAttrs(ctx, slog.LevelWarn, "session: sessions in a user's index do not open (corrupt, or sealed under a secret this Manager lacks); left as they are",
			slog.Int("sessions", unopened))
	}
	return live, unopened, nil
}

// An indexEntry is one session ID in a user's index, with the time the store
// added it.
type indexEntry struct {
	ID    string
	Added time.Time
}

// indexEntries returns the entries of userID's index.
func indexEntries(ctx context.Context, idx UserIndex, userID string) ([]indexEntry, error) {
	var entries []indexEntry
	err := idx.ListUserSessions(ctx, userID, func(id string, added time.Time) bool {
		entries = append(entries, indexEntry{id, added})
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("%w: list user index: %w", ErrStore, err)
	}
	return entries, nil
}

// errNotUsers stops the Update that destroys a session when the record is no
// longer the user's (or is gone): it is left as it is.
var errNotUsers = errors.New("session: not the user's session")

// destroyUserSessions deletes each session of userID whose ID pick accepts,
// and reports how many. all says that pick accepts every session but maybe
// the caller's: then sessions that do not open make it an error. Each record is checked inside its own atomic update,
// so a session that changed hands meanwhile is left alone.
func (m *Manager) destroyUserSessions(ctx context.Context, op, userID string, all bool, pick func(id string) bool) (int, error) {
	idx, err := m.userIndex(op)
	if err != nil {
		return 0, err
	}
	live, unopened, err := m.userRecords(ctx, idx, userID)
	if err != nil {
		return 0, fmt.Errorf("session: %s: %w", op, err)
	}
	var gone []string
	for _, r := range live {
		if !pick(r.id) {
			continue
		}
		err := m.store.Update(ctx, r.id, func(data []byte, found bool) ([]byte, time.Time, error) {
			if !found {
				return nil, time.Time{}, errNotUsers
			}
			if st, _, err := m.decode(r.id, data); err != nil || st.who().user != userID {
				return nil, time.Time{}, errNotUsers
			}
			return nil, time.Time{}, nil // nil data: delete
		})
		switch {
		case errors.Is(err, errNotUsers):
		case err != nil:
			if len(gone) > 0 {
				m.unindex(ctx, idx, userID, gone...)
			}
			return len(gone), fmt.Errorf("session: %s: %w", op, storeErr("destroy", err))
		default:
			gone = append(gone, r.id)
			event(m.hooks.SessionDestroyed, ctx)
		}
	}
	if len(gone) > 0 {
		m.unindex(ctx, idx, userID, gone...)
		m.log.LogAttrs(ctx, slog.LevelInfo, "session: destroyed sessions of a user", slog.String("op", op), slog.Int("count", len(gone)))
	}
	if unopened > 0 && all {
		// Ending "every session" must not silently leave some.
		return len(gone), fmt.Errorf("session: %s: %d session(s) in the user's index do not open (corrupt, or sealed under a secret this Manager lacks) and were left: %w", op, unopened, ErrCorrupt)
	}
	return len(gone), nil
}

// unindex removes ids from userID's index; a failure is logged, not
// returned: a stale entry is only a hint that the next reader removes.
func (m *Manager) unindex(ctx context.Context, idx UserIndex, userID string, ids ...string) {
	if err := idx.RemoveUserSessions(ctx, userID, ids...); err != nil {
		m.log.LogAttrs(ctx, slog.LevelWarn, "session: could not remove entries of a user's session index", slog.Any("error", err), slog.Int("entries", len(ids)))
	}
}

// pruneIfLarge removes the stale entries of userID's index when it has grown
// to pruneAt entries. A failure is logged: the login itself succeeded.
func (m *Manager) pruneIfLarge(ctx context.Context, idx UserIndex, userID string) {
	entries, err := indexEntries(ctx, idx, userID)
	if err == nil && len(entries) >= pruneAt {
		_, _, err = m.userRecords(ctx, idx, userID)
	}
	if err != nil {
		m.log.LogAttrs(ctx, slog.LevelWarn, "session: could not prune a user's session index", slog.Any("error", err))
	}
}

// handle returns the stable, non-secret name of session id: an HMAC of the
// ID under a key of its own, cut to 128 bits. It reveals nothing of the ID
// (nor of the cookie, which needs the ID and the signing key).
func (m *Manager) handle(id string) string {
	mac := hmac.New(sha256.New, m.handleKey)
	mac.Write([]byte(id))
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(mac.Sum(sum[:0])[:16])
}

// remoteHost returns the host of a RemoteAddr ("192.0.2.1:1234" gives
// "192.0.2.1"), or the address itself when it has no port.
func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// lastingCookie returns the Set-Cookie value carrying value with Expires and
// Max-Age of life, whatever Config.ExpireOnClose says.
func (m *Manager) lastingCookie(value []byte, now time.Time, life time.Duration) string {
	f := &m.cookieFmt
	var b strings.Builder
	b.WriteString(f.prefix)
	b.Write(value)
	b.WriteString(f.scope)
	b.WriteString("; Expires=")
	b.WriteString(now.Add(life).UTC().Format(http.TimeFormat))
	b.WriteString("; Max-Age=")
	b.WriteString(strconv.FormatInt(int64((life+time.Second-1)/time.Second), 10))
	b.WriteString(f.flags)
	return b.String()
}
