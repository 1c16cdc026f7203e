package filestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/session/internal/sessionid"
)

// ErrInvalidID is wrapped by the errors Update, Delete, Touch, Swap and
// AddUserSession return for a session ID outside the store's alphabet
// ([A-Za-z0-9_-], 1 to 128 characters).
var ErrInvalidID = errors.New("filestore: invalid session ID")

// ErrUnsafeDir is wrapped by the error New returns for a directory that
// other users may write (see New).
var ErrUnsafeDir = errors.New("filestore: unsafe directory")

// ErrClosed is returned by a Store's methods after Close.
var ErrClosed = errors.New("filestore: store is closed")

const (
	shardCount = 256
	lockDir    = ".locks"
	tempDir    = ".tmp"
	// v1TempPrefix starts the name of a v1 temporary file, which lies in
	// the store's directory itself.
	v1TempPrefix = ".tmp-"
	// staleTemp is the age after which Sweep treats a temporary file as a
	// leftover of a crashed write.
	staleTemp = time.Hour
)

// Expiries are stored in nanoseconds since 1970 (a v2 file's header, a
// v1 file's mtime), so clamp them to a range that survives that
// conversion.
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

type lockShard struct {
	mu      sync.Mutex
	f       *os.File  // lock file, opened on first use
	hdr     headerBuf // room for the header an in-place write or Touch writes
	release func()    // unlocks the shard: made once, so that taking the lock allocates nothing
}

// Store is a session store keeping one file per session in a directory. It
// implements session.Store, session.Sweeper, session.BatchSweeper,
// session.Swapper, session.Lister and session.UserIndex. Create one with New and release its
// lock files with Close. A Store is safe for concurrent use, and several
// Stores, in one process or many, may share a directory.
type Store struct {
	dir    string
	closed atomic.Bool
	// indexed is set once .expiry/.complete was seen: every session file
	// has an index entry in the minute of its expiry, so a write that keeps
	// the expiry's minute need not add one.
	indexed atomic.Bool
	shards  [shardCount]lockShard
	// userSweep is where Sweep's pruning of the user index resumes.
	userSweep userSweep
}

// New returns a store keeping its files in dir. It creates dir (mode 0700,
// with parents) if it does not exist, and fails if dir is not a writable
// directory. On Unix systems it also refuses, with an error wrapping
// ErrUnsafeDir that says what to run, a dir (or one of the store's
// subdirectories in it) that its group or others may write, sticky or not,
// or that another user than the process's effective user owns: whoever can
// write there can plant a session file for an ID whose cookie they hold.
// Other permissions of an existing dir are left as they are; make sure other
// users cannot read it either.
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
	if err := checkDir(abs); err != nil {
		return nil, err
	}
	for _, sub := range []string{lockDir, tempDir, indexDir, usersDir} {
		name := filepath.Join(abs, sub)
		if err := os.MkdirAll(name, 0o700); err != nil {
			return nil, fmt.Errorf("filestore: %w", err)
		}
		if err := checkDir(name); err != nil {
			return nil, err
		}
	}
	// Check that dir is writable the way Update will write to it.
	probe, err := os.CreateTemp(filepath.Join(abs, tempDir), "probe-*")
	if err != nil {
		return nil, fmt.Errorf("filestore: directory is not writable: %w", err)
	}
	probe.Close()
	os.Remove(probe.Name())
	s := &Store{dir: abs}
	// Stores sharing a directory start pruning the user index at different
	// places.
	s.userSweep.shard = rand.IntN(shardCount)
	complete := s.indexComplete()
	if !complete {
		// A directory without sessions (a new one) has a complete index.
		if empty, err := noSessionNames(abs); err != nil {
			return nil, fmt.Errorf("filestore: %w", err)
		} else if empty {
			if err := s.markComplete(); err != nil {
				return nil, fmt.Errorf("filestore: %w", err)
			}
			complete = true
		}
	}
	s.indexed.Store(complete)
	return s, nil
}

// checkDir checks that dir, symbolic links followed, is a directory that
// only this process's user may write (checkPrivate).
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("filestore: %s is not a directory", dir)
	}
	return checkPrivate(dir, fi)
}

