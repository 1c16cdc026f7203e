package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/storetest"
)

// loginSession makes a session through m's middleware, from a browser with
// agent at addr, logged in as user, and returns its ID.
func loginSession(t *testing.T, m *session.Manager, user, agent, addr string) string {
	t.Helper()
	var id string
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		s.Put("k", "v")
		if err := s.Login(user); err != nil {
			t.Errorf("Login(%q): %v", user, err)
		}
		id = s.ID()
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("User-Agent", agent)
	r.RemoteAddr = addr
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || id == "" {
		t.Fatalf("login request: status %d, session ID %q", w.Code, id)
	}
	return id
}

// loads reports whether the session id is live in m's store.
func loads(t *testing.T, m *session.Manager, id string) bool {
	t.Helper()
	_, _, found, err := m.Store().Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// userTargets are every target of the command scenarios, MariaDB included.
func userTargets() []target {
	sql := sqlTargets()
	return append(slices.Clone(targets), sql[len(sql)-1])
}

// TestUserCommands runs "user list" and "user destroy" against each kind
// of store, with sessions a real Manager logged in: on a store that keeps a
// user index they list and end exactly that user's sessions; on the others
// they say that the driver cannot, and exit 1.
func TestUserCommands(t *testing.T) {
	for _, tg := range userTargets() {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			flags, cfg := tg.open(t)
			userScenarios(t, flags, cfg)
		})
	}
}

