package session

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/sessionkit/session/internal/sessionid"
)

// Session IDs, CSRF tokens and one-time tokens: 256 random bits each. What
// an ID looks like is defined once, in internal/sessionid.

// idLen is the length of session IDs and tokens: 32 random bytes (256 bits)
// in unpadded URL-safe base64.
const idLen = sessionid.Len

// randomID returns 256 bits from crypto/rand as 43 URL-safe base64 characters.
// It serves for session IDs, CSRF tokens and one-time tokens.
func randomID() string {
	var b [32]byte
	rand.Read(b[:])   // never fails: crypto/rand.Read crashes the program instead
	var s [idLen]byte // on the stack: the string is the one allocation
	base64.RawURLEncoding.Encode(s[:], b[:])
	return string(s[:])
}

// newIDs gives a new session what it lacks: an ID when *id is empty and a
// CSRF token when *token is empty, and fills nonce (at most nonceLen bytes,
// or nil), all from one read of crypto/rand (a read costs more than the
// bytes it returns). The two IDs share one allocation.
func newIDs(id, token *string, nonce []byte) {
	if len(nonce) > nonceLen {
		panic("session: newIDs: nonce longer than nonceLen")
	}
	var b [64 + nonceLen]byte
	n := 0
	if *id == "" {
		n += 32
	}
	if *token == "" {
		n += 32
	}
	if n+len(nonce) == 0 {
		return
	}
	rand.Read(b[:n+len(nonce)]) // never fails: crypto/rand.Read crashes the program instead
	copy(nonce, b[n:])
	var s [2 * idLen]byte
	for i := 0; i < n/32; i++ { // each ID is 32 bytes encoded alone
		base64.RawURLEncoding.Encode(s[i*idLen:(i+1)*idLen], b[i*32:(i+1)*32])
	}
	both := string(s[:n/32*idLen])
	if *id == "" {
		*id, both = both[:idLen], both[idLen:]
	}
	if *token == "" {
		*token = both
	}
}

// validID reports whether id has the shape randomID gives.
func validID(id string) bool { return sessionid.Canonical(id) }
