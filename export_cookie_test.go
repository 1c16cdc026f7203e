package session

// MaxCookieCandidatesForTest is how many cookies with the session's name the
// middleware verifies.
const MaxCookieCandidatesForTest = maxCookieCandidates

// AddCookieHeadersForTest is addCookieHeaders: the headers the middleware
// adds to a response that sets the session cookie.
var AddCookieHeadersForTest = addCookieHeaders
