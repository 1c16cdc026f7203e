package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/sessionkit/session"
)

// Column names, NodeSession's. In PostgreSQL "lastActivity" is quoted, so
// its capital A survives.
const (
	colID           = "id"
	colPayload      = "payload"
	colLastActivity = "lastActivity"
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

// indexName is the name of the index on lastActivity.
func indexName(table string) string { return table + "_" + colLastActivity }

// Schema returns the statements that create table (empty: "sessions") and
// its index for dialect, in order, as New runs them unless
// Options.SkipCreate is set. Each is idempotent (IF NOT EXISTS); for MySQL
// the index is part of the CREATE TABLE, since MySQL 8 has no CREATE INDEX IF
// NOT EXISTS.
func Schema(dialect Dialect, table string) ([]string, error) {
	if !dialect.valid() {
		return nil, fmt.Errorf("sqlstore: %w: unknown dialect %q", session.ErrConfig, dialect)
	}
	opts, err := Options{Table: table}.withDefaults()
	if err != nil {
		return nil, err
	}
	t := quote(dialect, opts.Table)
	idx := quote(dialect, indexName(opts.Table))
	la := quoteCol(dialect, colLastActivity)
	// columns lays out the column definitions, types aligned.
	columns := func(defs ...[2]string) string {
		var b strings.Builder
		for i, d := range defs {
			if i > 0 {
				b.WriteString(",\n")
			}
			fmt.Fprintf(&b, "\t%-14s %s", d[0], d[1])
		}
		return b.String()
	}
	col := func(name string) string { return quoteCol(dialect, name) }
	switch dialect {
	case SQLite:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t + " (\n" + columns(
				[2]string{col(colID), "TEXT    NOT NULL PRIMARY KEY"},
				[2]string{col(colPayload), "TEXT    NOT NULL"},
				[2]string{la, "INTEGER NOT NULL"},
			) + "\n)",
			"CREATE INDEX IF NOT EXISTS " + idx + " ON " + t + " (" + la + ")",
		}, nil
	case Postgres:
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t + " (\n" + columns(
				[2]string{col(colID), `TEXT COLLATE "C" NOT NULL PRIMARY KEY`},
				[2]string{col(colPayload), "TEXT   NOT NULL"},
				[2]string{la, "BIGINT NOT NULL"},
			) + "\n)",
			"CREATE INDEX IF NOT EXISTS " + idx + " ON " + t + " (" + la + ")",
		}, nil
	default: // MySQL
		return []string{
			"CREATE TABLE IF NOT EXISTS " + t + " (\n" + columns(
				[2]string{col(colID), "VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL"},
				[2]string{col(colPayload), "MEDIUMTEXT   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"},
				[2]string{la, "BIGINT       NOT NULL"},
			) + ",\n\tPRIMARY KEY (" + col(colID) + "),\n\tKEY " + idx + " (" + la + ")\n" +
				") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
		}, nil
	}
}

