package session

import (
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
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

// ValidateToken reports whether token is the session's CSRF token, comparing
// in constant time.
func (s *Session) ValidateToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.st.token)) == 1
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

// validRequestToken reports whether r carries the session's CSRF token in the
// X-CSRF-Token header or the _token form field. Reading it does not make a
// new session worth saving.
func (s *Session) validRequestToken(r *http.Request) bool {
	token := r.Header.Get("X-CSRF-Token")
	if token == "" {
		token = r.PostFormValue("_token")
	}
	return s.ValidateToken(token)
}

// VerifyCSRF rejects requests with a method other than GET, HEAD, OPTIONS and
// TRACE whose _token form field or X-CSRF-Token header is not the session's
// CSRF token: it answers 403 Forbidden, does not call next, and leaves the
// session exactly as it was (not even flash data ages). Wrap it inside
// Middleware: m.Middleware(m.VerifyCSRF(handler)).
func (m *Manager) VerifyCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			next.ServeHTTP(w, r)
			return
		}
		if m.cfg.TokenHeader != "" {
			// The session comes from a header, which a cross-site page
			// cannot make a browser send: there is no ambient credential
			// to forge a request with.
			next.ServeHTTP(w, r)
			return
		}
		s := FromRequest(r)
		if s == nil {
			m.log.LogAttrs(r.Context(), slog.LevelError, "session: VerifyCSRF used outside Middleware; refusing the request")
		} else if s.validRequestToken(r) {
			next.ServeHTTP(w, r)
			return
		} else {
			s.mu.Lock()
			s.skip = true
			s.mu.Unlock()
			m.log.LogAttrs(r.Context(), slog.LevelInfo, "session: CSRF token missing or invalid",
				slog.String("method", r.Method), slog.String("path", r.URL.Path))
		}
		event(m.hooks.CSRFRejected, r.Context())
		http.Error(w, "Forbidden: missing or invalid CSRF token", http.StatusForbidden)
	})
}
