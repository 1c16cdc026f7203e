package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/sessionid"
)

var _ session.Swapper = (*Store)(nil)

// swapQueries are the two statements of Swap for one dialect and table.
type swapQueries struct {
	// replace is the compare-and-swap of a live row holding old. Its
	// parameters: next, lastActivity, expiresAt, id, old, now.
	replace string
	// create inserts a row, or overwrites an expired one (or one without
	// an expiry). Its parameters: id, next, lastActivity, expiresAt, now
	// (then, for MySQL, now, next, now, lastActivity, now, expiresAt).
	create string
}

// swapCache holds the swapQueries of each (dialect, table), built on first
// use.
var swapCache sync.Map // swapKey -> swapQueries

type swapKey struct {
	d     Dialect
	table string
}

func (s *Store) swapQueries() swapQueries {
	k := swapKey{s.dialect, s.table}
	if q, ok := swapCache.Load(k); ok {
		return q.(swapQueries)
	}
	q := buildSwapQueries(s.dialect, s.table)
	swapCache.Store(k, q)
	return q
}

func buildSwapQueries(d Dialect, table string) swapQueries {
	t := quote(d, table)
	id, payload, la, ex := quoteCol(d, colID), quoteCol(d, colPayload), quoteCol(d, colLastActivity), quoteCol(d, colExpiresAt)
	cols := " (" + id + ", " + payload + ", " + la + ", " + ex + ") VALUES (?, ?, ?, ?)"
	var q swapQueries
	switch d {
	case SQLite:
		// The explicit BINARY collation compares bytes even in a table
		// whose payload column was declared NOCASE. The upsert's WHERE
		// sees the existing row's columns; a row it leaves alone counts
		// as no change.
		q.replace = "UPDATE " + t + " SET " + payload + " = ?, " + la + " = ?, " + ex + " = ? WHERE " + id + " = ? AND " +
			payload + " = ? COLLATE BINARY AND " + ex + " > ?"
		q.create = "INSERT INTO " + t + cols +
			" ON CONFLICT (" + id + ") DO UPDATE SET " + payload + " = excluded." + payload + ", " + la + " = excluded." + la +
			", " + ex + " = excluded." + ex + " WHERE " + ex + " <= ?"
	case Postgres:
		// COLLATE "C" compares bytes whatever the column's collation.
		// ON CONFLICT DO UPDATE waits for a concurrent inserter and
		// evaluates its WHERE on the row as committed.
		q.replace = numbered("UPDATE " + t + " SET " + payload + " = ?, " + la + " = ?, " + ex + " = ? WHERE " + id + " = ? AND " +
			payload + ` = ? COLLATE "C" AND ` + ex + " > ?")
		q.create = numbered("INSERT INTO " + t + " AS cur" + cols +
			" ON CONFLICT (" + id + ") DO UPDATE SET " + payload + " = EXCLUDED." + payload + ", " + la + " = EXCLUDED." + la +
			", " + ex + " = EXCLUDED." + ex + " WHERE cur." + ex + " <= ?")
	case MySQL:
		// MySQL's affected-rows count cannot tell a matched row left
		// unchanged from a missed one (unless the client set
		// CLIENT_FOUND_ROWS, which then blurs an insert with a row left
		// alone by ON DUPLICATE KEY UPDATE). So both statements report
		// through LAST_INSERT_ID(expr), whose value the server returns
		// in the statement's OK packet (LastInsertId), and which is 0
		// for a statement that does not call it (the table has no
		// AUTO_INCREMENT column).
		//
		// replace: a matched row sets it to lastActivity + 1 (at least 1).
		// The payloads are compared as bytes: utf8mb4_bin is a PAD SPACE
		// collation, which ignores trailing spaces.
		q.replace = "UPDATE " + t + " SET " + payload + " = ?, " + la + " = LAST_INSERT_ID(? + 1) - 1, " + ex + " = ? WHERE " + id + " = ? AND " +
			"CAST(" + payload + " AS BINARY) = CAST(? AS BINARY) AND " + ex + " > ?"
		// create: 0 for an insert; for an existing row, 1 when it had
		// expired (and is overwritten) and 2 when it is live (and kept).
		// Each assignment sees the ones before it, so expiresAt, on which
		// every condition depends, is assigned last.
		q.create = "INSERT INTO " + t + cols +
			" ON DUPLICATE KEY UPDATE " + payload + " = IF(" + ex + " <= ?, ?, " + payload + "), " +
			la + " = IF(" + ex + " <= ?, ?, " + la + "), " +
			ex + " = IF(LAST_INSERT_ID(IF(" + ex + " <= ?, 1, 2)) = 1, ?, " + ex + ")"
	}
	return q
}

// Swap stores next with expiry under id, and reports true, when the row of
// id is live and its payload is byte for byte old (old non-nil), or when
// there is no live row (old nil); otherwise it changes nothing and reports
// false. It implements session.Swapper with one statement and no explicit
// transaction:
//
//   - old non-nil: UPDATE ... WHERE id = ? AND payload = ? AND expiresAt
//     > now, comparing the payloads as bytes;
//   - old nil: an upsert that overwrites only an expired row: INSERT ... ON
//     CONFLICT (id) DO UPDATE ... WHERE expiresAt <= now in SQLite and
//     PostgreSQL, INSERT ... ON DUPLICATE KEY UPDATE with conditional
//     assignments in MySQL.
//
// The database's row lock makes it atomic: of concurrent Swaps from the
// same old, exactly one succeeds. An ID outside the store's alphabet is an
// error wrapping ErrInvalidID. Like Touch and Delete, the statement is sent
// again when it fails on a connection found broken (after a database
// restart); should a connection break after the server ran it, the second
// run reports false, and the Manager falls back to Update. A deadlock
// (MySQL's gap locks under REPEATABLE READ) rolls the statement back, and
// it runs again.
func (s *Store) Swap(ctx context.Context, id string, old, next []byte, expiry time.Time) (bool, error) {
	if !sessionid.Valid(id) {
		return false, invalid("swap", id)
	}
	if err := s.awaitReady(ctx, "swap"); err != nil {
		return false, err
	}
	if err := s.lockWrites(ctx); err != nil {
		return false, errorf("swap: %w", err)
	}
	defer s.unlockWrites()
	q := s.swapQueries()
	now, ex := stampsNow(), expiresAt(expiry)
	enc := encodePayload(next)
	var (
		query string
		args  []any
	)
	if old != nil {
		query, args = q.replace, []any{enc, now.lastActivity, ex, id, encodePayload(old), now.now}
	} else {
		query, args = q.create, []any{id, enc, now.lastActivity, ex, now.now}
		if s.dialect == MySQL {
			args = append(args, enc, now.now, now.lastActivity, now.now, ex)
		}
	}
	var swapped bool
	err := s.retryBroken(ctx, func() error {
		var res sql.Result
		var err error
		for attempt := 1; ; attempt++ {
			res, err = s.execPointDB(ctx, query, args...)
			if err == nil || attempt >= maxAttempts || !s.rolledBack(err) || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return err
		}
		swapped, err = s.swapped(res, old != nil)
		return err
	})
	if err != nil {
		return false, errorf("swap: %w", err)
	}
	return swapped, nil
}

// swapped reads from the result of a Swap statement whether it wrote:
// replace (the compare-and-swap of an existing row) or create.
func (s *Store) swapped(res sql.Result, replace bool) (bool, error) {
	if s.dialect == MySQL { // see buildSwapQueries
		n, err := res.LastInsertId()
		if replace {
			return n > 0, err
		}
		return n != 2, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
