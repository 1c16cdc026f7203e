// Package filestore is a session store that keeps each session in a file of
// its own, in one directory that any number of processes on the same machine
// may share.
//
// # Layout
//
//   - <dir>/<id> is the session's file, mode 0600, in the v2 format below.
//     A file written by an earlier version of this package (legacy) holds
//     exactly the session's data, and its mtime is the session's expiry;
//     such files load as before, Touch sets their mtime, and their first
//     write replaces them with a v2 file. A file is v2 exactly when it
//     starts with the whole 8-byte magic "\x00skf2\x00\r\n", which no
//     payload of the Manager (JSON, or sealed "sk1.") starts with; any
//     other file is legacy.
//   - Only IDs of 1 to 128 characters from [A-Za-z0-9_-] are stored (the
//     Manager's IDs are 43 characters of that alphabet). Load reports any
//     other ID as not found; Update, Delete, Touch and Swap reject it with an
//     error wrapping ErrInvalidID. No path is ever built from an unchecked ID.
//   - A v2 file is a 40-byte header and two slots of equal capacity, a
//     power of two of at least 512 bytes chosen when the file is written
//     whole (the smallest that holds the data). The header holds,
//     little-endian, after the magic: the write number (uint64; its parity
//     names the active slot), the expiry (int64, Unix nanoseconds), the
//     capacity, the length and the CRC-32C (Castagnoli) of the active
//     slot's data (uint32 each), and a CRC-32C of bytes 0 to 35. A reader
//     checks both checksums and the file's size (40 plus twice the
//     capacity). A v2 file's mtime means nothing.
//   - A write (Update, Swap) of a session whose v2 file has room for the
//     data is made in place: one pwrite of the data into the inactive slot,
//     then one pwrite of the whole header, naming that slot and giving the
//     new expiry. The header is the commit: a crash before it leaves the
//     previous version whole, and a kill cannot split it (it is written
//     from a buffer within one memory page). Touch is one pwrite of the
//     header with the new expiry. Data that does not fit, or that would fit
//     an eighth of slots of 64 KiB or more, and the first write of a legacy
//     or damaged file, make a new file instead: it is written whole to a
//     temporary file <dir>/.tmp/<shard>-*, which is renamed over <dir>/<id>
//     (a reader sees the old file or the new one). A crash can leave a
//     temporary file behind; Sweep removes those once an hour old.
//   - A session with no file yet is created in place (O_EXCL), the whole
//     file in one write. Until the write, the file is empty: a legacy file
//     whose mtime, the time of its creation, has passed (Load takes the
//     current time after it reads the file's status); a file the write has
//     only partly filled has a size other than its header's. Either reads
//     as absent. A crash can leave such a file, which the next write of
//     that ID replaces and Sweep removes when its index entry's minute
//     comes.
//   - Load reads a file with open, fstat, read and close (on Linux as plain
//     system calls, which for small files costs half of what os.ReadFile
//     does; of a file over 16 KiB it reads the header, then the active
//     slot). It does not follow a symbolic link and does not block on a
//     FIFO: neither is a session, and a write replaces the link itself.
//     Load takes no lock, so it may read a v2 file while a write changes
//     it: a header that fails its check, a size other than the header's, or
//     data that fails its checksum (a slot rewritten by a second write
//     since the header was read) make the read torn. Load then reads again,
//     up to four times in all, and then once more under the ID's lock,
//     where no write is in progress: a session being written never reads
//     as absent, and a read returns the data and expiry of one header,
//     never a mix of two writes. A file that still reads torn under the
//     lock is no session (a crash's or damage's leftover): Load reports it
//     absent, the next write replaces it, Sweep removes it.
//   - <dir>/.expiry/ is an index of expiries, so that a sweep visits the
//     sessions that fell due and not the whole directory. It holds one
//     directory per minute in which some expiry falls, named by the minute's
//     start in Unix seconds, zero-padded to 12 digits
//     (".expiry/001764000000/"), and in it one append-only log per lock
//     shard, named by the shard as its lock file is, plus ".log"
//     ("3f.log"), that lists the sessions of the shard whose expiry was set
//     in that minute. An entry is a newline, the ID and a newline, appended
//     with one write (O_APPEND) under the ID's shard lock. A write (Update,
//     Touch, Swap) first appends the entry to the log of the new expiry's
//     minute, unless the session's current expiry falls in the same minute,
//     and only then writes the session, so a crash between the two leaves an
//     entry without its session (dropped by the next sweep of that minute),
//     never a session without an entry. An entry for an older expiry is left
//     behind (and so is a deleted session's): Sweep drops it when its minute
//     comes. A crash may cut an entry short: its leading newline keeps the
//     next entry whole, and a sweep ignores lines that are not IDs of the
//     log's shard and reads an ID listed twice once. Earlier versions of
//     this package indexed a session with an empty marker file named by the
//     ID instead, in the same directories; Sweep still sweeps those.
//   - Sweep (and SweepBatch, which stops after a given number of removals)
//     lists the minute directories of .expiry (about one per minute of the
//     sessions' lifetime, however many sessions there are), and visits only
//     those whose minute has ended. It holds a log's shard lock from its
//     read of the log to its unlink, so no entry is appended in between (a
//     write to that minute afterwards creates the log anew): for each ID in
//     the log, it removes the session if its expiry (a v2 file's header, a
//     legacy file's mtime) has passed, then it unlinks the log; a sweep that
//     stops within a log (its limit, its context, an error) leaves the log
//     to the next one. It sweeps a marker alike, under its ID's lock. Then
//     it removes the minute's directory once empty. Its cost follows the
//     number of entries that fell due: the expired sessions plus the expiry
//     changes made a lifetime ago, not the number of stored sessions.
//   - A directory written by an earlier version of this package may have no
//     index. Its sessions load as before; the first Sweep on it (recognized
//     by a missing .expiry/.complete) scans the whole directory once, as
//     that version did, removing expired files and old ".tmp-*" leftovers
//     and appending the entry of each live session to its shard's log
//     (under the shard's lock, as a write does; not a marker, which would
//     cost a file per session), and then creates .expiry/.complete. Until
//     then writes always add entries. (New marks the index of a directory
//     without sessions, a new one, complete at once.) All processes sharing
//     a directory must run this version: earlier ones write no index (so
//     their sessions would be swept only by a full scan), read a v2 file
//     as if it held only data, or (those with markers) sweep no logs.
//   - <dir>/.locks/00 to <dir>/.locks/ff are lock files. Update, Delete,
//     Touch, Swap and Sweep lock the ID's shard (chosen by a hash of the ID)
//     with an in-process mutex plus flock(2) on the shard's lock file, which
//     the Store opens on first use and keeps open until Close, so an Update
//     is atomic across goroutines and across processes sharing the
//     directory. Load takes no lock, but for a file that keeps reading torn.
//
// Names starting with "." are never sessions, and Sweep leaves alone any name
// that is not a valid ID, so the directory can hold other files.
//
// There is no fsync: after a power loss or kernel crash the most recent writes
// may be lost (or a file may read back empty, or fail its checks and read as
// absent), but a process crash never tears a session nor loses one written
// before (only a new one being created reads as absent).
//
// Cross-process locking uses flock(2) and is available on Linux, the BSDs and
// macOS; elsewhere the package builds but locks within the process only. IDs
// differing only in letter case name the same file on a case-insensitive file
// system (the default on macOS and Windows), which this package does not
// guard against; use a case-sensitive file system.
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

