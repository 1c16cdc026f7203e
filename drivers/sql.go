package drivers

// The "database" driver: sessions in an SQL table (see package
// github.com/sessionkit/session/sqlstore), with every dialect's backend
// and driver: SQLite (modernc.org/sqlite), PostgreSQL (pgx) and
// MySQL/MariaDB (go-sql-driver/mysql).
import (
	_ "github.com/sessionkit/session/sqlstore/mysql"
	_ "github.com/sessionkit/session/sqlstore/postgres"
	_ "github.com/sessionkit/session/sqlstore/sqlite"
)
