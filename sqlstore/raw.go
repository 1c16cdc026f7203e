package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

// A Store's hot read (Load) goes to the driver itself, on a connection the
// pool hands out, rather than through database/sql's Rows: database/sql
// watches the context of every query that returns rows with a goroutine
// and a child context of its own, and modernc.org/sqlite watches it with
// one more goroutine, to interrupt the statement. Measured here (2 cores,
// -cpu 1, BenchmarkLoad), a SQLite Load costs 8 µs of CPU this way, and the
// same prepared query through database/sql 13.5 µs. On SQLite the one-row
// writes of a request (Swap, Touch, Delete) go the same way. On PostgreSQL,
// Open's connections load the row with pgx's own QueryRow (rowLoader),
// which spares the 6 allocations per read request that its database/sql
// adapter's Rows cost.
//
// The context still bounds everything it can bound: the wait for a
// connection of the pool (sql.DB.Conn), and for PostgreSQL and MySQL the
// round trip, which their drivers watch themselves (pgx with a goroutine
// per query, go-sql-driver/mysql with one per connection). A SQLite
// statement runs with no context: a point statement by primary key is a few
// B-tree steps, and the only waits it can meet, SQLite's busy handler (a
// writer of another process, a writer in rollback-journal mode, recovery of
// a crashed writer's WAL), are ones that sqlite3_interrupt does not cut
// short anyway. The Store's own writers queue on its writer lock, which
// the context bounds.

// errNoRaw says that the pool's connections do not take the driver-level
// path: the caller uses database/sql instead, for this call and the
// Store's later ones.
var errNoRaw = errors.New("sqlstore: no driver-level path")

// errFallback says that a row holds a value of a type the driver-level
// path leaves to database/sql's conversions: the caller reads it through
// database/sql instead, for this call only.
var errFallback = errors.New("sqlstore: value for database/sql to convert")

// A rowLoader is a driver connection that runs Load's query itself, by the
// driver's own API rather than database/sql/driver's Rows: the dialect
// packages' connections implement it where that saves work (sqlstore/postgres:
// pgx's QueryRow, where its database/sql adapter would build a value
// converter per column for every query). LoadRow returns the payload
// (copied) and expiresAt of the row that query, with the argument id,
// selects, and whether there was one; driver.ErrSkip when the row holds
// values of other types than it reads (bytea or text, and a 64-bit integer),
// which database/sql then converts.
type rowLoader interface {
	LoadRow(ctx context.Context, query, id string) (payload []byte, expiresAt int64, found bool, err error)
}

// loadRowConn runs Load's query on a connection of the pool with the
// connection's LoadRow, or returns errNoRaw (having run nothing) when the
// pool's connections are not rowLoaders, errFallback when LoadRow leaves the
// row to database/sql.
func (s *Store) loadRowConn(ctx context.Context, id string) (v []byte, ex int64, found bool, err error) {
	conn, err := s.db.Conn(ctx) // the pool's wait is bounded by ctx
	if err != nil {
		return nil, 0, false, err
	}
	err = conn.Raw(func(dc any) error {
		rl, ok := dc.(rowLoader)
		if !ok {
			return errNoRaw
		}
		var err error
		v, ex, found, err = rl.LoadRow(ctx, s.q.load, id)
		if errors.Is(err, driver.ErrSkip) {
			return errFallback
		}
		return err
	})
	if cerr := conn.Close(); err == nil {
		err = cerr
	}
	return v, ex, found, err
}

