package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// sqlTargets are the database driver's targets, MariaDB included.
func sqlTargets() []target {
	var out []target
	for _, tg := range targets {
		if tg.sql {
			out = append(out, tg)
		}
	}
	return append(out, target{"mariadb", true, func(t *testing.T) ([]string, session.Config) {
		u := testserver.MariaDB(t)
		return []string{"--driver", "database", "--connection", u}, session.Config{Driver: "database", Connection: u}
	}})
}

// sqlCol quotes a column name of the sessions table for dialect d.
func sqlCol(d sqlstore.Dialect, name string) string {
	switch d {
	case sqlstore.Postgres:
		return `"` + name + `"`
	case sqlstore.MySQL:
		return "`" + name + "`"
	}
	return name
}

// sqlArg returns the n-th placeholder (from 1) of dialect d.
func sqlArg(d sqlstore.Dialect, n int) string {
	if d == sqlstore.Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// ageRow makes the row of id in st's table look as if it had been written
// age ago: every time column the table has moves back by age.
func ageRow(t *testing.T, st *sqlstore.Store, id string, age time.Duration) {
	t.Helper()
	d, db, ctx := st.Dialect(), st.DB(), context.Background()
	sets := sqlCol(d, "lastActivity") + " = " + sqlCol(d, "lastActivity") + " - " + strconv.FormatInt(int64(age/time.Second), 10)
	if rows, err := db.QueryContext(ctx, "SELECT "+sqlCol(d, "expiresAt")+" FROM "+st.Table()+" WHERE 1=0"); err == nil {
		rows.Close()
		sets += ", " + sqlCol(d, "expiresAt") + " = " + sqlCol(d, "expiresAt") + " - " + strconv.FormatInt(age.Milliseconds(), 10)
	}
	res, err := db.ExecContext(ctx, "UPDATE "+st.Table()+" SET "+sets+" WHERE id = "+sqlArg(d, 1), id)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("aging the row of %s updated %d rows", id, n)
	}
}

// Issue 13, as an operator meets it: an application with a 30-minute
// lifetime wrote a session 10 minutes ago; sessionctl, run with only the
// connection set (so with the default 5-minute lifetime), must see it live
// with its real expiry and last activity, and gc must not remove it.
func TestOperatorDefaultsKeepLongerLivedSessions(t *testing.T) {
	for _, tg := range sqlTargets() {
		t.Run(tg.name, func(t *testing.T) {
			_, cfg := tg.open(t)
			// The operator's environment has only the connection.
			env := map[string]string{"SESSION_DRIVER": "database", "SESSION_CONNECTION": cfg.Connection}
			run := func(args ...string) result {
				t.Helper()
				r := ctlWith(t, opts{env: env}, args...)
				if r.code != exitOK {
					t.Fatalf("sessionctl %s: %v", strings.Join(args, " "), r)
				}
				return r
			}

			cfg.Lifetime = 30 * time.Minute
			m := storetest.NewManager(t, nil, cfg)
			id := newSession(t, m, "user", "ana")
			ageRow(t, m.Store().(*sqlstore.Store), id, 10*time.Minute)
			if _, _, found, err := m.Store().Load(context.Background(), id); !found || err != nil {
				t.Fatalf("the application does not load its session 10 minutes later: found %v, %v", found, err)
			}

			if r := run("count"); strings.TrimSpace(r.stdout) != "1" {
				t.Errorf("count = %q, want 1", strings.TrimSpace(r.stdout))
			}
			r := run("list", "--full")
			var line string
			for _, l := range strings.Split(r.stdout, "\n") {
				if strings.HasPrefix(l, id+" ") {
					line = l
				}
			}
			if f := strings.Fields(line); len(f) != 3 {
				t.Errorf("list --full does not show %s:\n%s", id, r.stdout)
			} else {
				last, err1 := time.Parse(time.RFC3339, f[1])
				exp, err2 := time.Parse(time.RFC3339, f[2])
				if err1 != nil || err2 != nil {
					t.Fatalf("list --full line %q: %v, %v", line, err1, err2)
				}
				if d := time.Since(last); d < 9*time.Minute || d > 11*time.Minute {
					t.Errorf("list shows the last activity %v ago, want about 10m", d.Round(time.Second))
				}
				if d := time.Until(exp); d < 19*time.Minute || d > 21*time.Minute {
					t.Errorf("list shows the expiry in %v, want about 20m", d.Round(time.Second))
				}
			}
			if r := run("gc"); strings.TrimSpace(r.stdout) != "removed 0 expired sessions" {
				t.Errorf("gc with the default lifetime removed the application's live session: %q", r.stdout)
			}
			if _, _, found, err := m.Store().Load(context.Background(), id); !found || err != nil {
				t.Fatalf("after gc the application no longer loads its session: found %v, %v", found, err)
			}
		})
	}
}

