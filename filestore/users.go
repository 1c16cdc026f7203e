package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sessionkit/session/internal/sessionid"
)

// The user index (see the package documentation): .users/<xx>/<hash> lists
// the sessions of the user whose user ID has the SHA-256 <hash> (64
// lower-case hex digits; <xx> is its first byte), one line per entry,
// "<session ID> <added, Unix seconds, 12 digits>\n". It is appended to, and
// rewritten, under the lock of shard <xx>.

const (
	usersDir = ".users"
	// stampDigits is the width of an entry's time: Unix seconds,
	// zero-padded, so that an entry cut short by a crash never reads as a
	// whole one.
	stampDigits = 12
	// userGrace is how long an entry whose session is gone is kept by
	// Sweep: the Manager adds an entry before it stores the session, so a
	// younger entry may name a session about to exist (session's
	// indexGrace).
	userGrace = time.Minute
	// userSweepBudget bounds the work of one Sweep on the user index: each
	// directory read, each index file read and each entry checked against
	// its session costs one.
	userSweepBudget = 1024
)

// userSweep is where the sweep of the user index resumes: the next shard
// directory of .users to visit and, within it, the last file name visited.
type userSweep struct {
	mu    sync.Mutex
	shard int
	after string
}

// userFile returns the index file of userID and its lock shard: the user ID
// never names a path, its SHA-256 does.
func (s *Store) userFile(userID string) (path string, shard int) {
	sum := sha256.Sum256([]byte(userID))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(s.dir, usersDir, h[:2], h), int(sum[0])
}

// isUserFile reports whether name is that of an index file in the
// directory xx: 64 lower-case hex digits, starting with xx.
func isUserFile(name, xx string) bool {
	if len(name) != 2*sha256.Size || name[:2] != xx {
		return false
	}
	for _, c := range []byte(name) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// lockUser checks ctx and takes the lock of shard, rechecking ctx once it
// is held.
func (s *Store) lockUser(ctx context.Context, shard int) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	unlock, err = s.lockShard(shard)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// userEntry formats the index entry of id added at t.
func userEntry(id string, t time.Time) []byte {
	b := make([]byte, 0, len(id)+stampDigits+2)
	b = append(b, id...)
	b = append(b, ' ')
	u := max(t.Unix(), 0)
	digits := strconv.AppendInt(nil, u, 10)
	for range stampDigits - len(digits) {
		b = append(b, '0')
	}
	b = append(b, digits...)
	return append(b, '\n')
}

// A userEntryAt is an entry of a user's index: a session ID and when it was
// last added (Unix seconds).
type userEntryAt struct {
	id    string
	added int64
}

// parseUserFile returns the entries of an index file, each ID once with its
// newest time, in the order of their first lines. A line that is not
// "<valid ID> <12 digits>" (an unfinished last line, or one that a crash
// cut short before a later append closed it) is left out.
func parseUserFile(b []byte) []userEntryAt {
	var out []userEntryAt
	at := map[string]int{}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break // unfinished: cut short by a crash, or being appended
		}
		line := b[:i]
		b = b[i+1:]
		sp := len(line) - stampDigits - 1
		if sp < 1 || line[sp] != ' ' {
			continue
		}
		var added int64
		ok := true
		for _, c := range line[sp+1:] {
			if c < '0' || c > '9' {
				ok = false
				break
			}
			added = added*10 + int64(c-'0')
		}
		id := string(line[:sp])
		if !ok || !sessionid.Valid(id) {
			continue
		}
		if j, dup := at[id]; dup {
			out[j].added = max(out[j].added, added)
			continue
		}
		at[id] = len(out)
		out = append(out, userEntryAt{id, added})
	}
	return out
}

// readUserFile returns the entries of the index file at path; none when it
// is missing.
func readUserFile(path string) ([]userEntryAt, error) {
	b, ok, err := readLog(path)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil
	}
	return parseUserFile(b), nil
}

