package sqlstore

import (
	"database/sql/driver"
	"errors"
	"strings"
	"testing"

	"github.com/sessionkit/session"
)

type noErrors struct{}

func (noErrors) Classify(error) ErrorKind { return KindUnknown }

// Without a Backend, Open and New say which package to import; a Backend is
// registered once per dialect and scheme.
func TestRegistry(t *testing.T) {
	var r registry
	for _, tc := range []struct{ scheme, pkg string }{
		{"sqlite", "sqlstore/sqlite"}, {"postgres", "sqlstore/postgres"}, {"postgresql", "sqlstore/postgres"},
		{"mysql", "sqlstore/mysql"}, {"mariadb", "sqlstore/mysql"},
	} {
		_, err := r.forScheme(tc.scheme, strings.ToUpper(tc.scheme))
		if !errors.Is(err, session.ErrConfig) || !strings.Contains(err.Error(), "import github.com/sessionkit/session/"+tc.pkg) ||
			!strings.Contains(err.Error(), "session/drivers") || strings.Count(err.Error(), "sqlstore: ") != 1 {
			t.Errorf("scheme %s without its backend: %v", tc.scheme, err)
		}
	}
	if _, err := r.forScheme("redis", "redis"); !errors.Is(err, session.ErrConfig) || !strings.Contains(err.Error(), `unknown scheme "redis"`) {
		t.Errorf("unknown scheme: %v", err)
	}
	if _, err := r.forDialect(Postgres); !errors.Is(err, session.ErrConfig) || !strings.Contains(err.Error(), "sqlstore/postgres") {
		t.Errorf("dialect without its backend: %v", err)
	}

	connect := func(*ConnURL) (driver.Connector, error) { return nil, nil }
	for _, bad := range []Backend{
		{Dialect: "oracle", Errors: noErrors{}},
		{Dialect: MySQL},
	} {
		if err := r.register(bad); err == nil {
			t.Errorf("register(%+v) succeeded", bad)
		}
	}
	if err := r.register(Backend{Dialect: MySQL, Schemes: []string{"mysql", "MariaDB"}, Connect: connect, Errors: noErrors{}}); err != nil {
		t.Fatal(err)
	}
	if b, err := r.forScheme("mariadb", "MariaDB"); err != nil || b.Dialect != MySQL {
		t.Errorf("forScheme(mariadb) = %v, %v", b, err)
	}
	if _, err := r.forScheme("sqlite", "sqlite"); err == nil || !strings.Contains(err.Error(), "sqlstore/sqlite") {
		t.Errorf("scheme sqlite with only MySQL registered: %v", err)
	}
	for _, dup := range []Backend{
		{Dialect: MySQL, Errors: noErrors{}},
		{Dialect: Postgres, Schemes: []string{"mysql"}, Errors: noErrors{}},
	} {
		if err := r.register(dup); err == nil || !strings.Contains(err.Error(), "twice") {
			t.Errorf("register(%+v) again: %v", dup, err)
		}
	}
	// A Backend for New only: Open refuses its schemes.
	if err := r.register(Backend{Dialect: Postgres, Schemes: []string{"postgres"}, Errors: noErrors{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.forScheme("postgres", "postgres"); !errors.Is(err, session.ErrConfig) || !strings.Contains(err.Error(), "sqlstore.New") {
		t.Errorf("scheme of a backend without Connect: %v", err)
	}
	if _, err := r.forScheme("redis", "redis"); err == nil || !strings.Contains(err.Error(), "want mariadb://, mysql://") {
		t.Errorf("unknown scheme with backends registered: %v", err)
	}
}
