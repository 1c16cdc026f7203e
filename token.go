package session

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"slices"
	"time"
)

// ensureToken gives the session a CSRF token when it has none.
func (s *Session) ensureToken() {
	if s.st.token == "" {
		s.change(op{kind: opToken, key: randomID()})
	}
}

// Token returns the session's CSRF token. Reading it makes a new session
// worth saving: the client needs the session to send the token back.
func (s *Session) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureToken()
	s.touched = true
	return s.st.token
}

// RegenerateToken replaces the CSRF token and returns the new one.
func (s *Session) RegenerateToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.change(op{kind: opToken, key: randomID()})
	s.touched = true
	return s.st.token
}

// MaskedToken returns the session's CSRF token masked with fresh random
// bytes: a different string on every call, which ValidateToken and
// VerifyCSRF accept as the token itself. Put it, rather than Token, in the
// pages the application writes: a secret repeated unchanged in compressed
// responses can be read, byte by byte, by an attacker who can reflect text
// into them and watch their size (BREACH). Like Token, it makes a new
// session worth saving.
func (s *Session) MaskedToken() string {
	return maskToken(s.Token())
}

// maskToken returns base64url(mask || mask XOR token) for a random mask as
// long as token.
func maskToken(token string) string {
	b := make([]byte, 2*len(token))
	rand.Read(b[:len(token)]) // never fails: crypto/rand.Read crashes the program instead
	for i := range len(token) {
		b[len(token)+i] = b[i] ^ token[i]
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// maskedBase64 decodes masked tokens: one encoding per value (no stray
// bits, no line breaks), so that a changed character never validates.
var maskedBase64 = base64.RawURLEncoding.Strict()

// ValidateToken reports whether token is the session's CSRF token, as Token
// or as any MaskedToken returns it, comparing in constant time.
func (s *Session) ValidateToken(token string) bool {
	s.mu.Lock()
	want := s.st.token
	s.mu.Unlock()
	return matchToken(want, token)
}

// matchToken reports whether got is want, plain or masked, comparing the
// bytes in constant time. Only the length of got decides which form is
// compared, and lengths are not secret.
func matchToken(want, got string) bool {
	if want == "" {
		return false
	}
	if len(got) != maskedBase64.EncodedLen(2*len(want)) {
		return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
	}
	var buf [2 * idLen]byte
	b := buf[:]
	if 2*len(want) > len(b) {
		b = make([]byte, 2*len(want))
	}
	n, err := maskedBase64.Decode(b, []byte(got))
	if err != nil || n != 2*len(want) {
		return false
	}
	mask, x := b[:len(want)], b[len(want):n]
	for i := range x {
		x[i] ^= mask[i]
	}
	return subtle.ConstantTimeCompare(x, []byte(want)) == 1
}

// GenerateOneTimeToken returns a new one-time token: ValidateOneTimeToken
// accepts it once. Only the newest 20 stay valid.
func (s *Session) GenerateOneTimeToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureToken()
	t := randomID()
	s.change(op{kind: opAddOTT, key: t})
	s.touched = true
	return t
}

// errUsed stops the Update of ValidateOneTimeToken when another request has
// already used the token.
var errUsed = errors.New("session: one-time token already used")

// ValidateOneTimeToken reports whether token is one of the session's
// one-time tokens and uses it up: it validates once, even when two requests
// submit it at the same moment (it is removed from the store at once, not at
// the end of the request).
func (s *Session) ValidateOneTimeToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !holds(s.st.ott, token) {
		return false
	}
	pending := slices.ContainsFunc(s.ops, func(o op) bool { return o.kind == opAddOTT && o.key == token })
	if s.stored && !pending && !s.m.clientSide {
		m := s.m
		expiry := s.expiryFrom(time.Now())
		ctx, cancel := m.bound(s.ctx)
		defer cancel()
		err := m.store.Update(ctx, s.id, func(data []byte, found bool) ([]byte, time.Time, error) {
			if !found {
				return nil, time.Time{}, errGone
			}
			st, _, err := m.decode(s.id, data)
			if err != nil {
				return nil, time.Time{}, err
			}
			if !slices.Contains(st.ott, token) {
				return nil, time.Time{}, errUsed
			}
			st.ott = remove(st.ott, token)
			raw, err := m.encode(s.id, &st)
			return raw, expiry, err
		})
		if err != nil {
			if !errors.Is(err, errUsed) && !errors.Is(err, errGone) {
				m.log.LogAttrs(s.ctx, slog.LevelError, "session: one-time token check failed", slog.Any("error", storeErr("use one-time token", err)))
				return false // fail closed, keep the token for a retry
			}
			s.change(op{kind: opUseOTT, key: token})
			return false
		}
		s.expiry = expiry
	}
	s.change(op{kind: opUseOTT, key: token})
	return true
}

// holds reports whether list contains token, comparing every entry in
// constant time.
func holds(list []string, token string) bool {
	found := 0
	for _, t := range list {
		found |= subtle.ConstantTimeCompare([]byte(t), []byte(token))
	}
	return found == 1 && token != ""
}