// createSchema creates the table and its index when they are missing.
func (s *Store) createSchema(ctx context.Context) error {
	stmts, err := Schema(s.dialect, s.table)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		return fmt.Errorf("sqlstore: create table %q: %w", s.table, err)
	}
	switch s.dialect {
	case SQLite:
		// One BEGIN IMMEDIATE transaction: concurrent creators, in this
		// process or others, take turns on the write lock (busy timeout)
		// and find the objects made. (Statement by statement, a creator
		// that read the schema before another's commit could not write.)
		err := s.sqliteTx(ctx, func(tx querier) error {
			for _, stmt := range stmts {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fail(err)
		}
		return nil

	case Postgres:
		// On the usual restart both exist: take no lock at all (CREATE
		// INDEX IF NOT EXISTS would lock the table against writers before
		// finding the index).
		var haveTable, haveIndex bool
		err := s.db.QueryRowContext(ctx, "SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL",
			quote(Postgres, s.table), quote(Postgres, indexName(s.table))).Scan(&haveTable, &haveIndex)
		if err != nil {
			return fail(err)
		}
		if haveTable && haveIndex {
			return nil
		}
		// Concurrent CREATE TABLE IF NOT EXISTS can fail in PostgreSQL
		// (a unique violation in the catalogs), so creators take turns
		// under an advisory lock held until their DDL commits.
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fail(err)
		}
		defer tx.Rollback()
		h := fnv.New64a()
		h.Write([]byte("sessionkit/sqlstore:" + s.table))
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(h.Sum64())); err != nil {
			return fail(err)
		}
		for _, stmt := range stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fail(err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fail(err)
		}
		return nil

	default: // MySQL
		// CREATE TABLE IF NOT EXISTS is atomic in MySQL (metadata locks).
		if _, err := s.db.ExecContext(ctx, stmts[0]); err != nil {
			return fail(err)
		}
		// A table made elsewhere may lack the index: add it, unless some
		// index already starts with lastActivity.
		var n int
		err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.STATISTICS"+
			" WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ? AND SEQ_IN_INDEX = 1",
			s.table, colLastActivity).Scan(&n)
		if err != nil {
			return fail(err)
		}
		if n > 0 {
			return nil
		}
		_, err = s.db.ExecContext(ctx, "CREATE INDEX "+quote(MySQL, indexName(s.table))+
			" ON "+quote(MySQL, s.table)+" ("+quoteCol(MySQL, colLastActivity)+")")
		var me *mysql.MySQLError
		if err != nil && !(errors.As(err, &me) && me.Number == 1061) { // 1061: duplicate key name (a concurrent creator won)
			return fail(err)
		}
		return nil
	}
}

// checkSchema makes sure the table exists with usable columns.
func (s *Store) checkSchema(ctx context.Context) error {
	t := quote(s.dialect, s.table)
	cols := []string{colID, colPayload, colLastActivity}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteCol(s.dialect, c)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+strings.Join(quoted, ", ")+" FROM "+t+" WHERE 1=0")
	if err != nil {
		if ctx.Err() != nil || unreachable(err) {
			// Not an answer about the table.
			return fmt.Errorf("sqlstore: check table %q: %w", s.table, err)
		}
		// Find out what is missing, for a clear message.
		if r, err2 := s.db.QueryContext(ctx, "SELECT 1 FROM "+t+" WHERE 1=0"); err2 != nil {
			return fmt.Errorf("sqlstore: %w: table %q cannot be read (does it exist? New creates it unless Options.SkipCreate is set): %w", ErrSchema, s.table, err2)
		} else {
			r.Close()
		}
		for i, c := range cols {
			r, err2 := s.db.QueryContext(ctx, "SELECT "+quoted[i]+" FROM "+t+" WHERE 1=0")
			if err2 == nil {
				r.Close()
				continue
			}
			hint := ""
			if s.dialect == Postgres && c == colLastActivity {
				hint = `; PostgreSQL folds unquoted names to lower case, so create it quoted: "lastActivity" BIGINT`
			}
			return fmt.Errorf("sqlstore: %w: table %q has no column %q (it needs id, payload and lastActivity; see sqlstore.Schema%s): %w",
				ErrSchema, s.table, c, hint, err2)
		}
		return fmt.Errorf("sqlstore: %w: table %q: %w", ErrSchema, s.table, err)
	}
	types, err := rows.ColumnTypes()
	rows.Close()
	if err != nil {
		return fmt.Errorf("sqlstore: check table %q: %w", s.table, err)
	}
	for i, ct := range types {
		name := strings.ToUpper(ct.DatabaseTypeName())
		var ok bool
		var want string
		switch {
		case cols[i] == colLastActivity:
			ok, want = strings.Contains(name, "INT"), "an integer type (BIGINT)"
		case s.dialect == Postgres:
			ok, want = name == "TEXT" || name == "VARCHAR" || name == "BPCHAR", "TEXT or VARCHAR"
		default:
			ok = true
		}
		if !ok {
			return fmt.Errorf("sqlstore: %w: table %q: column %q has type %s, want %s (see sqlstore.Schema)",
				ErrSchema, s.table, cols[i], name, want)
		}
	}
	if s.dialect == MySQL {
		return s.checkMySQL(ctx)
	}
	return nil
}

