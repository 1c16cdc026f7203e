package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/sessionid"
)

// Column names: id, payload and lastActivity are NodeSession's, expiresAt
// is sqlstore's. In PostgreSQL the camel-case names are quoted, so their
// capitals survive.
const (
	colID           = "id"
	colPayload      = "payload"
	colLastActivity = "lastActivity"
	colExpiresAt    = "expiresAt"
)

// quote returns the identifier name (a table or an index) quoted for dialect
// d. Names reaching it are plain identifiers (checked by
// Options.withDefaults), so no escaping is needed.
func quote(d Dialect, name string) string {
	if d == MySQL {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

// quoteCol returns the column name quoted for dialect d. SQLite's are left
// bare: SQLite takes a double-quoted name that matches no column for a
// string literal, which would hide a missing column, and its names are
// case-insensitive anyway.
func quoteCol(d Dialect, name string) string {
	if d == SQLite {
		return name
	}
	return quote(d, name)
}

// expiryIndex is the name of the index on expiresAt.
func expiryIndex(table string) string { return table + "_" + colExpiresAt }

// Columns of the user index's table (see users.go).
const (
	colUserID = "user_id"
	colAdded  = "added"
)

// usersTable is the name of the table that indexes the sessions of each
// user, beside table.
func usersTable(table string) string { return table + "_users" }

// newUsersTable returns the statement that creates the user index's table of
// table for dialect d. Its primary key is (user_id, id): an entry is one
// session of one user, so concurrent adds for a user are inserts of
// different rows, and adding an entry again meets the key.
func newUsersTable(d Dialect, table string) string {
	t, uid, id, added := quote(d, usersTable(table)), quoteCol(d, colUserID), quoteCol(d, colID), quoteCol(d, colAdded)
	switch d {
	case SQLite:
		// TEXT compares byte by byte (the BINARY collation).
		return "CREATE TABLE IF NOT EXISTS " + t + " (\n" +
			"\t" + uid + " TEXT    NOT NULL,\n" +
			"\t" + id + "      TEXT    NOT NULL,\n" +
			"\t" + added + "   INTEGER NOT NULL,\n" +
			"\tPRIMARY KEY (" + uid + ", " + id + ")\n" +
			") WITHOUT ROWID"
	case Postgres:
		return "CREATE TABLE IF NOT EXISTS " + t + " (\n" +
			"\t" + uid + ` TEXT COLLATE "C" NOT NULL,` + "\n" +
			"\t" + id + `      TEXT COLLATE "C" NOT NULL,` + "\n" +
			"\t" + added + "   BIGINT NOT NULL,\n" +
			"\tPRIMARY KEY (" + uid + ", " + id + ")\n" +
			")"
	default: // MySQL
		// VARBINARY compares bytes, trailing spaces included (utf8mb4_bin
		// is a PAD SPACE collation: "a" and "a " would be one user).
		return "CREATE TABLE IF NOT EXISTS " + t + " (\n" +
			"\t" + uid + " VARBINARY(" + strconv.Itoa(session.MaxUserIDLen) + ") NOT NULL,\n" +
			"\t" + id + "      VARCHAR(" + strconv.Itoa(sessionid.MaxLen) + ") CHARACTER SET ascii COLLATE ascii_bin NOT NULL,\n" +
			"\t" + added + "   BIGINT NOT NULL,\n" +
			"\tPRIMARY KEY (" + uid + ", " + id + ")\n" +
			") ENGINE=InnoDB"
	}
}

// columnDefs returns the column definitions of a new table for dialect d,
// in order: name (quoted) and type.
func columnDefs(d Dialect) [][2]string {
	col := func(name string) string { return quoteCol(d, name) }
	switch d {
	case SQLite:
		return [][2]string{
			{col(colID), "TEXT    NOT NULL PRIMARY KEY"},
			{col(colPayload), "TEXT    NOT NULL"},
			{col(colLastActivity), "INTEGER NOT NULL"},
			{col(colExpiresAt), "INTEGER NOT NULL DEFAULT 0"},
		}
	case Postgres:
		return [][2]string{
			{col(colID), `TEXT COLLATE "C" NOT NULL PRIMARY KEY`},
			{col(colPayload), "TEXT   NOT NULL"},
			{col(colLastActivity), "BIGINT NOT NULL"},
			{col(colExpiresAt), "BIGINT NOT NULL DEFAULT 0"},
		}
	default: // MySQL
		return [][2]string{
			{col(colID), "VARCHAR(" + strconv.Itoa(sessionid.MaxLen) + ") CHARACTER SET ascii COLLATE ascii_bin NOT NULL"},
			{col(colPayload), "MEDIUMTEXT   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"},
			{col(colLastActivity), "BIGINT       NOT NULL"},
			{col(colExpiresAt), "BIGINT       NOT NULL DEFAULT 0"},
		}
	}
}

// columnType returns the type of column name in a new table of dialect d,
// on one line (for ALTER TABLE).
func columnType(d Dialect, name string) string {
	for _, c := range columnDefs(d) {
		if c[0] == quoteCol(d, name) {
			return strings.Join(strings.Fields(c[1]), " ")
		}
	}
	panic("sqlstore: no column " + name)
}

// Schema returns the statements that create table (empty: "sessions") for
// dialect, with its columns and the index on expiresAt, and the table
// <table>_users that indexes each user's sessions, in order. Each is
// idempotent (IF NOT EXISTS); for MySQL the index is part of the CREATE
// TABLE. SchemaSteps also gives the statements that bring an existing table
// up to date.
func Schema(dialect Dialect, table string) ([]string, error) {
	if !dialect.valid() {
		return nil, errorf("%w: unknown dialect %q", session.ErrConfig, dialect)
	}
	opts, err := Options{Table: table}.withDefaults()
	if err != nil {
		return nil, err
	}
	return append(newTable(dialect, opts.Table), newUsersTable(dialect, opts.Table)), nil
}

// newTable returns the statements of Schema for a valid dialect and table.
func newTable(d Dialect, table string) []string {
	t := quote(d, table)
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + t + " (\n")
	for i, c := range columnDefs(d) {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "\t%-14s %s", c[0], c[1])
	}
	if d == MySQL {
		b.WriteString(",\n\tPRIMARY KEY (" + quoteCol(d, colID) + "),\n\tKEY " + quote(d, expiryIndex(table)) + " (" + quoteCol(d, colExpiresAt) + ")\n" +
			") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
		return []string{b.String()}
	}
	b.WriteString("\n)")
	return []string{b.String(), createExpiryIndex(d, table)}
}

func createExpiryIndex(d Dialect, table string) string {
	ifNotExists := " IF NOT EXISTS" // MySQL 8 has none; its creator checks the catalog first
	if d == MySQL {
		ifNotExists = ""
	}
	return "CREATE INDEX" + ifNotExists + " " + quote(d, expiryIndex(table)) + " ON " + quote(d, table) + " (" + quoteCol(d, colExpiresAt) + ")"
}

// fillExpiry returns the statement that gives the rows without an expiry
// (expiresAt = 0) the expiry lastActivity + lifetime.
func fillExpiry(d Dialect, table string, lifetime time.Duration) string {
	ex, la := quoteCol(d, colExpiresAt), quoteCol(d, colLastActivity)
	return "UPDATE " + quote(d, table) + " SET " + ex + " = " + la + " * 1000 + " + strconv.FormatInt(lifetime.Milliseconds(), 10) +
		" WHERE " + ex + " = 0"
}

// A SchemaStep is one object of a Store's table (the table itself, a column,
// an index, the expiry of rows written without one) with the statements
// that make it.
type SchemaStep struct {
	// Object names the object, e.g. `column "expiresAt" of table "sessions"`.
	Object string
	// When says when the step is needed, e.g. "when the table lacks it".
	When string
	// SQL holds the statements that make the object, in order; run them
	// only when it is missing. Empty when the step cannot be written
	// without a lifetime (see SchemaSteps).
	SQL []string
}

// SchemaSteps returns the steps that New takes, in order, to bring table
// (empty: "sessions") up to date for dialect: unless Options.SkipCreate is
// set, New finds out from the database's catalogs which objects are
// missing and runs the statements of those steps only. The first step
// creates the whole table (Schema's statements); the others bring a table
// that exists up to date: one with NodeSession's layout (id, payload,
// lastActivity) gets the expiresAt column, its index, and the expiry of its
// rows, lastActivity + lifetime, which should be the Lifetime of the
// application that wrote them (with lifetime 0 that step has no SQL). The
// last step creates the table <table>_users, the index of each user's
// sessions (session.UserIndex).
func SchemaSteps(dialect Dialect, table string, lifetime time.Duration) ([]SchemaStep, error) {
	if !dialect.valid() {
		return nil, errorf("%w: unknown dialect %q", session.ErrConfig, dialect)
	}
	if lifetime < 0 {
		return nil, errorf("%w: lifetime %v is negative", session.ErrConfig, lifetime)
	}
	opts, err := Options{Table: table}.withDefaults()
	if err != nil {
		return nil, err
	}
	var out []SchemaStep
	for _, st := range steps {
		if st.make == nil {
			continue // a check
		}
		var stmts []string
		if !st.usesLifetime || lifetime > 0 {
			stmts = st.make(dialect, opts.Table, lifetime)
		}
		out = append(out, SchemaStep{Object: st.object(opts.Table), When: st.when, SQL: stmts})
	}
	return out, nil
}

// ---- the steps -------------------------------------------------------------

// A step is one object of the schema. setup takes the steps in order: each
// finds out from the catalogs whether its object is there and, unless it is,
// makes it (or, under Options.SkipCreate, fails when the Store cannot work
// without it). Adding an object to the schema is adding a step.
type step struct {
	// object names the object in messages, for table.
	object func(table string) string
	// when says when the step is needed (SchemaStep.When).
	when string
	// required: the Store cannot work without the object. Without the
	// others, only a sweep is slower, or rows wait for their expiry, or
	// (optional) the user index fails.
	required bool
	// optional: the Store works without the object but for the user index,
	// whose calls then fail with an error saying what is missing. setup
	// takes these steps after the others, each on its own; failing to make
	// one (a database user who may not create tables) does not fail New.
	optional bool
	// usesLifetime: make needs a positive lifetime.
	usesLifetime bool
	// present reports whether the object is there. An object that is there
	// but unusable is an error wrapping ErrSchema.
	present func(ctx context.Context, s *Store, q querier) (bool, error)
	// make returns the statements that make the object; nil for a step
	// that only checks (its present never reports false).
	make func(d Dialect, table string, lifetime time.Duration) []string
	// done says what make did, for Store.SchemaChanges; n is the number of
	// rows its last statement changed.
	done func(table string, lifetime time.Duration, n int64) string
	// missing explains, for an error under Options.SkipCreate, what lacks
	// and how to add it.
	missing func(table string) string
}

// steps are the objects of the schema, in the order setup takes them.
var steps = []step{
	{
		object:   func(t string) string { return fmt.Sprintf("table %q", t) },
		when:     "when it does not exist (with the column and the index that steps 2 and 3 add to an older table)",
		required: true,
		present:  func(ctx context.Context, s *Store, q querier) (bool, error) { return s.tableExists(ctx, q) },
		make:     func(d Dialect, t string, _ time.Duration) []string { return newTable(d, t) },
		done:     func(t string, _ time.Duration, _ int64) string { return fmt.Sprintf("created table %q", t) },
		missing: func(t string) string {
			return fmt.Sprintf("table %q does not exist", t)
		},
	},
	{
		// Before changing a table that exists, make sure it is a session
		// table of this layout, not another program's.
		object:   func(t string) string { return fmt.Sprintf("columns id, payload and lastActivity of table %q", t) },
		required: true,
		present: func(ctx context.Context, s *Store, q querier) (bool, error) {
			return true, s.checkColumns(ctx, q, colID, colPayload, colLastActivity)
		},
	},
	{
		object:   func(t string) string { return fmt.Sprintf("column %q of table %q", colExpiresAt, t) },
		when:     "when the table lacks it",
		required: true,
		present: func(ctx context.Context, s *Store, q querier) (bool, error) {
			cols, err := s.columns(ctx, q)
			return s.findColumn(cols, colExpiresAt) != nil, err
		},
		make: func(d Dialect, t string, _ time.Duration) []string {
			return []string{"ALTER TABLE " + quote(d, t) + " ADD COLUMN " + quoteCol(d, colExpiresAt) + " " + columnType(d, colExpiresAt)}
		},
		done: func(t string, _ time.Duration, _ int64) string {
			return fmt.Sprintf("added column %q to table %q", colExpiresAt, t)
		},
		missing: func(t string) string {
			return fmt.Sprintf("table %q has no column %q, which holds each session's expiry (NodeSession's layout lacks it): "+
				"run \"sessionctl migrate --lifetime <the application's Lifetime>\", which adds it and fills it from lastActivity", t, colExpiresAt)
		},
	},
	{
		object:  func(t string) string { return fmt.Sprintf("index %q on column %q", expiryIndex(t), colExpiresAt) },
		when:    "when the table has no index starting with that column",
		present: func(ctx context.Context, s *Store, q querier) (bool, error) { return s.indexOn(ctx, q, colExpiresAt) },
		make:    func(d Dialect, t string, _ time.Duration) []string { return []string{createExpiryIndex(d, t)} },
		done: func(t string, _ time.Duration, _ int64) string {
			return fmt.Sprintf("created index %q on column %q", expiryIndex(t), colExpiresAt)
		},
	},
	{
		// Rows that a program unaware of expiresAt wrote (expiresAt 0): a
		// table being migrated, or an earlier sessionkit still running.
		object: func(t string) string {
			return fmt.Sprintf("expiry of the rows of table %q that have none", t)
		},
		when:         "when some rows have expiresAt = 0",
		usesLifetime: true,
		present: func(ctx context.Context, s *Store, q querier) (bool, error) {
			some, err := s.rowsWithoutExpiry(ctx, q)
			return !some, err
		},
		make: func(d Dialect, t string, lifetime time.Duration) []string {
			return []string{fillExpiry(d, t, lifetime)}
		},
		done: func(t string, lifetime time.Duration, n int64) string {
			return fmt.Sprintf("set the expiry of %d rows of table %q to lastActivity + %v", n, t, lifetime)
		},
		missing: func(t string) string {
			return fmt.Sprintf("table %q has rows without an expiry (expiresAt = 0, or no expiresAt column yet)", t)
		},
	},
	{
		object: func(t string) string {
			return fmt.Sprintf("table %q, the index of each user's sessions", usersTable(t))
		},
		when:     "when it does not exist",
		optional: true,
		present:  func(ctx context.Context, s *Store, q querier) (bool, error) { return s.usersTableUsable(ctx, q) },
		make:     func(d Dialect, t string, _ time.Duration) []string { return []string{newUsersTable(d, t)} },
		done:     func(t string, _ time.Duration, _ int64) string { return fmt.Sprintf("created table %q", usersTable(t)) },
		missing: func(t string) string {
			return fmt.Sprintf("table %q, the index of each user's sessions, does not exist", usersTable(t))
		},
	},
}

// ---- running the steps -------------------------------------------------------

// migrate takes the steps: it checks what is there, and makes what is
// missing (unless Options.SkipCreate is set) under a lock that concurrent
// creators take in turn, checking again once it holds it. It returns what it
// changed. An error names the object that was to be made. The optional
// steps come last, each on its own (makeOptional).
func (s *Store) migrate(ctx context.Context) ([]string, error) {
	// On the usual start everything is there: a few catalog queries, no
	// lock, no DDL (which a least-privileged user may not run).
	missing, err := s.firstMissing(ctx)
	if err != nil {
		return nil, err
	}
	var changes []string
	if missing != nil {
		var bodyErr error
		err = s.schemaLock(ctx, func(q querier) error {
			changes = nil
			bodyErr = s.makeMissing(ctx, q, &changes)
			return bodyErr
		})
		switch {
		case err == nil:
		case bodyErr != nil:
			return nil, err
		default: // taking the lock, or committing, failed
			return nil, s.makeFailed(ctx, *missing, err)
		}
	}
	for _, st := range steps {
		if !st.optional {
			continue
		}
		done, err := s.makeOptional(ctx, st)
		if err != nil {
			return nil, err
		}
		if done != "" {
			changes = append(changes, done)
		}
	}
	return changes, nil
}

// makeOptional takes an optional step: when its object is missing it makes
// it (unless Options.SkipCreate is set) under the schema lock, and returns
// what it did. Failing to make it is no error: the user index records why
// (usersMissing) and says so in the errors of its calls. Only a database
// that cannot be reached, an ended context or an unusable object fail.
func (s *Store) makeOptional(ctx context.Context, st step) (string, error) {
	ok, err := st.present(ctx, s, s.db)
	switch {
	case err != nil:
		return "", s.checkFailed(st, err)
	case ok:
		s.usersFound()
		return "", nil
	case s.skipCreate:
		s.usersMissing("Options.SkipCreate is set, so New makes nothing")
		return "", nil
	}
	var done string
	err = s.schemaLock(ctx, func(q querier) error {
		done = ""
		ok, err := st.present(ctx, s, q)
		if err != nil || ok {
			return err
		}
		for _, stmt := range st.make(s.dialect, s.table, s.lifetime) {
			if _, err := q.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		done = st.done(s.table, s.lifetime, 0)
		return nil
	})
	switch {
	case err == nil:
		s.usersFound()
		return done, nil
	case ctx.Err() != nil || s.unreachable(err) || errors.Is(err, ErrSchema):
		return "", s.makeFailed(ctx, st, err)
	}
	s.usersMissing("New could not make it: " + unprefixed{err}.Error())
	return "", nil
}

// makeMissing takes the steps in q, which holds the schema lock, making
// what is missing, and appends what it made to changes.
func (s *Store) makeMissing(ctx context.Context, q querier, changes *[]string) error {
	if err := s.checkLifetime(ctx, q); err != nil {
		return err
	}
	for _, st := range steps {
		if st.optional {
			continue // taken by makeOptional
		}
		ok, err := st.present(ctx, s, q)
		if err != nil {
			return s.checkFailed(st, err)
		}
		if ok {
			continue
		}
		var n int64
		for _, stmt := range st.make(s.dialect, s.table, s.lifetime) {
			res, err := q.ExecContext(ctx, stmt)
			if err != nil {
				return s.makeFailed(ctx, st, err)
			}
			n, _ = res.RowsAffected()
		}
		*changes = append(*changes, st.done(s.table, s.lifetime, n))
	}
	return nil
}

// firstMissing returns the first step whose object is missing, or nil when
// every object is there; the optional steps are left to makeOptional. Under
// Options.SkipCreate it only looks for the objects the Store needs, a
// missing one being an error.
func (s *Store) firstMissing(ctx context.Context) (*step, error) {
	for i, st := range steps {
		if st.optional {
			continue
		}
		ok, err := st.present(ctx, s, s.db)
		switch {
		case err != nil:
			return nil, s.checkFailed(st, err)
		case ok:
		case !s.skipCreate:
			return &steps[i], nil
		case st.required:
			return nil, errorf("%w: %s (Options.SkipCreate is set, so New changes nothing: run the statements that "+
				"\"sessionctl migrate --print\" prints (sqlstore.SchemaSteps), or let New make what is missing)", ErrSchema, st.missing(s.table))
		}
	}
	return nil, nil
}

// checkLifetime makes sure, before anything changes, that the steps that
// need a lifetime have one when they have work to do.
func (s *Store) checkLifetime(ctx context.Context, q querier) error {
	if s.lifetime > 0 {
		return nil
	}
	for _, st := range steps {
		if !st.usesLifetime {
			continue
		}
		ok, err := st.present(ctx, s, q)
		if err != nil {
			return s.checkFailed(st, err)
		}
		if !ok {
			return errorf("%w: %s: give the Lifetime of the application that wrote them (Options.Lifetime; "+
				"sessionctl migrate --lifetime) to set it from lastActivity", session.ErrConfig, st.missing(s.table))
		}
	}
	return nil
}

// checkFailed returns the error of a step's present.
func (s *Store) checkFailed(st step, err error) error {
	if errors.Is(err, ErrSchema) {
		return err
	}
	return errorf("check the %s: %w", st.object(s.table), err)
}

// makeFailed returns the error of a statement that makes a step's object:
// the server's own message and, when the server refused it, what a user
// who may not change the schema does instead.
func (s *Store) makeFailed(ctx context.Context, st step, err error) error {
	if ctx.Err() != nil || s.unreachable(err) {
		return errorf("make the %s: %w", st.object(s.table), err)
	}
	return errorf("make the %s: %w (if this database user may not change the schema, have one who may run the statements "+
		"that \"sessionctl migrate --print\" prints (sqlstore.SchemaSteps), and set Options.SkipCreate)", st.object(s.table), err)
}

// schemaLockKey names the lock of schemaLock for table.
func schemaLockKey(table string) uint64 {
	h := fnv.New64a()
	h.Write([]byte("sessionkit/sqlstore:" + table))
	return h.Sum64()
}

// schemaLock runs body with the schema to itself, as far as other creators
// go: SQLite in a BEGIN IMMEDIATE transaction, PostgreSQL in a transaction
// under an advisory lock held until its DDL commits (concurrent CREATE
// TABLE IF NOT EXISTS can fail in PostgreSQL, on a unique violation in the
// catalogs), MySQL on a connection holding a named lock (GET_LOCK; MySQL's
// DDL commits statement by statement).
func (s *Store) schemaLock(ctx context.Context, body func(querier) error) error {
	key := schemaLockKey(s.table)
	switch s.dialect {
	case SQLite:
		return s.sqliteTx(ctx, body)
	case Postgres:
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(key)); err != nil {
			return errorf("lock: %w", err)
		}
		if err := body(tx); err != nil {
			return err
		}
		return tx.Commit()
	default: // MySQL
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		wait := time.Minute
		if d, ok := ctx.Deadline(); ok {
			wait = time.Until(d)
		}
		// The server's lock names are global, of at most 64 characters.
		name := fmt.Sprintf("sessionkit:%016x:", key)
		const lockName = "LEFT(CONCAT(?, DATABASE()), 64)"
		var got sql.NullInt64
		err = conn.QueryRowContext(ctx, "SELECT GET_LOCK("+lockName+", ?)", name, max(int(wait/time.Second), 1)).Scan(&got)
		if err != nil {
			return errorf("lock: %w", err)
		}
		if got.Int64 != 1 {
			return errorf("lock: another process held the schema lock for %v", wait.Round(time.Second))
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK("+lockName+")", name)
		return body(conn)
	}
}

// ---- the catalogs ------------------------------------------------------------

// column is one column of the table, as the catalog describes it.
type column struct {
	name, typ string
	collation string // MySQL only
}

// tableExists reports whether the table (or a view of its name) exists.
func (s *Store) tableExists(ctx context.Context, q querier) (bool, error) {
	return s.tableNamed(ctx, q, s.table)
}

// tableNamed reports whether the table name (or a view of that name) exists.
func (s *Store) tableNamed(ctx context.Context, q querier, name string) (bool, error) {
	var n int
	var err error
	switch s.dialect {
	case SQLite:
		err = q.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name = ? COLLATE NOCASE", name).Scan(&n)
	case Postgres:
		// to_regclass finds the table as an unqualified name in a
		// statement does, through the search_path.
		err = q.QueryRowContext(ctx, "SELECT COUNT(to_regclass($1))", quote(Postgres, name)).Scan(&n)
	default:
		err = q.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", name).Scan(&n)
	}
	return n > 0, err
}

// columns returns the table's columns, in order.
func (s *Store) columns(ctx context.Context, q querier) ([]column, error) {
	return s.columnsOf(ctx, q, s.table)
}

// columnsOf returns the columns of the table name, in order; none when it
// does not exist.
func (s *Store) columnsOf(ctx context.Context, q querier, name string) ([]column, error) {
	var query string
	switch s.dialect {
	case SQLite:
		query = "SELECT name, type, '' FROM pragma_table_info(?)"
	case Postgres:
		query = "SELECT a.attname, t.typname, '' FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid" +
			" WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
	default:
		query = "SELECT COLUMN_NAME, DATA_TYPE, COALESCE(COLLATION_NAME, '') FROM information_schema.COLUMNS" +
			" WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION"
	}
	arg := name
	if s.dialect == Postgres {
		arg = quote(Postgres, name)
	}
	rows, err := q.QueryContext(ctx, query, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.typ, &c.collation); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// rowsWithoutExpiry reports whether the table has rows without an expiry:
// rows whose expiresAt is 0, or any row when it has no expiresAt column
// yet (adding it will give them 0).
func (s *Store) rowsWithoutExpiry(ctx context.Context, q querier) (bool, error) {
	cols, err := s.columns(ctx, q)
	if err != nil || len(cols) == 0 { // no table, no rows
		return false, err
	}
	where := ""
	if s.findColumn(cols, colExpiresAt) != nil {
		where = " WHERE " + quoteCol(s.dialect, colExpiresAt) + " = 0"
	}
	var one int
	err = q.QueryRowContext(ctx, "SELECT 1 FROM "+quote(s.dialect, s.table)+where+" LIMIT 1").Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// findColumn returns the column of cols named name (in SQLite and MySQL,
// whatever its letter case), or nil.
func (s *Store) findColumn(cols []column, name string) *column {
	for i, c := range cols {
		if c.name == name || s.dialect != Postgres && strings.EqualFold(c.name, name) {
			return &cols[i]
		}
	}
	return nil
}

// indexOn reports whether an index of the table starts with column name.
func (s *Store) indexOn(ctx context.Context, q querier, name string) (bool, error) {
	var n int
	var err error
	switch s.dialect {
	case SQLite:
		err = q.QueryRowContext(ctx, "SELECT COUNT(*) FROM pragma_index_list(?) AS il, pragma_index_info(il.name) AS ii"+
			" WHERE ii.seqno = 0 AND ii.name = ? COLLATE NOCASE", s.table, name).Scan(&n)
	case Postgres:
		err = q.QueryRowContext(ctx, "SELECT COUNT(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"+
			" WHERE i.indrelid = to_regclass($1) AND a.attname = $2", quote(Postgres, s.table), name).Scan(&n)
	default:
		err = q.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.STATISTICS"+
			" WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ? AND SEQ_IN_INDEX = 1", s.table, name).Scan(&n)
	}
	return n > 0, err
}

// usersTableUsable reports whether the user index's table exists, and makes
// sure it has the columns the Store uses (an error wrapping ErrSchema
// otherwise: another program's table of that name).
func (s *Store) usersTableUsable(ctx context.Context, q querier) (bool, error) {
	name := usersTable(s.table)
	cols, err := s.columnsOf(ctx, q, name)
	if err == nil && len(cols) == 0 {
		// No columns: no table, one made since (by another process), or
		// one this user may not see, which tableNamed tells apart.
		ok, err := s.tableNamed(ctx, q, name)
		if err != nil || !ok {
			return false, err
		}
		if cols, err = s.columnsOf(ctx, q, name); err == nil && len(cols) == 0 {
			return false, errorf("%w: table %q exists, but this database user cannot see its columns", ErrSchema, name)
		}
	}
	if err != nil {
		return false, err
	}
	for _, want := range []string{colUserID, colID, colAdded} {
		if s.findColumn(cols, want) == nil {
			names := make([]string, len(cols))
			for i, c := range cols {
				names[i] = c.name
			}
			return false, errorf("%w: table %q, which sqlstore uses to index each user's sessions, has no column %q (its columns: %s; "+
				"if it belongs to another program, give sqlstore other tables: Options.Table)", ErrSchema, name, want, strings.Join(names, ", "))
		}
	}
	return true, nil
}

// ---- checking the table --------------------------------------------------------

// checkSchema makes sure the table has usable columns and can be read.
func (s *Store) checkSchema(ctx context.Context) error {
	all := []string{colID, colPayload, colLastActivity, colExpiresAt}
	if err := s.checkColumns(ctx, s.db, all...); err != nil {
		return err
	}
	quoted := make([]string, len(all))
	for i, c := range all {
		quoted[i] = quoteCol(s.dialect, c)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+strings.Join(quoted, ", ")+" FROM "+quote(s.dialect, s.table)+" WHERE 1=0")
	if err != nil {
		if ctx.Err() != nil || s.unreachable(err) {
			return errorf("check table %q: %w", s.table, err)
		}
		return errorf("%w: table %q cannot be read: %w", ErrSchema, s.table, err)
	}
	rows.Close()
	return nil
}

// checkColumns makes sure the table has the columns need, and that those of
// its columns that the Store uses have usable types (and, in MySQL, that it
// is an InnoDB table whose id compares case-sensitively). A missing column
// is reported with the columns the table has, so that another program's
// table is recognized as such.
func (s *Store) checkColumns(ctx context.Context, q querier, need ...string) error {
	cols, err := s.columns(ctx, q)
	if err != nil {
		return errorf("check table %q: %w", s.table, err)
	}
	if len(cols) == 0 {
		return errorf("%w: table %q does not exist, or this database user cannot see its columns", ErrSchema, s.table)
	}
	for _, name := range need {
		if s.findColumn(cols, name) == nil {
			return s.missingColumn(cols, name)
		}
	}
	for _, name := range []string{colID, colPayload, colLastActivity, colExpiresAt} {
		c := s.findColumn(cols, name)
		if c == nil {
			continue
		}
		if ok, want := s.usableType(name, c.typ); !ok {
			return errorf("%w: table %q: column %q has type %s, want %s (see sqlstore.Schema)",
				ErrSchema, s.table, name, c.typ, want)
		}
	}
	if c := s.findColumn(cols, colID); s.dialect == MySQL && c != nil && strings.HasSuffix(strings.ToLower(c.collation), "_ci") {
		return errorf("%w: table %q: column %q has the case-insensitive collation %s, so IDs differing in letter case would share a row; use VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin (see sqlstore.Schema)",
			ErrSchema, s.table, colID, c.collation)
	}
	if s.dialect == MySQL {
		return s.checkEngine(ctx, q)
	}
	return nil
}

// missingColumn returns the error for a table lacking column name.
func (s *Store) missingColumn(cols []column, name string) error {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	hint := ""
	if s.dialect == Postgres {
		for _, c := range cols {
			if c.name == strings.ToLower(name) && c.name != name {
				hint = fmt.Sprintf("; PostgreSQL folds unquoted names to lower case, so create it quoted: %q", name)
			}
		}
	}
	foreign := ""
	if s.findColumn(cols, colID) == nil || s.findColumn(cols, colPayload) == nil {
		foreign = "; if the table belongs to another program, give sqlstore a table of its own: Options.Table " +
			"(SESSION_TABLE, or Config.Table, for the database driver)"
	}
	return errorf("%w: table %q has no column %q (its columns: %s; sqlstore needs id, payload, lastActivity and expiresAt, see sqlstore.Schema)%s%s",
		ErrSchema, s.table, name, strings.Join(names, ", "), hint, foreign)
}

// usableType reports whether the catalog's type typ suits column name, and
// otherwise what would.
func (s *Store) usableType(name, typ string) (bool, string) {
	t := strings.ToLower(typ)
	switch {
	case name == colExpiresAt:
		// Unix milliseconds need 64 bits (SQLite's integers all have them).
		switch s.dialect {
		case Postgres:
			return t == "int8", "BIGINT"
		case MySQL:
			return t == "bigint", "BIGINT"
		}
		return strings.Contains(t, "int"), "INTEGER"
	case name == colLastActivity:
		return strings.Contains(t, "int"), "an integer type (BIGINT)"
	case s.dialect == Postgres:
		return t == "text" || t == "varchar" || t == "bpchar", "TEXT or VARCHAR"
	}
	return true, ""
}

// checkEngine checks that a MySQL table is InnoDB, for transactions and row
// locks.
func (s *Store) checkEngine(ctx context.Context, q querier) error {
	var engine *string
	err := q.QueryRowContext(ctx, "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
		s.table).Scan(&engine)
	if err != nil {
		return errorf("check table %q: %w", s.table, err)
	}
	if engine == nil || !strings.EqualFold(*engine, "InnoDB") {
		e := "none (a view?)"
		if engine != nil {
			e = *engine
		}
		return errorf("%w: table %q has engine %s; it must be InnoDB, for transactions and row locks", ErrSchema, s.table, e)
	}
	return nil
}
