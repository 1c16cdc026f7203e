package session

import (
	"crypto/hkdf"
	"crypto/sha256"
)

// Key derivation: one key per purpose, so that no key does two jobs.
const (
	purposeCookie = "sessionkit/v1 cookie signing"
	purposeSeal   = "sessionkit/v1 payload sealing"
)

// deriveKeys derives a 32-byte key for purpose from each secret, current
// secret first.
func deriveKeys(secrets []string, purpose string) [][]byte {
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		k, err := hkdf.Key(sha256.New, []byte(s), nil, purpose, 32)
		if err != nil { // only for impossible lengths
			panic("session: hkdf: " + err.Error())
		}
		keys[i] = k
	}
	return keys
}
