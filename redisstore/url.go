package redisstore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// No error about a connection URL quotes its password, however malformed
// the URL: parseURL sets the credentials apart before anything else reads
// it, and rebuilds the URLs it gives go-redis's parsers (whose errors may
// quote their whole input) without them. A password that is not
// percent-encoded as it should be can spill into other parts of the URL,
// where nothing can tell it from what it displaced; so errors name a URL by
// its scheme and hosts only (user information as xxxxx), say what is wrong in
// words, and quote the path and the query (and go-redis's own message about
// them) only for a URL that holds no credentials at all.

// schemes are the connection URL schemes.
var schemes = []string{"redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster"}

// wantSchemes lists schemes for error messages.
var wantSchemes = strings.Join(schemes[:len(schemes)-1], ", ") + " or " + schemes[len(schemes)-1]

// credentialParams are the query parameters that carry credentials. They are
// set apart from the others as soon as the query is read.
var credentialParams = []string{"username", "password", "sentinel_username", "sentinel_password"}

// connConfig is what a connection URL describes: exactly one of the three
// option sets, and the key prefix from its prefix parameter ("" if absent).
type connConfig struct {
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
	prefix   string
	url      *connURL // for error messages
}

// newClient builds the client c describes. go-redis panics on options its
// connection pools cannot take (a pool_size beyond 32 bits, say): that
// becomes an error.
func (c *connConfig) newClient() (client redis.UniversalClient, err error) {
	defer func() {
		if r := recover(); r != nil {
			client, err = nil, c.url.detailf("the client refused its options", "%v", r)
		}
	}()
	switch {
	case c.failover != nil:
		return redis.NewFailoverClient(c.failover), nil
	case c.cluster != nil:
		return redis.NewClusterClient(c.cluster), nil
	default:
		return redis.NewClient(c.single), nil
	}
}

