package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/storetest"
)

const testSecret = "sessionctl test secret: not for production"

// target is a store configuration sessionctl and the test's Manager share.
type target struct {
	name  string
	flags []string
	cfg   session.Config
}

func targets(t *testing.T) []target {
	fileDir := filepath.Join(t.TempDir(), "sessions")
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
	return []target{
		{"file", []string{"--driver", "file", "--files", fileDir},
			session.Config{Driver: "file", Files: fileDir}},
		{"sqlite", []string{"--driver", "database", "--connection", dbURL},
			session.Config{Driver: "database", Connection: dbURL}},
	}
}

// result is one run of sessionctl.
type result struct {
	code           int
	stdout, stderr string
}

// ctl runs sessionctl in-process with an empty environment.
func ctl(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// mustRun runs sessionctl and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := ctl(t, "", args...)
	if r.code != exitOK {
		t.Fatalf("sessionctl %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// newManager opens a Manager on tg's store, as the application would.
func newManager(t *testing.T, tg target) *session.Manager {
	t.Helper()
	cfg := tg.cfg
	cfg.Secret = testSecret
	cfg.Lottery = [2]int{0, 1}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// newSession makes a session through m's middleware, putting key = value,
// and returns its ID.
func newSession(t *testing.T, m *session.Manager, key, value string) string {
	t.Helper()
	var id string
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		s.Put(key, value)
		id = s.ID()
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusOK || id == "" {
		t.Fatalf("request: status %d, session ID %q", w.Code, id)
	}
	if _, _, found, err := m.Store().Load(context.Background(), id); !found || err != nil {
		t.Fatalf("session %s not in the store after the request (%v)", id, err)
	}
	return id
}

func count(t *testing.T, flags []string) int {
	t.Helper()
	r := mustRun(t, append([]string{"count"}, flags...)...)
	n, err := strconv.Atoi(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatalf("count printed %q", r.stdout)
	}
	return n
}

func TestCommands(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			m := newManager(t, tg)
			ids := make([]string, 3)
			for i := range ids {
				ids[i] = newSession(t, m, "user", fmt.Sprintf("user-%d-%s", i, tg.name))
			}

			if n := count(t, tg.flags); n != 3 {
				t.Errorf("count = %d, want 3", n)
			}

			// list: a header and one line per session; IDs abbreviated
			// unless --full.
			r := mustRun(t, append([]string{"list"}, tg.flags...)...)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") {
				t.Fatalf("list printed %d lines, want a header and 3:\n%s", len(lines), r.stdout)
			}
			for _, id := range ids {
				if !strings.Contains(r.stdout, id[:shortID]+"...") || strings.Contains(r.stdout, id) {
					t.Errorf("list does not show %s abbreviated:\n%s", id, r.stdout)
				}
			}
			r = mustRun(t, append([]string{"list", "--full"}, tg.flags...)...)
			for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
				f := strings.Fields(line)
				if len(f) != 2 {
					t.Fatalf("list --full line %q", line)
				}
				exp, err := time.Parse(time.RFC3339, f[1])
				if err != nil {
					t.Errorf("list --full expiry %q: %v", f[1], err)
				} else if d := time.Until(exp); d < session.DefaultLifetime-time.Minute || d > session.DefaultLifetime+time.Second {
					t.Errorf("list --full: %s expires in %v, want about %v", f[0], d, session.DefaultLifetime)
				}
			}
			for _, id := range ids {
				if !strings.Contains(r.stdout, id+" ") {
					t.Errorf("list --full does not show %s:\n%s", id, r.stdout)
				}
			}

			// show: the payload as indented JSON, holding the value put.
			r = mustRun(t, append([]string{"show", ids[1]}, tg.flags...)...)
			want := fmt.Sprintf("user-1-%s", tg.name)
			if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "\n  ") || !json.Valid([]byte(r.stdout)) {
				t.Errorf("show printed no indented JSON with %q:\n%s", want, r.stdout)
			}
			// Flags may follow the ID.
			mustRun(t, append(append([]string{"show"}, tg.flags...), ids[1])...)
			if r := ctl(t, "", append([]string{"show", storetest.NewID()}, tg.flags...)...); r.code != exitError || !strings.Contains(r.stderr, "sessionctl: show: no session") {
				t.Errorf("show of a missing ID: %v", r)
			}

			// destroy ID
			r = mustRun(t, append([]string{"destroy", ids[0]}, tg.flags...)...)
			if _, _, found, _ := m.Store().Load(context.Background(), ids[0]); found {
				t.Errorf("session %s still loads after destroy", ids[0])
			}
			if n := count(t, tg.flags); n != 2 {
				t.Errorf("count after destroy ID = %d, want 2", n)
			}
			if r := ctl(t, "", append([]string{"destroy", ids[0]}, tg.flags...)...); r.code != exitError {
				t.Errorf("destroy of a destroyed ID: %v", r)
			}

			// destroy --all: refused without confirmation, done with "yes"
			// on stdin or --yes.
			r = ctl(t, "no\n", append([]string{"destroy", "--all"}, tg.flags...)...)
			if r.code != exitError || !strings.Contains(r.stderr, "Type yes") || !strings.Contains(r.stderr, "not confirmed") {
				t.Errorf("destroy --all answered no: %v", r)
			}
			if n := count(t, tg.flags); n != 2 {
				t.Errorf("count after an unconfirmed destroy --all = %d, want 2", n)
			}
			r = ctl(t, "yes\n", append([]string{"destroy", "--all"}, tg.flags...)...)
			if r.code != exitOK || !strings.Contains(r.stdout, "destroyed 2 sessions") {
				t.Errorf("destroy --all answered yes: %v", r)
			}
			newSession(t, m, "user", "again")
			newSession(t, m, "user", "again")
			r = mustRun(t, append([]string{"destroy", "--all", "--yes"}, tg.flags...)...)
			if !strings.Contains(r.stdout, "destroyed 2 sessions") {
				t.Errorf("destroy --all --yes: %v", r)
			}
			if n := count(t, tg.flags); n != 0 {
				t.Errorf("count after destroy --all --yes = %d, want 0", n)
			}

			// gc removes an expired record and leaves a live one.
			live := newSession(t, m, "user", "live")
			dead := storetest.NewID()
			err := m.Store().Update(context.Background(), dead, func([]byte, bool) ([]byte, time.Time, error) {
				return []byte(`{"data":{}}`), time.Now().Add(-time.Hour), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			r = mustRun(t, append([]string{"gc"}, tg.flags...)...)
			if strings.TrimSpace(r.stdout) != "removed 1 expired sessions" {
				t.Errorf("gc printed %q, want \"removed 1 expired sessions\"", r.stdout)
			}
			if _, _, found, _ := m.Store().Load(context.Background(), live); !found {
				t.Error("gc removed a live session")
			}
			r = mustRun(t, append([]string{"gc"}, tg.flags...)...)
			if strings.TrimSpace(r.stdout) != "removed 0 expired sessions" {
				t.Errorf("second gc printed %q", r.stdout)
			}
		})
	}
}

