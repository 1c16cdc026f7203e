package filestore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sessionkit/session/internal/sessionid"
)

// The expiry index (see the package documentation): .expiry/<minute>/ holds
// one append-only log per lock shard, <xx>.log, listing the sessions of the
// shard whose expiry was set in that minute, plus .expiry/.complete once
// every session file has its entry.

const (
	indexDir = ".expiry"
	// completeName, in indexDir, records that every session file has its
	// index entry (see the package documentation).
	completeName = ".complete"
	// bucketWidth is the span of expiries one index directory covers.
	bucketWidth = 60 // seconds
	// bucketDigits is the width of an index directory's name.
	bucketDigits = 12
	// logSuffix ends the name of a shard's log in an index directory
	// ("3f.log"); '.' is not in the ID alphabet, so no ID (a v1
	// marker) has such a name.
	logSuffix = ".log"
	// indexTries bounds the attempts to append an index entry while sweeps
	// keep removing the (empty) directory its log goes into, which only
	// happens for expiries already in the past.
	indexTries = 100
	// hexDigits spell a shard's number in the name of its log.
	hexDigits = "0123456789abcdef"
)

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

// markComplete creates .expiry/.complete.
func (s *Store) markComplete() error {
	f, err := os.OpenFile(filepath.Join(s.dir, indexDir, completeName), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// readLog returns the content of the log at path. ok is false, with a nil
// error, when path is missing or not a regular file.
func readLog(path string) (b []byte, ok bool, err error) {
	f, ok, err := openFile(path, false)
	if err != nil || !ok {
		return nil, false, err
	}
	defer f.close()
	regular, size, _, err := f.stat()
	if err != nil || !regular {
		return nil, false, err
	}
	b = make([]byte, size)
	if err := f.readAt(b, 0); err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// logIDs returns the IDs that the log b of shard holds, each once, sorted:
// the lines that are valid IDs of that shard. Empty lines (each entry
// starts with one), an unfinished last line (a write cut short by a crash),
// and lines that are not IDs of the shard (damage, or what was left of a
// cut entry) are left out. A cut entry may join the next one's leading
// newline and read as a shorter ID: harmless, as a sweep removes only
// sessions whose expiry has passed, under their own shard's lock.
func logIDs(b []byte, shard int) []string {
	var ids []string
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		line := b[:i]
		b = b[i+1:]
		if len(line) == 0 || len(line) > sessionid.MaxLen {
			continue
		}
		if id := string(line); sessionid.Valid(id) && shardOf(id) == shard {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
