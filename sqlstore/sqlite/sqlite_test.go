package sqlite

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionkit/session/sqlstore"
)

// The DSN keeps the file's path and the URL's query, and adds the default
// pragmas the URL does not set.
func TestDSN(t *testing.T) {
	for _, path := range []string{"./sessions.db", "sessions.db", "/var/lib/my app/s.db"} {
		d := dsn(path, url.Values{})
		p, query, _ := strings.Cut(d, "?")
		if p != path {
			t.Errorf("DSN %q: path %q, want %q", d, p, path)
		}
		for _, want := range []string{"busy_timeout%285000%29", "journal_mode%28WAL%29", "synchronous%28NORMAL%29"} {
			if !strings.Contains(query, want) {
				t.Errorf("DSN %q lacks %s", d, want)
			}
		}
	}
	// The URL's own settings win over the defaults, and other parameters pass.
	q, _ := url.ParseQuery("_pragma=busy_timeout(100)&_journal_mode=DELETE&_pragma=cache_size(-2000)")
	d := dsn("./s.db", q)
	if strings.Contains(d, "5000") || strings.Contains(d, "WAL") || !strings.Contains(d, "busy_timeout%28100%29") ||
		!strings.Contains(d, "cache_size") || !strings.Contains(d, "synchronous") {
		t.Errorf("DSN %q: the URL's settings should replace the defaults and keep the rest", d)
	}
}

// Through sqlstore.Open: the file is made with the pragmas set, and
// SQLITE_BUSY is classified as such.
func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := sqlstore.Open(t.Context(), "sqlite://"+path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mode string
	if err := st.DB().QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	// Another connection holding the write lock, with no busy timeout:
	// the driver's SQLITE_BUSY.
	other, err := sqlstore.Open(t.Context(), "sqlite://"+path+"?_pragma=busy_timeout(0)", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := st.DB().Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(t.Context(), "ROLLBACK")
	_, err = other.DB().Exec("DELETE FROM sessions")
	if k := (classifier{}).Classify(fmt.Errorf("wrapped: %w", err)); err == nil || k != sqlstore.KindBusy {
		t.Errorf("a write while another connection holds the lock: %v, kind %d, want KindBusy", err, k)
	}
	if k := (classifier{}).Classify(errors.New("no driver error")); k != sqlstore.KindUnknown {
		t.Errorf("kind of another error = %d, want KindUnknown", k)
	}
}