// queryRowRaw runs query with args on a connection of the pool through the
// driver, and calls scan with the first row's values (before the row is
// closed: drivers may reuse the buffers of []byte values), if any; found
// reports whether there was one. It returns errNoRaw when the pool's
// connections do not take that path (then it has run nothing).
func (s *Store) queryRowRaw(ctx context.Context, query string, args []driver.NamedValue, dest []driver.Value, scan func([]driver.Value) error) (found bool, err error) {
	conn, err := s.db.Conn(ctx) // the pool's wait is bounded by ctx
	if err != nil {
		return false, err
	}
	err = conn.Raw(func(dc any) error {
		var (
			rows driver.Rows
			err  error
		)
		switch c := dc.(type) {
		case *liteConn:
			rows, err = c.query(query, args)
		case driver.QueryerContext:
			if s.dialect == SQLite { // modernc would compile the text every time
				return errNoRaw
			}
			rows, err = c.QueryContext(ctx, query, args)
			if errors.Is(err, driver.ErrSkip) { // e.g. MySQL without interpolateParams
				return errNoRaw
			}
		default:
			return errNoRaw
		}
		if err != nil {
			return err
		}
		err = rows.Next(dest)
		switch {
		case err == nil:
			found = true
			err = scan(dest)
		case err == io.EOF:
			err = nil
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if cerr := conn.Close(); err == nil {
		err = cerr
	}
	return found, s.withContextErr(ctx, err)
}

// withContextErr returns err, a SQLite statement's error, wrapping the
// context's error as well when the context ended meanwhile (typically
// while SQLite's busy handler waited for another process's writer), as
// modernc.org/sqlite reports a statement it watched the context of: so
// that such a failure still counts as the call's timeout.
func (s *Store) withContextErr(ctx context.Context, err error) error {
	if err == nil || s.dialect != SQLite || errors.Is(err, errNoRaw) || errors.Is(err, errFallback) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

// execPointDB runs query, a statement that writes the row of one ID (Swap,
// Touch, Delete), as execDB does; on a SQLite pool that Open opened, it
// runs it as queryRowRaw runs Load's, prepared on the connection and with
// no context once the connection is the Store's.
func (s *Store) execPointDB(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s.dialect != SQLite || s.noRaw.Load() {
		return s.execDB(ctx, query, args...)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var res driver.Result
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*liteConn)
		if !ok {
			return errNoRaw
		}
		named := make([]driver.NamedValue, len(args))
		for i, a := range args {
			v, err := driver.DefaultParameterConverter.ConvertValue(a)
			if err != nil {
				return err
			}
			named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
		}
		var err error
		res, err = c.exec(query, named)
		return err
	})
	if cerr := conn.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, errNoRaw) {
		s.noRaw.Store(true)
		return s.execDB(ctx, query, args...)
	}
	return res, s.withContextErr(ctx, err)
}

// liteConnector wraps the connector of a SQLite pool that Open opens, so
// that each connection keeps the Store's hot statements prepared
// (liteConn).
type liteConnector struct{ driver.Connector }

func (c liteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return wrapLite(conn), nil
}

// Close closes the wrapped connector when it is an io.Closer (sql.DB.Close
// calls it).
func (c liteConnector) Close() error {
	if cl, ok := c.Connector.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// liteDriverConn is what liteConn needs of the driver's connection, all of
// which modernc.org/sqlite's has; a connection lacking some of it is used
// unwrapped (and the Store goes through database/sql).
type liteDriverConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// liteConn is a SQLite connection of a pool that Open opens, with the
// statements of queryRowRaw prepared on it once, on first use, and
// finalized when database/sql closes it. database/sql uses a connection
// from one goroutine at a time (conn.Raw holds it), so stmts needs no lock.
// Through sql.Conn.Raw, its Unwrap method returns the driver's connection.
type liteConn struct {
	liteDriverConn
	stmts map[string]liteStmt
}

// liteStmt is what liteConn needs of a prepared statement.
type liteStmt interface {
	driver.Stmt
	driver.StmtQueryContext
	driver.StmtExecContext
}

func wrapLite(conn driver.Conn) driver.Conn {
	if c, ok := conn.(liteDriverConn); ok {
		return &liteConn{liteDriverConn: c}
	}
	return conn
}

// Unwrap returns the driver's connection.
func (c *liteConn) Unwrap() driver.Conn { return c.liteDriverConn }

// query runs the statement query, prepared on c once, with no context (see
// the top of this file).
func (c *liteConn) query(query string, args []driver.NamedValue) (driver.Rows, error) {
	st, err := c.prepared(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(context.Background(), args)
}

// exec is query for a statement that returns no rows.
func (c *liteConn) exec(query string, args []driver.NamedValue) (driver.Result, error) {
	st, err := c.prepared(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(context.Background(), args)
}

// prepared returns the statement query prepared on c, preparing it on
// first use.
func (c *liteConn) prepared(query string) (liteStmt, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	ds, err := c.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, err
	}
	st, ok := ds.(liteStmt)
	if !ok {
		ds.Close()
		return nil, errNoRaw
	}
	if c.stmts == nil {
		c.stmts = map[string]liteStmt{}
	}
	c.stmts[query] = st
	return st, nil
}

// Close finalizes the prepared statements, then closes the connection.
func (c *liteConn) Close() error {
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
	return c.liteDriverConn.Close()
}
