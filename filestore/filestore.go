// Package filestore is a session store that keeps each session in a file of
// its own, in one directory that any number of processes on the same machine
// may share.
//
// # Layout
//
//   - <dir>/<id> holds exactly the session's data bytes, with mode 0600. The
//     file's modification time is the session's expiry deadline: Load treats
//     a file whose mtime is not after the current time as missing, Touch is a
//     single os.Chtimes that never rewrites the data, and Sweep removes files
//     whose mtime has passed.
//   - Only IDs of 1 to 128 characters from [A-Za-z0-9_-] are stored (the
//     Manager's IDs are 43 characters of that alphabet). Load reports any
//     other ID as not found; Update, Delete and Touch reject it with an error
//     wrapping ErrInvalidID. No path is ever built from an unchecked ID.
//   - Writes go to a temporary file in the same directory, named
//     ".tmp-<shard>-*", which gets its data, then its mtime, and is then
//     renamed over <id>. A reader sees the old file or the new one, never
//     part of one, and a crash of the writing process (even SIGKILL) never
//     leaves a torn session file. A crash can leave a temporary file behind;
//     Sweep removes those once their mtime is an hour old (for a write that
//     crashed after setting the expiry, an hour after that expiry).
//   - <dir>/.locks/00 to <dir>/.locks/ff are lock files. Update, Delete, Touch
//     and Sweep lock the ID's shard (chosen by a hash of the ID) with an
//     in-process mutex plus flock(2) on the shard's lock file, which the Store
//     opens on first use and keeps open until Close, so an Update is atomic
//     across goroutines and across processes sharing the directory. Load takes
//     no lock.
//
// Names starting with "." are never sessions, and Sweep leaves alone any name
// that is not a valid ID, so the directory can hold other files.
//
// There is no fsync: after a power loss or kernel crash the most recent writes
// may be lost (or a file may read back empty), but a process crash never
// tears a file.
//
// Cross-process locking uses flock(2) and is available on Linux, the BSDs and
// macOS; elsewhere the package builds but locks within the process only. IDs
// differing only in letter case name the same file on a case-insensitive file
// system (the default on macOS and Windows), which this package does not
// guard against; use a case-sensitive file system.
package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrInvalidID is wrapped by the errors Update, Delete and Touch return for an
// ID outside the store's alphabet ([A-Za-z0-9_-], 1 to 128 characters).
var ErrInvalidID = errors.New("filestore: invalid session ID")

// ErrClosed is returned by a Store's methods after Close.
var ErrClosed = errors.New("filestore: store is closed")

const (
	maxIDLen   = 128
	shardCount = 256
	lockDir    = ".locks"
	tmpPrefix  = ".tmp-"
	// staleTemp is the age after which Sweep treats a temporary file as a
	// leftover of a crashed write.
	staleTemp = time.Hour
)

// Expiries are stored as file times in nanoseconds since 1970, so clamp them
// to a range that survives that conversion.
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

type lockShard struct {
	mu sync.Mutex
	f  *os.File // lock file, opened on first use
}

// Store is a session store keeping one file per session in a directory. It
// implements session.Store, session.Sweeper and session.Lister. Create one with New and
// release its lock files with Close. A Store is safe for concurrent use, and
// several Stores, in one process or many, may share a directory.
type Store struct {
	dir    string
	closed atomic.Bool
	shards [shardCount]lockShard
}

// New returns a store keeping its files in dir. It creates dir (mode 0700,
// with parents) if it does not exist, and fails if dir is not a writable
// directory. The permissions of an existing dir are left as they are; make
// sure other users cannot read it.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("filestore: empty directory name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("filestore: %s is not a directory", abs)
	}
	if err := os.MkdirAll(filepath.Join(abs, lockDir), 0o700); err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	// Check that dir is writable the way Update will write to it.
	probe, err := os.CreateTemp(abs, tmpPrefix+"probe-*")
	if err != nil {
		return nil, fmt.Errorf("filestore: directory is not writable: %w", err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return &Store{dir: abs}, nil
}

// Dir returns the absolute path of the store's directory.
func (s *Store) Dir() string { return s.dir }

// validID reports whether id may name a file: 1 to 128 characters from
// [A-Za-z0-9_-]. Such a name has no separator, cannot be "." or "..", and
// cannot start with "." (the store's own files).
func validID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func invalidID(id string) error {
	return fmt.Errorf("%w (%d bytes: %.40q)", ErrInvalidID, len(id), id)
}

// path returns the file of a valid id.
func (s *Store) path(id string) string { return filepath.Join(s.dir, id) }

// expired reports whether a record with expiry e is dead at now.
func expired(e, now time.Time) bool { return !e.After(now) }

func clampTime(t time.Time) time.Time {
	switch {
	case t.Before(minTime):
		return minTime // also keeps the zero Time, which Chtimes ignores, out
	case t.After(maxTime):
		return maxTime
	}
	return t
}

func shardIndex(id string) int {
	const (
		offset32 = 2166136261
		prime32  = 16777619
	)
	h := uint32(offset32)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= prime32
	}
	return int(h % shardCount)
}

