// Package sqlite registers sqlstore's SQLite dialect on modernc.org/sqlite,
// a pure-Go SQLite: import it for its side effect, and the "database"
// driver opens sqlite:// URLs, and sqlstore.New takes a pool of
// modernc.org/sqlite (which it registers with database/sql as "sqlite"):
//
//	import _ "github.com/sessionkit/session/sqlstore/sqlite"
//
//	m, err := session.New(session.Config{Secret: secret, Driver: "database", Connection: "sqlite://./sessions.db"})
//
// A program links the SQLite driver only when it imports this package (or
// github.com/sessionkit/session/drivers, which imports every dialect).
//
// A sqlite:// URL names a file, relative to the working directory
// (sqlite://./sessions.db, sqlite://sessions.db) or absolute
// (sqlite:///var/lib/app/sessions.db). Its query parameters go to
// modernc.org/sqlite (e.g. _pragma=cache_size(-20000)); the connector adds
// busy_timeout(5000) (how long another process's writer is waited for),
// journal_mode(WAL) (readers never block on the writer) and
// synchronous(NORMAL) (which WAL makes safe against corruption: a power
// loss can lose the last commits, never tear the database) unless the URL
// sets them.
package sqlite

import (
	"database/sql/driver"
	"errors"
	"net/url"
	"strings"

	"github.com/sessionkit/session/sqlstore"
	modernc "modernc.org/sqlite"
)

func init() {
	sqlstore.RegisterBackend(sqlstore.Backend{
		Dialect: sqlstore.SQLite,
		Schemes: []string{"sqlite"},
		Connect: connect,
		Errors:  classifier{},
	})
}

// defaults are the pragmas every connection gets unless the URL sets them.
var defaults = []struct{ name, value string }{
	{"busy_timeout", "5000"},
	{"journal_mode", "WAL"},
	{"synchronous", "NORMAL"},
}

// connect returns the connector of the file u names.
func connect(u *sqlstore.ConnURL) (driver.Connector, error) {
	return modernc.NewConnector(dsn(u.URL.Path, u.URL.Query()))
}

// dsn returns the modernc.org/sqlite DSN of the file at path with the query
// q, to which it adds the default pragmas that q does not set (as a
// _pragma or one of the driver's short forms).
func dsn(path string, q url.Values) string {
	set := map[string]bool{}
	for _, p := range q["_pragma"] {
		name, _, _ := strings.Cut(p, "(")
		name, _, _ = strings.Cut(name, "=")
		set[strings.ToLower(strings.TrimSpace(name))] = true
	}
	for pragma, shorts := range map[string][]string{
		"busy_timeout": {"_busy_timeout", "_timeout"},
		"journal_mode": {"_journal_mode", "_journal"},
		"synchronous":  {"_synchronous", "_sync"},
	} {
		for _, short := range shorts {
			if q.Has(short) {
				set[pragma] = true
			}
		}
	}
	for _, d := range defaults {
		if !set[d.name] {
			q.Add("_pragma", d.name+"("+d.value+")")
		}
	}
	return path + "?" + q.Encode()
}

// classifier reads modernc.org/sqlite's errors.
type classifier struct{}

// sqliteBusy is SQLite's SQLITE_BUSY, the low byte of its extended codes.
const sqliteBusy = 5

func (classifier) Classify(err error) sqlstore.ErrorKind {
	var se *modernc.Error
	switch {
	case !errors.As(err, &se):
		return sqlstore.KindUnknown
	case se.Code()&0xff == sqliteBusy:
		return sqlstore.KindBusy
	}
	return sqlstore.KindServer
}
