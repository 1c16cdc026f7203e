// Package sessionid holds the one definition of what a session ID is, for the
// Manager and every store: its length, its alphabet, the check stores apply
// to the IDs they are given, and the hash that spreads IDs over shards.
package sessionid

import (
	"strings"
	"unicode/utf8"
)

// Len is the length of the IDs the Manager issues: 32 random bytes (256 bits)
// in unpadded URL-safe base64. CSRF and one-time tokens have the same shape.
const Len = 43

// MaxLen is the longest ID a store accepts. Stores take IDs of 1 to MaxLen
// characters of the alphabet, so that an ID issued by another program sharing
// the store (or a test's short ID) still works; the Manager itself only
// issues and accepts IDs of Len characters (Canonical).
const MaxLen = 128

// MaxUserLen is the longest user ID a session can belong to, in bytes
// (session.MaxUserIDLen).
const MaxUserLen = 512

// ValidUser reports whether a session can belong to userID: 1 to MaxUserLen
// bytes of UTF-8 without NUL, so that every store can keep it as text.
func ValidUser(userID string) bool {
	return userID != "" && len(userID) <= MaxUserLen && utf8.ValidString(userID) && !strings.ContainsRune(userID, 0)
}

// ShortLen is how many characters of an ID Abbrev keeps: enough to tell the
// sessions of a listing or a log apart, far too few to act as one.
const ShortLen = 12

// abbrevMark ends an ID that Abbrev shortened.
const abbrevMark = "..."

// AbbrevLen is the length of an ID that Abbrev shortened.
const AbbrevLen = ShortLen + len(abbrevMark)

// Abbrev returns id shortened to its first ShortLen characters followed by
// "...", as listings and messages show IDs; an id of at most ShortLen
// characters is returned whole.
func Abbrev(id string) string {
	if len(id) <= ShortLen {
		return id
	}
	return id[:ShortLen] + abbrevMark
}

// Unabbrev returns what s holds of an ID, s being an ID or an ID's start
// as Abbrev writes it, and whether s is written as such a start (ends in
// "...").
func Unabbrev(s string) (start string, abbreviated bool) {
	return strings.CutSuffix(s, abbrevMark)
}

// InAlphabet reports whether c is in the alphabet of IDs, the URL-safe
// base64 alphabet [A-Za-z0-9_-].
func InAlphabet(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// Valid reports whether a store can hold id: 1 to MaxLen characters from
// [A-Za-z0-9_-]. Such an ID can name no path outside a directory, no other
// table, and no key outside a prefix.
func Valid(id string) bool {
	if len(id) == 0 || len(id) > MaxLen {
		return false
	}
	return alphabetOnly(id)
}

// Canonical reports whether id has exactly the shape the Manager issues:
// Len characters from [A-Za-z0-9_-].
func Canonical(id string) bool {
	return len(id) == Len && alphabetOnly(id)
}

func alphabetOnly(id string) bool {
	for i := 0; i < len(id); i++ {
		if !InAlphabet(id[i]) {
			return false
		}
	}
	return true
}

// Shard returns the shard of id among n (n > 0), by FNV-1a: stable across
// processes and releases, since the file store's on-disk layout depends on it.
func Shard(id string, n int) int {
	const (
		offset32 = 2166136261
		prime32  = 16777619
	)
	h := uint32(offset32)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= prime32
	}
	return int(h % uint32(n))
}
