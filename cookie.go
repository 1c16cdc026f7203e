package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
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
	keys  [][]byte
	pools []*sync.Pool // per key, of *macState: HMAC costs no allocation per request
}

// macState is a reusable HMAC-SHA256 under one key.
type macState struct {
	h       hash.Hash
	in, out []byte
}

func newSigner(keys [][]byte) signer {
	s := signer{keys: keys}
	for _, key := range keys {
		s.pools = append(s.pools, &sync.Pool{New: func() any {
			return &macState{h: hmac.New(sha256.New, key), in: make([]byte, 0, idLen), out: make([]byte, 0, sha256.Size)}
		}})
	}
	return s
}

// mac returns the HMAC of id under key i.
func (s signer) mac(i int, id string) (sum [sha256.Size]byte) {
	ms := s.pools[i].Get().(*macState)
	ms.h.Reset()
	ms.in = append(ms.in[:0], id...)
	ms.h.Write(ms.in)
	ms.out = ms.h.Sum(ms.out[:0])
	copy(sum[:], ms.out)
	s.pools[i].Put(ms)
	return sum
}

// signTo writes the cookie value for id into b and returns it.
func (s signer) signTo(b *[cookieValueLen]byte, id string) []byte {
	n := copy(b[:], id)
	b[n] = '.'
	sum := s.mac(0, id)
	base64.RawURLEncoding.Encode(b[n+1:], sum[:])
	return b[:n+1+base64.RawURLEncoding.EncodedLen(len(sum))]
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
	var enc [cookieValueLen - idLen - 1]byte
	copy(enc[:], value[idLen+1:])
	var sum [sha256.Size]byte
	n, err := strictBase64.Decode(sum[:], enc[:])
	if err != nil || n != len(sum) {
		return "", false, false
	}
	for i := range s.keys {
		if want := s.mac(i, id); hmac.Equal(sum[:], want[:]) {
			return id, i > 0, true
		}
	}
	return "", false, false
}

// cookieWithValue returns the Set-Cookie value carrying value (an empty value
// expires the cookie), in one allocation. A persistent cookie carries Max-Age
// and Expires equal to the lifetime; with ExpireOnClose it carries neither.
// The parts that do not change were formatted by net/http once, in
// newCookieFormat; the result is what http.Cookie.String returns.
func (m *Manager) cookieWithValue(value []byte, now time.Time) string {
	f := &m.cookieFmt
	if len(value) == 0 {
		return f.expired
	}
	// One allocation: the Builder's buffer becomes the string.
	var b strings.Builder
	b.Grow(len(f.prefix) + len(value) + len(f.scope) + len("; Expires=Mon, 02 Jan 2006 15:04:05 GMT") + len(f.maxAge) + len(f.flags))
	b.WriteString(f.prefix)
	b.Write(value)
	b.WriteString(f.scope)
	if !m.cfg.ExpireOnClose {
		b.WriteString("; Expires=")
		b.WriteString(m.expiresDate(now))
		b.WriteString(f.maxAge)
	}
	b.WriteString(f.flags)
	return b.String()
}

// A cookieDate is the Expires date of the cookies set in one second.
type cookieDate struct {
	sec  int64  // the expiry, in Unix seconds
	text string // formatted as http.TimeFormat
}

// expiresDate returns the Expires date of a persistent cookie set at now,
// formatted once per second of expiry (the format has no finer unit).
func (m *Manager) expiresDate(now time.Time) string {
	sec := now.Add(m.cfg.Lifetime).Unix()
	if d := m.cookieDate.Load(); d != nil && d.sec == sec {
		return d.text
	}
	d := &cookieDate{sec: sec, text: time.Unix(sec, 0).UTC().Format(http.TimeFormat)}
	m.cookieDate.Store(d)
	return d.text
}

// cookieFormat holds the parts of the session cookie's Set-Cookie value that
// are the same in every response.
type cookieFormat struct {
	prefix  string // "name="
	scope   string // "; Path=...; Domain=..."
	maxAge  string // "; Max-Age=..."
	flags   string // "; HttpOnly; Secure; SameSite=...; Partitioned"
	expired string // the whole value that expires the cookie
	// overhead bounds the length of a Set-Cookie value beyond its cookie
	// value: name, scope, Expires, Max-Age and flags.
	overhead int
}

// newCookieFormat formats the fixed parts of the cookie with net/http, so
// that its rules (path sanitizing, domain checks, attribute order) apply.
func newCookieFormat(cfg Config) cookieFormat {
	part := func(c http.Cookie) string {
		c.Name, c.Value = cfg.Cookie, "v"
		return strings.TrimPrefix(c.String(), cfg.Cookie+"=v")
	}
	expired := http.Cookie{
		Name: cfg.Cookie, Path: cfg.Path, Domain: cfg.Domain, MaxAge: -1, Expires: time.Unix(1, 0),
		HttpOnly: true, Secure: cfg.Secure, SameSite: cfg.SameSite, Partitioned: cfg.Partitioned,
	}
	f := cookieFormat{
		prefix:  cfg.Cookie + "=",
		scope:   part(http.Cookie{Path: cfg.Path, Domain: cfg.Domain}),
		maxAge:  "; Max-Age=" + strconv.Itoa(int((cfg.Lifetime+time.Second-1)/time.Second)),
		flags:   part(http.Cookie{HttpOnly: true, Secure: cfg.Secure, SameSite: cfg.SameSite, Partitioned: cfg.Partitioned}),
		expired: expired.String(),
	}
	f.overhead = len(f.prefix) + len(f.scope) + len("; Expires=Mon, 02 Jan 2006 15:04:05 GMT") + len("; Max-Age=") + 20 + len(f.flags)
	return f
}

// setCookie returns the Set-Cookie value that tells the client what sv
// says: the session's token (its signed ID, or the cookie driver's sealed
// session) in a cookie that is persistent unless ExpireOnClose (or of the
// session's own lifetime when it has one), or the cookie that expires it.
func (m *Manager) setCookie(s *Session, sv saved) string {
	if sv.out == expireToken {
		return m.cookieFmt.expired
	}
	value := sv.value
	var b [cookieValueLen]byte // on the stack: the Set-Cookie value is the one allocation
	if value == nil {
		value = m.signer.signTo(&b, s.id)
	}
	if life := s.st.who().life; life > 0 {
		return m.lastingCookie(value, sv.at, time.Duration(life)*time.Millisecond)
	}
	return m.cookieWithValue(value, sv.at)
}
