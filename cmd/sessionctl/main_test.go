package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/secrettest"
	"github.com/sessionkit/session/internal/sessionid"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// TestMain stops the private servers once every test of the binary is done.
func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopPostgres()
	testserver.StopMariaDB()
	testserver.StopRedis()
	os.Exit(code)
}

// testSecret is the secret of the Managers the tests make (storetest.NewManager's
// default), which sessionctl needs to open sealed sessions.
const testSecret = storetest.Secret

// A target is a kind of store that the command scenarios run against.
type target struct {
	name string
	sql  bool // the database driver: migrate creates its table
	// open returns sessionctl's flags and the application's Config for a
	// new, empty store of this kind.
	open func(t *testing.T) (flags []string, cfg session.Config)
}

var targets = []target{
	{"file", false, func(t *testing.T) ([]string, session.Config) {
		dir := filepath.Join(t.TempDir(), "sessions")
		return []string{"--driver", "file", "--files", dir}, session.Config{Driver: "file", Files: dir}
	}},
	{"sqlite", true, func(t *testing.T) ([]string, session.Config) {
		u := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
		return []string{"--driver", "database", "--connection", u}, session.Config{Driver: "database", Connection: u}
	}},
	{"postgres", true, func(t *testing.T) ([]string, session.Config) {
		u := testserver.Postgres(t)
		return []string{"--driver", "database", "--connection", u}, session.Config{Driver: "database", Connection: u}
	}},
	{"redis", false, func(t *testing.T) ([]string, session.Config) {
		// A prefix of its own keeps the test's keys apart from other
		// tests on the shared server.
		u := fmt.Sprintf("redis://%s/0?prefix=sessionctl-%s:", testserver.Redis(t), rand.Text()[:10])
		return []string{"--driver", "redis", "--connection", u}, session.Config{Driver: "redis", Connection: u}
	}},
}

// result is one run of sessionctl.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// opts are the surroundings of one run of sessionctl.
type opts struct {
	stdin    string
	env      map[string]string // the environment; empty by default
	terminal bool              // stderr is a terminal
	ctx      context.Context   // default context.Background()
}

// ctlWith runs sessionctl in-process; progress lines are never held back.
func ctlWith(t *testing.T, o opts, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx := o.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	e := &env{
		ctx: ctx, getenv: func(k string) string { return o.env[k] },
		stdin: strings.NewReader(o.stdin), stdout: &out, stderr: &errOut,
		terminal: o.terminal, progressEvery: 0,
	}
	code := e.run(args)
	return result{code, out.String(), errOut.String()}
}

