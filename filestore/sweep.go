package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sessionkit/session/internal/sessionid"
)

// Sweep removes every session file whose expiry has passed and reports
// how many it removed. It visits only the index minutes that have ended (see
// the package documentation), so its cost follows the number of sessions
// that fell due, not the number stored. Each session is re-checked under its
// shard lock before removal, so a session renewed meanwhile by an Update in
// any process stays. Sweep also removes temporary files left by crashed
// writes once their mtime is an hour old (they are not counted), under their
// shard's lock so that a write in progress is never disturbed, and prunes a
// bounded part of the user index (see the package documentation; pruned
// entries are not counted either). On a v1 directory (no complete index
// yet) it first scans the whole directory once, building the index. On
// errors it carries on with the other files and returns the first error
// with the count.
func (s *Store) Sweep(ctx context.Context) (removed int, err error) {
	defer func() { err = s.redact(err) }()
	return s.sweep(ctx, -1)
}

// SweepBatch removes at most limit expired session files, oldest index
// minutes first, as Sweep does, and reports how many it removed; fewer than
// limit means that none was left when it looked. limit must be positive. It
// implements session.BatchSweeper.
func (s *Store) SweepBatch(ctx context.Context, limit int) (removed int, err error) {
	defer func() { err = s.redact(err) }()
	if limit <= 0 {
		return 0, fmt.Errorf("filestore: SweepBatch limit %d is not positive", limit)
	}
	return s.sweep(ctx, limit)
}

// sweeper carries the state of one sweep.
type sweeper struct {
	s        *Store
	ctx      context.Context
	now      time.Time
	limit    int // < 0: none
	removed  int
	firstErr error
}

// note keeps the first error that is not a file having gone meanwhile.
func (w *sweeper) note(err error) {
	if w.firstErr == nil && err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.firstErr = fmt.Errorf("filestore: sweep: %w", err)
	}
}

// full reports whether the sweep has removed its limit.
func (w *sweeper) full() bool { return w.limit >= 0 && w.removed >= w.limit }

func (s *Store) sweep(ctx context.Context, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.closed.Load() {
		return 0, ErrClosed
	}
	w := &sweeper{s: s, ctx: ctx, now: time.Now(), limit: limit}
	w.sweepTemps()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if !s.indexComplete() {
		s.indexed.Store(false)
		done, err := w.scanAll()
		if err != nil {
			return w.removed, err
		}
		if !done {
			return w.removed, w.firstErr
		}
		if w.firstErr == nil {
			if err := s.markComplete(); err != nil {
				w.note(err)
			} else {
				s.indexed.Store(true)
			}
		}
	} else {
		s.indexed.Store(true)
	}
	if err := w.sweepBuckets(); err != nil {
		return w.removed, err
	}
	if err := w.sweepUsers(); err != nil {
		return w.removed, err
	}
	return w.removed, w.firstErr
}

// sweepBuckets sweeps the index minutes that have ended, oldest first. It
// returns only the context's error; others are noted.
func (w *sweeper) sweepBuckets() error {
	root := filepath.Join(w.s.dir, indexDir)
	d, err := os.Open(root)
	if err != nil {
		w.note(err)
		return nil
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		w.note(err)
	}
	var due []int64
	for _, name := range names {
		if b, ok := parseBucket(name); ok && !time.Unix(b+bucketWidth, 0).After(w.now) {
			due = append(due, b)
		}
	}
	slices.Sort(due)
	for _, b := range due {
		if w.full() {
			return nil
		}
		if err := w.sweepBucket(w.s.bucketDir(b)); err != nil {
			return err
		}
	}
	return nil
}

// sweepBucket visits the shard logs and the v1 markers of one ended index
// minute, then removes its directory once empty. It returns only the
// context's error.
func (w *sweeper) sweepBucket(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		w.note(err)
		return nil
	}
	defer d.Close()
	for {
		names, rerr := d.Readdirnames(256)
		for _, name := range names {
			if err := w.ctx.Err(); err != nil {
				return err
			}
			if w.full() {
				return nil
			}
			if shard, ok := logShard(name); ok {
				if err := w.sweepLog(filepath.Join(dir, name), shard); err != nil {
					return err
				}
			} else if sessionid.Valid(name) {
				w.sweepMarker(dir, name)
			} // else not ours: left alone
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			w.note(rerr)
			return nil
		}
	}
	// Fails, harmlessly, when a write added a log meanwhile or the
	// directory holds a name that is not ours.
	os.Remove(dir)
	return nil
}

// sweepLog handles the log of shard at path, in an ended minute's
// directory. It holds the shard's lock, which every append to the log
// holds too, from its read of the log to its unlink, so that no entry is
// appended in between; a write after it creates the log anew. For each ID
// the log holds (logIDs) it removes the session file if its expiry has
// passed (sweepID), then it unlinks the log. It keeps the log when the
// sweep stops before its end (limit, context) or when a session could not
// be checked: the next sweep reads it again, and finds the sessions
// already removed gone. It returns only the context's error.
func (w *sweeper) sweepLog(path string, shard int) error {
	unlock, err := w.s.lockShard(shard)
	if err != nil {
		w.note(err)
		return nil
	}
	defer unlock()
	b, ok, err := readLog(path)
	if err != nil || !ok {
		w.note(err)
		return nil // gone: swept meanwhile by another Store
	}
	keep := false
	for _, id := range logIDs(b, shard) {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if w.full() {
			return nil
		}
		if !w.sweepID(id) {
			keep = true
		}
	}
	if !keep {
		w.note(os.Remove(path))
	}
	return nil
}