// checkMySQL checks what Update's locking and the ID comparisons need from
// a MySQL table: InnoDB, and an id column that tells letter case apart.
func (s *Store) checkMySQL(ctx context.Context) error {
	var engine, collation *string
	err := s.db.QueryRowContext(ctx, "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
		s.table).Scan(&engine)
	if err != nil {
		return fmt.Errorf("sqlstore: check table %q: %w", s.table, err)
	}
	if engine == nil || !strings.EqualFold(*engine, "InnoDB") {
		e := "none (a view?)"
		if engine != nil {
			e = *engine
		}
		return fmt.Errorf("sqlstore: %w: table %q has engine %s; it must be InnoDB, for transactions and row locks", ErrSchema, s.table, e)
	}
	err = s.db.QueryRowContext(ctx, "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?",
		s.table, colID).Scan(&collation)
	if err != nil {
		return fmt.Errorf("sqlstore: check table %q: %w", s.table, err)
	}
	if collation != nil && strings.HasSuffix(strings.ToLower(*collation), "_ci") {
		return fmt.Errorf("sqlstore: %w: table %q: column %q has the case-insensitive collation %s, so IDs differing in letter case would share a row; use VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin (see sqlstore.Schema)",
			ErrSchema, s.table, colID, *collation)
	}
	return nil
}

// queries holds the statements of one Store, built once.
type queries struct {
	load, lock, lock2, insert, update, del, touch, sweep, list string
}

func buildQueries(d Dialect, table string) queries {
	t := quote(d, table)
	id, payload, la := quoteCol(d, colID), quoteCol(d, colPayload), quoteCol(d, colLastActivity)
	forUpdate := ""
	if d != SQLite {
		forUpdate = " FOR UPDATE"
	}
	q := queries{
		load:   "SELECT " + payload + ", " + la + " FROM " + t + " WHERE " + id + " = ? AND " + la + " > ?",
		lock:   "SELECT " + payload + ", " + la + " FROM " + t + " WHERE " + id + " = ?" + forUpdate,
		lock2:  "SELECT " + id + ", " + payload + ", " + la + " FROM " + t + " WHERE " + id + " IN (?, ?)" + forUpdate,
		insert: "INSERT INTO " + t + " (" + id + ", " + payload + ", " + la + ") VALUES (?, ?, ?)",
		update: "UPDATE " + t + " SET " + payload + " = ?, " + la + " = ? WHERE " + id + " = ?",
		del:    "DELETE FROM " + t + " WHERE " + id + " = ?",
		touch:  "UPDATE " + t + " SET " + la + " = ? WHERE " + id + " = ? AND " + la + " > ?",
		list:   "SELECT " + id + ", " + la + " FROM " + t + " WHERE " + la + " > ?",
	}
	// sweep deletes at most a batch of expired rows: its parameters are the
	// cutoff, the batch size, and the cutoff again. The outer condition is
	// checked again on a row another transaction renewed meanwhile.
	switch d {
	case SQLite:
		q.sweep = "DELETE FROM " + t + " WHERE rowid IN (SELECT rowid FROM " + t + " WHERE " + la + " <= ? LIMIT ?) AND " + la + " <= ?"
	case Postgres:
		// The ORDER BY keeps the planner on the index even when the
		// table's statistics are stale (a seq scan past every live row
		// per batch is several times slower).
		q.sweep = "DELETE FROM " + t + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + t + " WHERE " + la + " <= ? ORDER BY " + la + " LIMIT ?)) AND " + la + " <= ?"
	case MySQL:
		// MySQL has DELETE ... LIMIT; the ORDER BY walks the index and
		// makes the statement deterministic for replication.
		q.sweep = "DELETE FROM " + t + " WHERE " + la + " <= ? ORDER BY " + la + " LIMIT ?"
	}
	if d == Postgres {
		for _, p := range []*string{&q.load, &q.lock, &q.lock2, &q.insert, &q.update, &q.del, &q.touch, &q.sweep, &q.list} {
			*p = numbered(*p)
		}
	}
	return q
}

// numbered turns ? placeholders into PostgreSQL's $1, $2, ...
func numbered(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