// AddUserSession adds id to the index of userID, stamped with the current
// time: it appends one line to the user's index file, under the lock of
// the file's shard, which every change of that file holds, in every process
// sharing the directory, so concurrent adds all land. An invalid id is an
// error wrapping ErrInvalidID. It implements session.UserIndex.
func (s *Store) AddUserSession(ctx context.Context, userID, id string) (err error) {
	defer func() { err = s.redact(err) }()
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if !sessionid.Valid(id) {
		return invalidID(id)
	}
	path, shard := s.userFile(userID)
	unlock, err := s.lockUser(ctx, shard)
	if err != nil {
		return err
	}
	defer unlock()
	entry := userEntry(id, time.Now())
	for try := 0; ; try++ {
		err = appendLine(path, entry)
		if err == nil || try > 0 || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		// The shard's directory is made on first use, and never removed.
		if err = os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("filestore: user index: %w", err)
	}
	return nil
}

// ListUserSessions calls fn with each entry of userID's index, each ID once
// with the newest time it was added, until fn returns false. It reads the
// index file with no lock held (an entry being appended may or may not be
// seen; a rewrite is a rename, so it sees the file before or after it), and
// calls fn after the read, so fn may call the store. It implements
// session.UserIndex.
func (s *Store) ListUserSessions(ctx context.Context, userID string, fn func(id string, added time.Time) bool) (err error) {
	defer func() { err = s.redact(err) }()
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	path, _ := s.userFile(userID)
	entries, err := readUserFile(path)
	if err != nil {
		return fmt.Errorf("filestore: user index: %w", err)
	}
	for _, e := range entries {
		if !fn(e.id, time.Unix(e.added, 0)) {
			break
		}
	}
	return nil
}

// RemoveUserSessions removes ids from userID's index: under the lock of the
// file's shard, it writes the remaining entries (each once) to a temporary
// file that it renames over the index file, or removes the file when none
// remain. IDs that are not there are not an error. It implements
// session.UserIndex.
func (s *Store) RemoveUserSessions(ctx context.Context, userID string, ids ...string) (err error) {
	defer func() { err = s.redact(err) }()
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	path, shard := s.userFile(userID)
	unlock, err := s.lockUser(ctx, shard)
	if err != nil {
		return err
	}
	defer unlock()
	gone := make(map[string]bool, len(ids))
	for _, id := range ids {
		gone[id] = true
	}
	if err := s.rewriteUserFile(path, shard, func(e userEntryAt) bool { return gone[e.id] }); err != nil {
		return fmt.Errorf("filestore: user index: %w", err)
	}
	return nil
}

