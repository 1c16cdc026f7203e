package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"
)

// The cookie value is the session ID, a dot, and an HMAC-SHA256 of the ID
// under a key derived from the secret: 43 + 1 + 43 characters.
const cookieValueLen = idLen + 1 + 43

// strictBase64 refuses non-canonical encodings, so that exactly one cookie
// value carries a given signature.
var strictBase64 = base64.RawURLEncoding.Strict()

// signer signs and verifies cookie values; keys[0] signs, every key verifies.
type signer struct {
	keys [][]byte
}

func (s signer) mac(key []byte, id string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	return h.Sum(nil)
}

// sign returns the cookie value for id.
func (s signer) sign(id string) string {
	b := make([]byte, 0, cookieValueLen)
	b = append(b, id...)
	b = append(b, '.')
	b = base64.RawURLEncoding.AppendEncode(b, s.mac(s.keys[0], id))
	return string(b)
}

// verify returns the session ID that value carries when its signature
// verifies under one of the keys; rotated reports that only a previous
// secret's key verified it. Anything malformed, of another length or signed
// with an unknown key fails before any other work.
func (s signer) verify(value string) (id string, rotated, ok bool) {
	if len(value) != cookieValueLen || value[idLen] != '.' {
		return "", false, false
	}
	id = value[:idLen]
	if !validID(id) {
		return "", false, false
	}
	var sum [32]byte
	n, err := strictBase64.Decode(sum[:], []byte(value[idLen+1:]))
	if err != nil || n != len(sum) {
		return "", false, false
	}
	for i, key := range s.keys {
		if hmac.Equal(sum[:], s.mac(key, id)) {
			return id, i > 0, true
		}
	}
	return "", false, false
}

// cookie returns the Set-Cookie value for id (an empty id expires the
// cookie). A persistent cookie carries Max-Age and Expires equal to the
// lifetime; with ExpireOnClose it carries neither.
func (m *Manager) cookie(id string, now time.Time) string {
	if id == "" {
		return m.cookieWithValue("", now)
	}
	return m.cookieWithValue(m.signer.sign(id), now)
}

// cookieWithValue returns the Set-Cookie value carrying value (an empty value
// expires the cookie).
func (m *Manager) cookieWithValue(value string, now time.Time) string {
	c := http.Cookie{
		Value:    value,
		Name:     m.cfg.Cookie,
		Path:     m.cfg.Path,
		Domain:   m.cfg.Domain,
		Secure:   m.cfg.Secure,
		HttpOnly: true,
		SameSite: m.cfg.SameSite,
	}
	switch {
	case value == "":
		c.MaxAge = -1
		c.Expires = time.Unix(1, 0)
	case m.cfg.ExpireOnClose:
	default:
		c.MaxAge = int((m.cfg.Lifetime + time.Second - 1) / time.Second)
		c.Expires = now.Add(m.cfg.Lifetime)
	}
	return c.String()
}
