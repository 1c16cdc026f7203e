// Package sqlstore is a session store in one SQL table, for SQLite
// (embedded, pure Go), PostgreSQL and MySQL/MariaDB, through database/sql.
//
// A program pays only for the database it uses: sqlstore itself imports no
// SQL driver. Each dialect has a package that imports its driver and
// registers the dialect's Backend (how to connect, what the driver's errors
// mean) and URL schemes, as database/sql drivers register themselves:
//
//	sqlstore/sqlite    modernc.org/sqlite          sqlite://
//	sqlstore/postgres  github.com/jackc/pgx/v5     postgres://, postgresql://
//	sqlstore/mysql     github.com/go-sql-driver/mysql  mysql://, mariadb://
//
// Importing one of them (or github.com/sessionkit/session/drivers, which
// imports all three) registers the "database" driver, which opens
// Config.Connection with Open:
//
//	import _ "github.com/sessionkit/session/sqlstore/sqlite"
//
//	m, err := session.New(session.Config{
//		Secret:     secret,
//		Driver:     "database",
//		Connection: "sqlite://./sessions.db",
//	})
//
// A URL whose dialect has no Backend is an error naming the package to
// import; so is New on such a dialect.
//
// The connection URL forms:
//
//	sqlite://./sessions.db             a file relative to the working directory
//	sqlite:///var/lib/app/sessions.db  an absolute path
//	postgres://user:pass@host:5432/app?sslmode=disable   (postgresql:// too)
//	mysql://user:pass@host:3306/app                      (mariadb:// too)
//
// An empty Connection is an error: there is no default database. The driver
// starts while a PostgreSQL or MySQL database cannot be reached (it sets
// Options.DeferUnreachable), within 2 s (Options.DeferAfter) even when the
// database's address silently drops packets: calls fail with an error
// wrapping ErrNotReady until the database answers, and the first that
// reaches it makes and checks the table; New and Open without that option
// fail at once. A store can also be built in code on a pool the
// application owns (its own TLS settings, its own limits), which the store
// never closes:
//
//	// with _ "github.com/sessionkit/session/sqlstore/postgres" imported
//	st, err := sqlstore.New(ctx, db, sqlstore.Postgres, sqlstore.Options{Lifetime: time.Hour})
//	m, err := session.New(session.Config{Secret: secret, Store: st, Lifetime: time.Hour})
//
// # The table
//
// NodeSession's columns, id (the session ID, primary key), payload (the
// encoded session, text) and lastActivity (the time of the session's last
// write or touch, Unix seconds), and expiresAt: the session's own expiry,
// Unix milliseconds, indexed for sweeps. Every write (Update, Swap, Move)
// and Touch sets both times; Load, the sweeps and List compare expiresAt
// with the current time and nothing else, so every process sharing the
// table (an application, another with a different Lifetime, sessionctl)
// agrees on which sessions are live. Schema returns the DDL, which for the
// table "sessions" is, in SQLite:
//
//	CREATE TABLE IF NOT EXISTS "sessions" (
//		id             TEXT    NOT NULL PRIMARY KEY,
//		payload        TEXT    NOT NULL,
//		lastActivity   INTEGER NOT NULL,
//		expiresAt      INTEGER NOT NULL DEFAULT 0
//	);
//	CREATE INDEX IF NOT EXISTS "sessions_expiresAt" ON "sessions" (expiresAt);
//
// (SQLite's column names are case-insensitive and left unquoted: SQLite
// reads a double-quoted name that matches no column as a string), in
// PostgreSQL (the camel-case names must be quoted, or PostgreSQL folds them
// to lower case):
//
//	CREATE TABLE IF NOT EXISTS "sessions" (
//		"id"           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
//		"payload"      TEXT   NOT NULL,
//		"lastActivity" BIGINT NOT NULL,
//		"expiresAt"    BIGINT NOT NULL DEFAULT 0
//	);
//	CREATE INDEX IF NOT EXISTS "sessions_expiresAt" ON "sessions" ("expiresAt");
//
// and in MySQL and MariaDB (the id column must compare case-sensitively, and
// the table must be InnoDB):
//
//	CREATE TABLE IF NOT EXISTS `sessions` (
//		`id`           VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
//		`payload`      MEDIUMTEXT   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
//		`lastActivity` BIGINT       NOT NULL,
//		`expiresAt`    BIGINT       NOT NULL DEFAULT 0,
//		PRIMARY KEY (`id`),
//		KEY `sessions_expiresAt` (`expiresAt`)
//	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
//
// Beside it, the table <table>_users indexes the sessions of each user
// (see The user index below).
//
// An expiresAt of 0 means that no expiry is recorded: a program that does
// not know the column wrote the row. Such a row does not load, and no sweep
// removes it, until New or sessionctl migrate sets its expiry (see below).
//
// # Making and updating the schema
//
// New first reads the database's catalogs (sqlite_master and
// pragma_table_info, pg_catalog, information_schema) to find out what the
// schema has, and makes only what is missing, the steps of SchemaSteps, in
// order: the table; for a table that exists, the expiresAt column, an index
// starting with it, and the expiry of the rows that have none; last, the
// user index's table (see below, for what happens when it cannot be
// made). When nothing
// is missing it runs no DDL, so a database user allowed SELECT, INSERT,
// UPDATE and DELETE only can use an existing table. Making is idempotent and
// safe when several processes start at once: creators take turns (SQLite's
// write lock, a PostgreSQL advisory lock, a MySQL named lock) and look again
// once it is their turn. Store.SchemaChanges reports what New made. When
// making something fails, New's error gives the server's message and names
// the two ways out: have a user who may change the schema run the
// statements that sessionctl migrate --print prints (SchemaSteps), and set
// Options.SkipCreate, under which New makes nothing and only checks.
//
// A table with NodeSession's layout (id, payload, lastActivity, no
// expiresAt) gets the column with 0 in every row, then each row's expiry
// lastActivity + Options.Lifetime: that must be the Lifetime of the
// application that wrote the rows (the "database" driver passes
// Config.Lifetime; sessionctl migrate takes --lifetime or
// SESSION_LIFETIME). Without a lifetime, New changes nothing on a table with
// rows to fill, and fails with an error wrapping session.ErrConfig that says
// so. Options.Lifetime serves nothing else:
// no process decides a session's expiry from its own configuration. A
// program unaware of the column that updates a row moves its lastActivity
// but not its expiry, so finish a rolling upgrade from such a program within
// one Lifetime.
//
// New checks the table in every case: it names the table and the missing
// or unusable column in its error, which wraps ErrSchema, and for a table
// that lacks id or payload (another program's table of the same name) lists
// the columns it has and suggests Options.Table (Config.Table, or
// SESSION_TABLE, for the driver).
//
// The payload column holds text: the Manager's payloads (JSON, or "sk1."
// and base64url when encrypted) are stored as they are. Other data (not
// UTF-8, or with a NUL byte) is stored as "\x01" and its base64.
//
// IDs are 1 to 128 characters from [A-Za-z0-9_-]; Load reports any other ID
// as not found, and Update, Delete, Touch and Move reject it with an error
// wrapping ErrInvalidID. All values reach the database as bound parameters;
// the table name, the only identifier that comes from the configuration, must
// be a plain identifier. No error contains the connection's password, however
// malformed the URL (see Open).
//
// # The user index
//
// The Store implements session.UserIndex, what Manager.UserSessions,
// Manager.DestroyUserSessions and Session.DestroyOtherSessions need, with a
// second table, <table>_users: one row per session of a user, under the
// primary key (user_id, id), with the time the entry was added (Unix
// seconds). For the table "sessions", in SQLite:
//
//	CREATE TABLE IF NOT EXISTS "sessions_users" (
//		user_id TEXT    NOT NULL,
//		id      TEXT    NOT NULL,
//		added   INTEGER NOT NULL,
//		PRIMARY KEY (user_id, id)
//	) WITHOUT ROWID
//
// in PostgreSQL user_id and id are TEXT COLLATE "C" and added BIGINT, and
// in MySQL and MariaDB user_id is VARBINARY(512), id VARCHAR(128) CHARACTER
// SET ascii COLLATE ascii_bin, added BIGINT, in an InnoDB table. User IDs
// are the application's (any UTF-8 without NUL, up to session.MaxUserIDLen,
// 512 bytes), so user_id compares them byte for byte: SQLite's default
// BINARY collation, PostgreSQL's "C", and in MySQL a binary string, since
// utf8mb4_bin ignores trailing spaces ("ana" and "ana " would be one user).
// The user ID itself is the key, not a hash of it: 512 bytes of user ID
// and 128 of session ID fit every index limit (InnoDB's 767 bytes per
// column and 3072 per key, PostgreSQL's B-tree entries of about 2700
// bytes), so nothing is hashed, no collision needs a check, and each entry
// names its user plainly for an operator. The table's name adds 6
// characters to Options.Table, within PostgreSQL's 63.
//
// AddUserSession is one upsert (INSERT ... ON CONFLICT DO UPDATE; MySQL's
// ON DUPLICATE KEY UPDATE): each entry is a row of its own, so concurrent
// adds for one user all land, and adding an entry again restamps it.
// ListUserSessions is one query through the primary key's prefix, so
// listing a user's sessions costs that query and one Load per session
// (the Manager checks every entry against its record), never a scan of the
// sessions table. RemoveUserSessions deletes by (user_id, id), so another
// user's entries are never touched. The index is a hint that the Manager
// writes before the session is stored as the user's and checks at every
// use; it never makes a session load or live longer.
//
// Sweep also prunes the index, at most once every ten minutes: it walks the
// index in the order of its primary key, in windows of Options.SweepBatch
// entries, each one DELETE of the window's entries older than a minute
// (younger ones may name a Login in flight) whose session has no row or an
// expired one, probed through the sessions' primary key. A pass thus costs
// one index lookup per entry, once per ten minutes, and no statement holds
// locks for long; a pass cut short (the sweep's context ended) goes on at
// the next sweep.
//
// The user index's table is the last step of SchemaSteps, and it is
// optional: when it is missing and New may not make it (Options.SkipCreate,
// or a database user who may not create tables), New still succeeds and
// the Store works for everything but the index, whose calls (and so
// Session.Login) fail with an error wrapping ErrSchema that names the table,
// says why New did not make it, and says to run sessionctl migrate. The
// Store looks for the table again at most every ten seconds, so once it
// exists, a running application uses it without a restart. Sweep skips a
// missing index.
//
// # Cost and atomicity
//
// Load is one query through the primary key that filters expired rows in
// SQL (expiresAt > now), so an expired row is never served, swept or not. A
// read-only request therefore costs that one query (plus, at most once per
// twentieth of the lifetime, Touch: one UPDATE ... WHERE expiresAt > now,
// which never creates or revives a row). A
// writing request costs one more statement, Swap: an UPDATE that replaces the
// payload only if it is still the one the request loaded (a new session: an
// INSERT that overwrites only an expired row). Only when another request
// changed the row meanwhile does it fall back to one transaction (Update):
//
//   - PostgreSQL and MySQL/MariaDB (InnoDB): BEGIN; SELECT ... FOR UPDATE
//     locks the row; fn runs; UPDATE, INSERT or DELETE; COMMIT. When the row
//     is missing there is nothing to lock: two transactions creating the
//     same ID both try to INSERT, the second fails on the primary key and
//     runs again, calling fn again with the winner's record, as the Store
//     contract allows (a deadlock or serialization failure is retried the
//     same way). MySQL transactions run in READ COMMITTED: under its default
//     REPEATABLE READ, SELECT ... FOR UPDATE of a missing row takes a gap
//     lock, and new sessions with unrelated IDs deadlock each other.
//   - SQLite: BEGIN IMMEDIATE takes the database's write lock up front, on a
//     connection of the Store's own, so no other writer, in this process or
//     another, comes between the read and the write; the Store's writers
//     also queue in the process, so they do not poll SQLite's busy handler.
//     Open sets busy_timeout(5000) (how long another process's writer is
//     waited for), journal_mode(WAL) (readers never block on the writer) and
//     synchronous(NORMAL). The Store prepares its SQLite statements once and
//     reuses them (modernc.org/sqlite would compile a statement given as
//     text on every call: more than a third of a point query's time).
//
// Load hands its query to the driver on a connection of the pool
// (sql.Conn.Raw) rather than through database/sql's Rows, which watches the
// context of every query with a goroutine of its own. On a SQLite pool from
// Open, Load's query and the one-row writes of a request (Swap, Touch,
// Delete) are prepared once per connection and run with no context at all
// (modernc.org/sqlite would watch each with one more goroutine; see below):
// measured on 2 cores (BenchmarkLoad), a SQLite Load costs 8 µs of CPU
// where the same prepared query through database/sql with a request's
// context costs 13.5 µs. On an application's SQLite pool (New), and on a
// MySQL pool that prepares statements on the server
// (interpolateParams=false), they go through database/sql.
//
// A row whose expiry has passed is shown to fn as missing and is overwritten
// or deleted, never brought back as found. Move (used by Regenerate) locks
// both rows in one statement, deletes the old row and inserts the new one in
// the same transaction, and fails with ErrExists when the new ID holds a
// live row. Sweep deletes rows with 0 < expiresAt <= now through the index,
// in batches of Options.SweepBatch rows.
//
// Every method takes a context, which bounds the wait for a connection of
// the pool and, on PostgreSQL and MySQL, every statement (their drivers
// watch it), so a slow or unreachable database is bounded by the request's
// deadline. On SQLite, the context bounds the wait for the pool, for the
// Store's writer lock and for the statements of longer calls (sweeps,
// List, the transactions of Update and Move); the point statements above
// run without it, as SQLite could not cut them short anyway: its busy
// handler (waiting for another process's writer) does not heed an
// interrupt, and a point statement is otherwise done in microseconds. A statement that
// is safe to repeat (Load, Delete, Touch, a sweep batch, BEGIN) and fails on a
// connection the server closed under it (a database restart leaves the pool
// full of them) runs again on another, so the first request after the
// database comes back works. A pool from Open goes on setting up a
// connection that a call gave up waiting for, and keeps it for the next
// call, so that traffic recovers after an outage even when a connection
// takes longer to set up than a call may wait.
package sqlstore