// noSessionNames reports whether dir holds only names starting with a dot
// (the store's own), reading no further than the first other name.
func noSessionNames(dir string) (bool, error) {
	d, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(256)
		for _, name := range names {
			if name[0] != '.' {
				return false, nil
			}
		}
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// Dir returns the absolute path of the store's directory.
func (s *Store) Dir() string { return s.dir }

// invalidID returns the error for an ID that sessionid.Valid refuses.
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

// shardOf returns the lock shard of id, which also names its index log and
// prefixes its temporary files: the layout on disk depends on it.
func shardOf(id string) int { return sessionid.Shard(id, shardCount) }

// lock takes id's shard lock (mutex, then flock) and returns its release.
func (s *Store) lock(id string) (unlock func(), err error) {
	return s.lockShard(shardOf(id))
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
	if sh.release == nil {
		sh.release = func() {
			if err := unlockFile(sh.f); err != nil {
				// Closing the descriptor releases the lock; reopen next time.
				sh.f.Close()
				sh.f = nil
			}
			sh.mu.Unlock()
		}
	}
	return sh.release, nil
}

// Load returns the data of the session file for id and its expiry. A
// missing or expired file, or an invalid ID, is reported as found == false
// with a nil error. Load takes no lock, except to read once more a file
// that keeps reading torn as a write changes it (see the package
// documentation).
func (s *Store) Load(ctx context.Context, id string) (data []byte, expiry time.Time, found bool, err error) {
	defer func() { err = s.redact(err) }()
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, false, err
	}
	if s.closed.Load() {
		return nil, time.Time{}, false, ErrClosed
	}
	if !sessionid.Valid(id) {
		return nil, time.Time{}, false, nil
	}
	c, err := s.load(id)
	if err != nil || !c.found {
		return nil, time.Time{}, false, err
	}
	return c.data, c.expiry, true, nil
}

// lockValid checks ctx and id and takes id's shard lock. It rechecks ctx
// once the lock is held, since it may have ended while the call waited.
func (s *Store) lockValid(ctx context.Context, id string) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !sessionid.Valid(id) {
		return nil, invalidID(id)
	}
	unlock, err = s.lock(id)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// Update calls fn with the current record under id (nil, false when there is
// none or it has expired) while holding id's shard lock, then writes what fn
// returns (its index entry, then the data and expiry in place, or a new
// file; see write), or removes the file when fn returns nil data. If fn
// returns an error, nothing is written and Update returns that error as
// is. fn must not call the store for an ID in the same shard (that would
// deadlock).
//
// Expiries are clamped to the years 1970 to 2200.
func (s *Store) Update(ctx context.Context, id string, fn func(data []byte, found bool) (next []byte, expiry time.Time, err error)) (err error) {
	fnErr := false // fn's error is returned as is
	defer func() {
		if !fnErr {
			err = s.redact(err)
		}
	}()
	unlock, err := s.lockValid(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()

	path := s.path(id)
	cur, f, err := read(path, true, readData)
	if err != nil {
		return err
	}
	defer f.close()
	next, expiry, err := fn(cur.data, cur.found)
	if err != nil {
		fnErr = true
		return err
	}
	if next == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("filestore: %w", err)
		}
		return nil // the index entry goes when its minute is swept
	}
	return s.write(id, &cur, f, next, expiry)
}

// Swap stores next with expiry under id, and reports true, when the current
// record is unexpired and holds exactly old (old non-nil), or when there is
// no unexpired record (old nil); otherwise it writes nothing and reports
// false. It holds id's shard lock throughout, so no Update of any Store on
// the directory comes in between. It implements session.Swapper. A nil next
// is an error.
func (s *Store) Swap(ctx context.Context, id string, old, next []byte, expiry time.Time) (swapped bool, err error) {
	defer func() { err = s.redact(err) }()
	if next == nil {
		return false, errors.New("filestore: Swap with nil data (use Delete)")
	}
	unlock, err := s.lockValid(ctx, id)
	if err != nil {
		return false, err
	}
	defer unlock()
	cur, f, err := read(s.path(id), true, readData)
	if err != nil {
		return false, err
	}
	defer f.close()
	if old == nil && cur.found || old != nil && (!cur.found || !bytes.Equal(cur.data, old)) {
		return false, nil
	}
	if err := s.write(id, &cur, f, next, expiry); err != nil {
		return false, err
	}
	return true, nil
}

