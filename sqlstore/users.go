package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/sessionid"
)

// The user index (session.UserIndex): the table <table>_users holds one row
// per session of a user, (user_id, id, added), under the primary key
// (user_id, id). See the package documentation for its design.

const (
	// userGrace is how long an entry whose session is not in the table is
	// kept by the sweep: the Manager writes the entry before the session
	// (a Login in flight).
	userGrace = time.Minute
	// userSweepEvery is the least time between the starts of two passes of
	// Sweep over the user index.
	userSweepEvery = 10 * time.Minute
	// userRecheck is how long the user index's calls trust that its table
	// is missing before they look again: once it has been made (sessionctl
	// migrate), the Store uses it within that time, with no restart.
	userRecheck = 10 * time.Second
	// removeChunk is the most IDs one DELETE of RemoveUserSessions names.
	removeChunk = 100
)

// userQueries are the statements of the user index, for one dialect and
// table. Parameters in the order each comment gives; "added" is the current
// time in Unix seconds.
type userQueries struct {
	add  string // user_id, id, added (MySQL: then added again)
	list string // user_id
}

func buildUserQueries(d Dialect, table string) userQueries {
	u, uid, id, added := quote(d, usersTable(table)), quoteCol(d, colUserID), quoteCol(d, colID), quoteCol(d, colAdded)
	insert := "INSERT INTO " + u + " (" + uid + ", " + id + ", " + added + ") VALUES (?, ?, ?)"
	q := userQueries{list: "SELECT " + id + ", " + added + " FROM " + u + " WHERE " + uid + " = ?"}
	switch d {
	case MySQL:
		q.add = insert + " ON DUPLICATE KEY UPDATE " + added + " = ?"
	default: // SQLite and PostgreSQL have the same upsert
		q.add = insert + " ON CONFLICT (" + uid + ", " + id + ") DO UPDATE SET " + added + " = excluded." + added
	}
	if d == Postgres {
		q.add, q.list = numbered(q.add), numbered(q.list)
	}
	return q
}

// userState is what a Store knows of its user index's table, and where its
// sweep is.
type userState struct {
	// missingAt is when the table was last found missing, in Unix
	// milliseconds; 0 when it was not.
	missingAt atomic.Int64
	whyMu     sync.Mutex
	why       string // why New did not make it, for the error

	// recheck is userRecheck, and sweepEvery userSweepEvery (the tests
	// change them).
	recheck, sweepEvery time.Duration

	sweepMu sync.Mutex
	cursor  *userKey  // where the unfinished pass goes on; nil between passes
	passAt  time.Time // when the last pass started
}

// userKey is the primary key of an entry.
type userKey struct{ user, id string }

// usersMissing records that the user index's table is missing, and why New
// did not make it.
func (s *Store) usersMissing(why string) {
	s.users.whyMu.Lock()
	if why != "" {
		s.users.why = why
	}
	s.users.whyMu.Unlock()
	s.users.missingAt.Store(max(time.Now().UnixMilli(), 1))
}

// usersFound records that the user index's table is there.
func (s *Store) usersFound() {
	if s.users.missingAt.Load() != 0 {
		s.users.missingAt.Store(0)
	}
}

// knownMissing reports whether the table was found missing less than
// userRecheck ago.
func (s *Store) knownMissing() bool {
	t := s.users.missingAt.Load()
	return t != 0 && time.Since(time.UnixMilli(t)) < s.users.recheck
}

// missingUsersError is the error of a user index call while its table is
// missing; cause, if any, is the statement's own error.
func (s *Store) missingUsersError(op string, cause error) error {
	s.users.whyMu.Lock()
	why := s.users.why
	s.users.whyMu.Unlock()
	if why != "" {
		why = " (" + why + ")"
	}
	msg := "%s: %w: no table %q (the index of each user's sessions), or this database user may not use it%s: " +
		"run \"sessionctl migrate\", or have a database user who may create tables run the statements that " +
		"\"sessionctl migrate --print\" prints, and grant this one SELECT, INSERT, UPDATE and DELETE on it"
	if cause != nil {
		return errorf(msg+": %w", op, ErrSchema, usersTable(s.table), why, cause)
	}
	return errorf(msg, op, ErrSchema, usersTable(s.table), why)
}