// ErrInvalidID is wrapped by the errors Update, Delete, Touch and Swap return
// for an ID outside the store's alphabet ([A-Za-z0-9_-], 1 to 128
// characters).
var ErrInvalidID = errors.New("filestore: invalid session ID")

// ErrClosed is returned by a Store's methods after Close.
var ErrClosed = errors.New("filestore: store is closed")

const (
	shardCount = 256
	lockDir    = ".locks"
	tempDir    = ".tmp"
	indexDir   = ".expiry"
	// completeName, in indexDir, records that every session file has its
	// index entry (see the package documentation).
	completeName = ".complete"
	// legacyTempPrefix starts the temporary files of the earlier layout,
	// which wrote them in the store's directory itself.
	legacyTempPrefix = ".tmp-"
	// bucketWidth is the span of expiries one index directory covers.
	bucketWidth = 60 // seconds
	// bucketDigits is the width of an index directory's name.
	bucketDigits = 12
	// staleTemp is the age after which Sweep treats a temporary file as a
	// leftover of a crashed write.
	staleTemp = time.Hour
	// logSuffix ends the name of a shard's log in an index directory
	// ("3f.log"); '.' is not in the ID alphabet, so no ID (an earlier
	// version's marker) has such a name.
	logSuffix = ".log"
	// indexTries bounds the attempts to append an index entry while sweeps
	// keep removing the (empty) directory its log goes into, which only
	// happens for expiries already in the past.
	indexTries = 100
	// hexDigits spell a shard's number in the name of its log.
	hexDigits = "0123456789abcdef"
)

// Expiries are stored in nanoseconds since 1970 (a v2 file's header, a
// legacy file's mtime), so clamp them to a range that survives that
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
// session.Swapper and session.Lister. Create one with New and release its
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
	for _, sub := range []string{lockDir, tempDir, indexDir} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o700); err != nil {
			return nil, fmt.Errorf("filestore: %w", err)
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

// bucketOf returns the start, in Unix seconds, of the index minute that
// holds expiry t (clamped, so never negative).
func bucketOf(t time.Time) int64 {
	u := clampTime(t).Unix()
	return u - u%bucketWidth
}

// bucketName returns the name of bucket b's index directory (b >= 0): its
// start in Unix seconds, zero-padded to bucketDigits.
func bucketName(b int64) [bucketDigits]byte {
	var name [bucketDigits]byte
	for i := len(name) - 1; i >= 0; i-- {
		name[i] = byte('0' + b%10)
		b /= 10
	}
	return name
}

// bucketDir returns the index directory of bucket b (b >= 0), in one
// allocation.
func (s *Store) bucketDir(b int64) string {
	name := bucketName(b)
	return s.dir + string(filepath.Separator) + indexDir + string(filepath.Separator) + string(name[:])
}

// parseBucket returns the bucket an index directory name stands for.
func parseBucket(name string) (int64, bool) {
	if len(name) != bucketDigits {
		return 0, false
	}
	var b int64
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		b = b*10 + int64(c-'0')
	}
	return b, b%bucketWidth == 0
}

