package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sessionkit/session/internal/sessionid"
)

// invalid returns the error for an ID outside the store's alphabet
// (sessionid.Valid), quoting at most 64 characters of it.
func invalid(op, id string) error {
	if len(id) > 64 {
		id = id[:64] + "..."
	}
	return errorf("%w: %s %q", ErrInvalidID, op, id)
}

// binaryMark starts a payload column value holding base64 of data that is
// not text (not UTF-8, or with a NUL byte, which PostgreSQL's and MySQL's
// text columns refuse), or that itself starts with the mark. The Manager's
// payloads (JSON, or "sk1." and base64url) are stored verbatim.
const binaryMark = '\x01'

func encodePayload(data []byte) string {
	if utf8.Valid(data) && bytes.IndexByte(data, 0) < 0 && (len(data) == 0 || data[0] != binaryMark) {
		return string(data)
	}
	return string(binaryMark) + base64.StdEncoding.EncodeToString(data)
}

// decodePayload decodes what encodePayload stored. A value that does not
// decode is returned as it is: the caller treats it as corrupt.
func decodePayload(v []byte) []byte {
	if len(v) == 0 || v[0] != binaryMark {
		return v
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(v)-1))
	n, err := base64.StdEncoding.Decode(out, v[1:])
	if err != nil {
		return v
	}
	return out[:n]
}

// The table keeps a record's expiry in Unix milliseconds (expiresAt) and
// the time of its last write or touch in Unix seconds (lastActivity). A
// record is live while its expiry is after now; Load filters with that and
// the sweeps delete the complement, so the two never disagree.

// expiresAt returns the column value of expiry: at least 1, since 0 means
// that no expiry is recorded (anything at or before 1970 has long expired).
func expiresAt(expiry time.Time) int64 { return max(expiry.UnixMilli(), 1) }

// stamps are the times a call compares and writes, taken once.
type stamps struct {
	now          int64 // Unix milliseconds, compared with expiresAt
	lastActivity int64 // Unix seconds
}

func stampsNow() stamps {
	t := time.Now()
	return stamps{now: t.UnixMilli(), lastActivity: t.Unix()}
}

// Load returns the record of id when it is live, with one indexed query.
func (s *Store) Load(ctx context.Context, id string) ([]byte, time.Time, bool, error) {
	if !sessionid.Valid(id) {
		return nil, time.Time{}, false, nil
	}
	if err := s.awaitReady(ctx, "load"); err != nil {
		return nil, time.Time{}, false, err
	}
	var (
		v     []byte
		ex    int64
		found bool
	)
	err := s.retryBroken(ctx, func() (err error) {
		v, ex, found, err = s.loadRow(ctx, id, stampsNow().now)
		return err
	})
	switch {
	case err != nil:
		return nil, time.Time{}, false, errorf("load: %w", err)
	case !found:
		return nil, time.Time{}, false, nil
	}
	return payloadOf(v), time.UnixMilli(ex), true, nil
}

// loadRow reads the payload column and the expiry of the row of id when it
// is live at now: through the driver itself when the pool allows it (see
// raw.go), else through database/sql. The query selects the row by its key
// alone, and loadRow checks its expiry: on MariaDB a condition on the
// indexed expiry adds about 4 µs of the server's time to each read
// (measured with the statement interpolated, as sqlstore.Open's pools send
// it), where an expired row, which a sweep soon deletes, is rarely read.
func (s *Store) loadRow(ctx context.Context, id string, now int64) (v []byte, ex int64, found bool, err error) {
	v, ex, found, err = s.readRow(ctx, id)
	if err != nil || !found || ex <= now {
		return nil, 0, false, err
	}
	return v, ex, true, nil
}

