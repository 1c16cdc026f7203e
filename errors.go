package session

import "errors"

// Sentinel errors. Errors returned by this package wrap one of these, so
// callers can test for them with errors.Is.
var (
	// ErrConfig reports an invalid Config given to New.
	ErrConfig = errors.New("session: invalid configuration")

	// ErrUnknownDriver reports a Config.Driver that no package registered.
	// Importing github.com/sessionkit/session/drivers registers every driver.
	ErrUnknownDriver = errors.New("session: unknown driver")

	// ErrStore wraps a failure of the store (it is down, the context ended).
	ErrStore = errors.New("session: store failed")

	// ErrCorrupt reports a stored payload that cannot be opened or decoded.
	// The Manager logs it and treats the session as missing.
	ErrCorrupt = errors.New("session: corrupt session data")

	// ErrEncode reports session data that JSON cannot encode (a channel, a
	// function, a NaN, a map or list that holds itself, or a value nested
	// deeper than the decoder reads, 10,000 levels with the envelope's two):
	// the session cannot be saved, and the stored session stays as it was.
	// The error's text names the key that holds the value.
	ErrEncode = errors.New("session: session data is not JSON-encodable")

	// ErrNotList is returned by Push when the value at the key is not a list.
	ErrNotList = errors.New("session: value is not a list")

	// ErrMissing is returned by GetAs when the key is absent.
	ErrMissing = errors.New("session: key not found")

	// ErrType is returned by GetAs when the stored value does not decode into
	// the requested type.
	ErrType = errors.New("session: value has another type")

	// ErrCookieTooLarge reports a cookie-driver session too large for the
	// cookie browsers keep (MaxCookieSize): it is not saved, never sent
	// truncated.
	ErrCookieTooLarge = errors.New("session: session too large for a cookie")

	// ErrHeadersWritten reports a change to the session made after the
	// response headers were sent: the session was saved when the first byte
	// of the response left, so the change cannot be saved or its cookie sent.
	ErrHeadersWritten = errors.New("session: changed after the response was written")

	// ErrCSRF reports a request that VerifyCSRF refused: the error given to
	// Config.CSRFFailureHandler wraps it.
	ErrCSRF = errors.New("session: CSRF check failed")

	// ErrCrossOrigin reports a request that VerifyCSRF refused because the
	// browser marked it as cross-origin (Sec-Fetch-Site, or an Origin that
	// is not the request's Host); the error wraps ErrCSRF too.
	ErrCrossOrigin = errors.New("session: cross-origin request")
)