// userReady returns nil when a user index call may run: the Store's setup
// has run and its table is not known to be missing.
func (s *Store) userReady(ctx context.Context, op string) error {
	if err := s.awaitReady(ctx, op); err != nil {
		return err
	}
	if s.knownMissing() {
		if err := ctx.Err(); err != nil {
			return errorf("%s: %w", op, err)
		}
		return s.missingUsersError(op, nil)
	}
	return nil
}

// userFailed returns the error of a user index statement that failed with
// err: when the table turns out to be missing (the catalog says so), the
// error says what to do.
func (s *Store) userFailed(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil || s.unreachable(err) {
		return errorf("%s: %w", op, err)
	}
	if ok, cerr := s.tableNamed(ctx, s.db, usersTable(s.table)); cerr == nil && !ok {
		s.usersMissing("")
		return s.missingUsersError(op, err)
	}
	return errorf("%s: %w", op, err)
}

// CheckUserIndex looks in the catalog for the user index's table and
// returns nil when it is there, and otherwise the error that the index's
// calls return (wrapping ErrSchema, saying why New did not make it), so that
// a tool that made the schema (sessionctl migrate) can tell that the index
// is still missing.
func (s *Store) CheckUserIndex(ctx context.Context) error {
	const op = "user index"
	if err := s.awaitReady(ctx, op); err != nil {
		return err
	}
	ok, err := s.usersTableUsable(ctx, s.db)
	switch {
	case err != nil:
		return errorf("%s: %w", op, err)
	case !ok:
		s.usersMissing("")
		return s.missingUsersError(op, nil)
	}
	s.usersFound()
	return nil
}

// AddUserSession adds id to the index of userID, stamped with the current
// time (an entry that is there already is stamped again), in one upsert:
// INSERT ... ON CONFLICT DO UPDATE (SQLite, PostgreSQL) or ON DUPLICATE
// KEY UPDATE (MySQL). Each entry is a row of its own, so concurrent adds for
// one user all land. A user ID that Session.Login would refuse is an error
// wrapping session.ErrUserID, and a session ID outside the store's alphabet
// one wrapping ErrInvalidID. When the index's table is missing (New was
// told not to make it, or could not), the error wraps ErrSchema and says to
// run sessionctl migrate.
func (s *Store) AddUserSession(ctx context.Context, userID, id string) error {
	const op = "add user session"
	if !sessionid.ValidUser(userID) {
		return errorf("%s: %w: %d bytes (want 1 to %d bytes of UTF-8, no NUL)", op, session.ErrUserID, len(userID), session.MaxUserIDLen)
	}
	if !sessionid.Valid(id) {
		return invalid(op, id)
	}
	args := []any{userID, id, time.Now().Unix()}
	if s.dialect == MySQL {
		args = append(args, args[2])
	}
	_, err := s.userExec(ctx, op, s.uq.add, args...)
	return err
}

// userExec runs a statement that writes the user index and returns the
// number of rows it changed. A statement the server rolled back (a
// deadlock) runs again; so does one that failed on a broken connection
// (the index's statements are idempotent).
func (s *Store) userExec(ctx context.Context, op, query string, args ...any) (int64, error) {
	if err := s.userReady(ctx, op); err != nil {
		return 0, err
	}
	if err := s.lockWrites(ctx); err != nil {
		return 0, errorf("%s: %w", op, err)
	}
	defer s.unlockWrites()
	var n int64
	err := s.retryBroken(ctx, func() error {
		for attempt := 1; ; attempt++ {
			res, err := s.execDB(ctx, query, args...)
			if err == nil {
				n, err = res.RowsAffected()
				return err
			}
			if attempt >= maxAttempts || !s.rolledBack(err) || ctx.Err() != nil {
				return err
			}
		}
	})
	if err != nil {
		return 0, s.userFailed(ctx, op, err)
	}
	s.usersFound()
	return n, nil
}

