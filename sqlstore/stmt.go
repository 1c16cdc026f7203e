package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps one prepared statement per query text for SQLite.
// modernc.org/sqlite compiles a statement on every call it is given as text:
// measured here, 7 of the 19 µs of a point query. database/sql's Stmt
// prepares on each pool connection once, when first used there, and again
// on a replacement connection. PostgreSQL and MySQL go as they are: pgx
// caches its prepared statements itself, and a MySQL statement prepared on
// the server costs a round trip more than one sent with interpolated
// parameters, as Open sets up.
type stmtCache struct {
	m sync.Map // query text -> *sql.Stmt
}

// get returns the prepared statement of query, preparing it on first use.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close() // another caller prepared it first
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// close closes every statement (on an application's own pool, they would
// hold a compiled statement on each connection until it closed).
func (c *stmtCache) close() {
	c.m.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		c.m.Delete(k)
		return true
	})
}

// execDB runs query as db.ExecContext does, prepared once for SQLite.
func (s *Store) execDB(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s.dialect == SQLite {
		if st, err := s.stmts.get(ctx, s.db, query); err == nil {
			return st.ExecContext(ctx, args...)
		}
		// Preparing failed: the statement as text fails the same way and
		// reports it.
	}
	return s.db.ExecContext(ctx, query, args...)
}

// queryRowDB runs query as db.QueryRowContext does, prepared once for
// SQLite.
func (s *Store) queryRowDB(ctx context.Context, query string, args ...any) *sql.Row {
	if s.dialect == SQLite {
		if st, err := s.stmts.get(ctx, s.db, query); err == nil {
			return st.QueryRowContext(ctx, args...)
		}
	}
	return s.db.QueryRowContext(ctx, query, args...)
}

// queryDB runs query as db.QueryContext does, prepared once for SQLite.
func (s *Store) queryDB(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s.dialect == SQLite {
		if st, err := s.stmts.get(ctx, s.db, query); err == nil {
			return st.QueryContext(ctx, args...)
		}
	}
	return s.db.QueryContext(ctx, query, args...)
}
