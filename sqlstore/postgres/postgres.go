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
// connect_timeout, connecting gives up after sqlstore.ConnectTimeout. The
// connections of a pool that sqlstore.Open makes read a session with pgx's
// own API (QueryRow), which costs less than its database/sql adapter's
// Rows; code that reaches a connection through sql.Conn.Raw gets a wrapper
// of the adapter's *stdlib.Conn, which its Unwrap method returns.
package postgres

import (
	"context"
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
	return connector{stdlib.GetConnector(*cfg)}, nil
}

// connector makes pgx's connections for database/sql, as conns.
type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		return dc, nil
	}
	return conn{sc}, nil
}

// conn is a connection of pgx's database/sql adapter (every method of which
// it has) that reads sqlstore's Load row with pgx's own QueryRow. Through
// sql.Conn.Raw on a pool from sqlstore.Open, its Unwrap method returns the
// adapter's connection (and that one's Conn method pgx's *pgx.Conn).
type conn struct{ *stdlib.Conn }

// Unwrap returns pgx's database/sql connection.
func (c conn) Unwrap() driver.Conn { return c.Conn }

// LoadRow runs query, sqlstore's Load, with id, and scans its row:
// sqlstore finds it by type assertion on the connection that sql.Conn.Raw
// hands it. It returns driver.ErrSkip, having read nothing, when the row's
// values are not of the types it scans, for database/sql to convert them.
func (c conn) LoadRow(ctx context.Context, query, id string) (payload []byte, expiresAt int64, found bool, err error) {
	err = c.Conn.Conn().QueryRow(ctx, query, id).Scan(&payload, &expiresAt)
	var scanErr pgx.ScanArgError
	switch {
	case err == nil:
		return payload, expiresAt, true, nil
	case errors.Is(err, pgx.ErrNoRows):
		return nil, 0, false, nil
	case errors.As(err, &scanErr):
		return nil, 0, false, driver.ErrSkip
	}
	return nil, 0, false, err
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