// lock takes id's shard lock (mutex, then flock) and returns its release.
func (s *Store) lock(id string) (unlock func(), err error) {
	return s.lockShard(shardIndex(id))
}

// lockShard takes shard i's lock (mutex, then flock) and returns its release.
func (s *Store) lockShard(i int) (unlock func(), err error) {
	sh := &s.shards[i]
	sh.mu.Lock()
	if s.closed.Load() {
		sh.mu.Unlock()
		return nil, ErrClosed
	}
	if sh.f == nil {
		name := filepath.Join(s.dir, lockDir, fmt.Sprintf("%02x", i))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			sh.mu.Unlock()
			return nil, fmt.Errorf("filestore: opening lock file: %w", err)
		}
		sh.f = f
	}
	if err := lockFile(sh.f); err != nil {
		sh.mu.Unlock()
		return nil, fmt.Errorf("filestore: locking %s: %w", sh.f.Name(), err)
	}
	return func() {
		if err := unlockFile(sh.f); err != nil {
			// Closing the descriptor releases the lock; reopen next time.
			sh.f.Close()
			sh.f = nil
		}
		sh.mu.Unlock()
	}, nil
}

// read returns the data and mtime of the session file at path, or found ==
// false if it is missing, not a regular file, or expired at now.
func read(path string, now time.Time) (data []byte, mtime time.Time, found bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, time.Time{}, false, nil
		}
		return nil, time.Time{}, false, fmt.Errorf("filestore: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("filestore: %w", err)
	}
	mtime = fi.ModTime()
	if !fi.Mode().IsRegular() || expired(mtime, now) {
		return nil, time.Time{}, false, nil
	}
	// Files are replaced, never written in place, so the size is final.
	data = make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, time.Time{}, false, fmt.Errorf("filestore: reading %s: %w", path, err)
	}
	return data, mtime, true, nil
}

// Load returns the data of the session file for id and its expiry (the file's
// mtime). A missing or expired file, or an invalid ID, is reported as
// found == false with a nil error. Load takes no lock.
func (s *Store) Load(ctx context.Context, id string) (data []byte, expiry time.Time, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, false, err
	}
	if s.closed.Load() {
		return nil, time.Time{}, false, ErrClosed
	}
	if !validID(id) {
		return nil, time.Time{}, false, nil
	}
	return read(s.path(id), time.Now())
}

// Update calls fn with the current record under id (nil, false when there is
// none or it has expired) while holding id's shard lock, then writes what fn
// returns (temporary file, mtime set to the expiry, rename over the session
// file), or removes the file when fn returns nil data. If fn returns an error,
// nothing is written and Update returns that error as is. fn must not call
// the store for an ID in the same shard (that would deadlock).
//
// Expiries are clamped to the years 1970 to 2200.
func (s *Store) Update(ctx context.Context, id string, fn func(data []byte, found bool) (next []byte, expiry time.Time, err error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validID(id) {
		return invalidID(id)
	}
	unlock, err := s.lock(id)
	if err != nil {
		return err
	}
	defer unlock()
	if err := ctx.Err(); err != nil { // it may have ended while we waited
		return err
	}

	path := s.path(id)
	cur, _, found, err := read(path, time.Now())
	if err != nil {
		return err
	}
	next, expiry, err := fn(cur, found)
	if err != nil {
		return err
	}
	if next == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("filestore: %w", err)
		}
		return nil
	}
	return s.write(id, next, expiry)
}

// write replaces the file for id with data and expiry via a temporary file.
// The caller holds id's shard lock, which covers the temporary file too.
func (s *Store) write(id string, data []byte, expiry time.Time) (err error) {
	f, err := os.CreateTemp(s.dir, fmt.Sprintf("%s%02x-*", tmpPrefix, shardIndex(id))) // mode 0600
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	// After the last write, which would set the mtime to now.
	if err := os.Chtimes(tmp, time.Time{}, clampTime(expiry)); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	if err := os.Rename(tmp, s.path(id)); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	return nil
}