// indexComplete reports whether .expiry/.complete exists.
func (s *Store) indexComplete() bool {
	_, err := os.Lstat(filepath.Join(s.dir, indexDir, completeName))
	return err == nil
}

// logPath returns the log of shard in the index directory of bucket b (b
// >= 0), <dir>/.expiry/<minute>/<xx>.log, in one allocation.
func (s *Store) logPath(b int64, shard int) string {
	var name [bucketDigits + 1 + 2 + len(logSuffix)]byte
	bucket := bucketName(b)
	copy(name[:], bucket[:])
	name[bucketDigits] = filepath.Separator
	name[bucketDigits+1] = hexDigits[shard>>4]
	name[bucketDigits+2] = hexDigits[shard&0xf]
	copy(name[bucketDigits+3:], logSuffix)
	return s.dir + string(filepath.Separator) + indexDir + string(filepath.Separator) + string(name[:])
}

// logShard returns the shard whose log a name in a minute directory is
// ("00.log" to "ff.log").
func logShard(name string) (int, bool) {
	if len(name) != 2+len(logSuffix) || name[2:] != logSuffix {
		return 0, false
	}
	return parseShard(name[:2])
}

// parseShard returns the shard that two lower-case hex digits name.
func parseShard(xx string) (int, bool) {
	if len(xx) != 2 {
		return 0, false
	}
	i := 0
	for _, c := range []byte(xx) {
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

// addIndex appends the entry of id to its shard's log in bucket b: a
// newline, the ID and a newline, in one write. The caller holds id's shard
// lock, as the sweep of that log does from its read to its unlink, so the
// entry is either in the log a sweep reads or in one created anew after it.
// addIndex creates the log and the bucket's directory as needed, and tries
// again when a sweep removes that directory, empty, in between.
func (s *Store) addIndex(id string, b int64) error {
	name := s.logPath(b, shardOf(id))
	var rec [sessionid.MaxLen + 2]byte
	rec[0] = '\n'
	n := 1 + copy(rec[1:], id)
	rec[n] = '\n'
	var err error
	for range indexTries {
		err = appendFile(name, rec[:n+1])
		if err == nil {
			if indexHook != nil {
				indexHook(id)
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
		if merr := os.MkdirAll(filepath.Dir(name), 0o700); merr != nil {
			err = merr
			break
		}
	}
	return fmt.Errorf("filestore: expiry index: %w", err)
}

// markFor adds the index entry for a session getting expiry next, whose
// file exists (with expiry cur) or not. The caller holds id's shard lock.
// Once the index is complete, a file whose expiry is in next's minute has
// its entry there already.
func (s *Store) markFor(id string, exists bool, cur, next time.Time) error {
	if exists && s.indexed.Load() && bucketOf(cur) == bucketOf(next) {
		return nil
	}
	return s.addIndex(id, bucketOf(next))
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
func (s *Store) Update(ctx context.Context, id string, fn func(data []byte, found bool) (next []byte, expiry time.Time, err error)) error {
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
// write: until that write is done the file is empty (a legacy file whose
// mtime, its creation, has passed) or shorter than its header says (torn),
// so a Load in between finds no session, or reads it once more under the
// lock. Any other file (legacy, torn, too small or too large for the data,
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
// inactive slot with one pwrite, then the header naming that slot, with the
// new expiry, with another. A crash before the second leaves the file as it
// was; a reader sees the old header or the new one (or one torn as it is
// written, which fails its check). The caller holds id's shard lock.
func (s *Store) writeInPlace(id string, f sfile, h header, data []byte, expiry time.Time) error {
	h.seq++
	h.expiry, h.len, h.crc = expiry.UnixNano(), uint32(len(data)), checksum(data)
	if writeHook != nil {
		writeHook("data")
	}
	if err := f.writeAt(data, h.dataOff()); err != nil {
		return fmt.Errorf("filestore: writing %s: %w", s.path(id), err)
	}
	if writeHook != nil {
		writeHook("header")
	}
	if err := s.writeHeader(id, f, h); err != nil {
		return err
	}
	if writeHook != nil {
		writeHook("done")
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
// and returns its name.
func (s *Store) createTemp(id string, content []byte) (string, error) {
	prefix := filepath.Join(s.dir, tempDir, fmt.Sprintf("%02x-", shardOf(id)))
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
func (s *Store) Delete(ctx context.Context, id string) error {
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
// (a legacy file's mtime). It appends the expiry's index entry first when
// the expiry moves to another minute. It does nothing for a missing or
// expired file; an invalid ID is an error.
func (s *Store) Touch(ctx context.Context, id string, expiry time.Time) error {
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
