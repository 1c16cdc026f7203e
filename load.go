package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// The session engine without net/http: Load and Commit carry a session as a
// token string, what the cookie would hold (a signed session ID, or the
// cookie driver's sealed session), for any transport: gRPC metadata,
// WebSocket messages, fasthttp. Middleware is a user of the same two steps,
// with the token in a cookie or, with Config.TokenHeader, in a header.

// maxCookieCandidates is how many of a request's cookies named Config.Cookie
// load considers, in the order the request lists them; the others are not
// looked at. A browser may send more than one (a stale copy set for another
// path or domain), but a request with thousands of forged cookies must not
// cost a signature check (or an AES-GCM open) per cookie and per secret.
const maxCookieCandidates = 3

// Load returns the session that token names, and ctx carrying it
// (FromContext and m.FromContext find it there). A token that is empty, does
// not verify, or names no live session gives a new empty session and no
// error; the error is only for a store that fails. Save the session with
// Commit when the work is done: Load and Commit make every guarantee that
// Middleware makes (strict IDs, no lost updates, flash ageing, key rotation,
// no write for an untouched session).
func (m *Manager) Load(ctx context.Context, token string) (context.Context, *Session, error) {
	s := newSession(m, ctx)
	result := LoadNew
	var err error
	if token != "" {
		result, err = m.loadTokens(s, "token", "", 1, 1, func(int) string { return token })
	}
	m.loaded(ctx, result)
	if err != nil {
		return ctx, nil, err
	}
	return &sessionContext{Context: ctx, s: s}, s, nil
}

// Commit saves s, which Load returned, and returns the token the client
// holds from now on ("" when it should hold none: the session was destroyed,
// or is new and was given nothing) and when the session expires (zero with
// no token). The save's store calls take ctx. A session is committed once:
// changes made after Commit are not saved (Load again to go on).
func (m *Manager) Commit(ctx context.Context, s *Session) (token string, expires time.Time, err error) {
	if s == nil || s.m != m {
		return "", time.Time{}, errors.New("session: commit: the session was not loaded by this Manager")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return "", time.Time{}, fmt.Errorf("session: commit: %w", ErrHeadersWritten)
	}
	s.ctx = ctx
	s.resend = m.clientSide // the cookie driver's token is the session: always send the current one
	sv, err := s.save()
	s.committed = true
	if err != nil {
		return "", time.Time{}, err
	}
	if sv.out == expireToken || !s.stored {
		return "", time.Time{}, nil // ended, or new and given nothing
	}
	return m.token(s, sv), s.expiry, nil
}

// token returns the session's token: the cookie driver's sealed session,
// or its signed ID.
func (m *Manager) token(s *Session, sv saved) string {
	if sv.value != nil {
		return string(sv.value)
	}
	var b [cookieValueLen]byte
	return string(m.signer.signTo(&b, s.id))
}

// loadTokens loads into the empty session s the session that the first of n
// candidate tokens to verify names. source ("cookie", "header", "token"),
// all (how many the request carried) and remote (its address, "" outside
// HTTP) are for the log. s stays new when none
// verifies or the one that does names no live session. Only a store failure
// is an error.
func (m *Manager) loadTokens(s *Session, source, remote string, n, all int, token func(i int) string) (LoadResult, error) {
	ctx := s.ctx
	s.dropCookie = true // unless a token names a live session
	if m.clientSide {
		return m.loadClient(s, source, remote, n, all, token), nil
	}
	var (
		id          string
		rotated, ok bool
	)
	for i := range n {
		if id, rotated, ok = m.signer.verify(token(i)); ok {
			break
		}
	}
	if !ok {
		m.log.LogAttrs(ctx, slog.LevelWarn, "session: "+source+" does not verify (tampered, truncated, oversized or signed with an unknown secret); starting a new session",
			slog.String("remote", remote), slog.Int("length", len(token(0))), slog.Int(source+"s", all))
		return LoadInvalid, nil
	}
	lctx, cancel := m.bound(ctx)
	data, expiry, found, err := m.store.Load(lctx, id)
	cancel()
	if err != nil {
		return LoadNew, storeErr("load", err)
	}
	now := time.Now()
	if !found || !expiry.After(now) {
		return LoadExpired, nil // unknown, destroyed or expired: never adopted
	}
	st, resealed, err := m.decode(id, data)
	if err != nil {
		m.log.LogAttrs(ctx, slog.LevelWarn, "session: stored session is corrupt; starting a new session", slog.Any("error", err))
		return LoadInvalid, nil
	}
	if end, ok := m.absoluteEnd(&st); ok && !end.After(now) {
		return LoadExpired, nil // past its absolute lifetime: never served late
	}
	s.id, s.stored, s.raw, s.expiry, s.st = id, true, data, expiry, st
	s.seen = st.flashNow
	s.reissue, s.resave, s.dropCookie = rotated, resealed, false
	s.ensureToken()
	s.startClock(now)
	return LoadFound, nil
}

// requestToken returns the session token r carries in header name: the
// value itself, or for "Authorization" the credentials of its Bearer scheme
// ("" for another scheme).
func requestToken(r *http.Request, name string) string {
	v := r.Header.Get(name)
	if !strings.EqualFold(name, "Authorization") {
		return strings.TrimSpace(v)
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(cred)
}

// headerToken returns the value of Config.TokenHeader that tells the client
// what sv says: its token ("Bearer <token>" for Authorization), or "" to
// drop it.
func (m *Manager) headerToken(s *Session, sv saved) string {
	if sv.out == expireToken {
		return ""
	}
	t := m.token(s, sv)
	if strings.EqualFold(m.cfg.TokenHeader, "Authorization") {
		return "Bearer " + t
	}
	return t
}

// addTokenHeaders sets header name to value on a response that carries the
// session's token, with Vary naming the header, and keeps shared caches from
// storing the response as for a cookie (see privateCacheControl).
func addTokenHeaders(h http.Header, name, value string) {
	h.Set(name, value)
	h.Add("Vary", name)
	if cc, keep := privateCacheControl(h["Cache-Control"]); !keep {
		h.Set("Cache-Control", cc)
	}
}
