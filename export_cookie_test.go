package session

// MaxCookieCandidatesForTest is how many cookies with the session's name the
// middleware verifies.
const MaxCookieCandidatesForTest = maxCookieCandidates
