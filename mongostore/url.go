package mongostore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// connURL is what Open reads of a connection string before the driver sees
// it: the database, the form of the URL that messages show, and the secrets
// that no message may hold.
type connURL struct {
	db      string
	shown   string   // the URL with its password and secret options masked
	secrets []string // the password and secret option values, raw and decoded
}

// secretOptions are the query options (lowercase) whose values are
// credentials: the TLS key's password, and authMechanismProperties, which
// may carry AWS_SESSION_TOKEN.
var secretOptions = map[string]bool{
	"tlscertificatekeyfilepassword":   true,
	"sslclientcertificatekeypassword": true,
	"authmechanismproperties":         true,
}

// masked replaces a secret in what messages show.
const masked = "xxxxx"

// parseURL checks a MongoDB connection string the way the driver splits
// it, before the driver sees it, and refuses, with an error that quotes no
// part of a credential, every form in which the driver would split a
// password wrongly or quote part of it: more than one '@', a '/' or a bad
// percent-escape before the '@', a ':' in the password, a host that is not
// host[:port], a bad escape in a secret option. It returns the database
// named by the path (DefaultDatabase when there is none).
func parseURL(raw string) (connURL, error) {
	u := connURL{shown: redact(raw), db: DefaultDatabase}
	bad := func(format string, args ...any) (connURL, error) {
		return connURL{}, fmt.Errorf("mongostore: connection URL %s: "+format, append([]any{u.shown}, args...)...)
	}
	// badUser is bad for a user info too broken to tell the password from
	// what follows it: the message shows nothing of the URL.
	badUser := func(format string, args ...any) (connURL, error) {
		u.shown = raw[:strings.Index(raw, "://")+3] + masked
		return bad(format, args...)
	}
	var rest string
	switch {
	case raw == "":
		return connURL{}, errors.New("mongostore: empty connection URL (want mongodb://host:port/database)")
	case strings.HasPrefix(raw, "mongodb://"):
		rest = raw[len("mongodb://"):]
	case strings.HasPrefix(raw, "mongodb+srv://"):
		rest = raw[len("mongodb+srv://"):]
	default:
		return bad("the scheme must be mongodb:// or mongodb+srv://")
	}

	// The driver ends the user info at the first '@', and takes no '/' in
	// it: a password holding '@' or '/' must be percent-encoded.
	switch strings.Count(rest, "@") {
	case 0:
	case 1:
		var userinfo string
		userinfo, rest, _ = strings.Cut(rest, "@")
		user, password, _ := strings.Cut(userinfo, ":")
		u.addSecret(password)
		switch {
		case strings.Contains(userinfo, "?") && holdsSecretOption(userinfo):
			// An '@' in a secret option's value, before which the driver
			// would take the query for a user name and the rest of the
			// value for a host.
			return badUser("an unescaped '@' in the query: percent-encode it as %%40")
		case strings.Contains(userinfo, "/"):
			return badUser("an unescaped '/' before the '@': percent-encode '/' in a user name or password as %%2F")
		case strings.Contains(password, ":"):
			return badUser("an unescaped ':' in the password: percent-encode it as %%3A")
		}
		if _, err := url.PathUnescape(user); err != nil {
			return badUser("a bad percent-escape in the user name (write '%%' as %%25)")
		}
		dec, err := url.PathUnescape(password)
		if err != nil {
			return badUser("a bad percent-escape in the password (write '%%' as %%25)")
		}
		u.addSecret(dec)
	default:
		return badUser("more than one '@': percent-encode '@' in a user name or password as %%40")
	}

	hosts, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		hosts, tail = rest[:i], rest[i:]
	}
	n := 0
	for i, h := range strings.Split(hosts, ",") {
		if h == "" {
			continue
		}
		if !validHost(h) {
			return bad("host %d of the list is not host[:port] with a port from 1 to 65535", i+1)
		}
		n++
	}
	if n == 0 {
		return bad("no host")
	}
	if strings.HasPrefix(tail, "?") {
		return bad("a '/' must come between the hosts and the query ('?')")
	}
	path, query, _ := strings.Cut(strings.TrimPrefix(tail, "/"), "?")

	for _, pair := range strings.FieldsFunc(query, func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil || !secretOptions[strings.ToLower(key)] {
			continue // not a secret: the driver's error may quote it
		}
		u.addSecret(v)
		dec, err := url.QueryUnescape(v)
		if err != nil {
			return bad("a bad percent-escape in the value of %s (write '%%' as %%25)", key)
		}
		u.addSecret(dec)
	}

	db, err := url.PathUnescape(path)
	if err != nil {
		return bad("a bad percent-escape in the database name")
	}
	if strings.ContainsAny(db, "/\\. \"$\x00") || len(db) > 63 {
		return bad("%q is not a valid database name", db)
	}
	if db != "" {
		u.db = db
	}
	return u, nil
}

