// Package drivers registers every session driver that needs a back end of
// its own, for session.Config.Driver. Import it for its side effects:
//
//	import _ "github.com/sessionkit/session/drivers"
//
// It makes these driver names usable, each opening Config.Connection:
//
//   - "database": an SQL table in SQLite (sqlite://./sessions.db),
//     PostgreSQL (postgres://...) or MySQL/MariaDB (mysql://...); package
//     sqlstore.
//   - "redis": Redis (redis://...); package redisstore.
//   - "memcached": memcached (memcached://host:port,...); package
//     memcachedstore.
//   - "mongodb": a MongoDB collection (mongodb://... or mongodb+srv://...);
//     package mongostore.
//
// "file", "memory", "null" and "cookie" are built in and need no import.
// Importing a store package alone (say sqlstore) registers its driver only,
// and links only its dependencies.
package drivers
