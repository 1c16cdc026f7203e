package session

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"time"
)

// The cookie driver (Config.Driver "cookie") keeps the whole session in the
// client: the envelope, with the session ID and the idle deadline inside,
// sealed with AES-256-GCM under a key derived from the secret for this
// purpose only, bound to the cookie name. There is no store: nothing to
// sweep, nothing to look up, and nothing to revoke.
//
// What it cannot do, by its nature: a copy of the cookie stays valid until
// its deadline passes, even after Destroy or Regenerate (the server keeps no
// record to remove); two concurrent requests of one client each send their
// own version back, and the browser keeps the last; a one-time token can be
// used again by replaying an older cookie.

// MaxCookieSize is the largest Set-Cookie header value the cookie driver
// sends: browsers drop larger cookies, so a bigger session fails to save
// with ErrCookieTooLarge instead of being sent truncated.
const MaxCookieSize = 4096

// purposeCookieStore is the purpose of the cookie driver's sealing key.
const purposeCookieStore = "sessionkit/v1 cookie driver sealing"

// clientFields are the envelope fields only the cookie driver uses.
type clientFields struct {
	ID  string `json:"id,omitempty"`  // the session ID, kept in the client
	Exp int64  `json:"exp,omitempty"` // idle deadline, Unix milliseconds
}

// loadClient reads a cookie-driver session from the first of n candidate
// tokens that opens (see loadTokens).
func (m *Manager) loadClient(s *Session, source, remote string, n, all int, token func(i int) string) LoadResult {
	ctx := s.ctx
	for i := range n {
		value := token(i)
		if len(value) > MaxCookieSize {
			continue
		}
		sealed, err := base64.RawURLEncoding.Strict().DecodeString(value)
		if err != nil {
			continue
		}
		plain, rotated, err := m.cookieSealer.openRaw(m.cookieAD, sealed)
		if err != nil {
			continue
		}
		st, cf, err := decodeClientState(plain)
		if err != nil {
			m.log.LogAttrs(ctx, slog.LevelWarn, "session: cookie session is corrupt; starting a new session", slog.Any("error", err))
			return LoadInvalid
		}
		expiry, now := time.UnixMilli(cf.Exp), time.Now()
		if !validID(cf.ID) || !expiry.After(now) {
			return LoadExpired // expired: never loads again
		}
		if end, ok := m.absoluteEnd(&st); ok && !end.After(now) {
			return LoadExpired // past its absolute lifetime
		}
		s.id, s.stored, s.expiry, s.st = cf.ID, true, expiry, st
		s.seen = st.flashNow
		s.reissue, s.dropCookie = rotated, false
		s.ensureToken()
		s.startClock(now)
		return LoadFound
	}
	m.log.LogAttrs(ctx, slog.LevelWarn, "session: cookie session does not open (tampered, truncated, oversized or sealed with an unknown secret); starting a new session",
		slog.String("source", source), slog.String("remote", remote), slog.Int("length", len(token(0))), slog.Int(source+"s", all))
	return LoadInvalid
}

// saveClient is save for the cookie driver: the session is written to the
// cookie when it changed, when flash data must age, when its ID or secret
// changed, or when its idle deadline is due to move (at most once per touch
// gap, as for stored sessions).
func (s *Session) saveClient(now time.Time) (saved, error) {
	m := s.m
	switch {
	case !s.stored && !s.touched:
		if s.dropCookie {
			return saved{out: expireToken, at: now}, nil
		}
		return saved{}, nil
	case !s.stored, len(s.ops) > 0, s.st.needsAging(), s.newID, s.reissue, s.resend, s.touchDue(now):
	default:
		return saved{out: keepToken, at: now}, nil
	}
	// One buffer holds the nonce, then the envelope (sealed in place), then
	// the base64 of both: the Set-Cookie text is the only other allocation.
	raw := make([]byte, nonceLen, 512)
	newIDs(&s.id, &s.st.token, raw) // the nonce comes from the IDs' read
	s.st.age()
	expiry := s.expiryFrom(now)
	raw, err := appendClientState(raw, &s.st, clientFields{ID: s.id, Exp: expiry.UnixMilli()})
	if err != nil {
		return saved{}, err
	}
	raw = m.cookieSealer.sealInPlace(m.cookieAD, raw)
	value := base64.RawURLEncoding.AppendEncode(raw[len(raw):], raw)
	if n := len(value) + m.cookieFmt.overhead; n > MaxCookieSize {
		return saved{}, fmt.Errorf("%w: the session needs a cookie of about %d bytes; browsers keep at most %d", ErrCookieTooLarge, n, MaxCookieSize)
	}
	if !s.stored {
		event(m.hooks.SessionCreated, s.ctx)
	}
	s.stored, s.expiry = true, expiry
	return saved{out: sendToken, value: value, at: now}, nil
}