// readRow reads the payload column and the expiry of the row of id, live
// or not (see loadRow).
func (s *Store) readRow(ctx context.Context, id string) (v []byte, ex int64, found bool, err error) {
	if !s.noRaw.Load() {
		v, ex, found, err = s.loadRowRaw(ctx, id)
		switch {
		case errors.Is(err, errNoRaw):
			s.noRaw.Store(true)
		case !errors.Is(err, errFallback):
			return v, ex, found, err
		}
	}
	err = s.queryRowDB(ctx, s.q.load, id).Scan(&v, &ex)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, false, nil
	}
	return v, ex, err == nil, err
}

// loadRowRaw is loadRow's driver-level path (see raw.go): the connection's
// own LoadRow when it has one (rowLoader), else the query through the
// driver's Rows.
func (s *Store) loadRowRaw(ctx context.Context, id string) (v []byte, ex int64, found bool, err error) {
	if !s.noRowLoader.Load() {
		v, ex, found, err = s.loadRowConn(ctx, id)
		if !errors.Is(err, errNoRaw) {
			return v, ex, found, err
		}
		s.noRowLoader.Store(true)
	}
	found, err = s.queryRowRaw(ctx, s.q.load, []driver.NamedValue{{Ordinal: 1, Value: id}}, make([]driver.Value, 2),
		func(dest []driver.Value) error {
			var ok bool
			if v, ok = rawBytes(dest[0]); !ok {
				return errFallback
			}
			if ex, ok = dest[1].(int64); !ok {
				return errFallback
			}
			return nil
		})
	return v, ex, found, err
}

// rawBytes copies a text or binary value that a driver returned, as
// database/sql's Scan into a *[]byte would; ok is false for a value of
// another type.
func rawBytes(v driver.Value) (b []byte, ok bool) {
	switch v := v.(type) {
	case string:
		return []byte(v), true
	case []byte:
		return bytes.Clone(v), true
	case nil:
		return nil, true
	}
	return nil, false
}

// payloadOf returns the record's data from the payload column's value.
func payloadOf(v []byte) []byte {
	if v == nil {
		v = []byte{}
	}
	return decodePayload(v)
}

// fnError carries an error of the caller's fn through the transaction
// helpers, so that it is returned unchanged and never retried.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// row is what a transaction read of one ID's row.
type row struct {
	exists bool   // there is a row, live or expired
	live   bool   // it is live: fn sees it as found
	data   []byte // its record, when live
}

// Update runs fn on the record of id in one transaction: the row is locked
// (SELECT ... FOR UPDATE; in SQLite the transaction holds the write lock from
// its start) and then updated, inserted or deleted. When two transactions
// create the same missing row at once, the loser's insert fails and it runs
// again, calling fn again with the winner's record.
func (s *Store) Update(ctx context.Context, id string, fn func(data []byte, found bool) ([]byte, time.Time, error)) error {
	if !sessionid.Valid(id) {
		return invalid("update", id)
	}
	if err := s.awaitReady(ctx, "update"); err != nil {
		return err
	}
	return s.inTx(ctx, "update", func(tx querier) error {
		now := stampsNow()
		var (
			v  []byte
			ex int64
		)
		err := tx.QueryRowContext(ctx, s.q.lock, id).Scan(&v, &ex)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		r := row{exists: err == nil, live: err == nil && ex > now.now}
		if r.live {
			r.data = payloadOf(v)
		}
		next, expiry, err := fn(r.data, r.live)
		if err != nil {
			return fnError{err}
		}
		return s.write(ctx, tx, id, r.exists, next, expiry, now)
	})
}

// write stores next with expiry as the record of id in transaction tx,
// where the row of id exists (live or expired) or not: an UPDATE, an
// INSERT, or for nil next a DELETE (or nothing).
func (s *Store) write(ctx context.Context, tx querier, id string, exists bool, next []byte, expiry time.Time, now stamps) error {
	var err error
	switch {
	case next == nil && exists:
		_, err = tx.ExecContext(ctx, s.q.del, id)
	case next == nil:
		// Nothing to write.
	case exists: // live or expired: overwritten
		_, err = tx.ExecContext(ctx, s.q.update, encodePayload(next), now.lastActivity, expiresAt(expiry), id)
	default:
		_, err = tx.ExecContext(ctx, s.q.insert, id, encodePayload(next), now.lastActivity, expiresAt(expiry))
	}
	return err
}