func (u *connURL) addSecret(s string) {
	if s != "" {
		u.secrets = append(u.secrets, s)
	}
}

// validHost reports whether h, an item of a connection string's host list,
// is host[:port] with a port from 1 to 65535, or a percent-encoded socket
// path, as the driver reads it.
func validHost(h string) bool {
	h, err := url.QueryUnescape(h)
	if err != nil || h == "" {
		return false
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		var ae *net.AddrError
		return errors.As(err, &ae) && ae.Err == "missing port in address"
	}
	p, err := strconv.Atoi(port)
	return err == nil && host != "" && 1 <= p && p <= 65535
}

// redact returns a MongoDB connection string as error messages show it:
// without the password (everything between the first ':' and the last '@'
// after the scheme), without the values of secret options (nor anything
// after them), and cut where a host is not host[:port] (there the URL is
// too broken to tell a password from a host). A URL of another scheme is
// not shown at all.
func redact(raw string) string {
	var scheme string
	switch {
	case strings.HasPrefix(raw, "mongodb://"):
		scheme = "mongodb://"
	case strings.HasPrefix(raw, "mongodb+srv://"):
		scheme = "mongodb+srv://"
	default:
		return "(not shown: not a mongodb:// URL)"
	}
	rest := raw[len(scheme):]
	var b strings.Builder
	b.WriteString(scheme)
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if strings.Contains(rest[:at], "?") && holdsSecretOption(rest[:at]) {
			// The '@' may be in a secret option's value: a part of the
			// secret on either side of it.
			return scheme + masked
		}
		user, _, hasPassword := strings.Cut(rest[:at], ":")
		switch {
		case strings.ContainsAny(user, "/?#"):
			b.WriteString(masked) // the user info is too broken to tell the user
		case hasPassword:
			b.WriteString(user + ":" + masked)
		default:
			b.WriteString(user)
		}
		b.WriteByte('@')
		rest = rest[at+1:]
	}
	hosts, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		hosts, tail = rest[:i], rest[i:]
	}
	for _, h := range strings.Split(hosts, ",") {
		if h != "" && !validHost(h) {
			b.WriteString(masked)
			return b.String()
		}
	}
	b.WriteString(hosts)
	path, query, hasQuery := strings.Cut(tail, "?")
	b.WriteString(path)
	if !hasQuery {
		return b.String()
	}
	b.WriteByte('?')
	for i, pair := range strings.FieldsFunc(query, func(r rune) bool { return r == '&' || r == ';' }) {
		if i > 0 {
			b.WriteByte('&')
		}
		k, _, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err == nil && secretOptions[strings.ToLower(key)] {
			// A secret's value ends at the next '&' for the driver, but
			// the user may have meant a raw '&' in it: show nothing more.
			b.WriteString(k + "=" + masked)
			return b.String()
		}
		b.WriteString(pair)
	}
	return b.String()
}

// holdsSecretOption reports whether s holds what looks like a secret
// option and its '='.
func holdsSecretOption(s string) bool {
	s = strings.ToLower(s)
	for k := range secretOptions {
		if strings.Contains(s, k+"=") {
			return true
		}
	}
	return false
}

// scrub returns err unchanged when neither its text nor that of any error
// it wraps holds one of u's secrets; otherwise an error of the same text
// with every secret masked, wrapping nothing (the wrapped errors would give
// the secret back).
func (u connURL) scrub(err error) error {
	if err == nil || len(u.secrets) == 0 {
		return err
	}
	leaks := false
	for e := range errorTree(err) {
		for _, s := range u.secrets {
			if strings.Contains(e.Error(), s) {
				leaks = true
			}
		}
	}
	if !leaks {
		return err
	}
	msg := err.Error()
	for _, s := range u.secrets {
		msg = strings.ReplaceAll(msg, s, masked)
	}
	return errors.New(msg)
}

// errorTree yields err and every error it wraps.
func errorTree(err error) func(yield func(error) bool) {
	return func(yield func(error) bool) {
		var walk func(error) bool
		walk = func(e error) bool {
			if e == nil {
				return true
			}
			if !yield(e) {
				return false
			}
			switch w := e.(type) {
			case interface{ Unwrap() error }:
				return walk(w.Unwrap())
			case interface{ Unwrap() []error }:
				for _, c := range w.Unwrap() {
					if !walk(c) {
						return false
					}
				}
			}
			return true
		}
		walk(err)
	}
}

// checkCollectionName refuses a name MongoDB would refuse, or one that names
// a system collection.
func checkCollectionName(name string) error {
	if name == "" || strings.ContainsAny(name, "$\x00") || strings.HasPrefix(name, "system.") {
		return fmt.Errorf("mongostore: %q is not a valid collection name", name)
	}
	return nil
}
