package session

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// sealPrefix starts every sealed payload, so that a sealed payload is never
// taken for a plain one (which starts with '{') and stays text for stores
// that keep strings.
var sealPrefix = []byte("sk1.")

// nonceLen is the length of an AES-GCM nonce: random, never a counter.
const nonceLen = 12

// sealer encrypts payloads with AES-256-GCM under keys derived from the
// secrets (aeads[0] seals, every one opens). The session ID is the additional
// data, so a payload copied under another ID fails to open.
type sealer struct {
	aeads []cipher.AEAD
}

func newSealer(keys [][]byte) sealer {
	s := sealer{aeads: make([]cipher.AEAD, len(keys))}
	for i, k := range keys {
		block, err := aes.NewCipher(k)
		if err != nil {
			panic("session: aes: " + err.Error()) // keys are always 32 bytes
		}
		aead, err := cipher.NewGCM(block)
		if err != nil || aead.NonceSize() != nonceLen {
			panic(fmt.Sprintf("session: gcm: nonce size %d, %v", nonceLen, err))
		}
		s.aeads[i] = aead
	}
	return s
}

func isSealed(b []byte) bool { return bytes.HasPrefix(b, sealPrefix) }

// seal returns sealPrefix + base64(nonce || ciphertext), with the session
// ID as additional data.
func (s sealer) seal(id string, plain []byte) []byte {
	raw := s.sealRaw([]byte(id), plain)
	out := make([]byte, 0, len(sealPrefix)+base64.RawURLEncoding.EncodedLen(len(raw)))
	out = append(out, sealPrefix...)
	return base64.RawURLEncoding.AppendEncode(out, raw)
}

// open reverses seal; rotated reports that only a previous secret's key
// opened it.
func (s sealer) open(id string, sealed []byte) (plain []byte, rotated bool, err error) {
	raw, err := strictBase64.AppendDecode(nil, sealed[len(sealPrefix):])
	if err != nil {
		return nil, false, fmt.Errorf("%w: sealed payload is not base64", ErrCorrupt)
	}
	return s.openRaw([]byte(id), raw)
}

// sealRaw returns nonce || ciphertext of plain with additional data ad.
func (s sealer) sealRaw(ad, plain []byte) []byte {
	aead := s.aeads[0]
	raw := make([]byte, nonceLen, nonceLen+len(plain)+aead.Overhead())
	rand.Read(raw)
	return aead.Seal(raw, raw, plain, ad)
}

// sealInPlace is sealRaw for a buffer that holds a fresh random nonce
// (nonceLen bytes) followed by the plaintext: the ciphertext overwrites the
// plaintext, and the result (nonce || ciphertext) shares raw's storage when
// its capacity holds the tag.
func (s sealer) sealInPlace(ad, raw []byte) []byte {
	return s.aeads[0].Seal(raw[:nonceLen], raw[:nonceLen], raw[nonceLen:], ad)
}

// openRaw reverses sealRaw, trying every key.
func (s sealer) openRaw(ad, raw []byte) (plain []byte, rotated bool, err error) {
	for i, aead := range s.aeads {
		if len(raw) < aead.NonceSize()+aead.Overhead() {
			return nil, false, fmt.Errorf("%w: sealed payload is too short", ErrCorrupt)
		}
		nonce, ct := raw[:aead.NonceSize()], raw[aead.NonceSize():]
		if plain, err := aead.Open(nil, nonce, ct, ad); err == nil {
			return plain, i > 0, nil
		}
	}
	return nil, false, fmt.Errorf("%w: sealed payload does not open with any secret", ErrCorrupt)
}
