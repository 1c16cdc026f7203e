package redisstore

import (
	"strings"
	"testing"
)

// FuzzURLPasswordNeverShown: whatever surrounds it, a password in the user
// information of a connection URL appears in no error of parseURL or of
// building the client.
func FuzzURLPasswordNeverShown(f *testing.F) {
	for _, s := range [][4]string{
		{"redis", "", "/", "h:6379/0"},
		{"redis", "app", "?x=", "h/0?bogus=1"},
		{"rediss", "", "#", "h"},
		{"redis+sentinel", "", "%zz", "h1,h2/m/0?sentinel_password=x"},
		{"redis+cluster", "u", "@/", "n1:7000,n2/1"},
		{"unix", "", "&", "/run/redis.sock?db=x"},
		{"redis", "a/b", "", "h/0?min_idle_conns=99999999999"},
		{"redis", "", "", "h/0?pool_size=99999999"},
		{"http", "", ":", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, scheme, user, pw, rest string) {
		const head, tail = "Ab3Xq", "Zr7Kw"
		for _, s := range []string{scheme, user, rest} {
			if strings.Contains(s, head) || strings.Contains(s, tail) {
				return // the password's halves must be the password's alone
			}
		}
		raw := scheme + "://" + user + ":" + head + pw + tail + "@" + rest
		c, err := parseURL(raw)
		if err == nil {
			var client interface{ Close() error }
			if client, err = c.newClient(); err == nil {
				client.Close()
			}
		}
		if err != nil && (strings.Contains(err.Error(), head) || strings.Contains(err.Error(), tail)) {
			t.Errorf("%q: the error shows the password: %v", raw, err)
		}
	})
}
