// Package drivers registers every session driver that needs a back end of
// its own, for session.Config.Driver. Import it for its side effects:
//
//	import _ "github.com/sessionkit/session/drivers"
//
// It makes these driver names usable, each opening Config.Connection:
//
//   - "database": an SQL table in SQLite (sqlite://./sessions.db),
//     PostgreSQL (postgres://...) or MySQL/MariaDB (mysql://...); package
//     sqlstore, with the backends of all three dialects (packages
//     sqlstore/sqlite, sqlstore/postgres and sqlstore/mysql, and their
//     drivers).
//   - "redis": Redis (redis://...); package redisstore.
//   - "memcached": memcached (memcached://host:port,...); package
//     memcachedstore.
//   - "mongodb": a MongoDB collection (mongodb://... or mongodb+srv://...);
//     package mongostore.
//
// "file", "memory", "null" and "cookie" are built in and need no import.
// Importing a store package alone registers its driver only, and links
// only its dependencies; for the database driver, import the package of
// the dialect you use (say sqlstore/mysql), and only its SQL driver is
// linked.
package drivers