func userScenarios(t *testing.T, flags []string, cfg session.Config) {
	with := func(args ...string) []string { return append(args, flags...) }
	secret := opts{env: map[string]string{"SESSION_SECRET": testSecret}}
	m := storetest.NewManager(t, nil, cfg)
	laptop := loginSession(t, m, "ana", "Laptop/1.0", "192.0.2.1:1234")
	phone := loginSession(t, m, "ana", "Phone/2.0 \x1b[31mred", "192.0.2.2:1234")
	bob := loginSession(t, m, "bob", "Bob/1.0", "192.0.2.3:1234")

	idx, ok := m.Store().(session.UserIndex)
	if !ok {
		for _, args := range [][]string{{"user", "list", "ana"}, {"user", "destroy", "ana"}, {"user", "destroy", "ana", "handle"}} {
			r := ctlWith(t, secret, with(args...)...)
			if r.code != exitError || !strings.Contains(r.stderr, "driver cannot list a user's sessions") || r.stdout != "" {
				t.Errorf("sessionctl %s on a store without a user index: %v", strings.Join(args, " "), r)
			}
		}
		if !loads(t, m, laptop) {
			t.Error("a refused user command ended a session")
		}
		return
	}

	// The secret is needed: handles derive from it.
	if r := ctl(t, "", with("user", "list", "ana")...); r.code != exitError || !strings.Contains(r.stderr, "set SESSION_SECRET") {
		t.Errorf("user list without a secret: %v", r)
	}

	// list: a header and ana's two sessions, most recent first; the
	// client's User-Agent reaches the terminal escaped.
	r := ctlWith(t, secret, with("user", "list", "ana")...)
	if r.code != exitOK {
		t.Fatalf("user list ana: %v", r)
	}
	t.Logf("user list ana:\n%s", r.stdout)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "HANDLE") || !strings.Contains(lines[0], "USER AGENT") {
		t.Fatalf("user list ana printed %d lines, want a header and 2:\n%s", len(lines), r.stdout)
	}
	handles := map[string]string{} // agent -> handle
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("user list line %q", line)
		}
		for _, stamp := range f[1:4] {
			if _, err := time.Parse(time.RFC3339, stamp); err != nil {
				t.Errorf("user list line %q: %v", line, err)
			}
		}
		switch {
		case strings.Contains(line, "Laptop/1.0") && f[4] == "192.0.2.1":
			handles["laptop"] = f[0]
		case strings.Contains(line, `Phone/2.0 \x1b[31mred`) && f[4] == "192.0.2.2":
			handles["phone"] = f[0]
		default:
			t.Errorf("user list line %q is neither of ana's sessions", line)
		}
		if strings.Contains(line, laptop) || strings.Contains(line, phone) || strings.Contains(line, bob) {
			t.Errorf("user list shows a session ID: %q", line)
		}
	}
	if strings.Contains(r.stdout, "\x1b") || strings.Contains(r.stdout, "Bob/1.0") {
		t.Errorf("user list printed a raw escape or another user's session:\n%q", r.stdout)
	}
	r = ctlWith(t, secret, with("user", "list", "bob")...)
	bobHandle := strings.Fields(strings.Split(r.stdout, "\n")[1])[0]

	// destroy one: by handle, never another user's.
	r = ctlWith(t, secret, with("user", "destroy", "ana", bobHandle)...)
	if r.code != exitError || !strings.Contains(r.stderr, "no live session") || !loads(t, m, bob) {
		t.Errorf("user destroy ana with bob's handle: %v", r)
	}
	r = ctlWith(t, secret, with("user", "destroy", "ana", handles["phone"])...)
	if r.code != exitOK || !strings.Contains(r.stdout, "destroyed session "+handles["phone"]) {
		t.Errorf("user destroy ana HANDLE: %v", r)
	}
	if loads(t, m, phone) || !loads(t, m, laptop) {
		t.Errorf("after user destroy of the phone: phone loads %v, laptop loads %v; want false, true", loads(t, m, phone), loads(t, m, laptop))
	}
	if r := ctlWith(t, secret, with("user", "destroy", "ana", handles["phone"])...); r.code != exitError || !strings.Contains(r.stderr, "no live session") {
		t.Errorf("user destroy of a handle already ended: %v", r)
	}

	// destroy all: "log out everywhere".
	r = ctlWith(t, secret, with("user", "destroy", "ana")...)
	if r.code != exitOK || strings.TrimSpace(r.stdout) != "destroyed 1 sessions of user ana" {
		t.Errorf("user destroy ana: %v", r)
	}
	if loads(t, m, laptop) || !loads(t, m, bob) {
		t.Error("user destroy ana did not end ana's sessions only")
	}
	r = ctlWith(t, secret, with("user", "list", "ana")...)
	if r.code != exitOK || strings.TrimSpace(r.stdout) != "no live sessions of user ana" {
		t.Errorf("user list after user destroy: %v", r)
	}

	// A secret that does not open the user's sealed sessions: nothing is
	// read or changed, and the index keeps the entry (the Manager would
	// have dropped it as corrupt).
	enc := cfg
	enc.Encrypt = true
	eve := loginSession(t, storetest.NewManager(t, nil, enc), "eve", "Eve/1.0", "192.0.2.9:1")
	wrong := opts{env: map[string]string{"SESSION_SECRET": "not the application's secret, though long enough"}}
	for _, args := range [][]string{{"user", "list", "eve"}, {"user", "destroy", "eve"}} {
		r := ctlWith(t, wrong, with(args...)...)
		if r.code != exitError || !strings.Contains(r.stderr, "does not open with the configured secret") {
			t.Errorf("sessionctl %s with a wrong secret: %v", strings.Join(args, " "), r)
		}
	}
	var entries []string
	if err := idx.ListUserSessions(context.Background(), "eve", func(id string, _ time.Time) bool { entries = append(entries, id); return true }); err != nil || !slices.Equal(entries, []string{eve}) {
		t.Errorf("eve's index after commands with a wrong secret: %v, %v; want [%s]", entries, err, eve)
	}
	r = ctlWith(t, secret, with("user", "list", "eve")...)
	if r.code != exitOK || !strings.Contains(r.stdout, "Eve/1.0") {
		t.Errorf("user list eve with the secret: %v", r)
	}
	if r := ctlWith(t, secret, with("user", "destroy", "eve")...); r.code != exitOK || loads(t, m, eve) {
		t.Errorf("user destroy eve with the secret: %v", r)
	}
}

// The user commands' usage errors, and the cookie driver, which has no
// store to look in.
func TestUserUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"user"}, {"user", "list"}, {"user", "frob", "ana"}, {"user", "list", "ana", "extra"},
		{"user", "destroy", "ana", "h1", "h2"}, {"user", "list", ""},
	} {
		r := ctl(t, "", append(args, "--files", dir)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "Usage: sessionctl user") || r.stdout != "" {
			t.Errorf("sessionctl %s: %v", strings.Join(args, " "), r)
		}
	}
	r := ctlWith(t, opts{env: map[string]string{"SESSION_SECRET": testSecret}}, "user", "list", "ana", "--driver", "cookie")
	if r.code != exitError || !strings.Contains(r.stderr, "cookie driver keeps sessions in the browser's cookies") {
		t.Errorf("user list on the cookie driver: %v", r)
	}
	// A user ID starting with "-" goes after "--".
	r = ctlWith(t, opts{env: map[string]string{"SESSION_SECRET": testSecret}}, "user", "list", "--driver", "memory", "--", "-5")
	if r.code != exitOK || !strings.Contains(r.stdout, `no live sessions of user -5`) {
		t.Errorf("user list -- -5: %v", r)
	}
}