// Move moves the record of oldID to newID in one transaction that locks both
// rows: fn sees the record of oldID (by the rules of Update), the row of
// oldID is deleted and what fn returns is stored under newID (nil data
// stores nothing). It fails, changing nothing, with an error wrapping
// ErrExists when newID holds a live record (an expired one is replaced), and
// when oldID and newID are the same.
func (s *Store) Move(ctx context.Context, oldID, newID string, fn func(data []byte, found bool) ([]byte, time.Time, error)) error {
	if !sessionid.Valid(oldID) {
		return invalid("move", oldID)
	}
	if !sessionid.Valid(newID) {
		return invalid("move to", newID)
	}
	if oldID == newID {
		return errorf("%w: move of a session onto its own ID", ErrExists)
	}
	if err := s.awaitReady(ctx, "move"); err != nil {
		return err
	}
	return s.inTx(ctx, "move", func(tx querier) error {
		now := stampsNow()
		oldRow, newRow, err := s.lockPair(ctx, tx, oldID, newID, now)
		if err != nil {
			return err
		}
		if newRow.live {
			return fnError{errorf("%w: move to an ID that holds a live session", ErrExists)}
		}
		next, expiry, err := fn(oldRow.data, oldRow.live)
		if err != nil {
			return fnError{err}
		}
		if oldRow.exists {
			if _, err := tx.ExecContext(ctx, s.q.del, oldID); err != nil {
				return err
			}
		}
		return s.write(ctx, tx, newID, newRow.exists, next, expiry, now)
	})
}

// lockPair locks the rows of oldID and newID in one statement and returns
// what they hold (the record of newID is not read).
func (s *Store) lockPair(ctx context.Context, tx querier, oldID, newID string, now stamps) (oldRow, newRow row, err error) {
	rows, err := tx.QueryContext(ctx, s.q.lock2, oldID, newID)
	if err != nil {
		return row{}, row{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			rid string
			v   []byte
			ex  int64
		)
		if err := rows.Scan(&rid, &v, &ex); err != nil {
			return row{}, row{}, err
		}
		r := row{exists: true, live: ex > now.now}
		switch rid {
		case oldID:
			if r.live {
				r.data = payloadOf(v)
			}
			oldRow = r
		case newID:
			newRow = r
		}
	}
	return oldRow, newRow, rows.Err()
}

// Delete removes the row of id.
func (s *Store) Delete(ctx context.Context, id string) error {
	if !sessionid.Valid(id) {
		return invalid("delete", id)
	}
	return s.exec(ctx, "delete", s.q.del, id)
}

// Touch sets the expiry of the live row of id, and its lastActivity to now,
// in one UPDATE that neither creates a row nor revives an expired one.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) error {
	if !sessionid.Valid(id) {
		return invalid("touch", id)
	}
	now := stampsNow()
	return s.exec(ctx, "touch", s.q.touch, now.lastActivity, expiresAt(expiry), id, now.now)
}

func (s *Store) exec(ctx context.Context, op, query string, args ...any) error {
	if err := s.awaitReady(ctx, op); err != nil {
		return err
	}
	if err := s.lockWrites(ctx); err != nil {
		return errorf("%s: %w", op, err)
	}
	defer s.unlockWrites()
	err := s.retryBroken(ctx, func() error {
		_, err := s.execPointDB(ctx, query, args...)
		return err
	})
	if err != nil {
		return errorf("%s: %w", op, err)
	}
	return nil
}