// IDs are URL-safe base64: one in 64 starts with "-", and must still work as
// an argument, before or after flags, and after "--".
func TestDashID(t *testing.T) {
	tg := targets(t)[0]
	m := newManager(t, tg)
	var id string
	for id == "" || id[0] != '-' {
		id = storetest.NewID()
		id = "-" + id[1:]
	}
	err := m.Store().Update(context.Background(), id, func([]byte, bool) ([]byte, time.Time, error) {
		return []byte(`{"data":{"k":"dash"}}`), time.Now().Add(time.Hour), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		append([]string{"show", id}, tg.flags...),
		append(append([]string{"show"}, tg.flags...), id),
		append(append([]string{"show"}, tg.flags...), "--", id),
	} {
		if r := mustRun(t, args...); !strings.Contains(r.stdout, "dash") {
			t.Errorf("sessionctl %s: %v", strings.Join(args, " "), r)
		}
	}
	mustRun(t, append([]string{"destroy", id}, tg.flags...)...)
	if _, _, found, _ := m.Store().Load(context.Background(), id); found {
		t.Error("destroy of an ID starting with - left it")
	}
}

// A sealed payload is reported as such, not printed.
func TestShowSealed(t *testing.T) {
	tg := targets(t)[0]
	tg.cfg.Encrypt = true
	m := newManager(t, tg)
	id := newSession(t, m, "user", "secret-value")
	r := ctl(t, "", append([]string{"show", "--secret", testSecret, id}, tg.flags...)...)
	if r.code != exitError || !strings.Contains(r.stderr, "sealed") || strings.Contains(r.stdout+r.stderr, "secret-value") {
		t.Errorf("show of a sealed session: %v", r)
	}
}

func TestMigrate(t *testing.T) {
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
	for range 2 { // idempotent
		r := mustRun(t, "migrate", "--driver", "database", "--connection", dbURL, "--table", "web_sessions")
		if strings.TrimSpace(r.stdout) != "table web_sessions ready" {
			t.Errorf("migrate printed %q", r.stdout)
		}
	}
	for _, d := range []string{"sqlite", "postgres", "mysql"} {
		r := mustRun(t, "migrate", "--print", "--dialect", d, "--table", "web_sessions")
		if !strings.Contains(r.stdout, "CREATE TABLE IF NOT EXISTS") || !strings.Contains(r.stdout, "web_sessions") {
			t.Errorf("migrate --print --dialect %s:\n%s", d, r.stdout)
		}
	}
	// The dialect can come from the connection URL; nothing is connected to.
	r := mustRun(t, "migrate", "--print", "--connection", "postgres://nowhere.invalid/db")
	if !strings.Contains(r.stdout, `"sessions"`) {
		t.Errorf("migrate --print with a postgres URL:\n%s", r.stdout)
	}
	if r := ctl(t, "", "migrate", "--driver", "file", "--files", t.TempDir()); r.code != exitError || !strings.Contains(r.stderr, "no table") {
		t.Errorf("migrate on the file driver: %v", r)
	}
}

func TestCannotEnumerate(t *testing.T) {
	for _, args := range [][]string{
		{"list", "--driver", "cookie"},
		{"count", "--driver", "cookie"},
		{"destroy", "--all", "--yes", "--driver", "cookie"},
	} {
		r := ctl(t, "", args...)
		if r.code != exitError || !strings.HasPrefix(r.stderr, "sessionctl: ") || !strings.Contains(r.stderr, "cookie") {
			t.Errorf("sessionctl %s: %v", strings.Join(args, " "), r)
		}
	}
	// The memory driver's store is not shared, but it does enumerate.
	if n := count(t, []string{"--driver", "memory"}); n != 0 {
		t.Errorf("count on a new memory store = %d", n)
	}
	// A back end that expires sessions itself has nothing to sweep.
	r := mustRun(t, "gc", "--driver", "cookie")
	if !strings.Contains(r.stdout, "expires sessions itself") {
		t.Errorf("gc on the cookie driver: %v", r)
	}
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"list", "--no-such-flag"},
		{"list", "extra"},
		{"count", "extra"},
		{"gc", "extra"},
		{"show"},
		{"show", "a", "b"},
		{"destroy"},
		{"destroy", "a", "--all"},
		{"destroy", "a", "--yes"},
		{"migrate", "--print"},
		{"migrate", "--print", "--dialect", "oracle"},
		{"list", "--lifetime", "soon"},
	} {
		r := ctl(t, "", append(args, "--files", dir)...)
		if len(args) == 0 {
			r = ctl(t, "")
		}
		if r.code != exitUsage || !strings.Contains(r.stderr, "Usage: sessionctl") || r.stdout != "" {
			t.Errorf("sessionctl %s: %v", strings.Join(args, " "), r)
		}
	}
	for _, args := range [][]string{{"--help"}, {"list", "--help"}, {"destroy", "-h"}, {"migrate", "--help"}} {
		r := ctl(t, "", args...)
		if r.code != exitOK || !strings.Contains(r.stderr, "Usage: sessionctl") {
			t.Errorf("sessionctl %s: %v", strings.Join(args, " "), r)
		}
	}
	// Nothing was created for a usage error: the store was never opened.
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("usage errors touched the store directory: %v", entries)
	}
}

// The environment supplies the defaults; flags override it.
func TestEnvironment(t *testing.T) {
	dir := t.TempDir()
	m := newManager(t, target{cfg: session.Config{Driver: "file", Files: dir}})
	newSession(t, m, "k", "v")
	env := map[string]string{"SESSION_DRIVER": "file", "SESSION_FILES": dir, "SESSION_LIFETIME": "2h"}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"count"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	if code != exitOK || strings.TrimSpace(out.String()) != "1" {
		t.Errorf("count from the environment: exit %d, %q, %q", code, out.String(), errOut.String())
	}
	out.Reset()
	code = run(context.Background(), []string{"count", "--files", t.TempDir()}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	if code != exitOK || strings.TrimSpace(out.String()) != "0" {
		t.Errorf("count with --files over SESSION_FILES: exit %d, %q", code, out.String())
	}
	env["SESSION_LIFETIME"] = "forever"
	errOut.Reset()
	code = run(context.Background(), []string{"count"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	if code != exitUsage || !strings.Contains(errOut.String(), "SESSION_LIFETIME") {
		t.Errorf("bad SESSION_LIFETIME: exit %d, %q", code, errOut.String())
	}
}
