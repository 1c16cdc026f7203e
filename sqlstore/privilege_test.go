package sqlstore_test

import (
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// leastPrivilege makes, as the test server's administrator, a database
// with a complete "sessions" table (and its user index "sessions_users"), a
// NodeSession "legacy" table and a "nousers" table without its user index,
// and a user allowed SELECT, INSERT, UPDATE and DELETE on them and nothing
// else.
// It returns the administrator's and that user's Open URLs. For SQLite,
// which has no users, the user's URL opens the database with query_only:
// no statement may change it.
func leastPrivilege(t *testing.T, b backend) (adminURL, appURL string) {
	t.Helper()
	adminURL = b.newURL(t)
	admin := appPool(t, b.dialect, adminURL)
	if _, err := sqlstore.New(t.Context(), admin, b.dialect, sqlstore.Options{}); err != nil {
		t.Fatal(err)
	}
	createNodeSessionTable(t, admin, b.dialect, "legacy")
	createSessionsOnly(t, admin, b.dialect, "nousers")
	insertActivity(t, admin, b.dialect, "legacy", storetest.NewID(), time.Now())
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	user := "app_" + strings.TrimPrefix(u.Path, "/") // a database per test, so a user per test
	var stmts []string
	switch b.dialect {
	case sqlstore.SQLite:
		return adminURL, adminURL + "?_pragma=query_only(1)"
	case sqlstore.Postgres:
		// PostgreSQL 15 and later grant no CREATE on the public schema to
		// PUBLIC; say so for earlier ones.
		stmts = []string{
			"CREATE ROLE " + user + " LOGIN",
			"REVOKE CREATE ON SCHEMA public FROM PUBLIC",
			"GRANT SELECT, INSERT, UPDATE, DELETE ON sessions, sessions_users, legacy, nousers TO " + user,
		}
	default:
		db := strings.TrimPrefix(u.Path, "/")
		stmts = []string{
			"CREATE USER '" + user + "'@'%'",
			"GRANT SELECT, INSERT, UPDATE, DELETE ON " + db + ".sessions TO '" + user + "'@'%'",
			"GRANT SELECT, INSERT, UPDATE, DELETE ON " + db + ".sessions_users TO '" + user + "'@'%'",
			"GRANT SELECT, INSERT, UPDATE, DELETE ON " + db + ".legacy TO '" + user + "'@'%'",
			"GRANT SELECT, INSERT, UPDATE, DELETE ON " + db + ".nousers TO '" + user + "'@'%'",
		}
	}
	for _, s := range stmts {
		if _, err := admin.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	u.User = url.User(user)
	return adminURL, u.String()
}

// A database user allowed SELECT, INSERT, UPDATE and DELETE only (issue
// 13): New works on a complete table, making nothing; when something is
// missing and making it fails, the error gives the server's own message and
// the ways out (SkipCreate, sessionctl migrate --print).
func TestLeastPrivilege(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		_, appURL := leastPrivilege(t, b)
		ctx := t.Context()

		st, err := sqlstore.Open(ctx, appURL, sqlstore.Options{Lifetime: time.Hour})
		if err != nil {
			t.Fatalf("Open as the least-privileged user on a complete table: %v", err)
		}
		defer st.Close()
		if got := st.SchemaChanges(); len(got) > 0 {
			t.Errorf("SchemaChanges = %q, want none", got)
		}
		if b.dialect != sqlstore.SQLite { // query_only: no writes at all
			id := storetest.NewID()
			exp := time.Now().Add(time.Hour)
			if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), exp, nil }); err != nil {
				t.Fatalf("Update: %v", err)
			}
			if err := st.Touch(ctx, id, exp); err != nil {
				t.Errorf("Touch: %v", err)
			}
			if _, err := st.Sweep(ctx); err != nil {
				t.Errorf("Sweep: %v", err)
			}
		}
		if _, _, _, err := st.Load(ctx, storetest.NewID()); err != nil {
			t.Errorf("Load: %v", err)
		}
		if b.dialect != sqlstore.SQLite {
			if err := st.AddUserSession(ctx, "ana", storetest.NewID()); err != nil {
				t.Errorf("AddUserSession: %v", err)
			}
		}

		denied := map[sqlstore.Dialect]string{
			sqlstore.SQLite:   "readonly database",
			sqlstore.Postgres: "permission denied for schema public",
			sqlstore.MySQL:    "CREATE command denied",
		}[b.dialect]
		alterDenied := map[sqlstore.Dialect]string{
			sqlstore.SQLite:   "readonly database",
			sqlstore.Postgres: "must be owner of table legacy",
			sqlstore.MySQL:    "ALTER command denied",
		}[b.dialect]
		// A table without its user index: the Store works, but for the
		// index, whose calls say what is missing, why New did not make it
		// (the server's refusal) and what to run.
		nu, err := sqlstore.Open(ctx, appURL, sqlstore.Options{Table: "nousers"})
		if err != nil {
			t.Fatalf("Open of a table without its user index as the least-privileged user: %v", err)
		}
		defer nu.Close()
		if got := nu.SchemaChanges(); len(got) > 0 {
			t.Errorf("SchemaChanges = %q, want none", got)
		}
		if _, _, _, err := nu.Load(ctx, storetest.NewID()); err != nil {
			t.Errorf("Load without the user index: %v", err)
		}
		err = nu.AddUserSession(ctx, "ana", storetest.NewID())
		checkMissingIndex(t, "AddUserSession without the user index", err, "nousers", denied, "could not make it")
		t.Logf("AddUserSession without the user index: %v", err)

		for _, tc := range []struct {
			table, cause, object string
		}{
			{"absent", denied, `table "absent"`},
			{"legacy", alterDenied, `column "expiresAt" of table "legacy"`},
		} {
			_, err := sqlstore.Open(ctx, appURL, sqlstore.Options{Table: tc.table, Lifetime: time.Hour})
			if err == nil {
				t.Errorf("Open of table %s as the least-privileged user succeeded", tc.table)
				continue
			}
			t.Logf("table %s: %v", tc.table, err)
			for _, want := range []string{tc.object, tc.cause, "Options.SkipCreate", "sessionctl migrate --print"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Open of table %s: error %q does not say %q", tc.table, err, want)
				}
			}
			if strings.Count(err.Error(), "sqlstore: ") != 1 || !strings.HasPrefix(err.Error(), "sqlstore: ") {
				t.Errorf("Open of table %s: error %q does not start with sqlstore: once", tc.table, err)
			}
			// With SkipCreate nothing is tried: the error says what is
			// missing and how to make it.
			_, err = sqlstore.Open(ctx, appURL, sqlstore.Options{Table: tc.table, SkipCreate: true})
			if !errors.Is(err, sqlstore.ErrSchema) || !strings.Contains(err.Error(), "sessionctl migrate") || strings.Count(err.Error(), "sqlstore: ") != 1 {
				t.Errorf("Open of table %s with SkipCreate: error = %v, want ErrSchema naming sessionctl migrate", tc.table, err)
			}
		}
	})
}