// rewriteUserFile drops the entries of the index file at path (of shard)
// for which drop reports true: it writes the others, each once, to a
// temporary file renamed over it, or removes the file when none remain. It
// writes nothing when drop takes no entry and the file holds no duplicate
// or damaged line. The caller holds the shard's lock.
func (s *Store) rewriteUserFile(path string, shard int, drop func(userEntryAt) bool) error {
	b, ok, err := readLog(path)
	if err != nil || !ok {
		return err
	}
	entries := parseUserFile(b)
	keep := slices.DeleteFunc(slices.Clone(entries), drop)
	if len(keep) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	var content []byte
	for _, e := range keep {
		content = append(content, userEntry(e.id, time.Unix(e.added, 0))...)
	}
	if bytes.Equal(content, b) {
		return nil
	}
	tmp, err := s.createTempShard(shard, content)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// sweepUsers prunes the user index, in bounded work (userSweepBudget): it
// visits the index files in turn, resuming where the previous sweep of
// this Store stopped, and drops the entries whose session is gone or
// expired and that were added more than userGrace ago (an index file left
// without entries goes). A live session's entry is never dropped. It
// returns only the context's error; others are noted. Only one sweep of a
// Store does this at a time; another skips it.
func (w *sweeper) sweepUsers() error {
	u := &w.s.userSweep
	if !u.mu.TryLock() {
		return nil
	}
	defer u.mu.Unlock()
	budget := userSweepBudget
	root := filepath.Join(w.s.dir, usersDir)
	d, err := os.Open(root)
	if err != nil {
		w.note(err)
		return nil
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		w.note(err)
		return nil
	}
	var shards []int
	for _, name := range names {
		if shard, ok := parseShard(name); ok {
			shards = append(shards, shard)
		}
	}
	slices.Sort(shards)
	// From u.shard on, around once at most.
	if i, _ := slices.BinarySearch(shards, u.shard); i > 0 {
		shards = append(shards[i:], shards[:i]...)
	}
	for _, shard := range shards {
		if budget <= 0 {
			return nil
		}
		if shard != u.shard {
			u.shard, u.after = shard, ""
		}
		budget--
		done, err := w.sweepUserShard(shard, &budget)
		if err != nil || !done {
			return err
		}
		u.shard, u.after = (shard+1)%shardCount, ""
	}
	return nil
}

// sweepUserShard prunes the index files in .users/<shard>, in name order
// from after u.after, spending budget. It reports whether it got to the
// end of the directory; it returns only the context's error.
func (w *sweeper) sweepUserShard(shard int, budget *int) (done bool, err error) {
	u := &w.s.userSweep
	xx := string([]byte{hexDigits[shard>>4], hexDigits[shard&0xf]})
	dir := filepath.Join(w.s.dir, usersDir, xx)
	d, err := os.Open(dir)
	if err != nil {
		w.note(err)
		return true, nil
	}
	var names []string
	for {
		batch, rerr := d.Readdirnames(256)
		for _, name := range batch {
			if name > u.after && isUserFile(name, xx) {
				names = append(names, name)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			d.Close()
			w.note(rerr)
			return true, nil
		}
	}
	d.Close()
	slices.Sort(names)
	for _, name := range names {
		if err := w.ctx.Err(); err != nil {
			return false, err
		}
		if *budget <= 0 {
			return false, nil
		}
		*budget--
		w.pruneUserFile(filepath.Join(dir, name), shard, budget)
		u.after = name
	}
	return true, nil
}

// pruneUserFile drops the entries of the index file at path (of shard)
// whose session is gone or expired and that were added more than userGrace
// ago, checking at most *budget of them (spending one each; the others
// wait for a later sweep). It checks the sessions with no lock held (each
// as Load reads it, but for the expiry only), then, under the shard's lock,
// reads the file again and drops those entries unless one was added again
// meanwhile.
func (w *sweeper) pruneUserFile(path string, shard int, budget *int) {
	entries, err := readUserFile(path)
	if err != nil {
		w.note(err)
		return
	}
	old := w.now.Add(-userGrace).Unix()
	dead := map[string]bool{}
	for _, e := range entries {
		if *budget <= 0 {
			break
		}
		if e.added > old {
			continue
		}
		*budget--
		live, err := w.s.sessionLive(e.id, w.now)
		if err != nil {
			w.note(err)
			continue
		}
		if !live {
			dead[e.id] = true
		}
	}
	if len(dead) == 0 {
		return
	}
	unlock, err := w.s.lockShard(shard)
	if err != nil {
		w.note(err)
		return
	}
	defer unlock()
	w.note(w.s.rewriteUserFile(path, shard, func(e userEntryAt) bool { return dead[e.id] && e.added <= old }))
}

// sessionLive reports whether the session file of id holds a session that
// has not expired at now, as Load would find it: a file that reads torn
// (being written) is read again as Load reads it, and counts as live
// unless it reads torn under the lock too.
func (s *Store) sessionLive(id string, now time.Time) (bool, error) {
	path := s.path(id)
	for range loadTries {
		c, _, err := read(path, false, readExpiry)
		if err != nil {
			return false, err
		}
		if !c.torn {
			return c.exists && !expired(c.expiry, now), nil
		}
	}
	unlock, err := s.lock(id)
	if err != nil {
		return false, err
	}
	defer unlock()
	c, _, err := read(path, false, readExpiry)
	if err != nil {
		return false, err
	}
	return c.found && !expired(c.expiry, now), nil
}
