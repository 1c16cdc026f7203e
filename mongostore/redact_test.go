package mongostore_test

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
	"github.com/sessionkit/session/mongostore"
)

// leakURLs are the connection URLs each password is tried in; %s is the
// password. Servers that would answer are never reached: port 1 on
// loopback refuses, .invalid never resolves, and serverSelectionTimeoutMS
// keeps the driver's wait short.
var leakURLs = []string{
	"mongodb://user:%s@127.0.0.1:1/app?serverSelectionTimeoutMS=100",
	"mongodb://user:%s@127.0.0.1:1/?authSource=admin&serverSelectionTimeoutMS=100",
	"mongodb://user:%s@127.0.0.1:1,127.0.0.1:2/app?replicaSet=rs0&serverSelectionTimeoutMS=100",
	"mongodb://user:%s@127.0.0.1:1",
	"mongodb://user:%s@127.0.0.1:1/app.bad?serverSelectionTimeoutMS=100",
	"mongodb://user:%s@127.0.0.1:1/app?serverSelectionTimeoutMS=zz",
	"mongodb+srv://user:%s@cluster0.invalid/app?serverSelectionTimeoutMS=100",
	"mongodb://:%s@127.0.0.1:1/app?serverSelectionTimeoutMS=100",
	"mongodb://127.0.0.1:1/app?tlsCertificateKeyFilePassword=%s&serverSelectionTimeoutMS=100",
	"mongodb://127.0.0.1:1/app?authMechanismProperties=AWS_SESSION_TOKEN:%s&serverSelectionTimeoutMS=100",
	"mongodb:/user:%s@127.0.0.1:1/app",
	"mongodb:user:%s@127.0.0.1:1/app",
	"user:%s@127.0.0.1:1/app",
	"postgres://user:%s@127.0.0.1:1/app",
	"MONGODB://user:%s@127.0.0.1:1/app",
	"mongodb://user:%s@",
	"mongodb://user:%s",
}

// No error from Open or from the "mongodb" driver (session.New), no panic,
// and no log line of the Manager holds any part of the password of the
// connection URL, however malformed the URL: a password or secret option
// holding '/', '?', '#', '@', ':', a bad escape; mongodb+srv; several
// hosts; no host; another scheme; no scheme. (sessionctl's output is
// checked in cmd/sessionctl.)
func TestNoPasswordInErrors(t *testing.T) {
	for _, tmpl := range leakURLs {
		for _, pw := range secrettest.Passwords {
			raw := fmt.Sprintf(tmpl, pw)
			if tmpl == "mongodb://user:%s" && strings.Count(pw, "@") == 1 && !strings.ContainsAny(pw, "/:%?") {
				// mongodb://user:Kw3@jZQx7 is a well-formed URL of host
				// jZQx7: no parser can tell that the host was meant as
				// the end of the password.
				continue
			}
			name := strings.ReplaceAll(tmpl, "%s", "<"+pw+">")
			t.Run(name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
				defer cancel()
				var openErr error
				secrettest.NoPanic(t, "Open", pw, func() {
					st, err := mongostore.Open(ctx, raw, mongostore.Options{})
					openErr = err
					if err == nil {
						st.Close()
						t.Fatalf("Open succeeded against a server that is not there")
					}
					if !strings.HasPrefix(err.Error(), "mongostore: ") {
						t.Errorf("Open: error %q lacks the mongostore: prefix", err)
					}
					secrettest.CheckErr(t, "Open's error", err, pw)
				})
				if openErr != nil && strings.Contains(openErr.Error(), "server selection") && !strings.Contains(raw, "serverSelectionTimeoutMS=100") {
					// The driver would wait its 30 s for the server;
					// Open's check showed the same error through the
					// same code.
					return
				}
				var logs bytes.Buffer
				secrettest.NoPanic(t, "session.New", pw, func() {
					m, err := session.New(session.Config{
						Secret:     "mongostore test secret - a test secret, not for production",
						Driver:     "mongodb",
						Connection: raw,
						Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
					})
					if err == nil {
						m.Close()
						t.Fatalf("session.New succeeded against a server that is not there")
					}
					secrettest.CheckErr(t, "session.New's error", err, pw)
				})
				secrettest.Check(t, "the Manager's log", logs.String(), pw)
			})
		}
	}
}