// ListUserSessions calls fn with each entry of userID's index and the time
// it was added, until fn returns false: one query through the primary key
// (user_id, id). The entries are read first, so fn runs with no connection
// held. A user ID that no Login accepts has no entries.
func (s *Store) ListUserSessions(ctx context.Context, userID string, fn func(id string, added time.Time) bool) error {
	const op = "list user sessions"
	if err := s.userReady(ctx, op); err != nil {
		return err
	}
	if !sessionid.ValidUser(userID) {
		if err := ctx.Err(); err != nil {
			return errorf("%s: %w", op, err)
		}
		return nil
	}
	type entry struct {
		id    string
		added int64
	}
	var entries []entry
	err := s.retryBroken(ctx, func() error {
		entries = entries[:0]
		rows, err := s.queryDB(ctx, s.uq.list, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e entry
			if err := rows.Scan(&e.id, &e.added); err != nil {
				return err
			}
			entries = append(entries, e)
		}
		return rows.Err()
	})
	if err != nil {
		return s.userFailed(ctx, op, err)
	}
	s.usersFound()
	for _, e := range entries {
		if !fn(e.id, time.Unix(e.added, 0)) {
			break
		}
	}
	return nil
}

// RemoveUserSessions removes ids from userID's index, in DELETE statements
// of at most 100 IDs each, which name userID: other users' entries are
// never touched. An ID that is not there is not an error.
func (s *Store) RemoveUserSessions(ctx context.Context, userID string, ids ...string) error {
	const op = "remove user sessions"
	if err := ctx.Err(); err != nil {
		return errorf("%s: %w", op, err)
	}
	if !sessionid.ValidUser(userID) {
		return nil
	}
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if sessionid.Valid(id) { // no other ID was ever added
			valid = append(valid, id)
		}
	}
	for len(valid) > 0 {
		chunk := valid[:min(len(valid), removeChunk)]
		valid = valid[len(chunk):]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, userID)
		for _, id := range chunk {
			args = append(args, id)
		}
		if _, err := s.userExec(ctx, op, s.removeQuery(len(chunk)), args...); err != nil {
			return err
		}
	}
	return nil
}

// removeQuery returns the DELETE of n IDs of one user's index: user_id,
// then the n IDs.
func (s *Store) removeQuery(n int) string {
	d := s.dialect
	q := "DELETE FROM " + quote(d, usersTable(s.table)) + " WHERE " + quoteCol(d, colUserID) + " = ? AND " +
		quoteCol(d, colID) + " IN (?" + strings.Repeat(", ?", n-1) + ")"
	if d == Postgres {
		q = numbered(q)
	}
	return q
}

// ---- sweeping the index ------------------------------------------------------

// sweepUsers removes the entries of the user index whose session is gone (no
// row, or an expired one) and that are older than userGrace, when a pass is
// due: at most one pass starts every userSweepEvery, and a pass that an
// error or the context's end interrupted goes on at the next call, where it
// stopped. A pass walks the index in the order of its primary key, in
// windows of Options.SweepBatch entries (all at once when it is negative):
// each window is one DELETE through the primary key, checking each entry's
// session through the sessions' primary key, so no statement holds locks
// for long, and the sweep never scans the sessions table. A missing index
// table is no error: there is nothing to sweep.
func (s *Store) sweepUsers(ctx context.Context) error {
	u := &s.users
	u.sweepMu.Lock()
	defer u.sweepMu.Unlock()
	if u.cursor == nil {
		if !u.passAt.IsZero() && time.Since(u.passAt) < u.sweepEvery || s.knownMissing() {
			return nil
		}
		u.passAt = time.Now()
		u.cursor = &userKey{} // the start
	}
	for u.cursor != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		var end *userKey
		if s.batch >= 0 {
			var err error
			if end, err = s.userWindowEnd(ctx, *u.cursor, s.batch); err != nil {
				return s.sweepUsersFailed(ctx, err)
			}
		}
		if err := s.sweepUserWindow(ctx, *u.cursor, end); err != nil {
			return s.sweepUsersFailed(ctx, err)
		}
		u.cursor = end
	}
	return nil
}

