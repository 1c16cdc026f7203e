package session

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultDriver   = "file"
	DefaultLifetime = 5 * time.Minute
	DefaultFiles    = "./sessions"
	DefaultTable    = "sessions"
	DefaultCookie   = "session"
	DefaultPath     = "/"

	// DefaultStoreTimeout bounds each call to the store (see
	// Config.StoreTimeout).
	DefaultStoreTimeout = 5 * time.Second

	// DefaultSweepInterval is the least time between two background sweeps
	// of one Manager (see Config.SweepInterval).
	DefaultSweepInterval = time.Minute
)

// DefaultLottery is the default chance, per request, of a background sweep of
// expired sessions: 2 in 100.
var DefaultLottery = [2]int{2, 100}

// Config configures a Manager. The zero value of every field but Secret
// selects its default; New reports an invalid value as an error wrapping
// ErrConfig.
//
// Secure is false by default so that an application works as it is on
// http://localhost during development, where a browser would neither store
// nor send back a Secure cookie over plain HTTP. In production, behind
// HTTPS, set Secure: true (SESSION_SECURE=true with ConfigFromEnv): the
// browser then never sends the session cookie over plain HTTP, where anyone
// on the network could read it. The attribute is about what the browser
// sees: behind a proxy or load balancer that terminates TLS and talks plain
// HTTP to the application, set it all the same (sessionkit does not look at
// Request.TLS or X-Forwarded-Proto; it sends the attribute on every
// response). SameSite None and Partitioned need Secure.
//
// Cookie name prefixes: browsers drop, without a word, a cookie whose name
// starts with "__Secure-" or "__Http-" (in any letter case) unless it is
// Secure, and one whose name starts with "__Host-" unless it is also sent
// with no Domain and with Path "/". New refuses such a Cookie instead. A
// __Host- name is the strongest choice: no other host (a subdomain, a
// sibling) can set or overwrite the cookie.
//
// Partitioned (CHIPS) keys the cookie by the top-level site as well, for an
// application embedded in other sites' pages (a widget in an iframe): each
// embedding site then sees its own session. It needs Secure, and, for the
// cookie to be sent in a cross-site frame at all, SameSite None.
type Config struct {
	Secret          string        // signs cookies, derives the encryption key; at least 32 bytes (MinSecretLen)
	PreviousSecrets []string      // still accepted when verifying and decrypting (key rotation); each at least 32 bytes
	Driver          string        // "file" (default), "memory", "null", "cookie", "database", "redis", ...
	Lifetime        time.Duration // idle lifetime; default 5 * time.Minute
	ExpireOnClose   bool          // cookie without Expires/Max-Age
	Files           string        // file driver directory; default "./sessions"
	Connection      string        // URL of the backing server for database, redis, ... drivers
	Table           string        // database driver table; default "sessions"
	Lottery         [2]int        // chance of a sweep of expired sessions per request; default {2, 100}; {0, 1} never sweeps
	Cookie          string        // cookie name; default "session"; see "Cookie name prefixes" below
	Path            string        // default "/"
	Domain          string
	Secure          bool          // send the Secure attribute; default false: see below
	SameSite        http.SameSite // default Lax
	Partitioned     bool          // the cookie's Partitioned attribute (CHIPS); requires Secure
	Encrypt         bool          // encrypt the stored payload
	Store           Store         // a store built in code; when set, Driver and Connection are ignored

	// StoreTimeout bounds each call a request makes to the store (load,
	// save, destroy, regenerate, one-time token), on top of the request's
	// own context, so that a store that hangs answers with ErrorHandler's
	// response instead of holding the request; default 5 seconds. A
	// negative value leaves only the request's context. The memory and
	// null stores, which never wait, and the file store, whose calls are
	// system calls that a deadline cannot interrupt, are not bounded.
	StoreTimeout time.Duration

	// Logger receives the Manager's log records; default slog.Default().
	Logger *slog.Logger

	// ErrorHandler answers a request whose session could not be loaded or
	// saved (the store failed). The default logs nothing more (the Manager
	// has logged the error) and answers 500 with a generic body.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// AbsoluteLifetime ends a session this long after it began, or after
	// its last Session.Login, however busy it is (OWASP's absolute
	// timeout); Regenerate does not restart the clock. It is enforced when
	// a session loads, like the idle lifetime, and the store's expiry of
	// the session never passes it, so a sweep removes such sessions. 0: no
	// absolute limit.
	AbsoluteLifetime time.Duration

	// TokenHeader, when set, makes the session travel in this request and
	// response header instead of a cookie, for API clients: no cookie is
	// read or set. "Authorization" means the Bearer scheme: requests carry
	// "Authorization: Bearer <token>" and responses that give a new token
	// carry it the same way. Any other name carries the token as the whole
	// value. A response sets the header when the client's token changes;
	// an empty value tells the client to drop its token. Such requests pass
	// VerifyCSRF: a header is not an ambient credential, so a cross-site
	// page cannot make a browser send it.
	TokenHeader string

	// SweepInterval is the least time between the starts of two background
	// sweeps of one Manager: a request that wins the lottery sooner starts
	// none, so that heavy traffic does not turn the lottery into a stream of
	// sweeps; default DefaultSweepInterval, negative for no minimum.
	// Manager.Sweep (and sessionctl gc) is not limited. The interval is
	// per Manager: N processes sharing a store start at most N sweeps an
	// interval between them. Each expired session is still deleted once,
	// by whichever sweep comes first, and a sweep that finds nothing due is
	// one probe of the expiry index (0.02 to 0.09 ms on the file store,
	// SQLite and PostgreSQL: BENCHMARKS.md, Scale): N of them an interval
	// are not worth the shared write that a limit across processes would
	// add to every sweep. Redis and memcached expire sessions on their
	// own.
	SweepInterval time.Duration

	// Hooks receive the Manager's lifecycle events and store calls, for
	// metrics and tracing; nil: none. See Hooks.
	Hooks *Hooks

	// --- CSRF (VerifyCSRF) settings, applied by New (token.go newCSRF). ---

	// CSRFBodyLimit is how many bytes of a form body VerifyCSRF reads
	// looking for the token field when the request has no token header;
	// default DefaultCSRFBodyLimit (64 KiB). A field that does not end
	// within it is not found, and the request is refused; what VerifyCSRF
	// read is put back for the handler. Upload forms need no more when the
	// token field comes before the file inputs, or when the token travels in
	// the header. A negative value reads the whole form as net/http's
	// ParseMultipartForm does (a forged upload is then parsed, and spilled
	// to temporary files, before it is refused).
	CSRFBodyLimit int64

	// TrustedOrigins are origins ("scheme://host[:port]", as browsers send
	// them in the Origin header) whose cross-origin requests VerifyCSRF
	// lets through to the token check: the application's other sites that
	// post to it. Every other request a browser marks as cross-origin
	// (Sec-Fetch-Site, or an Origin that is not the request's Host) is
	// refused, even with a valid token.
	TrustedOrigins []string

	// CSRFField is the form field VerifyCSRF reads the token from; default
	// "_token" (nosurf's is "csrf_token", gorilla/csrf's "gorilla.csrf.Token").
	CSRFField string

	// CSRFHeader is the request header VerifyCSRF reads the token from,
	// before the form field; default "X-CSRF-Token" (gorilla/csrf's;
	// Angular and Axios send "X-XSRF-TOKEN").
	CSRFHeader string

	// CSRFFailureHandler answers a request VerifyCSRF refuses; err wraps
	// ErrCSRF, and ErrCrossOrigin when the browser marked the request as
	// cross-origin. The session stays as it was: what the handler puts,
	// flashes or forgets in it is not saved (Regenerate and Destroy, which
	// act on the store at once, are not held back). The default answers 403
	// Forbidden with a short text saying why.
	CSRFFailureHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// withDefaults returns cfg with defaults filled in, or an error wrapping
// ErrConfig.
func (cfg Config) withDefaults() (Config, error) {
	if err := checkSecret("Secret", cfg.Secret); err != nil {
		return cfg, err
	}
	for i, s := range cfg.PreviousSecrets {
		if err := checkSecret(fmt.Sprintf("PreviousSecrets[%d]", i), s); err != nil {
			return cfg, err
		}
	}
	if cfg.Driver == "" {
		cfg.Driver = DefaultDriver
	}
	switch {
	case cfg.Lifetime < 0:
		return cfg, fmt.Errorf("%w: Lifetime %v is negative", ErrConfig, cfg.Lifetime)
	case cfg.Lifetime == 0:
		cfg.Lifetime = DefaultLifetime
	case cfg.Lifetime < time.Second:
		return cfg, fmt.Errorf("%w: Lifetime %v is shorter than one second", ErrConfig, cfg.Lifetime)
	}
	switch {
	case cfg.AbsoluteLifetime < 0:
		return cfg, fmt.Errorf("%w: AbsoluteLifetime %v is negative", ErrConfig, cfg.AbsoluteLifetime)
	case cfg.AbsoluteLifetime > 0 && cfg.AbsoluteLifetime < time.Second:
		return cfg, fmt.Errorf("%w: AbsoluteLifetime %v is shorter than one second", ErrConfig, cfg.AbsoluteLifetime)
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = DefaultStoreTimeout
	}
	if cfg.Files == "" {
		cfg.Files = DefaultFiles
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	switch n, d := cfg.Lottery[0], cfg.Lottery[1]; {
	case n == 0 && d == 0:
		cfg.Lottery = DefaultLottery
	case n < 0 || d <= 0 || n > d:
		return cfg, fmt.Errorf("%w: Lottery %v: want {n, d} with 0 <= n <= d and d > 0", ErrConfig, cfg.Lottery)
	}
	if cfg.Cookie == "" {
		cfg.Cookie = DefaultCookie
	}
	if !validCookieName(cfg.Cookie) {
		return cfg, fmt.Errorf("%w: Cookie %q is not a valid cookie name", ErrConfig, cfg.Cookie)
	}
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	if err := checkCookieName(cfg); err != nil {
		return cfg, err
	}
	if cfg.Partitioned && !cfg.Secure {
		return cfg, fmt.Errorf("%w: Partitioned needs Secure: true (SESSION_SECURE=true): browsers refuse a partitioned cookie otherwise", ErrConfig)
	}
	switch cfg.SameSite {
	case 0, http.SameSiteDefaultMode:
		cfg.SameSite = http.SameSiteLaxMode
	case http.SameSiteLaxMode, http.SameSiteStrictMode:
	case http.SameSiteNoneMode:
		if !cfg.Secure {
			return cfg, fmt.Errorf("%w: SameSite None needs Secure: browsers refuse such a cookie otherwise", ErrConfig)
		}
	default:
		return cfg, fmt.Errorf("%w: SameSite %d is unknown", ErrConfig, cfg.SameSite)
	}
	if h := cfg.TokenHeader; h != "" {
		if !validCookieName(h) { // a header name is an RFC 9110 token, as a cookie name is
			return cfg, fmt.Errorf("%w: TokenHeader %q is not a valid header name", ErrConfig, h)
		}
		switch http.CanonicalHeaderKey(h) {
		case "Cookie", "Set-Cookie", "Host", "Content-Length", "Content-Type", "Transfer-Encoding", "Connection":
			return cfg, fmt.Errorf("%w: TokenHeader %q is a header that HTTP itself uses", ErrConfig, h)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// MinSecretLen is the shortest Secret (and PreviousSecrets entry) New
// accepts, in bytes. A shorter secret can be found offline from a single
// cookie by trying candidates against its signature.
const MinSecretLen = 32

// checkSecret reports a secret that is too short to resist an offline search,
// naming the field but never quoting the secret.
func checkSecret(field, secret string) error {
	switch {
	case secret == "":
		return fmt.Errorf("%w: %s is empty; make one with `openssl rand -base64 32` and keep it out of the code (SESSION_SECRET)", ErrConfig, field)
	case len(secret) < MinSecretLen:
		return fmt.Errorf("%w: %s is %d bytes, shorter than %d: a short secret can be recovered from one cookie; make one with `openssl rand -base64 32`", ErrConfig, field, len(secret), MinSecretLen)
	}
	return nil
}

// checkCookieName reports a Cookie whose name prefix (RFC 6265bis; browsers
// match it in any letter case) asks for attributes cfg does not give, saying
// what to set: browsers would drop the cookie without a word.
func checkCookieName(cfg Config) error {
	name := cfg.Cookie
	var need []string
	switch {
	case hasPrefixFold(name, "__Host-"):
		if !cfg.Secure {
			need = append(need, "Secure: true (SESSION_SECURE=true)")
		}
		if cfg.Domain != "" {
			need = append(need, "no Domain")
		}
		if cfg.Path != "/" {
			need = append(need, `Path "/"`)
		}
	case hasPrefixFold(name, "__Secure-"), hasPrefixFold(name, "__Http-"):
		if !cfg.Secure {
			need = append(need, "Secure: true (SESSION_SECURE=true)")
		}
	default:
		return nil
	}
	if len(need) == 0 {
		return nil
	}
	prefix, _, _ := strings.Cut(name[2:], "-")
	return fmt.Errorf("%w: Cookie %q needs %s: browsers drop a __%s- cookie otherwise", ErrConfig, name, strings.Join(need, ", "), prefix)
}

// hasPrefixFold reports whether s starts with prefix in any letter case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// validCookieName reports whether name is an RFC 6265 token.
func validCookieName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f {
			return false
		}
		switch c {
		case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', '{', '}':
			return false
		}
	}
	return name != ""
}
