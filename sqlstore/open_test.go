package sqlstore_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// A sqlite:// URL names a file, relative or absolute, percent-decoded;
// one with a user, no path or a database in memory is refused, without
// quoting a password. (The DSN the sqlite package makes of it is tested
// there.)
func TestSQLiteURL(t *testing.T) {
	for _, tc := range []struct{ in, path, query string }{
		{"./sessions.db", "./sessions.db", ""},
		{"sessions.db", "sessions.db", ""},
		{"../data/sessions.db", "../data/sessions.db", ""},
		{"/var/lib/app/sessions.db", "/var/lib/app/sessions.db", ""},
		{"/var/lib/my%20app/s.db", "/var/lib/my app/s.db", ""},
		{"./s.db?_pragma=busy_timeout(100)", "./s.db", "_pragma=busy_timeout(100)"},
	} {
		u, err := sqlstore.SQLiteURL(tc.in)
		if err != nil {
			t.Errorf("sqlite://%s: %v", tc.in, err)
			continue
		}
		if u.Path != tc.path || u.RawQuery != tc.query {
			t.Errorf("sqlite://%s: path %q, query %q; want %q, %q", tc.in, u.Path, u.RawQuery, tc.path, tc.query)
		}
	}
	for _, bad := range []string{"", "/", ":memory:", "file::memory:?cache=shared", "user:secret@host/s.db", "./s.db?a=%zz", "./s%zz.db"} {
		_, err := sqlstore.SQLiteURL(bad)
		if !errors.Is(err, session.ErrConfig) || strings.Contains(fmt.Sprint(err), "secret") {
			t.Errorf("sqlite://%s: error = %v, want ErrConfig", bad, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	for _, bad := range []string{
		"", "sessions.db", "redis://127.0.0.1:6379/0", "sqlite://", "postgres://u:secret@h:notaport/db",
		"mysql://u:secret@h:3306",
	} {
		_, err := sqlstore.Open(t.Context(), bad, sqlstore.Options{})
		switch {
		case !errors.Is(err, session.ErrConfig):
			t.Errorf("Open(%q): error = %v, want ErrConfig", bad, err)
		case !strings.HasPrefix(err.Error(), "sqlstore: "):
			t.Errorf("Open(%q): error %q lacks the prefix", bad, err)
		case strings.Contains(err.Error(), "secret"):
			t.Errorf("Open(%q): error %q shows the password", bad, err)
		}
	}
	dir := t.TempDir()
	for _, opts := range []sqlstore.Options{{Table: "x; DROP TABLE y"}, {Table: "a.b"}, {Lifetime: -time.Second}} {
		if _, err := sqlstore.Open(t.Context(), "sqlite://"+filepath.Join(dir, "s.db"), opts); !errors.Is(err, session.ErrConfig) {
			t.Errorf("Open with %+v: error = %v, want ErrConfig", opts, err)
		}
	}
	// A directory that does not exist: a clear error, no panic.
	if _, err := sqlstore.Open(t.Context(), "sqlite://"+filepath.Join(dir, "no", "such", "s.db"), sqlstore.Options{}); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

// sqlite://./x.db is relative to the working directory.
func TestOpenSQLiteRelative(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	st := openStore(t, "sqlite://./rel.db", sqlstore.Options{})
	if err := st.Update(t.Context(), storetest.NewID(), func([]byte, bool) ([]byte, time.Time, error) {
		return []byte("x"), time.Now().Add(time.Hour), nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "rel.db")); err != nil {
		t.Errorf("sqlite://./rel.db did not create rel.db in the working directory: %v", err)
	}
	var mode string
	if err := st.DB().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
}

// Driver "database" is registered; the Manager opens the store from
// Connection, uses Table, and closes the pool it opened.
func TestDriver(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		rawURL := b.newURL(t)
		m := storetest.NewManager(t, nil, session.Config{
			Driver: "database", Connection: rawURL, Table: "web_sessions", Lifetime: time.Hour,
		})
		st, ok := m.Store().(*sqlstore.Store)
		if !ok {
			t.Fatalf("Store is %T, want *sqlstore.Store", m.Store())
		}
		if st.Table() != "web_sessions" || st.Dialect() != b.dialect {
			t.Errorf("store on table %s, dialect %s", st.Table(), st.Dialect())
		}
		cookie := sessionCookie(t, request(handler(m, func(s *session.Session) { s.Put("a", 1) }), nil))
		var got any
		if resp := request(handler(m, func(s *session.Session) { got = s.Get("a") }), cookie); resp.StatusCode != http.StatusOK || got != 1 {
			t.Errorf("second request: status %d, a = %v", resp.StatusCode, got)
		}
		// lastActivity is the time of the last write, about now; expiresAt
		// the expiry the Manager gave, Lifetime later.
		var la, ex int64
		if err := st.DB().QueryRow("SELECT "+quoteCol(b.dialect, "lastActivity")+", "+quoteCol(b.dialect, "expiresAt")+" FROM web_sessions").Scan(&la, &ex); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(time.Unix(la, 0)); d < 0 || d > 5*time.Second {
			t.Errorf("lastActivity is %v ago, want about now", d)
		}
		if d := time.Until(time.UnixMilli(ex)); d < time.Hour-5*time.Second || d > time.Hour {
			t.Errorf("expiresAt is in %v, want about an hour", d)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := st.DB().Ping(); err == nil {
			t.Error("the pool the driver opened is still open after Manager.Close")
		}
	})
}

func TestDriverErrors(t *testing.T) {
	_, err := session.New(session.Config{Secret: testSecret, Driver: "database"})
	if !errors.Is(err, session.ErrConfig) || !strings.Contains(err.Error(), "Connection") {
		t.Errorf("driver database without Connection: error = %v, want ErrConfig naming Connection", err)
	}
	_, err = session.New(session.Config{Secret: testSecret, Driver: "database", Connection: "sqlite://" + filepath.Join(t.TempDir(), "s.db"), Table: "no-dashes"})
	if !errors.Is(err, session.ErrConfig) {
		t.Errorf("driver database with a bad Table: error = %v, want ErrConfig", err)
	}
}

// A Store from New leaves the application's pool open, through Store.Close
// and Manager.Close.
func TestAppPoolNotClosed(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := appPool(t, b.dialect, b.newURL(t))
		st, err := sqlstore.New(t.Context(), db, b.dialect, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := storetest.NewManager(t, st, session.Config{})
		request(handler(m, func(s *session.Session) { s.Put("a", 1) }), nil)
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(); err != nil {
			t.Errorf("the application's pool was closed: %v", err)
		}
		if st.DB() != db {
			t.Error("DB() is not the application's pool")
		}
	})
}