// parseURL turns a connection URL into client options. See the package
// documentation for the forms.
func parseURL(raw string) (*connConfig, error) {
	u, err := splitURL(raw)
	if err != nil {
		return nil, err
	}
	d, err := u.storeParams()
	if err != nil {
		return nil, err
	}
	cfg := &connConfig{prefix: d.prefix, url: u}
	switch u.scheme {
	case "redis", "rediss", "unix":
		if cfg.single, err = u.singleOptions(); err == nil {
			d.apply(&cfg.single.ContextTimeoutEnabled, &cfg.single.DialerRetries, &cfg.single.DialTimeout)
		}
	case "redis+sentinel", "rediss+sentinel":
		if cfg.failover, err = u.failoverOptions(); err == nil {
			d.apply(&cfg.failover.ContextTimeoutEnabled, &cfg.failover.DialerRetries, &cfg.failover.DialTimeout)
		}
	default: // redis+cluster, rediss+cluster
		if cfg.cluster, err = u.clusterOptions(); err == nil {
			d.apply(&cfg.cluster.ContextTimeoutEnabled, &cfg.cluster.DialerRetries, &cfg.cluster.DialTimeout)
		}
	}
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// connURL is a connection URL split into its parts, its credentials set
// apart.
type connURL struct {
	scheme      string // in lower case; one of schemes
	user        string // from the user information, decoded
	password    string // likewise
	hasUserinfo bool
	hasPassword bool
	hosts       []string          // host:port, checked; none for unix
	hostsSet    bool              // hosts are checked: errors can show them
	path        string            // as written: "" or from the first '/' on
	params      []param           // the query, decoded, in the order written, without credentialParams
	credentials map[string]string // the credentialParams given, decoded
	// plain reports a URL without credentials: no '@' anywhere, no
	// credential parameter. Only its errors quote its path and query.
	plain bool
	// shaky reports an '@' after the host list: if it ends the user
	// information, the password holds an unencoded '/', '?' or '#', and
	// the host list may be part of it: errors then show nothing of the URL
	// but its scheme.
	shaky bool
}

// param is one query parameter.
type param struct{ name, value string }

// splitURL splits raw into its parts. The user information runs to the last
// '@' before the first '/', '?' or '#' (so an unencoded '@' or ':' in a
// password is read as meant). Its errors quote nothing of raw but a known
// scheme.
func splitURL(raw string) (*connURL, error) {
	if raw == "" {
		return nil, errors.New("redisstore: empty connection URL (want redis://host:port/db, redis+sentinel://..., or redis+cluster://...)")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, errors.New("redisstore: the connection URL has no scheme (want redis://host:port/db, redis+sentinel://..., or redis+cluster://...)")
	}
	u := &connURL{scheme: strings.ToLower(scheme)}
	if !slices.Contains(schemes, u.scheme) {
		if isSchemeName(u.scheme) {
			return nil, fmt.Errorf("redisstore: connection URL: unknown scheme %q (want %s)", u.scheme, wantSchemes)
		}
		return nil, fmt.Errorf("redisstore: connection URL: unknown scheme (want %s)", wantSchemes)
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, after := rest[:end], rest[end:]
	u.plain = !strings.Contains(rest, "@")
	u.shaky = strings.Contains(after, "@")
	if strings.Contains(after, "#") {
		return nil, u.fail("a fragment (#) is not allowed; percent-encode '#' in a password as %23")
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		if err := u.setUserinfo(authority[:at]); err != nil {
			return nil, err
		}
		authority = authority[at+1:]
	}
	path, query, _ := strings.Cut(after, "?")
	u.path = path
	if err := u.setHosts(authority); err != nil {
		return nil, err
	}
	if err := u.setQuery(query); err != nil {
		return nil, err
	}
	return u, nil
}

// isSchemeName reports whether s has the shape of a URL scheme, short enough
// to be one: then an error can quote it.
func isSchemeName(s string) bool {
	if s == "" || len(s) > 20 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// setUserinfo decodes the user information: user, or user:password.
func (u *connURL) setUserinfo(info string) error {
	user, password, hasPassword := strings.Cut(info, ":")
	var err error
	if u.user, err = url.PathUnescape(user); err != nil {
		return u.fail("the user information holds a bad percent-escape (write '%' as %25)")
	}
	if u.password, err = url.PathUnescape(password); err != nil {
		return u.fail("the password holds a bad percent-escape (write '%' as %25)")
	}
	u.hasUserinfo, u.hasPassword = true, hasPassword
	return nil
}

// setHosts checks the host list by the rules of u's scheme: none for unix,
// one (default localhost) for redis and rediss, at least one for Sentinel
// and Cluster URLs.
func (u *connURL) setHosts(list string) error {
	if u.scheme == "unix" {
		if list != "" {
			return u.fail("a unix URL names no host: unix:///path/to/redis.sock")
		}
		u.hostsSet = true
		return nil
	}
	defaultPort := "6379"
	if strings.HasSuffix(u.scheme, "+sentinel") {
		defaultPort = "26379"
	}
	hosts, err := splitHosts(list, defaultPort)
	if err != nil {
		msg := err.Error()
		if !u.hasUserinfo && !u.shaky {
			msg += " (user information goes before the host, ending with '@': " + u.scheme + "://user:password@host:port)"
		}
		return u.fail(msg)
	}
	single := u.scheme == "redis" || u.scheme == "rediss"
	switch {
	case len(hosts) == 0 && single:
		hosts = []string{net.JoinHostPort("localhost", defaultPort)}
	case len(hosts) == 0:
		return u.fail("no host")
	case len(hosts) > 1 && single:
		return u.fail("a " + u.scheme + " URL names one server; use redis+sentinel or redis+cluster for several hosts")
	}
	u.hosts, u.hostsSet = hosts, true
	return nil
}

// splitHosts splits "host[:port][,host[:port]...]" into host:port addresses,
// giving a host without a port defaultPort. Its errors quote nothing of list,
// which holds a password when the user information lacks its '@' (or is
// split by an unencoded '/', '?' or '#').
func splitHosts(list, defaultPort string) ([]string, error) {
	var hosts []string
	for i, h := range strings.Split(list, ",") {
		if h == "" {
			continue
		}
		host, port, ok := splitHostPort(h)
		if !ok {
			return nil, fmt.Errorf("address %d is not host[:port]", i+1)
		}
		if port == "" {
			port = defaultPort
		}
		hosts = append(hosts, net.JoinHostPort(host, port))
	}
	return hosts, nil
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port", and
// reports whether the host is a name or address and the port a number from
// 1 to 65535 (or absent).
func splitHostPort(s string) (host, port string, ok bool) {
	if rest, bracketed := strings.CutPrefix(s, "["); bracketed {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", "", false
		}
		host, port = rest[:end], rest[end+1:]
		if !hostChars(host, ":%") || !strings.Contains(host, ":") {
			return "", "", false
		}
	} else {
		host, port = s, ""
		if i := strings.IndexByte(s, ':'); i >= 0 {
			host, port = s[:i], s[i:]
		}
		if !hostChars(host, "") {
			return "", "", false
		}
	}
	if port == "" {
		return host, "", true
	}
	port, _ = strings.CutPrefix(port, ":")
	if n, ok := number(port); !ok || n < 1 || n > 65535 {
		return "", "", false
	}
	return host, port, true
}

// hostChars reports whether s is a non-empty run of letters, digits, '.',
// '-', '_' and the characters of extra.
func hostChars(s, extra string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// number parses s, 1 to 9 decimal digits.
func number(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// setQuery decodes the query, setting the credential parameters apart. Its
// errors quote nothing of it.
func (u *connURL) setQuery(query string) error {
	for _, p := range strings.Split(query, "&") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			return u.fail("a parameter name holds a bad percent-escape (write '%' as %25)")
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return u.fail("a parameter value holds a bad percent-escape (write '%' as %25)")
		}
		if slices.Contains(credentialParams, name) {
			if u.credentials == nil {
				u.credentials = map[string]string{}
			}
			u.credentials[name] = value
			u.plain = false
			continue
		}
		u.params = append(u.params, param{name, value})
	}
	return nil
}

// take removes the parameter name from u's query and returns its last value.
func (u *connURL) take(name string) (value string, found bool) {
	u.params = slices.DeleteFunc(u.params, func(p param) bool {
		if p.name == name {
			value, found = p.value, true
			return true
		}
		return false
	})
	return value, found
}

// query returns u's query, as go-redis takes it.
func (u *connURL) query() url.Values {
	q := url.Values{}
	for _, p := range u.params {
		q.Add(p.name, p.value)
	}
	return q
}

// where returns how errors name u: scheme, then (once checked, and unless u
// is shaky) "xxxxx@" for user information and the hosts.
func (u *connURL) where() string {
	if u.shaky || !u.hostsSet {
		return u.scheme + "://..."
	}
	s := u.scheme + "://"
	if u.hasUserinfo {
		s += "xxxxx@"
	}
	if u.scheme == "unix" {
		return s + "/..."
	}
	return s + strings.Join(u.hosts, ",")
}

// fail returns an error about u saying msg, which quotes nothing of the URL.
func (u *connURL) fail(msg string) error {
	if u.shaky {
		msg += "; an '@' follows the host list: if it ends the user information, percent-encode the password's '/', '?' and '#' (%2F, %3F, %23), and '@' as %40, '%' as %25"
	}
	return fmt.Errorf("redisstore: connection URL %s: %s", u.where(), msg)
}

// detailf returns an error about u saying msg, followed for a plain URL by
// details, which may quote its path and query.
func (u *connURL) detailf(msg, format string, a ...any) error {
	if !u.plain {
		return u.fail(msg + " (details not shown: the URL holds a password, which they might quote part of; percent-encode '&', '#', '+' and '%' in a password, or try the URL without it to see them)")
	}
	return fmt.Errorf("redisstore: connection URL %s: %s: "+format, append([]any{u.where(), msg}, a...)...)
}

// storeDefaults are the settings Open takes from the URL itself, and its
// defaults that differ from go-redis's.
type storeDefaults struct {
	prefix string
	// ctxTimeout: a context's deadline bounds every command (go-redis
	// parses context_timeout_enabled for Sentinel URLs only).
	ctxTimeout bool
	// A store is on the request path: a server that is down should fail a
	// request fast. Unless the URL says otherwise, dial once per attempt
	// (go-redis dials 5 times) with a 2 s timeout (go-redis: 5 s).
	dialerRetries      int
	defaultDialTimeout bool
}

// storeParams takes the prefix, context_timeout_enabled and dialer_retries
// parameters out of u's query, and checks the pool sizes.
func (u *connURL) storeParams() (storeDefaults, error) {
	d := storeDefaults{ctxTimeout: true, dialerRetries: 1, defaultDialTimeout: true}
	d.prefix, _ = u.take("prefix")
	if v, ok := u.take("context_timeout_enabled"); ok {
		var err error
		if d.ctxTimeout, err = strconv.ParseBool(v); err != nil {
			return d, u.fail("context_timeout_enabled is not a boolean")
		}
	}
	if v, ok := u.take("dialer_retries"); ok {
		var err error
		if d.dialerRetries, err = strconv.Atoi(v); err != nil {
			return d, u.fail("dialer_retries is not a number")
		}
	}
	for _, p := range u.params {
		switch p.name {
		case "dial_timeout":
			d.defaultDialTimeout = false
		case "pool_size", "pipeline_pool_size":
			// go-redis makes a channel of five times the pool size
			// at once (280 bytes per connection): a few digits too
			// many exhaust the memory, a fatal error.
			if n, err := strconv.Atoi(p.value); err == nil && n > maxPoolSize {
				return d, u.fail(fmt.Sprintf("%s above %d (a Redis server's default maxclients) is refused", p.name, maxPoolSize))
			}
		}
	}
	return d, nil
}

// maxPoolSize bounds the pool_size and pipeline_pool_size parameters.
const maxPoolSize = 10000

// apply sets d's settings in a client's options.
func (d storeDefaults) apply(ctxTimeout *bool, dialerRetries *int, dialTimeout *time.Duration) {
	*ctxTimeout = d.ctxTimeout
	*dialerRetries = d.dialerRetries
	if d.defaultDialTimeout {
		*dialTimeout = 2 * time.Second
	}
}

// noCredentialParams refuses the credential parameters, for the URLs that
// take credentials from the user information only.
func (u *connURL) noCredentialParams() error {
	for _, p := range credentialParams {
		if _, ok := u.credentials[p]; ok {
			if strings.HasPrefix(p, "sentinel_") {
				return u.fail("the " + p + " parameter is for redis+sentinel URLs")
			}
			return u.fail("the " + p + " parameter is not allowed: put the credentials in the user information, percent-encoded (" + u.scheme + "://user:password@host)")
		}
	}
	return nil
}

// parseWith runs a go-redis URL parser on base (which holds nothing from the
// URL but its checked scheme, hosts and path) with u's query and extra
// parameters. The errors of a URL that holds credentials quote nothing of
// the query: they give the position of the first parameter go-redis
// refuses, found by parsing base with each parameter alone.
func parseWith[O any](u *connURL, parse func(string) (O, error), base string, extra url.Values) (O, error) {
	with := func(q url.Values) string {
		for k, v := range extra {
			q[k] = append(q[k], v...) // go-redis takes a master_name's last value
		}
		if len(q) == 0 {
			return base
		}
		return base + "?" + q.Encode()
	}
	o, err := parse(with(u.query()))
	if err == nil {
		return o, nil
	}
	if u.plain {
		return o, u.detailf("refused", "%w", err)
	}
	for i, p := range u.params {
		if _, err := parse(with(url.Values{p.name: {p.value}})); err != nil {
			return o, u.detailf(fmt.Sprintf("parameter %d of %d (in the order written, credentials left out) is refused", i+1, len(u.params)), "")
		}
	}
	return o, u.detailf("the parameters are refused", "")
}

// singleOptions parses a redis, rediss or unix URL: its path is a database
// number (a socket path for unix).
func (u *connURL) singleOptions() (*redis.Options, error) {
	if err := u.noCredentialParams(); err != nil {
		return nil, err
	}
	var base string
	if u.scheme == "unix" {
		path, err := url.PathUnescape(u.path)
		if err != nil {
			return nil, u.fail("the socket path holds a bad percent-escape (write '%' as %25)")
		}
		if strings.TrimSpace(path) == "" {
			return nil, u.fail("no socket path: unix:///path/to/redis.sock")
		}
		base = (&url.URL{Scheme: "unix", Path: path}).String()
	} else {
		db, err := u.database(strings.FieldsFunc(u.path, isSlash), "the path is not /N, a database number")
		if err != nil {
			return nil, err
		}
		base = fmt.Sprintf("%s://%s/%d", u.scheme, u.hosts[0], db)
	}
	o, err := parseWith(u, redis.ParseURL, base, nil)
	if err != nil {
		return nil, err
	}
	o.Username, o.Password = u.user, u.password
	return o, nil
}

func isSlash(r rune) bool { return r == '/' }

// database returns the database number of path segments segs: none (0) or
// one number.
func (u *connURL) database(segs []string, msg string) (int, error) {
	switch len(segs) {
	case 0:
		return 0, nil
	case 1:
		if n, ok := number(segs[0]); ok {
			return n, nil
		}
	}
	return 0, u.fail(msg)
}

// failoverOptions parses a redis+sentinel or rediss+sentinel URL. The
// credentials in the user information are the master's (the username and
// password parameters stand in for them); the Sentinels' come from the
// sentinel_username and sentinel_password parameters.
func (u *connURL) failoverOptions() (*redis.FailoverOptions, error) {
	const want = "want the master name as the path, then an optional database number: redis+sentinel://host:port/mymaster/0"
	segs := strings.FieldsFunc(u.path, isSlash)
	if len(segs) == 0 || len(segs) > 2 {
		return nil, u.fail(want)
	}
	master, err := url.PathUnescape(segs[0])
	if err != nil || master == "" {
		return nil, u.fail("bad master name; " + want)
	}
	db, err := u.database(segs[1:], want)
	if err != nil {
		return nil, err
	}
	extra := url.Values{"master_name": {master}}
	for _, h := range u.hosts[1:] {
		extra.Add("addr", h)
	}
	base := fmt.Sprintf("%s://%s/%d", strings.TrimSuffix(u.scheme, "+sentinel"), u.hosts[0], db)
	o, err := parseWith(u, redis.ParseFailoverURL, base, extra)
	if err != nil {
		return nil, err
	}
	o.Username, o.Password = u.credentials["username"], u.credentials["password"]
	if u.user != "" {
		o.Username = u.user
	}
	if u.hasPassword {
		o.Password = u.password
	}
	o.SentinelUsername, o.SentinelPassword = u.credentials["sentinel_username"], u.credentials["sentinel_password"]
	return o, nil
}

// clusterOptions parses a redis+cluster or rediss+cluster URL.
func (u *connURL) clusterOptions() (*redis.ClusterOptions, error) {
	if err := u.noCredentialParams(); err != nil {
		return nil, err
	}
	if u.path != "" && u.path != "/" {
		return nil, u.fail("a Cluster has no databases: drop the path")
	}
	extra := url.Values{}
	for _, h := range u.hosts[1:] {
		extra.Add("addr", h)
	}
	o, err := parseWith(u, redis.ParseClusterURL, strings.TrimSuffix(u.scheme, "+cluster")+"://"+u.hosts[0], extra)
	if err != nil {
		return nil, err
	}
	o.Username, o.Password = u.user, u.password
	return o, nil
}
