package memcachedstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// masked stands for what error messages do not show of a connection URL.
const masked = "xxxxx"

// parseURL splits a memcached:// URL into server addresses and parameters.
// memcached takes no credentials, so a URL holding '@' (a user name or
// password, however malformed) is refused; no error shows more of the URL
// than redact does.
func parseURL(raw string) ([]string, url.Values, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("memcachedstore: connection URL %s: "+format, append([]any{redact(raw)}, args...)...)
	}
	rest, ok := strings.CutPrefix(raw, "memcached://")
	switch {
	case raw == "":
		return nil, nil, errors.New("memcachedstore: empty connection URL (want memcached://host:port[,host:port...])")
	case !ok:
		return nil, nil, bad("want memcached://host:port[,host:port...]")
	case strings.Contains(raw, "@"):
		return nil, nil, bad("memcached takes no user name or password (no '@'; percent-encode one in the prefix as %%40)")
	}
	hosts, query, _ := strings.Cut(rest, "?")
	hosts = strings.TrimSuffix(hosts, "/")
	if strings.ContainsAny(hosts, "/#") {
		return nil, nil, bad("want only host:port pairs separated by commas (no path)")
	}
	var servers []string
	for i, h := range strings.Split(hosts, ",") {
		if h == "" {
			continue
		}
		addr, ok := serverAddr(h)
		if !ok {
			return nil, nil, bad("server %d is not host[:port] with a port from 1 to 65535", i+1)
		}
		servers = append(servers, addr)
	}
	if len(servers) == 0 {
		return nil, nil, bad("no server")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, nil, bad("a bad parameter (a bad percent-escape, or ';' for '&')")
	}
	return servers, q, nil
}

// serverAddr returns the address of h, an item of the server list:
// host:port, [ipv6]:port, or a host or IPv6 address without a port
// (11211).
func serverAddr(h string) (string, bool) {
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), "11211"
		if strings.Contains(host, ":") && net.ParseIP(host) == nil {
			return "", false // user:pass:word, say
		}
	}
	p, err := strconv.Atoi(port)
	if host == "" || err != nil || p < 1 || p > 65535 || strings.ContainsAny(host, "[]") {
		return "", false
	}
	return net.JoinHostPort(host, port), true
}

// redact returns a connection URL as error messages show it: the server
// list and the values of the known parameters; nothing after the scheme of
// a URL that holds '@' (which may be anywhere in a malformed password) or
// whose server list is not host:port pairs (where a password without its
// '@' would be); the values of unknown parameters masked; nothing of a URL
// of another scheme.
func redact(raw string) string {
	rest, ok := strings.CutPrefix(raw, "memcached://")
	if !ok {
		return "(not shown: not a memcached:// URL)"
	}
	hosts, query, hasQuery := strings.Cut(rest, "?")
	if strings.Contains(raw, "@") || strings.ContainsAny(strings.TrimSuffix(hosts, "/"), "/#") {
		return "memcached://" + masked
	}
	for _, h := range strings.Split(strings.TrimSuffix(hosts, "/"), ",") {
		if _, ok := serverAddr(h); h != "" && !ok {
			return "memcached://" + masked
		}
	}
	var b strings.Builder
	b.WriteString("memcached://" + hosts)
	if !hasQuery {
		return b.String()
	}
	b.WriteByte('?')
	for i, pair := range strings.Split(query, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		k, _, _ := strings.Cut(pair, "=")
		switch k {
		case "prefix", "timeout", "max_idle_conns":
			b.WriteString(pair)
		default:
			b.WriteString(k + "=" + masked)
		}
	}
	return b.String()
}

// resolve returns servers (host:port) with their host names resolved within
// ctx, as gomemcache would resolve them: the first IPv4 address, else the
// first address.
func resolve(ctx context.Context, servers []string) ([]string, error) {
	out := make([]string, len(servers))
	for i, s := range servers {
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return nil, err
		}
		if _, err := netip.ParseAddr(host); err == nil {
			out[i] = s
			continue
		}
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
				return nil, fmt.Errorf("%w (%w)", cerr, err)
			}
			return nil, err
		}
		ip := ips[0]
		for _, a := range ips {
			if a.Unmap().Is4() {
				ip = a.Unmap()
				break
			}
		}
		out[i] = net.JoinHostPort(ip.String(), port)
	}
	return out, nil
}