// Delete removes the session file for id. Deleting a missing file is not an
// error; an invalid ID is.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validID(id) {
		return invalidID(id)
	}
	unlock, err := s.lock(id)
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("filestore: %w", err)
	}
	return nil
}

// Touch sets the mtime (the expiry) of the session file for id, if it exists
// and has not expired, without rewriting its data. It does nothing for a
// missing or expired file; an invalid ID is an error.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validID(id) {
		return invalidID(id)
	}
	unlock, err := s.lock(id)
	if err != nil {
		return err
	}
	defer unlock()
	path := s.path(id)
	fi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("filestore: %w", err)
	}
	if !fi.Mode().IsRegular() || expired(fi.ModTime(), time.Now()) {
		return nil // never revive an expired session
	}
	if err := os.Chtimes(path, time.Time{}, clampTime(expiry)); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	return nil
}

// Sweep removes every session file whose expiry (mtime) has passed and reports
// how many it removed. Each file is re-checked under its shard lock before
// removal, so a session renewed meanwhile by an Update in any process stays.
// Sweep also removes temporary files left by crashed writes once their mtime
// is an hour old (they are not counted), under their shard's lock so that a
// write in progress is never disturbed, and leaves every other name alone. It reads
// the directory in batches, so memory use does not grow with the number of
// sessions. On errors it carries on with the other files and returns the
// first error with the count.
func (s *Store) Sweep(ctx context.Context) (removed int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.closed.Load() {
		return 0, ErrClosed
	}
	d, err := os.Open(s.dir)
	if err != nil {
		return 0, fmt.Errorf("filestore: %w", err)
	}
	defer d.Close()

	var firstErr error
	note := func(err error) {
		if firstErr == nil && err != nil && !errors.Is(err, fs.ErrNotExist) {
			firstErr = fmt.Errorf("filestore: sweep: %w", err)
		}
	}
	now := time.Now()
	for {
		entries, rerr := d.ReadDir(256)
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return removed, err
			}
			name := e.Name()
			if strings.HasPrefix(name, tmpPrefix) {
				if info, err := e.Info(); err == nil && info.Mode().IsRegular() && isStaleTemp(info, now) {
					note(s.removeStaleTemp(name, now))
				}
				continue
			}
			if !validID(name) || !e.Type().IsRegular() {
				continue
			}
			info, err := e.Info()
			if err != nil {
				note(err)
				continue
			}
			if !expired(info.ModTime(), now) {
				continue
			}
			ok, err := s.removeIfExpired(name, now)
			note(err)
			if ok {
				removed++
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			note(rerr)
			break
		}
	}
	return removed, firstErr
}

// removeIfExpired removes the session file for id if, under id's shard lock,
// it is still expired at now.
func (s *Store) removeIfExpired(id string, now time.Time) (bool, error) {
	unlock, err := s.lock(id)
	if err != nil {
		return false, err
	}
	defer unlock()
	path := s.path(id)
	fi, err := os.Lstat(path)
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() || !expired(fi.ModTime(), now) {
		return false, nil
	}
	if err := os.Remove(path); err != nil {
		return false, err
	}
	return true, nil
}

// isStaleTemp reports whether a temporary file is old enough to be treated as
// a leftover of a crashed write.
func isStaleTemp(fi os.FileInfo, now time.Time) bool {
	return now.Sub(fi.ModTime()) > staleTemp
}

// removeStaleTemp removes the temporary file name if it is (still) stale. For
// a name carrying a shard (".tmp-<xx>-..."), it holds that shard's lock, under
// which no write of any Store on the directory can be in progress; a write
// whose expiry is already in the past gives its temporary file an old mtime
// just before the rename, and must not lose it.
func (s *Store) removeStaleTemp(name string, now time.Time) error {
	if i, ok := tempShard(name); ok {
		unlock, err := s.lockShard(i)
		if err != nil {
			return err
		}
		defer unlock()
	}
	path := filepath.Join(s.dir, name)
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || !isStaleTemp(fi, now) {
		return nil
	}
	return os.Remove(path)
}

// tempShard returns the shard in a temporary file name ".tmp-<xx>-*".
func tempShard(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, tmpPrefix)
	if !ok || len(rest) < 3 || rest[2] != '-' {
		return 0, false
	}
	i := 0
	for _, c := range []byte(rest[:2]) {
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

// Close releases the store's lock files. The directory and its sessions stay.
// After Close, the store's methods return ErrClosed.
func (s *Store) Close() error {
	s.closed.Store(true)
	var errs []error
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		if sh.f != nil {
			errs = append(errs, sh.f.Close())
			sh.f = nil
		}
		sh.mu.Unlock()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	return nil
}