// ctl runs sessionctl in-process with an empty environment.
func ctl(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return ctlWith(t, opts{stdin: stdin}, args...)
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

// putExpired writes n records whose expiry has passed, straight to st.
func putExpired(t *testing.T, st session.Store, n int) {
	t.Helper()
	for range n {
		err := st.Update(context.Background(), storetest.NewID(), func([]byte, bool) ([]byte, time.Time, error) {
			return []byte(`{"v":1,"data":{}}`), time.Now().Add(-time.Hour), nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
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

// TestCommands runs every command against each kind of store, with
// sessions written by a real Manager.
func TestCommands(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			flags, cfg := tg.open(t)
			commandScenarios(t, tg, flags, cfg)
		})
	}
}

// commandScenarios is the table of command scenarios TestCommands runs on
// one store: sessionctl's flags and the application's Config name the same
// new, empty store.
func commandScenarios(t *testing.T, tg target, flags []string, cfg session.Config) {
	with := func(args ...string) []string { return append(args, flags...) }

	// migrate: idempotent on the database driver, refused elsewhere.
	for i := range 2 {
		r := ctl(t, "", with("migrate")...)
		want := "table sessions ready"
		if i == 0 {
			want = "created table \"sessions\"\ncreated table \"sessions_users\"\n" + want
		}
		switch {
		case tg.sql && (r.code != exitOK || strings.TrimSpace(r.stdout) != want):
			t.Errorf("migrate: %v", r)
		case !tg.sql && (r.code != exitError || !strings.Contains(r.stderr, "no table")):
			t.Errorf("migrate on the %s driver: %v", tg.name, r)
		}
	}

	m := storetest.NewManager(t, nil, cfg)
	ids := make([]string, 3)
	for i := range ids {
		ids[i] = newSession(t, m, "user", fmt.Sprintf("user-%d-%s", i, tg.name))
	}

	t.Run("count and list", func(t *testing.T) {
		if n := count(t, flags); n != 3 {
			t.Errorf("count = %d, want 3", n)
		}
		// list: a header and one line per session; IDs abbreviated
		// unless --full.
		r := mustRun(t, with("list")...)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "LAST ACTIVITY") {
			t.Fatalf("list printed %d lines, want a header and 3:\n%s", len(lines), r.stdout)
		}
		for _, id := range ids {
			if !strings.Contains(r.stdout, id[:sessionid.ShortLen]+"...") || strings.Contains(r.stdout, id) {
				t.Errorf("list does not show %s abbreviated:\n%s", id, r.stdout)
			}
		}
		r = mustRun(t, with("list", "--full")...)
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) != 3 {
				t.Fatalf("list --full line %q", line)
			}
			exp, err := time.Parse(time.RFC3339, f[2])
			if err != nil {
				t.Errorf("list --full line %q: %v", line, err)
				continue
			}
			// The sessions were written moments ago with the default
			// lifetime: their own expiry, whatever sessionctl's settings.
			if d := time.Until(exp) - session.DefaultLifetime; d < -time.Minute || d > time.Second {
				t.Errorf("list --full: %s expires at %v, want about %v from now", f[0], exp, session.DefaultLifetime)
			}
			if f[1] == "-" {
				continue // the store keeps no last activity, and none is made up
			}
			last, err := time.Parse(time.RFC3339, f[1])
			if err != nil {
				t.Errorf("list --full line %q: %v", line, err)
				continue
			}
			if d := time.Since(last); d < -time.Second || d > time.Minute {
				t.Errorf("list --full: %s last active %v ago, want just now", f[0], d)
			}
		}
		for _, id := range ids {
			if !strings.Contains(r.stdout, id+" ") {
				t.Errorf("list --full does not show %s:\n%s", id, r.stdout)
			}
		}
	})

	t.Run("show", func(t *testing.T) {
		// A plain payload needs no secret.
		r := mustRun(t, with("show", ids[1])...)
		want := fmt.Sprintf("user-1-%s", tg.name)
		if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "\n  ") || !json.Valid([]byte(r.stdout)) {
			t.Errorf("show printed no indented JSON with %q:\n%s", want, r.stdout)
		}
		// Flags may follow the ID.
		mustRun(t, append(append([]string{"show"}, flags...), ids[1])...)
		if r := ctl(t, "", with("show", storetest.NewID())...); r.code != exitError || !strings.Contains(r.stderr, "sessionctl: show: no session") {
			t.Errorf("show of a missing ID: %v", r)
		}

		// A sealed payload (Encrypt) opens with the application's secret,
		// from the flag, SESSION_SECRET, or SESSION_PREVIOUS_SECRETS.
		enc := cfg
		enc.Encrypt = true
		sealed := newSession(t, storetest.NewManager(t, nil, enc), "card", "4111-secret-value")
		if data, _, _, _ := m.Store().Load(context.Background(), sealed); !bytes.HasPrefix(data, []byte(sealedPrefix)) || bytes.Contains(data, []byte("4111")) {
			t.Fatalf("the Encrypt session is stored as %q, not sealed", data)
		}
		for _, o := range []opts{
			{env: map[string]string{"SESSION_SECRET": testSecret}},
			{env: map[string]string{"SESSION_SECRET": "the new secret - a test secret, not for production", "SESSION_PREVIOUS_SECRETS": "an older secret that is long enough," + testSecret}},
			{env: map[string]string{"SESSION_PREVIOUS_SECRETS": testSecret}},
		} {
			r := ctlWith(t, o, with("show", sealed)...)
			if r.code != exitOK || !strings.Contains(r.stdout, `"card": "4111-secret-value"`) || !json.Valid([]byte(r.stdout)) {
				t.Errorf("show of a sealed session with %v: %v", o.env, r)
			}
		}
		r = ctl(t, "", with("show", "--secret", testSecret, sealed)...)
		if r.code != exitOK || !strings.Contains(r.stdout, "4111-secret-value") {
			t.Errorf("show --secret of a sealed session: %v", r)
		}
		r = ctl(t, "", with("show", sealed)...)
		if r.code != exitError || !strings.Contains(r.stderr, "payload is encrypted; set SESSION_SECRET") || strings.Contains(r.stdout+r.stderr, "4111") {
			t.Errorf("show of a sealed session without a secret: %v", r)
		}
		r = ctl(t, "", with("show", "--secret", "not the secret, though long enough", sealed)...)
		if r.code != exitError || !strings.Contains(r.stderr, "does not decrypt") || strings.Contains(r.stdout+r.stderr, "4111") {
			t.Errorf("show of a sealed session with a wrong secret: %v", r)
		}
		mustRun(t, with("destroy", sealed)...)
	})

	t.Run("destroy", func(t *testing.T) {
		mustRun(t, with("destroy", ids[0])...)
		if _, _, found, _ := m.Store().Load(context.Background(), ids[0]); found {
			t.Errorf("session %s still loads after destroy", ids[0])
		}
		if n := count(t, flags); n != 2 {
			t.Errorf("count after destroy ID = %d, want 2", n)
		}
		if r := ctl(t, "", with("destroy", ids[0])...); r.code != exitError || !strings.Contains(r.stderr, "no session") {
			t.Errorf("destroy of a destroyed ID: %v", r)
		}

		// destroy --all: refused unless confirmed with "yes" on stdin or
		// --yes.
		for _, answer := range []string{"no\n", "", "y\n"} {
			r := ctl(t, answer, with("destroy", "--all")...)
			if r.code != exitError || !strings.Contains(r.stderr, "Type yes") || !strings.Contains(r.stderr, "not confirmed") {
				t.Errorf("destroy --all answered %q: %v", answer, r)
			}
		}
		if n := count(t, flags); n != 2 {
			t.Errorf("count after an unconfirmed destroy --all = %d, want 2", n)
		}
		r := ctl(t, "yes\n", with("destroy", "--all")...)
		if r.code != exitOK || !strings.Contains(r.stdout, "destroyed 2 sessions") {
			t.Errorf("destroy --all answered yes: %v", r)
		}
		newSession(t, m, "user", "again")
		newSession(t, m, "user", "again")
		r = mustRun(t, with("destroy", "--all", "--yes")...)
		if !strings.Contains(r.stdout, "destroyed 2 sessions") {
			t.Errorf("destroy --all --yes: %v", r)
		}
		if n := count(t, flags); n != 0 {
			t.Errorf("count after destroy --all --yes = %d, want 0", n)
		}
		r = mustRun(t, with("destroy", "--all")...)
		if !strings.Contains(r.stdout, "no sessions to destroy") {
			t.Errorf("destroy --all of an empty store: %v", r)
		}
	})

	t.Run("gc", func(t *testing.T) {
		st := m.Store()
		live := newSession(t, m, "user", "live")
		putExpired(t, st, 5)
		r := ctl(t, "", with("gc", "--batch", "2")...)
		if _, ok := st.(session.Sweeper); !ok {
			if r.code != exitOK || !strings.Contains(r.stdout, "the "+cfg.Driver+" driver's back end expires sessions itself") {
				t.Errorf("gc on the %s driver: %v", cfg.Driver, r)
			}
			if n := count(t, flags); n != 1 {
				t.Errorf("count with 5 expired and 1 live = %d, want 1", n)
			}
			return
		}
		if r.code != exitOK || strings.TrimSpace(r.stdout) != "removed 5 expired sessions" {
			t.Errorf("gc --batch 2 with 5 expired: %v", r)
		}
		if _, ok := st.(session.BatchSweeper); ok {
			// A line after each full batch (never held back here).
			want := "removed 2 expired sessions so far...\nremoved 4 expired sessions so far...\n"
			if r.stderr != want {
				t.Errorf("gc --batch 2 progress = %q, want %q", r.stderr, want)
			}
		} else if r.stderr != "" {
			t.Errorf("gc on a store without SweepBatch wrote %q", r.stderr)
		}
		if _, _, found, _ := st.Load(context.Background(), live); !found {
			t.Error("gc removed a live session")
		}
		r = mustRun(t, with("gc")...)
		if strings.TrimSpace(r.stdout) != "removed 0 expired sessions" {
			t.Errorf("second gc printed %q", r.stdout)
		}

		// On a terminal the progress line is rewritten, then cleared.
		putExpired(t, st, 3)
		r = ctlWith(t, opts{terminal: true}, with("gc", "--batch", "2")...)
		if r.code != exitOK || strings.TrimSpace(r.stdout) != "removed 3 expired sessions" {
			t.Errorf("gc on a terminal: %v", r)
		}
		if _, ok := st.(session.BatchSweeper); ok {
			msg := "removed 2 expired sessions so far..."
			if want := "\r" + msg + "\r" + strings.Repeat(" ", len(msg)) + "\r"; r.stderr != want {
				t.Errorf("gc on a terminal wrote %q to stderr, want %q", r.stderr, want)
			}
		}
		if n := count(t, flags); n != 1 {
			t.Errorf("count after gc = %d, want the 1 live session", n)
		}
	})
}

