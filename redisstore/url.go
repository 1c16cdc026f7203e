package redisstore

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// connConfig is what a connection URL describes: exactly one of the three
// option sets, and the key prefix from its prefix parameter ("" if absent).
type connConfig struct {
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
	prefix   string
}

// newClient builds the client c describes.
func (c *connConfig) newClient() redis.UniversalClient {
	switch {
	case c.failover != nil:
		return redis.NewFailoverClient(c.failover)
	case c.cluster != nil:
		return redis.NewClusterClient(c.cluster)
	default:
		return redis.NewClient(c.single)
	}
}

// parseURL turns a connection URL into client options. See the package
// documentation for the forms.
func parseURL(raw string) (*connConfig, error) {
	if raw == "" {
		return nil, fmt.Errorf("redisstore: empty connection URL (want redis://host:port/db, redis+sentinel://..., or redis+cluster://...)")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("redisstore: connection URL %q has no scheme (want redis://host:port/db)", redact(raw))
	}
	scheme = strings.ToLower(scheme)
	if strings.Contains(rest, "#") {
		return nil, fmt.Errorf("redisstore: connection URL %q: a fragment (#) is not allowed; percent-encode # in a password as %%23", redact(raw))
	}
	rest, query, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("redisstore: connection URL %q: query: %w", redact(raw), err)
	}
	cfg := &connConfig{prefix: q.Get("prefix")}
	q.Del("prefix")
	// A context's deadline bounds every command unless the URL says
	// otherwise. (go-redis parses this parameter for Sentinel URLs only.)
	ctxTimeout := true
	if q.Has("context_timeout_enabled") {
		v := q.Get("context_timeout_enabled")
		if ctxTimeout, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("redisstore: connection URL %q: context_timeout_enabled=%q is not a boolean", redact(raw), v)
		}
		q.Del("context_timeout_enabled")
	}

	// A store is on the request path: a server that is down should fail a
	// request fast. Unless the URL says otherwise, dial once per attempt
	// (go-redis dials 5 times) with a 2 s timeout (go-redis: 5 s).
	dialerRetries, dialTimeout := 1, !q.Has("dial_timeout")
	if q.Has("dialer_retries") {
		v := q.Get("dialer_retries")
		if dialerRetries, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("redisstore: connection URL %q: dialer_retries=%q is not a number", redact(raw), v)
		}
		q.Del("dialer_retries")
	}
	defaults := func(retries *int, timeout *time.Duration) {
		*retries = dialerRetries
		if dialTimeout {
			*timeout = 2 * time.Second
		}
	}

	switch scheme {
	case "redis", "rediss", "unix":
		u := scheme + "://" + rest
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		if cfg.single, err = redis.ParseURL(u); err != nil {
			return nil, fmt.Errorf("redisstore: connection URL %q: %w", redact(raw), err)
		}
		cfg.single.ContextTimeoutEnabled = ctxTimeout
		defaults(&cfg.single.DialerRetries, &cfg.single.DialTimeout)
		return cfg, nil

	case "redis+sentinel", "rediss+sentinel":
		userinfo, hosts, path, err := splitMultiHost(rest, "26379")
		if err != nil {
			return nil, fmt.Errorf("redisstore: connection URL %q: %w", redact(raw), err)
		}
		segs := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
		if len(segs) == 0 || len(segs) > 2 {
			return nil, fmt.Errorf("redisstore: connection URL %q: want the master name as the path, then an optional database number: redis+sentinel://host:port/mymaster/0", redact(raw))
		}
		master, err := url.PathUnescape(segs[0])
		if err != nil || master == "" {
			return nil, fmt.Errorf("redisstore: connection URL %q: bad master name %q", redact(raw), segs[0])
		}
		// The credentials in the URL are the master's; the Sentinels' come
		// from sentinel_username and sentinel_password.
		sentinelUser, sentinelPass := q.Get("sentinel_username"), q.Get("sentinel_password")
		q.Del("sentinel_username")
		q.Del("sentinel_password")
		if userinfo != nil {
			if name := userinfo.Username(); name != "" {
				q.Set("username", name)
			}
			if pass, ok := userinfo.Password(); ok {
				q.Set("password", pass)
			}
		}
		q.Set("master_name", master)
		for _, h := range hosts[1:] {
			q.Add("addr", h)
		}
		u := strings.TrimSuffix(scheme, "+sentinel") + "://" + hosts[0]
		if len(segs) == 2 {
			u += "/" + segs[1]
		}
		o, err := redis.ParseFailoverURL(u + "?" + q.Encode())
		if err != nil {
			return nil, fmt.Errorf("redisstore: connection URL %q: %w", redact(raw), err)
		}
		o.SentinelUsername, o.SentinelPassword = sentinelUser, sentinelPass
		o.ContextTimeoutEnabled = ctxTimeout
		defaults(&o.DialerRetries, &o.DialTimeout)
		cfg.failover = o
		return cfg, nil

	case "redis+cluster", "rediss+cluster":
		userinfo, hosts, path, err := splitMultiHost(rest, "6379")
		if err != nil {
			return nil, fmt.Errorf("redisstore: connection URL %q: %w", redact(raw), err)
		}
		if path != "" && path != "/" {
			return nil, fmt.Errorf("redisstore: connection URL %q: a Cluster has no databases: drop the path %q", redact(raw), path)
		}
		for _, h := range hosts[1:] {
			q.Add("addr", h)
		}
		u := strings.TrimSuffix(scheme, "+cluster") + "://"
		if userinfo != nil {
			u += userinfo.String() + "@"
		}
		o, err := redis.ParseClusterURL(u + hosts[0] + "?" + q.Encode())
		if err != nil {
			return nil, fmt.Errorf("redisstore: connection URL %q: %w", redact(raw), err)
		}
		o.ContextTimeoutEnabled = ctxTimeout
		defaults(&o.DialerRetries, &o.DialTimeout)
		cfg.cluster = o
		return cfg, nil
	}
	return nil, fmt.Errorf("redisstore: connection URL %q: unknown scheme %q (want redis, rediss, unix, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster)", redact(raw), scheme)
}

// splitMultiHost splits "[userinfo@]host:port[,host:port...][/path]" into
// its parts, giving a host without a port defaultPort.
func splitMultiHost(rest, defaultPort string) (*url.Userinfo, []string, string, error) {
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	var user *url.Userinfo
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		// Let net/url decode the percent-encoding of the user information.
		u, err := url.Parse("x://" + authority[:i] + "@h")
		if err != nil {
			return nil, nil, "", fmt.Errorf("bad user information: %w", err)
		}
		user, authority = u.User, authority[i+1:]
	}
	var hosts []string
	for _, h := range strings.Split(authority, ",") {
		if h == "" {
			continue
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil { // no port
			host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), defaultPort
		}
		if host == "" || port == "" {
			return nil, nil, "", fmt.Errorf("bad address %q", h)
		}
		hosts = append(hosts, net.JoinHostPort(host, port))
	}
	if len(hosts) == 0 {
		return nil, nil, "", fmt.Errorf("no host")
	}
	return user, hosts, path, nil
}

// redact hides the passwords of a URL (user information, password and
// sentinel_password parameters) for error messages.
func redact(raw string) string {
	if base, query, ok := strings.Cut(raw, "?"); ok {
		if q, err := url.ParseQuery(query); err == nil {
			for _, k := range []string{"password", "sentinel_password"} {
				if q.Has(k) {
					q.Set(k, "xxxxx")
				}
			}
			return redact(base) + "?" + q.Encode()
		}
		return redact(base) + "?..."
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	end := len(rest)
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		end = i
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return raw
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return raw
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}
