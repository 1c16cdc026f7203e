// Package postgres registers sqlstore's PostgreSQL dialect on pgx
// (github.com/jackc/pgx/v5, through its database/sql adapter): import it
// for its side effect, and the "database" driver opens postgres:// and
// postgresql:// URLs, and sqlstore.New takes a pool of pgx's adapter (which
// it registers with database/sql as "pgx"):
//
//	import _ "github.com/sessionkit/session/sqlstore/postgres"
//
//	m, err := session.New(session.Config{Secret: secret, Driver: "database",
//		Connection: "postgres://app:pass@127.0.0.1:5432/app?sslmode=disable"})
//
// A program links pgx only when it imports this package (or
// github.com/sessionkit/session/drivers, which imports every dialect).
//
// A URL goes to pgx unchanged (every libpq parameter it knows); without
// connect_timeout, connecting gives up after sqlstore.ConnectTimeout.
package postgres

import (
	"database/sql/driver"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/sessionkit/session/sqlstore"
)

func init() {
	sqlstore.RegisterBackend(sqlstore.Backend{
		Dialect: sqlstore.Postgres,
		Schemes: []string{"postgres", "postgresql"},
		Connect: connect,
		Errors:  classifier{},
	})
}

// connect returns pgx's connector for the URL.
func connect(u *sqlstore.ConnURL) (driver.Connector, error) {
	cfg, err := pgx.ParseConfig(u.Scheme + "://" + u.Rest)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = sqlstore.ConnectTimeout
	}
	return stdlib.GetConnector(*cfg), nil
}

// classifier reads pgx's errors by their SQLSTATE.
type classifier struct{}

func (classifier) Classify(err error) sqlstore.ErrorKind {
	var (
		pe *pgconn.PgError
		ce *pgconn.ConnectError
	)
	switch {
	case errors.As(err, &pe):
		switch pe.Code {
		case "23505": // unique_violation: a concurrent creator inserted the row first
			return sqlstore.KindConflict
		case "40001", // serialization_failure
			"40P01": // deadlock_detected
			return sqlstore.KindRolledBack
		case "57P01", // admin_shutdown
			"57P02", // crash_shutdown
			"57P03", // cannot_connect_now: starting up
			"53300": // too_many_connections
			return sqlstore.KindUnavailable
		}
		if strings.HasPrefix(pe.Code, "08") { // connection_exception
			return sqlstore.KindUnavailable
		}
		return sqlstore.KindServer
	case errors.As(err, &ce):
		return sqlstore.KindConnect
	}
	return sqlstore.KindUnknown
}