// write stores data with expiry for id, whose file is currently cur (open
// as f when it exists): it appends the expiry's index entry first, then
// writes the data. The caller holds id's shard lock, which covers the
// temporary file and the index entry too.
//
// A v2 file with room for the data is written in place (writeInPlace). A
// session with no file yet is created in place, the whole file in one
// write: until that write is done the file is empty (a v1 file whose
// mtime, its creation, has passed) or shorter than its header says (torn),
// so a Load in between finds no session, or reads it once more under the
// lock. Any other file (v1, torn, too small or too large for the data,
// not writable) is replaced: the new file is written to a temporary file,
// which is renamed over it.
func (s *Store) write(id string, cur *current, f sfile, data []byte, expiry time.Time) error {
	if len(data) > maxData {
		return fmt.Errorf("filestore: session data of %d bytes is too large (at most %d)", len(data), maxData)
	}
	expiry = clampTime(expiry)
	if err := s.markFor(id, cur.exists, cur.expiry, expiry); err != nil {
		return err
	}
	path := s.path(id)
	if cur.layout && f.writable && fitsInPlace(cur.hdr.cap, len(data)) {
		return s.writeInPlace(id, f, cur.hdr, data, expiry)
	}
	seq := uint64(0)
	if cur.layout {
		seq = cur.hdr.seq + 2 // a new file, but later numbers all the same
	}
	var buf []byte
	if fileSize(len(data)) <= readWhole {
		pb := readBufs.Get().(*[readWhole]byte)
		defer readBufs.Put(pb)
		buf = pb[:]
	}
	content := encodeFile(buf, seq, data, expiry.UnixNano())
	if !cur.exists {
		err := create(path, content)
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("filestore: %w", err)
		}
		// Something that is not a regular file is in the way (a symbolic
		// link, say): replace it as below.
	}
	tmp, err := s.createTemp(id, content)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("filestore: %w", err)
	}
	return nil
}

// writeInPlace writes data with expiry into the v2 file f of id, whose
// header is h and which has room for the data: the data goes into the
// inactive slot, followed by zeros to the slot's end (writeSlot), then the
// header naming that slot, with the new expiry, with one pwrite. A crash
// before the header leaves the file as it was; a reader sees the old header
// or the new one (or one torn as it is written, which fails its check).
// Once the header is written, the previous version's data is overwritten
// with zeros (wipe), so that a value the session no longer holds does not
// stay readable in the file. The caller holds id's shard lock.
func (s *Store) writeInPlace(id string, f sfile, h header, data []byte, expiry time.Time) error {
	prev := h
	h.seq++
	h.expiry, h.len, h.crc = expiry.UnixNano(), uint32(len(data)), checksum(data)
	if writeHook != nil {
		writeHook("data")
	}
	if err := writeSlot(f, data, h.dataOff(), h.cap); err != nil {
		return fmt.Errorf("filestore: writing %s: %w", s.path(id), err)
	}
	if writeHook != nil {
		writeHook("header")
	}
	if err := s.writeHeader(id, f, h); err != nil {
		return err
	}
	if writeHook != nil {
		writeHook("wipe")
	}
	wipe(f, prev)
	if writeHook != nil {
		writeHook("done")
	}
	return nil
}

// writeSlot writes data into the slot at off, of capacity c (at least
// len(data)), followed by zeros to the slot's end, so that nothing of an
// older version stays in the slot: with one pwrite from a pooled buffer
// for a slot of up to readWhole bytes, else with a pwrite of the data and
// zeroAt for the rest.
func writeSlot(f sfile, data []byte, off int64, c uint32) error {
	if c <= readWhole {
		pb := readBufs.Get().(*[readWhole]byte)
		defer readBufs.Put(pb)
		b := pb[:c]
		n := copy(b, data)
		clear(b[n:])
		return f.writeAt(b, off)
	}
	if err := f.writeAt(data, off); err != nil {
		return err
	}
	return zeroAt(f, off+int64(len(data)), int64(c)-int64(len(data)))
}

