package drivers

// The "database" driver: sessions in an SQL table, in SQLite, PostgreSQL or
// MySQL/MariaDB (see package github.com/sessionkit/session/sqlstore).
import _ "github.com/sessionkit/session/sqlstore"
