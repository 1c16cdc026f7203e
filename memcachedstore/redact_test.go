package memcachedstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/secrettest"
	"github.com/sessionkit/session/memcachedstore"
	"github.com/sessionkit/session/storetest"
)

// leakURLs are the connection URLs each password is tried in; %s is the
// password. memcached takes no credentials, but a user may still write
// them, well formed or not. Nothing listens on port 1.
var leakURLs = []string{
	"memcached://user:%s@127.0.0.1:1",
	"memcached://user:%s@127.0.0.1:1,127.0.0.1:2?prefix=app:",
	"memcached://:%s@127.0.0.1:1",
	"memcached://%s@127.0.0.1:1",
	"memcached://user:%s@127.0.0.1:1/0",
	"memcached://user:%s@",
	"memcached://user:%s",
	"memcached://127.0.0.1:1,user:%s",
	"memcached://127.0.0.1:1?password=%s",
	"memcached://127.0.0.1:1?timeout=1s&password=%s&prefix=p:",
	"memcache://user:%s@127.0.0.1:1",
	"memcached:/user:%s@127.0.0.1:1",
	"user:%s@127.0.0.1:1",
	"redis://user:%s@127.0.0.1:1",
}

// No error from Open, from the store's calls or from the "memcached" driver
// (session.New), no panic, and no log line of a Manager serving a request,
// holds any part of a password written in the connection URL, however
// malformed the URL. (sessionctl's output is checked in cmd/sessionctl.)
func TestNoPasswordInErrors(t *testing.T) {
	for _, tmpl := range leakURLs {
		for _, pw := range secrettest.Passwords {
			raw := fmt.Sprintf(tmpl, pw)
			t.Run(strings.ReplaceAll(tmpl, "%s", "<"+pw+">"), func(t *testing.T) {
				secrettest.NoPanic(t, "Open", pw, func() {
					st, err := memcachedstore.Open(t.Context(), raw, memcachedstore.Options{})
					if err != nil {
						if !strings.HasPrefix(err.Error(), "memcachedstore: ") {
							t.Errorf("Open: error %q lacks the memcachedstore: prefix", err)
						}
						secrettest.CheckErr(t, "Open's error", err, pw)
						return
					}
					defer st.Close()
					ctx, cancel := context.WithTimeout(t.Context(), time.Second)
					defer cancel()
					_, _, _, err = st.Load(ctx, storetest.NewID())
					secrettest.CheckErr(t, "Load's error", err, pw)
				})
				var logs bytes.Buffer
				secrettest.NoPanic(t, "session.New", pw, func() {
					m, err := session.New(session.Config{
						Secret:     "memcachedstore test secret - a test secret, not for production",
						Driver:     "memcached",
						Connection: raw,
						Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
					})
					if err != nil {
						secrettest.CheckErr(t, "session.New's error", err, pw)
						return
					}
					defer m.Close()
					do(t.Context(), m, nil, func(s *session.Session) string { s.Put("k", "v"); return "" })
				})
				secrettest.Check(t, "the Manager's log", logs.String(), pw)
			})
		}
	}
}
