package redisstore_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/secrettest"
	"github.com/sessionkit/session/redisstore"
	"github.com/sessionkit/session/storetest"
)

// The two halves of every test password, made of letters that messages
// seldom hold (see secrettest.Forms).
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

// No error, log line or panic of Open, or of session.New with the "redis"
// driver, holds a part of the URL's password, however malformed the URL.
func TestPasswordNeverShown(t *testing.T) {
	errs := 0
	for _, tmpl := range pwURLs {
		for _, sep := range pwSeparators {
			pw := pwHead + sep + pwTail
			raw := strings.ReplaceAll(tmpl, "{pw}", pw)
			with := strings.ReplaceAll(tmpl, "{pw}", "<"+pw+">")
			secrettest.NoPanic(t, "Open with "+with, pw, func() {
				st, err := redisstore.Open(t.Context(), raw, redisstore.Options{})
				if err == nil {
					st.Close()
					return
				}
				errs++
				secrettest.CheckErr(t, "Open's error with "+with, err, pw)
				if !strings.HasPrefix(err.Error(), "redisstore: ") || strings.HasPrefix(err.Error(), "redisstore: redisstore:") {
					t.Errorf("Open with %s: error %q lacks its one package prefix", with, err)
				}
			})
			var logs bytes.Buffer
			secrettest.NoPanic(t, "session.New with "+with, pw, func() {
				m, err := session.New(session.Config{
					Secret: storetest.Secret, Driver: "redis", Connection: raw,
					Logger: slog.New(slog.NewTextHandler(&logs, nil)),
				})
				if err == nil {
					m.Close()
				}
				secrettest.CheckErr(t, "session.New's error with "+with, err, pw)
			})
			secrettest.Check(t, "the log of session.New with "+with, logs.String(), pw)
		}
	}
	if errs < len(pwURLs)*len(pwSeparators)/2 {
		t.Errorf("only %d of %d URLs failed to open: the table tests too little", errs, len(pwURLs)*len(pwSeparators))
	}
}