// sweepMarker handles the v1 marker of id (an index entry as an empty file
// named by the ID) in an ended minute's directory dir: under id's shard
// lock it removes the session file if its expiry has passed (sweepID), then
// the marker.
func (w *sweeper) sweepMarker(dir, id string) {
	unlock, err := w.s.lock(id)
	if err != nil {
		w.note(err)
		return
	}
	defer unlock()
	if w.sweepID(id) {
		w.note(os.Remove(filepath.Join(dir, id)))
	}
}

// sweepID removes the session file of id if its expiry (a v2 file's header,
// a v1 file's mtime) has passed, and reports whether the index entry
// that led to it may go: a session whose expiry is later has an entry in a
// later minute. It reports false, keeping the entry, when an error leaves
// the session's state unknown. The caller holds id's shard lock.
func (w *sweeper) sweepID(id string) bool {
	path := w.s.path(id)
	// Under the lock, a file that reads torn is no session (its expiry, if
	// its header is unreadable, is the zero time: past).
	c, _, err := read(path, false, readExpiry)
	switch {
	case err != nil:
		w.note(err)
		return false // the session may still be there
	case c.exists && expired(c.expiry, w.now):
		if err := os.Remove(path); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				w.note(err)
				return false
			}
		} else {
			w.removed++
		}
	}
	return true
}

// scanAll is the sweep of a directory without a complete index: it reads
// the whole directory, removing expired session files and v1 temporary
// files, and adds the index entry of every live session (indexOrRemove). It reports whether it got to the end (not
// stopped by the limit); it returns only the context's error.
func (w *sweeper) scanAll() (done bool, err error) {
	d, err := os.Open(w.s.dir)
	if err != nil {
		w.note(err)
		return false, nil
	}
	defer d.Close()
	for {
		entries, rerr := d.ReadDir(256)
		for _, e := range entries {
			if err := w.ctx.Err(); err != nil {
				return false, err
			}
			if w.full() {
				return false, nil
			}
			name := e.Name()
			if strings.HasPrefix(name, v1TempPrefix) {
				if info, err := e.Info(); err == nil && info.Mode().IsRegular() && isStaleTemp(info, w.now) {
					shard, ok := tempShard(strings.TrimPrefix(name, v1TempPrefix))
					w.note(w.s.removeStaleTemp(filepath.Join(w.s.dir, name), shard, ok, w.now))
				}
				continue
			}
			if !sessionid.Valid(name) || !e.Type().IsRegular() {
				continue
			}
			removed, err := w.s.indexOrRemove(name, w.now)
			w.note(err)
			if removed {
				w.removed++
			}
		}
		if rerr == io.EOF {
			return !w.full(), nil
		}
		if rerr != nil {
			w.note(rerr)
			return false, nil
		}
	}
}

// indexOrRemove, under id's shard lock, removes the session file for id if
// it is expired at now (a file that reads torn under the lock is no
// session: it goes once its header's expiry, if readable, has passed), and
// otherwise appends its index entry to its shard's log in the minute of
// its expiry: the entries of a scan go where a write's would, under the
// same lock.
func (s *Store) indexOrRemove(id string, now time.Time) (removed bool, err error) {
	unlock, err := s.lock(id)
	if err != nil {
		return false, err
	}
	defer unlock()
	path := s.path(id)
	c, _, err := read(path, false, readExpiry)
	if err != nil || !c.exists {
		return false, err
	}
	if !expired(c.expiry, now) {
		return false, s.addIndex(id, bucketOf(c.expiry))
	}
	if err := os.Remove(path); err != nil {
		return false, err
	}
	return true, nil
}

// sweepTemps removes the stale temporary files in .tmp.
func (w *sweeper) sweepTemps() {
	dir := filepath.Join(w.s.dir, tempDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		w.note(err)
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || !isStaleTemp(info, w.now) {
			continue
		}
		shard, ok := tempShard(e.Name())
		w.note(w.s.removeStaleTemp(filepath.Join(dir, e.Name()), shard, ok, w.now))
	}
}

// isStaleTemp reports whether a temporary file is old enough to be treated as
// a leftover of a crashed write.
func isStaleTemp(fi os.FileInfo, now time.Time) bool {
	return now.Sub(fi.ModTime()) > staleTemp
}

// removeStaleTemp removes the temporary file at path if it is (still)
// stale. For a name carrying a shard (hasShard), it holds that shard's lock,
// under which no write of any Store on the directory can be in progress, so
// that a temporary file in use is never removed, whatever its mtime says
// (the v1 layout set it to the expiry, possibly past, before the
// rename).
func (s *Store) removeStaleTemp(path string, shard int, hasShard bool, now time.Time) error {
	if hasShard {
		unlock, err := s.lockShard(shard)
		if err != nil {
			return err
		}
		defer unlock()
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || !isStaleTemp(fi, now) {
		return nil
	}
	return os.Remove(path)
}

// tempShard returns the shard in a temporary file name "<xx>-*" (the part
// after ".tmp-" in a v1 temporary file).
func tempShard(name string) (int, bool) {
	if len(name) < 3 || name[2] != '-' {
		return 0, false
	}
	return parseShard(name[:2])
}
