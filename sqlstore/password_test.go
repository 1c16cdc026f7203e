package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/sqlstore"
)

// passwordURLs are connection URLs, well-formed or not, whose password
// holds the marker SECRET wherever a fragment of it could be quoted.
func passwordURLs(t *testing.T) []string {
	maria, err := url.Parse(testserver.MariaDB(t))
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		// Bad escapes (url.Error quotes the whole URL).
		"mysql://u:SECRET%zzSECRET@127.0.0.1/db",
		"mysql://u:SECRET%@127.0.0.1/db",
		"postgres://u:SECRET%zzSECRET@127.0.0.1/db",
		"mariadb://u:SECRET%4@127.0.0.1/db",
		// / ? # @ in the password, as they are.
		"mysql://u:SECRET/SECRET@127.0.0.1/db",
		"mysql://u:12/SECRET@127.0.0.1/db",
		"mysql://u:SECRET?SECRET@127.0.0.1/db",
		"mysql://u:SECRET#SECRET@127.0.0.1/db",
		"mysql://u:SECRET@SECRET@127.0.0.1:1/db",
		"postgres://u:SECRET/SECRET@127.0.0.1/db",
		"postgres://u:12/SECRET@127.0.0.1/db",
		"postgresql://u:SECRET?SECRET@127.0.0.1/db",
		"postgres://u:SECRET#SECRET@127.0.0.1/db",
		"postgres://u:SECRET@SECRET@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		// Missing or broken host, port, database.
		"mysql://u:SECRET@127.0.0.1:notaport/db",
		"mysql://u:SECRET@127.0.0.1/",
		"mysql://u:SECRET@127.0.0.1",
		"mysql://u:SECRET@[::1/db",
		"postgres://u:SECRET@127.0.0.1:notaport/db",
		"postgres://u:SECRET@[::1/db",
		"mysql://u:SECRET@:1/db",
		// Bad parameters.
		"mysql://u:SECRET@127.0.0.1/db?timeout=forever",
		"mysql://u:SECRET@127.0.0.1/db?tls=nosuchconfig",
		"mysql://u:SECRET@127.0.0.1/db?a=%zz",
		"postgres://u:SECRET@127.0.0.1/db?sslmode=bogus",
		"postgres://u@127.0.0.1/db?password=SECRET&sslmode=bogus",
		"postgres://u@127.0.0.1/db?password=SECRET%zz",
		"postgres://u@127.0.0.1/db?sslpassword=SECRET&sslmode=verify-full&sslkey=/nonexistent",
		// Unreachable servers and a refused password.
		"mysql://u:SECRET@127.0.0.1:1/db",
		"postgres://u:SECRET@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		fmt.Sprintf("mysql://root:SECRET@%s%s", maria.Host, maria.Path),
		// Unknown schemes, other forms.
		"redis://u:SECRET@127.0.0.1/0",
		"MySQL://u:SECRET/@127.0.0.1/db",
		"host=127.0.0.1 user=u password=SECRET dbname=db",
		"user:SECRET@tcp(127.0.0.1:3306)/db",
		"sqlite://u:SECRET@host/s.db",
		"sqlite://SECRET%zz.db",
		"sqlite://./s.db?_pragma=%zzSECRET",
	}
}

// No error of Open, the "database" driver or session.New, nor anything
// they log, contains the connection's password, however malformed the URL
// (issue 13, Low 4).
func TestPasswordNeverInErrors(t *testing.T) {
	started := 0 // Managers started with the database unreachable
	for _, raw := range passwordURLs(t) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		_, err := sqlstore.Open(ctx, raw, sqlstore.Options{})
		cancel()
		if err == nil {
			t.Errorf("Open(%q) succeeded", raw)
			continue
		}
		t.Logf("%s\n\t%v", raw, err)
		if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "%zz") {
			t.Errorf("Open(%q): error shows the password: %v", raw, err)
		}
		if !strings.HasPrefix(err.Error(), "sqlstore: ") || strings.Count(err.Error(), "sqlstore: ") != 1 {
			t.Errorf("Open(%q): error %q does not start with sqlstore: once", raw, err)
		}

		var logs bytes.Buffer
		m, err := session.New(session.Config{
			Secret: testSecret, Driver: "database", Connection: raw, StoreTimeout: 5 * time.Second,
			Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		})
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("session.New with Connection %q: error shows the password: %v", raw, err)
		}
		if err == nil {
			// The driver started with the database unreachable: a request
			// fails, and the Manager logs why.
			resp := request(handler(m, func(s *session.Session) { s.Put("k", "v") }), nil)
			if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(logs.String(), "not ready") {
				t.Errorf("session.New with Connection %q: a request got %d and logged %q, want a 500 and the store's error", raw, resp.StatusCode, logs.String())
			}
			m.Close()
			started++
		}
		if strings.Contains(logs.String(), "SECRET") {
			t.Errorf("session.New with Connection %q logged the password:\n%s", raw, logs.String())
		}
	}
	if started == 0 {
		t.Error("no URL reached a request through the Manager")
	}
}
