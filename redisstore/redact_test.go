package redisstore_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/redisstore"
)

// The two halves of every test password: distinctive, so that finding
// either in an error means the password leaked (whole or in part).
const pwHead, pwTail = "Ab3Xq", "Zr7Kw"

// pwSeparators go between the halves: the characters that a URL gives a
// meaning to, and broken percent-escapes.
var pwSeparators = []string{"", "/", "?", "#", "@", ":", "%", "%zz", "%4", "%40", ",", "&", "=", " ", "[", "]", "/?#@", "//", "@/", "?x=1&y"}

// pwURLs are connection URLs, most of them malformed in some way, in which
// {pw} stands for the password.
var pwURLs = []string{
	"redis://:{pw}@cache.internal:6379/0",
	"redis://app:{pw}@cache.internal:6379/0?no_such_option=1",
	"redis://app:{pw}@cache.internal:6379/notadb",
	"redis://app:{pw}@cache.internal:99999/0",
	"redis://app:{pw}@cache.internal:6379/0?dial_timeout=soon",
	"redis://app:{pw}@cache.internal:6379/0?pool_size=99999999999",
	"redis://app:{pw}@cache.internal:6379/0?dialer_retries=x&prefix=p:",
	"redis://app:{pw}@/0?bogus=1",
	"redis://app:{pw}@",
	"redis://:{pw}",
	"redis://app:{pw}",
	"redis://{pw}@cache.internal/0?bogus=1",
	"rediss://:{pw}@h1,h2/0",
	"unix://:{pw}@/run/redis.sock?db=x",
	"unix://:{pw}@host/run/redis.sock",
	"redis+sentinel://:{pw}@10.0.0.1:26379,10.0.0.2:26379/mymaster/x",
	"redis+sentinel://:{pw}@10.0.0.1,10.0.0.2",
	"redis+sentinel://10.0.0.1,10.0.0.2/mymaster/0?sentinel_password={pw}&bogus=1",
	"redis+sentinel://10.0.0.1/mymaster?password={pw}&dial_timeout=x",
	"rediss+sentinel://u:{pw}@10.0.0.1:26379,[::1]:26380/m/0/extra",
	"redis+cluster://:{pw}@n1:7000,n2:7001,n3/1",
	"redis+cluster://u:{pw}@n1:7000,,n2:x",
	"redis+cluster://u:{pw}@",
	"redis+cluster://n1:7000?password={pw}",
	"redis://cache.internal/0?password={pw}",
	"redis://cache.internal/0?sentinel_password={pw}",
	"http://:{pw}@cache.internal:6379/0",
	"redis+foo://:{pw}@cache.internal",
	":{pw}@cache.internal:6379",
	"redis:/:{pw}@cache.internal:6379/0",
	"redis://:{pw}@cache.internal:6379/0#frag",
	"REDIS://:{pw}@cache.internal:6379/0?read_timeout=x",
}

// leaks reports whether s holds a part of the test password.
func leaks(s string) bool { return strings.Contains(s, pwHead) || strings.Contains(s, pwTail) }

// call runs f, turning a panic into an error that quotes its value.
func call(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

// No error, log line or panic of Open, or of session.New with the "redis"
// driver, holds a part of the URL's password, however malformed the URL.
func TestPasswordNeverShown(t *testing.T) {
	errs := 0
	for _, tmpl := range pwURLs {
		for _, sep := range pwSeparators {
			raw := strings.ReplaceAll(tmpl, "{pw}", pwHead+sep+pwTail)
			err := call(func() error {
				st, err := redisstore.Open(t.Context(), raw, redisstore.Options{})
				if err == nil {
					st.Close()
				}
				return err
			})
			if err != nil {
				errs++
				if leaks(err.Error()) {
					t.Errorf("Open(%q): the error shows the password: %v", raw, err)
				}
				if !strings.HasPrefix(err.Error(), "redisstore: ") || strings.HasPrefix(err.Error(), "redisstore: redisstore:") {
					t.Errorf("Open(%q): error %q lacks its one package prefix", raw, err)
				}
			}
			var logs bytes.Buffer
			err = call(func() error {
				m, err := session.New(session.Config{
					Secret: "test secret - a test secret, not for production",
					Driver: "redis", Connection: raw,
					Logger: slog.New(slog.NewTextHandler(&logs, nil)),
				})
				if err == nil {
					m.Close()
				}
				return err
			})
			if err != nil && leaks(err.Error()) {
				t.Errorf("session.New with %q: the error shows the password: %v", raw, err)
			}
			if leaks(logs.String()) {
				t.Errorf("session.New with %q: the log shows the password: %s", raw, logs.String())
			}
		}
	}
	if errs < len(pwURLs)*len(pwSeparators)/2 {
		t.Errorf("only %d of %d URLs failed to open: the table tests too little", errs, len(pwURLs)*len(pwSeparators))
	}
}
