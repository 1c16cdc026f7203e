// Package mysql registers sqlstore's MySQL dialect, for MySQL 8 and MariaDB
// 10.5 and later, on go-sql-driver/mysql: import it for its side effect,
// and the "database" driver opens mysql:// and mariadb:// URLs, and
// sqlstore.New takes a pool of go-sql-driver/mysql (which it registers with
// database/sql as "mysql"):
//
//	import _ "github.com/sessionkit/session/sqlstore/mysql"
//
//	m, err := session.New(session.Config{Secret: secret, Driver: "database",
//		Connection: "mysql://app:pass@127.0.0.1:3306/app"})
//
// A program links go-sql-driver/mysql only when it imports this package (or
// github.com/sessionkit/session/drivers, which imports every dialect).
//
// A URL becomes a go-sql-driver/mysql configuration: user, password, host
// (port 3306 when omitted) and database from the URL, and every query
// parameter as that driver's DSN parameter (tls=true, charset, ...);
// interpolateParams=true is added unless the URL sets it (it saves a round
// trip per statement), and timeout=sqlstore.ConnectTimeout unless the URL
// sets timeout. The timeout bounds the whole setup of a connection, the
// server's handshake included (go-sql-driver/mysql's own covers the TCP
// dial only).
package mysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/sessionkit/session/sqlstore"
)

func init() {
	sqlstore.RegisterBackend(sqlstore.Backend{
		Dialect: sqlstore.MySQL,
		Schemes: []string{"mysql", "mariadb"},
		Connect: connect,
		Errors:  classifier{},
	})
}

// connect returns go-sql-driver/mysql's connector for the URL.
func connect(u *sqlstore.ConnURL) (driver.Connector, error) {
	cfg, err := config(u)
	if err != nil {
		return nil, err
	}
	c, err := gomysql.NewConnector(cfg)
	if err != nil || cfg.Timeout <= 0 {
		return c, err
	}
	return timeoutConnector{c, cfg.Timeout}, nil
}

// timeoutConnector gives up setting up a connection, handshake included,
// after timeout: go-sql-driver/mysql applies its timeout to the TCP dial
// only, so that a server that accepts and never answers (a stalled
// server, a proxy whose backend is gone) would hold the setup until the
// caller's context ends.
type timeoutConnector struct {
	driver.Connector
	timeout time.Duration
}

func (c timeoutConnector) Connect(ctx context.Context) (driver.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.Connector.Connect(ctx)
}

// config turns a mysql:// URL into a go-sql-driver/mysql Config.
func config(u *sqlstore.ConnURL) (*gomysql.Config, error) {
	// The query parameters are the driver's DSN parameters: let it parse
	// (and check) them.
	cfg, err := gomysql.ParseDSN("/?" + u.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	if u.URL.User != nil {
		cfg.User = u.URL.User.Username()
		cfg.Passwd, _ = u.URL.User.Password()
	}
	host, port := u.URL.Hostname(), u.URL.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "3306"
	}
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	cfg.DBName = strings.TrimPrefix(u.URL.Path, "/")
	if cfg.DBName == "" || strings.Contains(cfg.DBName, "/") {
		return nil, errors.New("the path does not name a database (want mysql://user:pass@host:3306/dbname)")
	}
	q := u.URL.Query()
	if !q.Has("interpolateParams") {
		cfg.InterpolateParams = true
	}
	if !q.Has("timeout") {
		cfg.Timeout = sqlstore.ConnectTimeout
	}
	return cfg, nil
}

// classifier reads go-sql-driver/mysql's errors by their error numbers.
type classifier struct{}

func (classifier) Classify(err error) sqlstore.ErrorKind {
	var me *gomysql.MySQLError
	switch {
	case errors.As(err, &me):
		switch me.Number {
		case 1062: // ER_DUP_ENTRY: a concurrent creator inserted the row first
			return sqlstore.KindConflict
		case 1213: // ER_LOCK_DEADLOCK: gap locks of two creators
			return sqlstore.KindRolledBack
		case 1040, // ER_CON_COUNT_ERROR: too many connections
			1053, // ER_SERVER_SHUTDOWN
			1203: // ER_TOO_MANY_USER_CONNECTIONS
			return sqlstore.KindUnavailable
		}
		return sqlstore.KindServer
	case errors.Is(err, gomysql.ErrInvalidConn):
		return sqlstore.KindBrokenConn
	}
	return sqlstore.KindUnknown
}