// An interrupt (the context ending) stops gc between batches: the batch
// under way completes, the next does not start, and the exit status is 1.
func TestGCInterrupted(t *testing.T) {
	st := memstore.New()
	putExpired(t, st, 5)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	e := &env{ctx: ctx, getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}
	code := sweepBatches(e, st, 2)
	if code != exitError || out.Len() != 0 || !strings.Contains(errOut.String(), "interrupted after removing 2 expired sessions") {
		t.Errorf("gc interrupted: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	if n, err := st.Sweep(context.Background()); n != 3 || err != nil {
		t.Errorf("after the interrupted gc, Sweep removed (%d, %v), want the 3 left", n, err)
	}
}

// IDs are URL-safe base64: one in 64 starts with "-", and must still work as
// an argument, whole or as list abbreviates it, before or after flags, and
// after "--".
func TestDashID(t *testing.T) {
	flags, cfg := targets[0].open(t)
	m := storetest.NewManager(t, nil, cfg)
	var id string
	for id == "" || id[0] != '-' {
		id = storetest.NewID()
		id = "-" + id[1:]
	}
	err := m.Store().Update(context.Background(), id, func([]byte, bool) ([]byte, time.Time, error) {
		return []byte(`{"v":1,"data":{"k":"dash"}}`), time.Now().Add(time.Hour), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		append([]string{"show", id}, flags...),
		append(append([]string{"show"}, flags...), id),
		append(append([]string{"show"}, flags...), "--", id),
		append([]string{"show", sessionid.Abbrev(id)}, flags...),
		append(append([]string{"show"}, flags...), sessionid.Abbrev(id)),
	} {
		if r := mustRun(t, args...); !strings.Contains(r.stdout, "dash") {
			t.Errorf("sessionctl %s: %v", strings.Join(args, " "), r)
		}
	}
	mustRun(t, append([]string{"destroy", id}, flags...)...)
	if _, _, found, _ := m.Store().Load(context.Background(), id); found {
		t.Error("destroy of an ID starting with - left it")
	}
}

func TestMigrate(t *testing.T) {
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
	for i := range 2 { // idempotent
		r := mustRun(t, "migrate", "--driver", "database", "--connection", dbURL, "--table", "web_sessions")
		want := "table web_sessions ready"
		if i == 0 {
			want = "created table \"web_sessions\"\ncreated table \"web_sessions_users\"\n" + want
		}
		if strings.TrimSpace(r.stdout) != want {
			t.Errorf("migrate printed %q, want %q", r.stdout, want)
		}
	}
	// --print gives every step: the new table, then what brings a
	// NodeSession table up to date; the expiries of its rows need the
	// application's lifetime.
	for _, d := range []string{"sqlite", "postgres", "mysql"} {
		r := mustRun(t, "migrate", "--print", "--dialect", d, "--table", "web_sessions")
		for _, want := range []string{"CREATE TABLE IF NOT EXISTS", "web_sessions", "ADD COLUMN", "web_sessions_expiresAt", "give --lifetime",
			`The table "web_sessions_users", the index of each user's sessions, when it does not exist:`, "PRIMARY KEY"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("migrate --print --dialect %s lacks %q:\n%s", d, want, r.stdout)
			}
		}
		r = mustRun(t, "migrate", "--print", "--dialect", d, "--lifetime", "30m")
		if !strings.Contains(r.stdout, "* 1000 + 1800000 WHERE") || strings.Contains(r.stdout, "give --lifetime") {
			t.Errorf("migrate --print --dialect %s --lifetime 30m:\n%s", d, r.stdout)
		}
	}
	// The dialect can come from the connection URL; nothing is connected to.
	r := mustRun(t, "migrate", "--print", "--connection", "postgres://nowhere.invalid/db")
	if !strings.Contains(r.stdout, `"sessions"`) {
		t.Errorf("migrate --print with a postgres URL:\n%s", r.stdout)
	}

	// A database user who may not create the user index's table: the
	// store works without it, but migrate, which is to make the schema
	// whole, fails and says what is missing.
	path := filepath.Join(t.TempDir(), "partial.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	steps, err := sqlstore.SchemaSteps(sqlstore.SQLite, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range steps[0].SQL {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	r = ctl(t, "", "migrate", "--driver", "database", "--connection", "sqlite://"+path+"?_pragma=query_only(1)")
	if r.code != exitError || !strings.Contains(r.stderr, `no table "sessions_users"`) || !strings.Contains(r.stderr, "readonly database") ||
		strings.Contains(r.stdout, "ready") {
		t.Errorf("migrate that cannot make the user index: %v", r)
	}
	r = mustRun(t, "migrate", "--driver", "database", "--connection", "sqlite://"+path)
	if strings.TrimSpace(r.stdout) != "created table \"sessions_users\"\ntable sessions ready" {
		t.Errorf("migrate of a table without its user index: %v", r)
	}
}

// The cookie driver keeps sessions in browsers: there is nothing to
// enumerate, show or sweep, and sessionctl says so.
func TestCookieDriver(t *testing.T) {
	for _, args := range [][]string{
		{"list", "--driver", "cookie"},
		{"count", "--driver", "cookie"},
		{"destroy", "--all", "--yes", "--driver", "cookie"},
		{"show", "--driver", "cookie", storetest.NewID()},
		{"destroy", "--driver", "cookie", storetest.NewID()},
	} {
		r := ctl(t, "", args...)
		if r.code != exitError || !strings.HasPrefix(r.stderr, "sessionctl: ") || !strings.Contains(r.stderr, "cookie driver keeps sessions in the browser's cookies") {
			t.Errorf("sessionctl %s: %v", strings.Join(args, " "), r)
		}
	}
	r := mustRun(t, "gc", "--driver", "cookie")
	if !strings.Contains(r.stdout, "nothing to sweep") {
		t.Errorf("gc on the cookie driver: %v", r)
	}
	// The memory driver's store is not shared, but it does enumerate.
	if n := count(t, []string{"--driver", "memory"}); n != 0 {
		t.Errorf("count on a new memory store = %d", n)
	}
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"frobnicate"},
		{"list", "--no-such-flag"},
		{"list", "extra"},
		{"count", "extra"},
		{"gc", "extra"},
		{"gc", "--batch", "0"},
		{"show"},
		{"show", "a", "b"},
		{"destroy"},
		{"destroy", "a", "--all"},
		{"destroy", "a", "--yes"},
		{"migrate", "extra"},
		{"migrate", "--print"},
		{"migrate", "--print", "--dialect", "oracle"},
		{"migrate", "--dialect", "sqlite"},
		{"list", "--lifetime", "soon"},
	} {
		r := ctl(t, "", append(args, "--files", dir)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "Usage: sessionctl") || r.stdout != "" {
			t.Errorf("sessionctl %s: %v", strings.Join(args, " "), r)
		}
	}
	for _, args := range [][]string{{}, {"help", "gc", "list"}} {
		if r := ctl(t, "", args...); r.code != exitUsage || !strings.Contains(r.stderr, "Usage: sessionctl <command>") {
			t.Errorf("sessionctl %s: %v", strings.Join(args, " "), r)
		}
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		r := ctl(t, "", args...)
		if r.code != exitOK || !strings.Contains(r.stderr, "Usage: sessionctl <command>") {
			t.Errorf("sessionctl %s: %v", strings.Join(args, " "), r)
		}
		for _, c := range commands {
			if !strings.Contains(r.stderr, "  "+c.name+" ") {
				t.Errorf("sessionctl %s does not list %s:\n%s", strings.Join(args, " "), c.name, r.stderr)
			}
		}
	}
	// Every command has --help (and -h, and "help CMD"), naming its flags
	// and never the secret or connection from the environment.
	env := map[string]string{"SESSION_SECRET": "do-not-print-me - a test secret, not for production", "SESSION_CONNECTION": "redis://:hunter2@example.com/0"}
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			r := ctlWith(t, opts{env: env}, args...)
			if r.code != exitOK || !strings.Contains(r.stderr, "Usage: sessionctl "+c.name) || !strings.Contains(r.stderr, "-driver") || r.stdout != "" {
				t.Errorf("sessionctl %s: %v", strings.Join(args, " "), r)
			}
			if strings.Contains(r.stderr, "do-not-print-me") || strings.Contains(r.stderr, "hunter2") {
				t.Errorf("sessionctl %s shows the environment's secrets:\n%s", strings.Join(args, " "), r.stderr)
			}
		}
	}
	// Nothing was created for a usage error: the store was never opened.
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("usage errors touched the store directory: %v", entries)
	}
}