// createSCSTable creates the table of github.com/alexedwards/scs's SQL
// stores, under sqlstore's default name, as their READMEs give it.
func createSCSTable(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
	t.Helper()
	stmts := map[sqlstore.Dialect][]string{
		sqlstore.SQLite: {"CREATE TABLE sessions (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry REAL NOT NULL)",
			"CREATE INDEX sessions_expiry_idx ON sessions(expiry)"},
		sqlstore.Postgres: {"CREATE TABLE sessions (token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL)",
			"CREATE INDEX sessions_expiry_idx ON sessions (expiry)"},
		sqlstore.MySQL: {"CREATE TABLE sessions (token CHAR(43) PRIMARY KEY, data BLOB NOT NULL, expiry TIMESTAMP(6) NOT NULL)",
			"CREATE INDEX sessions_expiry_idx ON sessions (expiry)"},
	}[d]
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// Another library's table under the same name (scs's sessions: token, data,
// expiry) is left alone, and the error says which column is missing, what
// the table has, and how to give sqlstore a table of its own, with the
// package's prefix once.
func TestForeignTable(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		rawURL := b.newURL(t)
		db := appPool(t, b.dialect, rawURL)
		createSCSTable(t, db, b.dialect)
		check := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, sqlstore.ErrSchema) {
				t.Errorf("%s: error = %v, want ErrSchema", what, err)
				return
			}
			t.Logf("%s: %v", what, err)
			for _, want := range []string{`table "sessions" has no column "id"`, "token, data, expiry", "Options.Table", "SESSION_TABLE"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error %q does not say %q", what, err, want)
				}
			}
			if n := strings.Count(err.Error(), "sqlstore: "); n != 1 {
				t.Errorf("%s: error %q says sqlstore: %d times", what, err, n)
			}
		}
		for _, skip := range []bool{false, true} {
			_, err := sqlstore.New(t.Context(), db, b.dialect, sqlstore.Options{SkipCreate: skip, Lifetime: time.Hour})
			check("New", err)
		}
		_, err := session.New(session.Config{Secret: testSecret, Driver: "database", Connection: rawURL})
		check("session.New with the database driver", err)
		if hasColumn(db, b.dialect, "sessions", "expiresAt") || hasColumn(db, b.dialect, "sessions", "lastActivity") {
			t.Error("New changed the other library's table")
		}
	})
}

// The package's errors say "sqlstore: " once, also when one wraps another
// of its errors (a deferred setup's, a connector's).
func TestErrorPrefixOnce(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		err  func() error
	}{
		{"bad table name", func() error { _, err := sqlstore.Schema(sqlstore.SQLite, "a b"); return err }},
		{"unknown dialect", func() error { _, err := sqlstore.SchemaSteps("oracle", "", 0); return err }},
		{"not a URL", func() error {
			_, err := sqlstore.Open(t.Context(), "sessions.db", sqlstore.Options{})
			return err
		}},
		{"missing directory", func() error {
			_, err := sqlstore.Open(t.Context(), "sqlite://"+filepath.Join(dir, "no", "s.db"), sqlstore.Options{})
			return err
		}},
		{"invalid ID", func() error {
			st := openStore(t, "sqlite://"+filepath.Join(dir, "s.db"), sqlstore.Options{})
			return st.Delete(t.Context(), "a/b")
		}},
		{"not ready", func() error {
			st, err := sqlstore.Open(t.Context(), "postgres://u@127.0.0.1:1/x?sslmode=disable&connect_timeout=1", sqlstore.Options{DeferUnreachable: true})
			if err != nil {
				return err
			}
			defer st.Close()
			_, _, _, err = st.Load(t.Context(), storetest.NewID())
			if !errors.Is(err, sqlstore.ErrNotReady) {
				t.Errorf("Load with the database down: %v, want ErrNotReady", err)
			}
			return err
		}},
	} {
		err := tc.err()
		if err == nil || strings.Count(err.Error(), "sqlstore: ") != 1 || !strings.HasPrefix(err.Error(), "sqlstore: ") {
			t.Errorf("%s: error %v, want one starting with sqlstore: once", tc.name, err)
		}
	}
}