// Sweep deletes the expired rows through the index on expiresAt, in
// statements of at most Options.SweepBatch rows, each its own transaction,
// and reports how many it deleted. The context is checked between batches.
// Rows without an expiry (expiresAt 0) are left for New or sessionctl
// migrate to fill in. It then sweeps the user index, at most once every
// ten minutes: it removes the entries older than a minute whose session is
// gone, walking the index in statements of at most Options.SweepBatch
// entries (see the package documentation); they are not counted.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	if err := s.awaitReady(ctx, "sweep"); err != nil {
		return 0, err
	}
	total := 0
	for {
		now := stampsNow().now
		query, args := s.q.sweepAll, []any{now}
		if s.batch >= 0 {
			query, args = s.q.sweep, s.sweepArgs(now, s.batch)
		}
		n, err := s.sweepOnce(ctx, query, args)
		total += n
		if err != nil {
			return total, errorf("sweep: %w", err)
		}
		if s.batch < 0 || n < s.batch {
			break
		}
	}
	if err := s.sweepUsers(ctx); err != nil {
		return total, errorf("sweep: %w", err)
	}
	return total, nil
}

// SweepBatch deletes at most limit expired rows in one statement (one
// transaction) through the index on expiresAt, and reports how many it
// deleted; fewer than limit means that none was left, and then it sweeps
// the user index as Sweep does. It implements session.BatchSweeper, for
// callers that report the progress of a long sweep. A limit below 1 is an
// error.
func (s *Store) SweepBatch(ctx context.Context, limit int) (int, error) {
	if limit < 1 {
		return 0, errorf("sweep: batch limit %d is not positive", limit)
	}
	if err := s.awaitReady(ctx, "sweep"); err != nil {
		return 0, err
	}
	n, err := s.sweepOnce(ctx, s.q.sweep, s.sweepArgs(stampsNow().now, limit))
	if err == nil && n < limit {
		err = s.sweepUsers(ctx)
	}
	if err != nil {
		return n, errorf("sweep: %w", err)
	}
	return n, nil
}

// sweepArgs returns the arguments of the batch statement s.q.sweep.
func (s *Store) sweepArgs(now int64, limit int) []any {
	if s.dialect == MySQL {
		return []any{now, limit}
	}
	return []any{now, limit, now}
}