// wipe overwrites with zeros the data of the slot that header prev named,
// once a new header names the other slot: that slot was written whole
// (writeSlot, or a new file), so it then holds zeros only. The new version
// is committed, so a crash or an error here (which wipe ignores) loses
// nothing; it leaves the previous data until the next write fills that
// slot whole. A reader that took prev before the new header reads the slot
// torn, and reads the file again.
func wipe(f sfile, prev header) {
	zeroAt(f, prev.dataOff(), int64(prev.len))
}

// zeros is the source of zeroAt's writes.
var zeros [64 << 10]byte

// zeroAt writes n zero bytes into f at offset off, with one pwrite for up to
// 64 KiB.
func zeroAt(f sfile, off, n int64) error {
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if err := f.writeAt(zeros[:k], off); err != nil {
			return err
		}
		off, n = off+k, n-k
	}
	return nil
}

// writeHeader writes header h at the start of f, the v2 file of id, with
// one pwrite from the shard's header buffer. The caller holds id's shard
// lock.
func (s *Store) writeHeader(id string, f sfile, h header) error {
	b := s.shards[shardOf(id)].hdr.page()
	h.put(b)
	if err := f.writeAt(b, 0); err != nil {
		return fmt.Errorf("filestore: writing %s: %w", s.path(id), err)
	}
	return nil
}

// createTemp writes content to a new temporary file .tmp/<shard>-<random>
// for id and returns its name.
func (s *Store) createTemp(id string, content []byte) (string, error) {
	return s.createTempShard(shardOf(id), content)
}

// createTempShard writes content to a new temporary file
// .tmp/<shard>-<random> and returns its name. The caller holds the shard's
// lock, under which Sweep removes stale temporary files of the shard.
func (s *Store) createTempShard(shard int, content []byte) (string, error) {
	prefix := filepath.Join(s.dir, tempDir, fmt.Sprintf("%02x-", shard))
	for range 100 {
		name := prefix + strconv.FormatUint(rand.Uint64(), 36)
		err := create(name, content)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("filestore: %w", err)
		}
	}
	return "", fmt.Errorf("filestore: no unused temporary file name in %s", filepath.Dir(prefix))
}

// Delete removes the session file for id. Deleting a missing file is not an
// error; an invalid ID is. The session's index entry is left for Sweep.
func (s *Store) Delete(ctx context.Context, id string) (err error) {
	defer func() { err = s.redact(err) }()
	unlock, err := s.lockValid(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("filestore: %w", err)
	}
	return nil
}

// Touch sets the expiry of the session file for id, if it exists and has
// not expired, without rewriting its data: one pwrite of a v2 file's header
// (a v1 file's mtime). It appends the expiry's index entry first when
// the expiry moves to another minute. It does nothing for a missing or
// expired file; an invalid ID is an error.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) (err error) {
	defer func() { err = s.redact(err) }()
	unlock, err := s.lockValid(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	path := s.path(id)
	// The data too, to tell a session from a file that is none.
	cur, f, err := read(path, true, readData)
	if err != nil {
		return err
	}
	defer f.close()
	if !cur.found {
		return nil // never revive an expired session
	}
	if cur.v2 && !f.writable {
		// A file whose permissions refuse writing is replaced, as a write
		// would replace it.
		return s.write(id, &cur, f, cur.data, expiry)
	}
	expiry = clampTime(expiry)
	if err := s.markFor(id, true, cur.expiry, expiry); err != nil {
		return err
	}
	if !cur.v2 {
		if err := f.setMtime(expiry); err != nil {
			return fmt.Errorf("filestore: %w", err)
		}
		return nil
	}
	h := cur.hdr
	h.expiry = expiry.UnixNano()
	return s.writeHeader(id, f, h)
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