// The environment supplies the configuration, read by
// session.ConfigFromFunc; flags override it.
func TestEnvironment(t *testing.T) {
	dir := t.TempDir()
	m := storetest.NewManager(t, nil, session.Config{Driver: "file", Files: dir})
	newSession(t, m, "k", "v")
	env := map[string]string{"SESSION_DRIVER": "file", "SESSION_FILES": dir, "SESSION_LIFETIME": "2h"}
	getenv := func(k string) string { return env[k] }
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"count"}, getenv, strings.NewReader(""), &out, &errOut)
	if code != exitOK || strings.TrimSpace(out.String()) != "1" {
		t.Errorf("count from the environment: exit %d, %q, %q", code, out.String(), errOut.String())
	}
	// list shows the session's own expiry (the application's 5-minute
	// lifetime), never one made from SESSION_LIFETIME or --lifetime, and no
	// last activity, which the file store does not keep.
	for _, args := range [][]string{{"list"}, {"list", "--lifetime", "30m"}} {
		out.Reset()
		if code := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errOut); code != exitOK {
			t.Fatalf("%v: exit %d, %q", args, code, errOut.String())
		}
		f := strings.Fields(strings.Split(strings.TrimSpace(out.String()), "\n")[1])
		exp, _ := time.Parse(time.RFC3339, f[2])
		if d := time.Until(exp) - session.DefaultLifetime; f[1] != "-" || d < -time.Minute || d > time.Second {
			t.Errorf("%v: last activity %s, expiry %v; want - and about %v from now", args, f[1], exp, session.DefaultLifetime)
		}
	}
	out.Reset()
	code = run(context.Background(), []string{"count", "--files", t.TempDir()}, getenv, strings.NewReader(""), &out, &errOut)
	if code != exitOK || strings.TrimSpace(out.String()) != "0" {
		t.Errorf("count with --files over SESSION_FILES: exit %d, %q", code, out.String())
	}
	for k, v := range map[string]string{"SESSION_LIFETIME": "forever", "SESSION_ENCRYPT": "maybe"} {
		bad := map[string]string{"SESSION_FILES": dir, k: v}
		r := ctlWith(t, opts{env: bad}, "count")
		if r.code != exitUsage || !strings.Contains(r.stderr, k) {
			t.Errorf("%s=%s: %v", k, v, r)
		}
	}
}