func (s *Store) sweepOnce(ctx context.Context, query string, args []any) (int, error) {
	if err := s.lockWrites(ctx); err != nil {
		return 0, err
	}
	defer s.unlockWrites()
	var n int64
	err := s.retryBroken(ctx, func() error {
		res, err := s.execDB(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// List calls fn with the ID and expiry of every live row, until fn returns
// false. It holds one connection (and, in SQLite, a read transaction) while
// it runs.
func (s *Store) List(ctx context.Context, fn func(id string, expiry time.Time) bool) error {
	return s.ListActivity(ctx, func(id string, _, expiry time.Time) bool { return fn(id, expiry) })
}

// ListActivity is List with each row's last activity: the time of its last
// write or touch, to the second.
func (s *Store) ListActivity(ctx context.Context, fn func(id string, lastActivity, expiry time.Time) bool) error {
	if err := s.awaitReady(ctx, "list"); err != nil {
		return err
	}
	var rows *sql.Rows
	err := s.retryBroken(ctx, func() (err error) {
		rows, err = s.db.QueryContext(ctx, s.q.list, stampsNow().now)
		return err
	})
	if err != nil {
		return errorf("list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id     string
			la, ex int64
		)
		if err := rows.Scan(&id, &la, &ex); err != nil {
			return errorf("list: %w", err)
		}
		if !fn(id, time.Unix(la, 0), time.UnixMilli(ex)) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return errorf("list: %w", err)
	}
	return nil
}

// ---- transactions ----------------------------------------------------------

// querier is what *sql.Tx and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// maxAttempts bounds the runs of one transaction that lost a race (a unique
// violation after two creators, a deadlock).
const maxAttempts = 20

// inTx runs body in a transaction and commits it, running it again after a
// conflict that a retry resolves. An error from fn (fnError) rolls back and
// is returned unchanged; other errors are prefixed with op.
func (s *Store) inTx(ctx context.Context, op string, body func(querier) error) error {
	for attempt := 1; ; attempt++ {
		var err error
		if s.dialect == SQLite {
			err = s.sqliteTx(ctx, body)
		} else {
			err = s.serverTx(ctx, body)
		}
		var fe fnError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &fe):
			return fe.err
		case attempt < maxAttempts && s.retryable(err) && ctx.Err() == nil:
			// Back off a little, with jitter, so that the losers of a
			// race do not collide again at once.
			d := time.Duration(rand.Int64N(int64(time.Millisecond)<<min(attempt, 6))) + 100*time.Microsecond
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return errorf("%s: %w", op, ctx.Err())
			case <-t.C:
			}
		default:
			return errorf("%s: %w", op, err)
		}
	}
}

// retryBroken runs f, which must be safe to repeat (a read, an idempotent
// statement, a BEGIN), again while it fails on a connection the server or the
// network closed under it (a database restart leaves every idle connection
// of the pool in that state; database/sql retries some of them itself, but
// not all, depending on the driver). Each dead connection is discarded as it
// fails, so the bound is the pool's size. A server's error, a failure to
// connect at all and the context's end are returned at once.
func (s *Store) retryBroken(ctx context.Context, f func() error) error {
	err := f()
	if err == nil {
		return nil
	}
	for attempts := s.db.Stats().OpenConnections + 1; attempts > 0 && s.brokenConn(err) && ctx.Err() == nil; attempts-- {
		err = f()
	}
	return err
}

// serverTx runs body in a database/sql transaction (PostgreSQL, MySQL).
func (s *Store) serverTx(ctx context.Context, body func(querier) error) error {
	var tx *sql.Tx
	// A BEGIN that fails on a broken connection did nothing: try another.
	err := s.retryBroken(ctx, func() (err error) {
		tx, err = s.db.BeginTx(ctx, s.txOpts)
		return err
	})
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed { // an error, or a panic in fn: release the row locks
			tx.Rollback()
		}
	}()
	if err := body(tx); err != nil {
		return err
	}
	committed = true // by Commit, or rolled back by its failure
	return tx.Commit()
}

// sqliteTx runs body in a BEGIN IMMEDIATE transaction on a connection of its
// own: the write lock is taken up front, so the row read is the row written
// over, and no other writer (in this or another process) comes in between.
// database/sql's BeginTx would start a deferred transaction, whose upgrade
// from reader to writer can fail.
func (s *Store) sqliteTx(ctx context.Context, body func(querier) error) (err error) {
	if err := s.lockWrites(ctx); err != nil {
		return err
	}
	defer s.unlockWrites()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		s.sqliteRollback(conn) // BEGIN may have started a transaction before failing
		return err
	}
	committed := false
	defer func() {
		if !committed {
			s.sqliteRollback(conn)
		}
	}()
	if err := body(conn); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	committed = true
	return nil
}

// sqliteRollback rolls back the transaction on conn, if any, even when the
// request's context has ended; a connection that cannot be rolled back is
// discarded rather than returned to the pool inside a transaction.
func (s *Store) sqliteRollback(conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := conn.ExecContext(ctx, "ROLLBACK")
	if err != nil && !strings.Contains(err.Error(), "no transaction is active") {
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// lockWrites takes the in-process SQLite writer lock (no-op for the other
// dialects), or returns the context's error.
func (s *Store) lockWrites(ctx context.Context) error {
	if s.wlock == nil {
		return ctx.Err()
	}
	select {
	case s.wlock <- struct{}{}:
		if err := ctx.Err(); err != nil {
			<-s.wlock
			return err
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) unlockWrites() {
	if s.wlock != nil {
		<-s.wlock
	}
}
