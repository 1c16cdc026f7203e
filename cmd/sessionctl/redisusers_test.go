package main

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/storetest"
)

// On Redis (one server and a Cluster), the keys that index a user's
// sessions are not sessions to sessionctl: list shows, count counts and
// destroy --all destroys the sessions only, and after destroy --all no
// user has a session left.
func TestRedisUserIndexesAreNotSessions(t *testing.T) {
	for _, tc := range []struct{ name, url string }{
		{"single", "redis://" + testserver.Redis(t) + "/0"},
		{"cluster", "redis+cluster://" + strings.Join(testserver.RedisCluster(t), ",")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := fmt.Sprintf("%s?prefix=sessionctl-%s:", tc.url, rand.Text()[:10])
			flags := []string{"--driver", "redis", "--connection", u}
			m := storetest.NewManager(t, nil, session.Config{Driver: "redis", Connection: u})
			ids := []string{
				newSession(t, m, "k", "anonymous"),
				loginSession(t, m, "ana", "redis test", "192.0.2.1:1"),
				loginSession(t, m, "ana", "redis test", "192.0.2.1:1"),
				loginSession(t, m, "bob", "redis test", "192.0.2.1:1"),
				loginSession(t, m, "user:1", "redis test", "192.0.2.1:1"),
			}
			slices.Sort(ids)
			if infos, err := m.UserSessions(t.Context(), "ana"); len(infos) != 2 || err != nil {
				t.Fatalf("ana has %d sessions (%v), want 2", len(infos), err)
			}

			if n := count(t, flags); n != len(ids) {
				t.Errorf("count = %d, want the %d sessions", n, len(ids))
			}
			r := mustRun(t, append([]string{"list", "--full"}, flags...)...)
			var listed []string
			for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
				listed = append(listed, strings.Fields(line)[0])
			}
			slices.Sort(listed)
			if !slices.Equal(listed, ids) || strings.Contains(r.stdout, "user:") {
				t.Errorf("list --full shows %q, want the sessions %q:\n%s", listed, ids, r.stdout)
			}
			r = mustRun(t, append([]string{"destroy", "--all", "--yes"}, flags...)...)
			if !strings.Contains(r.stdout, fmt.Sprintf("destroyed %d sessions", len(ids))) {
				t.Errorf("destroy --all: %v", r)
			}
			for _, user := range []string{"ana", "bob", "user:1"} {
				if infos, err := m.UserSessions(t.Context(), user); len(infos) != 0 || err != nil {
					t.Errorf("after destroy --all, %s has %d sessions (%v)", user, len(infos), err)
				}
			}
			if n := count(t, flags); n != 0 {
				t.Errorf("count after destroy --all = %d, want 0", n)
			}
		})
	}
}