// No output of sessionctl shows a part of the password of a Redis URL,
// however malformed the URL, given by flag or by the environment. (Hosts
// are 127.0.0.1:1, where nothing listens, for the URLs that parse.)
func TestRedisPasswordNeverShown(t *testing.T) {
	const head, tail = "Ab3Xq", "Zr7Kw"
	for _, tmpl := range []string{
		"redis://:{pw}@127.0.0.1:1/0",
		"redis://app:{pw}@127.0.0.1:1/notadb?bogus=1",
		"redis://:{pw}",
		"redis://{pw}@127.0.0.1:1/0?bogus=1",
		"redis+sentinel://:{pw}@127.0.0.1:1,127.0.0.2/mymaster/x",
		"redis+sentinel://127.0.0.1:1,127.0.0.2/m/0?sentinel_password={pw}&bogus=1",
		"redis+cluster://u:{pw}@127.0.0.1:1,127.0.0.2:1/1",
		"unix://:{pw}@/run/redis.sock?db=x",
		"http://:{pw}@127.0.0.1:1",
	} {
		for _, sep := range []string{"/", "?", "#", "%zz", "&", ":", "/?#@"} {
			pw := head + sep + tail
			raw := strings.ReplaceAll(tmpl, "{pw}", pw)
			for _, r := range []result{
				ctl(t, "", "count", "--driver", "redis", "--connection", raw),
				ctlWith(t, opts{env: map[string]string{"SESSION_DRIVER": "redis", "SESSION_CONNECTION": raw}}, "gc"),
			} {
				secrettest.Check(t, "the output with "+strings.ReplaceAll(tmpl, "{pw}", "<"+pw+">"), r.stdout+r.stderr, pw)
			}
		}
	}
}