// A NodeSession table (id, payload, lastActivity): sessionctl migrate
// refuses to guess the lifetime of its rows, changes nothing without one,
// and with --lifetime adds the expiry column, its index and the rows'
// expiries, saying so. The other commands change no schema: they say
// what to run.
func TestMigrateNodeSessionTable(t *testing.T) {
	for _, tg := range sqlTargets() {
		t.Run(tg.name, func(t *testing.T) {
			flags, cfg := tg.open(t)
			with := func(args ...string) []string { return append(args, flags...) }
			// The table as sqlstore made it before it kept each
			// session's expiry, with a session active 10 minutes ago.
			st, err := sqlstore.Open(context.Background(), cfg.Connection, sqlstore.Options{Table: "other"})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			d, db := st.Dialect(), st.DB()
			ddl := "CREATE TABLE sessions (id VARCHAR(128) NOT NULL PRIMARY KEY, payload TEXT NOT NULL, " + sqlCol(d, "lastActivity") + " BIGINT NOT NULL)"
			if d == sqlstore.MySQL {
				ddl = "CREATE TABLE sessions (id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY, payload TEXT NOT NULL, lastActivity BIGINT NOT NULL) ENGINE=InnoDB"
			}
			if _, err := db.Exec(ddl); err != nil {
				t.Fatal(err)
			}
			id := "nodesession-session-0123456789"
			if _, err := db.Exec("INSERT INTO sessions (id, payload, "+sqlCol(d, "lastActivity")+") VALUES ("+sqlArg(d, 1)+", '{\"v\":1,\"data\":{}}', "+sqlArg(d, 2)+")",
				id, time.Now().Add(-10*time.Minute).Unix()); err != nil {
				t.Fatal(err)
			}

			for _, args := range [][]string{with("gc"), with("count"), with("list")} {
				r := ctl(t, "", args...)
				if r.code != exitError || !strings.Contains(r.stderr, `no column "expiresAt"`) || !strings.Contains(r.stderr, "sessionctl migrate --lifetime") {
					t.Errorf("sessionctl %s on a NodeSession table: %v", args[0], r)
				}
			}
			r := ctl(t, "", with("migrate")...)
			if r.code != exitError || !strings.Contains(r.stderr, "--lifetime") || strings.Count(r.stderr, "sqlstore: ") != 1 {
				t.Errorf("migrate without a lifetime: %v", r)
			}
			r = ctl(t, "", with("migrate", "--lifetime", "30m")...)
			want := `added column "expiresAt" to table "sessions"
created index "sessions_expiresAt" on column "expiresAt"
set the expiry of 1 rows of table "sessions" to lastActivity + 30m0s
created table "sessions_users"
table sessions ready`
			if r.code != exitOK || strings.TrimSpace(r.stdout) != want {
				t.Errorf("migrate --lifetime 30m: %v\nwant stdout:\n%s", r, want)
			}
			if r := mustRun(t, with("gc")...); strings.TrimSpace(r.stdout) != "removed 0 expired sessions" {
				t.Errorf("gc after migrate: %q", r.stdout)
			}
			r = mustRun(t, with("list", "--full")...)
			f := strings.Fields(strings.Split(strings.TrimSpace(r.stdout), "\n")[1])
			exp, _ := time.Parse(time.RFC3339, f[2])
			if f[0] != id || time.Until(exp) < 19*time.Minute || time.Until(exp) > 21*time.Minute {
				t.Errorf("list after migrate:\n%s\nwant %s expiring in about 20 minutes", r.stdout, id)
			}
		})
	}
}
