package session

import "strings"

// MaxCookieCandidatesForTest is how many cookies with the session's name the
// middleware verifies.
const MaxCookieCandidatesForTest = maxCookieCandidates

// AddCookieHeadersForTest is addCookieHeaders: the headers the middleware
// adds to a response that sets the session cookie.
var AddCookieHeadersForTest = addCookieHeaders

// SharedCacheMayStore reports whether a shared cache (RFC 9111) may store a
// response with these Cache-Control values: unless they hold an unqualified
// private, or no-store without must-understand; and never while they hold
// public or s-maxage, which contradict private.
func SharedCacheMayStore(cc []string) bool {
	var noStore, mustUnderstand, private, public bool
	for _, v := range cc {
		for _, d := range strings.Split(v, ",") {
			name, _, qualified := strings.Cut(strings.ToLower(strings.TrimSpace(d)), "=")
			switch {
			case name == "no-store":
				noStore = true
			case name == "must-understand":
				mustUnderstand = true
			case name == "private" && !qualified:
				private = true
			case name == "public", name == "s-maxage":
				public = true
			}
		}
	}
	storesNothing := noStore && !mustUnderstand
	return !storesNothing && (public || !private)
}
