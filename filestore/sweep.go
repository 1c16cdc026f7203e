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
)

// Sweep removes every session file whose expiry has passed and reports
// how many it removed. It visits only the index minutes that have ended (see
// the package documentation), so its cost follows the number of sessions
// that fell due, not the number stored. Each session is re-checked under its
// shard lock before removal, so a session renewed meanwhile by an Update in
// any process stays. Sweep also removes temporary files left by crashed
// writes once their mtime is an hour old (they are not counted), under their
// shard's lock so that a write in progress is never disturbed. On a directory
// that has no complete index yet (one written by an earlier version) it
// first scans the whole directory once, building the index. On errors it
// carries on with the other files and returns the first error with the
// count.
func (s *Store) Sweep(ctx context.Context) (removed int, err error) {
	return s.sweep(ctx, -1)
}

// SweepBatch removes at most limit expired session files, oldest index
// minutes first, as Sweep does, and reports how many it removed; fewer than
// limit means that none was left when it looked. limit must be positive. It
// implements session.BatchSweeper.
func (s *Store) SweepBatch(ctx context.Context, limit int) (removed int, err error) {
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
	return w.removed, w.firstErr
}

// markComplete creates .expiry/.complete.
func (s *Store) markComplete() error {
	f, err := os.OpenFile(filepath.Join(s.dir, indexDir, completeName), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
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

// sweepBucket visits the markers of one ended index minute, then removes
// its directory once empty. It returns only the context's error.
func (w *sweeper) sweepBucket(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		w.note(err)
		return nil
	}
	defer d.Close()
	for {
		names, rerr := d.Readdirnames(256)
		for _, id := range names {
			if err := w.ctx.Err(); err != nil {
				return err
			}
			if w.full() {
				return nil
			}
			if !validID(id) {
				continue // not ours: left alone
			}
			w.sweepMarker(dir, id)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			w.note(rerr)
			return nil
		}
	}
	// Fails, harmlessly, when a write added a marker meanwhile or the
	// directory holds a name that is not ours.
	os.Remove(dir)
	return nil
}

// sweepMarker handles the marker of id in an ended minute's directory dir:
// under id's shard lock it removes the session file if its expiry (a v2
// file's header, a legacy file's mtime) has passed, then the marker. A session whose expiry is later has a marker in a later
// minute, so this one is dropped too.
func (w *sweeper) sweepMarker(dir, id string) {
	unlock, err := w.s.lock(id)
	if err != nil {
		w.note(err)
		return
	}
	defer unlock()
	path := w.s.path(id)
	// Under the lock, a file that reads torn is no session (its expiry, if
	// its header is unreadable, is the zero time: past).
	c, _, err := read(path, false, readExpiry)
	switch {
	case err != nil:
		w.note(err)
		return // keep the marker: the session may still be there
	case c.exists && expired(c.expiry, w.now):
		if err := os.Remove(path); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				w.note(err)
				return
			}
		} else {
			w.removed++
		}
	}
	w.note(os.Remove(filepath.Join(dir, id)))
}

// scanAll is the sweep of a directory without a complete index: it reads
// the whole directory, removing expired session files and the temporary
// files of the earlier layout, and adds the marker of every live session.
// It reports whether it got to the end (not stopped by the limit); it
// returns only the context's error.
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
			if strings.HasPrefix(name, legacyTempPrefix) {
				if info, err := e.Info(); err == nil && info.Mode().IsRegular() && isStaleTemp(info, w.now) {
					shard, ok := tempShard(strings.TrimPrefix(name, legacyTempPrefix))
					w.note(w.s.removeStaleTemp(filepath.Join(w.s.dir, name), shard, ok, w.now))
				}
				continue
			}
			if !validID(name) || !e.Type().IsRegular() {
				continue
			}
			c, _, err := read(w.s.path(name), false, readExpiry)
			if err != nil {
				w.note(err)
				continue
			}
			if !c.exists {
				continue // gone meanwhile
			}
			if !c.torn && !expired(c.expiry, w.now) {
				// A write since the read added its own marker; this one
				// is then stale, and dropped when its minute comes.
				w.note(w.s.addMarker(name, bucketOf(c.expiry)))
				continue
			}
			// Expired, or torn without the lock: look again under it.
			ok, live, err := w.s.removeIfExpired(name, w.now)
			w.note(err)
			if ok {
				w.removed++
			} else if !live.IsZero() {
				w.note(w.s.addMarker(name, bucketOf(live)))
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

// removeIfExpired removes the session file for id if, under id's shard lock,
// it is expired at now (a file that reads torn under the lock is no session:
// it goes once its header's expiry, if readable, has passed). Otherwise it
// returns the expiry of the file it left, if any.
func (s *Store) removeIfExpired(id string, now time.Time) (removed bool, live time.Time, err error) {
	unlock, err := s.lock(id)
	if err != nil {
		return false, time.Time{}, err
	}
	defer unlock()
	path := s.path(id)
	c, _, err := read(path, false, readExpiry)
	if err != nil || !c.exists {
		return false, time.Time{}, err
	}
	if !expired(c.expiry, now) {
		return false, c.expiry, nil
	}
	if err := os.Remove(path); err != nil {
		return false, time.Time{}, err
	}
	return true, time.Time{}, nil
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
// (the earlier layout set it to the expiry, possibly past, before the
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
// after ".tmp-" in the earlier layout).
func tempShard(name string) (int, bool) {
	if len(name) < 3 || name[2] != '-' {
		return 0, false
	}
	i := 0
	for _, c := range []byte(name[:2]) {
		switch {
		case '0' <= c && c <= '9':
			i = i<<4 | int(c-'0')
		case 'a' <= c && c <= 'f':
			i = i<<4 | int(c-'a'+10)
		default:
			return 0, false
		}
	}
	return i, true
}
