package main

import (
	"strings"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/storetest"
)

// TestIDPrefix: show and destroy take an ID as list prints it without
// --full (its start and "..."), when it names exactly one session.
func TestIDPrefix(t *testing.T) {
	dir := t.TempDir()
	m := storetest.NewManager(t, nil, session.Config{Driver: "file", Files: dir})
	id := newSession(t, m, "k", "prefixed value")
	other := newSession(t, m, "k", "other")
	flags := []string{"--driver", "file", "--files", dir}
	var abbrev string
	for _, line := range strings.Split(mustRun(t, append([]string{"list"}, flags...)...).stdout, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(id, strings.TrimSuffix(f[0], "...")) && f[0] != "ID" {
			abbrev = f[0]
		}
	}
	if !strings.HasSuffix(abbrev, "...") {
		t.Fatalf("list printed no abbreviated ID for %s", id)
	}
	if r := mustRun(t, append([]string{"show", abbrev}, flags...)...); !strings.Contains(r.stdout, "prefixed value") {
		t.Errorf("show %s: %v", abbrev, r)
	}
	// A prefix both IDs share is refused (the empty one at least).
	common := 0
	for common < len(id) && id[common] == other[common] {
		common++
	}
	if r := ctl(t, "", append([]string{"show", id[:common] + "..."}, flags...)...); common > 0 && (r.code != exitError || !strings.Contains(r.stderr, "more than one")) {
		t.Errorf("show of a shared prefix: %v", r)
	}
	if r := ctl(t, "", append([]string{"show", "zzzzzzzz..."}, flags...)...); r.code != exitError || !strings.Contains(r.stderr, "no session ID starts with") {
		t.Errorf("show of an unknown prefix: %v", r)
	}
	mustRun(t, append([]string{"destroy", abbrev}, flags...)...)
	if r := ctl(t, "", append([]string{"show", id}, flags...)...); r.code != exitError {
		t.Errorf("the session is still there after destroy %s: %v", abbrev, r)
	}
	if r := mustRun(t, append([]string{"show", other}, flags...)...); !strings.Contains(r.stdout, "other") {
		t.Errorf("the other session was touched: %v", r)
	}
}