// sweepUsersFailed returns the error of a statement of sweepUsers: nil when
// the table is missing (the pass ends), the error otherwise (the pass goes
// on from where it stopped at the next sweep).
func (s *Store) sweepUsersFailed(ctx context.Context, err error) error {
	if ctx.Err() == nil && !s.unreachable(err) {
		if ok, cerr := s.tableNamed(ctx, s.db, usersTable(s.table)); cerr == nil && !ok {
			s.usersMissing("")
			s.users.cursor = nil
			return nil
		}
	}
	return errorf("user index: %w", err)
}

// after returns the condition "the entry's key is after from" (nothing for
// the start) and its arguments; prefix qualifies the columns.
func (s *Store) after(from userKey, prefix string) (string, []any) {
	if from == (userKey{}) {
		return "", nil
	}
	uid, id := prefix+quoteCol(s.dialect, colUserID), prefix+quoteCol(s.dialect, colID)
	return "(" + uid + " > ? OR (" + uid + " = ? AND " + id + " > ?))", []any{from.user, from.user, from.id}
}

// userWindowEnd returns the key of the limit-th entry after from, or nil
// when fewer are left.
func (s *Store) userWindowEnd(ctx context.Context, from userKey, limit int) (*userKey, error) {
	d := s.dialect
	uid, id := quoteCol(d, colUserID), quoteCol(d, colID)
	cond, args := s.after(from, "")
	q := "SELECT " + uid + ", " + id + " FROM " + quote(d, usersTable(s.table))
	if cond != "" {
		q += " WHERE " + cond
	}
	q += " ORDER BY " + uid + ", " + id + " LIMIT 1 OFFSET ?"
	if d == Postgres {
		q = numbered(q)
	}
	args = append(args, max(limit-1, 0))
	var k userKey
	err := s.retryBroken(ctx, func() error { return s.queryRowDB(ctx, q, args...).Scan(&k.user, &k.id) })
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// sweepUserWindow deletes the stale entries after from, up to and
// including to (to the end when to is nil), in one statement.
func (s *Store) sweepUserWindow(ctx context.Context, from userKey, to *userKey) error {
	d := s.dialect
	u := quote(d, usersTable(s.table)) + "."
	t := quote(d, s.table)
	uid, id := u+quoteCol(d, colUserID), u+quoteCol(d, colID)
	ex := t + "." + quoteCol(d, colExpiresAt)
	now := stampsNow()

	conds := []string{}
	var args []any
	if c, a := s.after(from, u); c != "" {
		conds, args = append(conds, c), append(args, a...)
	}
	if to != nil {
		conds = append(conds, "("+uid+" < ? OR ("+uid+" = ? AND "+id+" <= ?))")
		args = append(args, to.user, to.user, to.id)
	}
	// Stale: old enough, and no session row that is live (or has no
	// expiry recorded yet: it may become live when migrate fills it in).
	conds = append(conds, u+quoteCol(d, colAdded)+" <= ?",
		"NOT EXISTS (SELECT 1 FROM "+t+" WHERE "+t+"."+quoteCol(d, colID)+" = "+id+" AND ("+ex+" > ? OR "+ex+" = 0))")
	args = append(args, now.lastActivity-int64(userGrace/time.Second), now.now)
	q := "DELETE FROM " + quote(d, usersTable(s.table)) + " WHERE " + strings.Join(conds, " AND ")
	if d == Postgres {
		q = numbered(q)
	}
	if err := s.lockWrites(ctx); err != nil {
		return err
	}
	defer s.unlockWrites()
	return s.retryBroken(ctx, func() error {
		_, err := s.execDB(ctx, q, args...)
		return err
	})
}
