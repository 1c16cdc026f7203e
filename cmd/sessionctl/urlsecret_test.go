package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sessionkit/session/internal/secrettest"
	"github.com/sessionkit/session/storetest"
)

// sessionctl prints no part of a password written in a mongodb or memcached
// connection URL, however malformed the URL, whether the URL comes from
// --connection or SESSION_CONNECTION, on stdout or stderr, whatever the
// command. Nothing listens on port 1.
func TestNoPasswordInOutputMongoMemcached(t *testing.T) {
	urls := map[string][]string{
		"mongodb": {
			"mongodb://user:%s@127.0.0.1:1/app?serverSelectionTimeoutMS=100",
			"mongodb://user:%s@127.0.0.1:1,127.0.0.1:2/app?replicaSet=rs0&serverSelectionTimeoutMS=100",
			"mongodb+srv://user:%s@cluster0.invalid/app?serverSelectionTimeoutMS=100",
			"mongodb://127.0.0.1:1/app?tlsCertificateKeyFilePassword=%s&serverSelectionTimeoutMS=100",
			"mongodb://user:%s@",
			"mongodb:/user:%s@127.0.0.1:1/app",
			"postgres://user:%s@127.0.0.1:1/app",
		},
		"memcached": {
			"memcached://user:%s@127.0.0.1:1",
			"memcached://%s@127.0.0.1:1,127.0.0.1:2?prefix=app:",
			"memcached://user:%s",
			"memcached://127.0.0.1:1?password=%s",
			"memcache://user:%s@127.0.0.1:1",
		},
	}
	id := storetest.NewID()
	for driver, tmpls := range urls {
		for _, tmpl := range tmpls {
			for _, pw := range secrettest.Passwords {
				raw := fmt.Sprintf(tmpl, pw)
				t.Run(driver+"/"+strings.ReplaceAll(tmpl, "%s", "<"+pw+">"), func(t *testing.T) {
					for _, args := range [][]string{
						{"count", "--driver", driver, "--connection", raw},
						{"show", "--driver", driver, "--connection", raw, id},
						{"destroy", "--driver", driver, id},
					} {
						var r result
						secrettest.NoPanic(t, "sessionctl", pw, func() {
							r = ctlWith(t, opts{env: map[string]string{"SESSION_CONNECTION": raw}}, args...)
						})
						if r.code == exitOK {
							t.Errorf("sessionctl %s succeeded without a server", args[0])
						}
						secrettest.Check(t, "sessionctl "+args[0]+"'s output", r.stdout+r.stderr, pw)
					}
				})
			}
		}
	}
}