// Applications sharing a Redis with overlapping prefixes ("shop" and
// "shop2"): sessionctl's list, count and destroy --all for one never see or
// touch the other's sessions. A prefix that another's can extend ("shop")
// is refused; "shop:" sees its own sessions only.
func TestRedisOverlappingPrefixes(t *testing.T) {
	addr := testserver.Redis(t)
	ctx := t.Context()
	base := "shop" + strings.NewReplacer("-", "x", "_", "y").Replace(storetest.NewID()[:8])
	connection := func(prefix string) string {
		return fmt.Sprintf("redis://%s/0?prefix=%s", addr, url.QueryEscape(prefix))
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	// The other application: sessions under base+"2" (as an older version,
	// or another program, writes them) and under base+"2:".
	var theirs []string
	for range 3 {
		id := storetest.NewID()
		if err := rdb.Set(ctx, base+"2"+id, `{"v":1,"data":{}}`, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		theirs = append(theirs, id)
	}
	other := storetest.NewManager(t, nil, session.Config{Driver: "redis", Connection: connection(base + "2:")})
	theirs = append(theirs, newSession(t, other, "k", "theirs"))
	mine := storetest.NewManager(t, nil, session.Config{Driver: "redis", Connection: connection(base + ":")})
	ours := []string{newSession(t, mine, "k", "mine"), newSession(t, mine, "k", "mine")}

	for _, prefix := range []string{base, base + ":"} {
		flags := []string{"--driver", "redis", "--connection", connection(prefix)}
		runs := []result{
			ctl(t, "", append([]string{"list", "--full"}, flags...)...),
			ctl(t, "", append([]string{"count"}, flags...)...),
			ctl(t, "", append([]string{"destroy", "--all", "--yes"}, flags...)...),
		}
		for _, r := range runs {
			for _, id := range theirs {
				if strings.Contains(r.stdout+r.stderr, id) {
					t.Errorf("prefix %q: sessionctl shows the other application's session %s: %v", prefix, id, r)
				}
			}
		}
		if prefix == base {
			for _, r := range runs {
				if r.code == exitOK || !strings.Contains(r.stderr, "prefix") {
					t.Errorf("prefix %q: %v; want it refused", prefix, r)
				}
			}
			continue
		}
		if r := runs[1]; strings.TrimSpace(r.stdout) != strconv.Itoa(len(ours)) {
			t.Errorf("prefix %q: count %v, want %d", prefix, r, len(ours))
		}
		if r := runs[2]; r.code != exitOK || !strings.Contains(r.stdout, fmt.Sprintf("destroyed %d sessions", len(ours))) {
			t.Errorf("prefix %q: destroy --all: %v", prefix, r)
		}
	}
	for _, id := range theirs[:3] {
		if n, err := rdb.Exists(ctx, base+"2"+id).Result(); n != 1 || err != nil {
			t.Errorf("the other application's session %s is gone (%v)", id, err)
		}
	}
	if _, _, found, err := other.Store().Load(ctx, theirs[3]); !found || err != nil {
		t.Errorf("the other application's session %s is gone (%v)", theirs[3], err)
	}
}
