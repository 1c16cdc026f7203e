package filestore

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// readMode says how much of a session file read takes in.
type readMode uint8

const (
	readData   readMode = iota // the expiry and, of an unexpired session, the data
	readExpiry                 // the expiry only (the header of a v2 file)
)

// readBufs holds the buffers read reads small files into, and write encodes
// small files in.
var readBufs = sync.Pool{New: func() any { return new([readWhole]byte) }}

// loadTries is the number of reads Load makes without a lock of a file that
// keeps reading torn, before it takes the shard lock and reads it once more.
const loadTries = 4

// current is what read finds at a session's path.
type current struct {
	data   []byte    // the data, when found with readData
	found  bool      // an unexpired session (readData: with whole data)
	exists bool      // a regular file, expired or not
	expiry time.Time // when exists: a v2 file's header expiry, a v1 file's mtime; zero when the header is unreadable
	v2     bool      // the file starts with the v2 magic
	// torn: a v2 file that did not read whole (a header or size that does
	// not check, or data that does not match its checksum): one being
	// written as it was read, or, read under the shard lock, one that a
	// crash left behind or that is damaged, which is no session.
	torn bool
	// hdr is a v2 file's header, valid when layout is set: the header
	// checks and the file has the size it gives, so it can be written in
	// place.
	hdr    header
	layout bool
}

// hooks for tests (export_test.go); nil otherwise.
var (
	// writeHook is called by an in-place write before its data ("data"),
	// between its data and its header ("header"), between its header and
	// the wipe of the previous data ("wipe"), and at its end ("done").
	writeHook func(stage string)
	// tornHook is called by Load each time it reads a file torn, with
	// whether it held the shard lock.
	tornHook func(locked bool)
	// indexHook is called after an index entry for id was appended, before
	// the session is written, with the shard lock held.
	indexHook func(id string)
)

// read returns what the session file at path holds: exists == false if it
// is missing or not a regular file (a symbolic link is not followed), found
// == false if it is expired or torn. With rw, the file is opened for writing
// as well and returned open when it exists (the caller closes it);
// otherwise the returned file is noFile. The current time is taken after the
// file's status, so that a v1 file whose mtime the kernel has just set (a
// v2 file being created, empty so far) is always expired.
func read(path string, rw bool, mode readMode) (c current, f sfile, err error) {
	f, ok, err := openFile(path, rw)
	if err != nil {
		return current{}, noFile, fmt.Errorf("filestore: open %s: %w", path, err)
	}
	if !ok {
		return current{}, noFile, nil
	}
	defer func() {
		if err != nil || !rw || !c.exists {
			f.close()
			f = noFile
		}
	}()
	regular, size, mtime, err := f.stat()
	if err != nil {
		return current{}, f, fmt.Errorf("filestore: stat %s: %w", path, err)
	}
	if !regular {
		return current{}, f, nil
	}
	c, err = readFile(f, size, mtime, time.Now(), mode)
	if err != nil {
		return current{}, f, fmt.Errorf("filestore: reading %s: %w", path, err)
	}
	return c, f, nil
}

// readFile returns what the regular file f, of size bytes and mtime, holds
// at now. A small file is read whole, into a pooled buffer from which the
// data is copied (a v2 file is mostly slack); of a larger one, and for the
// expiry only, the header comes first, into small.
func readFile(f sfile, size int64, mtime, now time.Time, mode readMode) (current, error) {
	var small [hdrSize]byte
	var whole, head []byte
	if mode == readData && size <= readWhole {
		pb := readBufs.Get().(*[readWhole]byte)
		defer readBufs.Put(pb)
		whole = pb[:size]
		head = whole
	} else {
		head = small[:min(size, hdrSize)]
	}
	if err := f.readAt(head, 0); err != nil {
		return current{}, err
	}
	h, kind := classify(head, size)
	switch kind {
	case v1File:
		return readV1(f, head, size, mtime, now, mode)
	case v2BadHeader:
		return current{exists: true, v2: true, torn: true}, nil
	case v2BadSize:
		return current{exists: true, v2: true, torn: true, expiry: time.Unix(0, h.expiry)}, nil
	}
	return readV2(f, h, whole, now, mode)
}

// readV1 returns what the v1 file f, of size bytes and mtime, holds at now;
// head holds its first bytes. A v1 file is replaced, never written in
// place, once its mtime is in the future, so its size is final.
func readV1(f sfile, head []byte, size int64, mtime, now time.Time, mode readMode) (current, error) {
	c := current{exists: true, expiry: mtime}
	if expired(mtime, now) {
		return c, nil
	}
	if mode == readData {
		data := make([]byte, size)
		n := copy(data, head)
		if n < len(data) {
			if err := f.readAt(data[n:], int64(n)); err != nil {
				return current{}, err
			}
		}
		c.data = data
	}
	c.found = true
	return c, nil
}

// readV2 returns what the v2 file f, whose header h checks and gives its
// size, holds at now: with readData, a copy of its active slot's data,
// taken from whole when whole (the file read whole) holds it, or read from
// f. Data that fails its checksum makes the read torn.
func readV2(f sfile, h header, whole []byte, now time.Time, mode readMode) (current, error) {
	c := current{exists: true, v2: true, expiry: time.Unix(0, h.expiry), hdr: h, layout: true}
	if expired(c.expiry, now) {
		return c, nil
	}
	if mode == readExpiry {
		c.found = true
		return c, nil
	}
	off, end := h.dataOff(), h.dataOff()+int64(h.len)
	var data []byte
	if end <= int64(len(whole)) {
		data = bytes.Clone(whole[off:end])
	} else {
		data = make([]byte, h.len)
		if err := f.readAt(data, off); err != nil {
			return current{}, err
		}
	}
	if checksum(data) != h.crc {
		c.torn = true
		return c, nil
	}
	c.data, c.found = data, true
	return c, nil
}

// load reads the session file for id as Load and List do. A v2 file that
// reads torn is being written (or was left so by a crash): it is read
// again, up to loadTries times, then once more under the shard lock, where
// no write is in progress, so that a session being written never reads as
// absent. Under the lock, a file still torn is no session.
func (s *Store) load(id string) (current, error) {
	path := s.path(id)
	for range loadTries {
		c, _, err := read(path, false, readData)
		if err != nil || !c.torn {
			return c, err
		}
		if tornHook != nil {
			tornHook(false)
		}
		runtime.Gosched()
	}
	unlock, err := s.lock(id)
	if err != nil {
		return current{}, err
	}
	defer unlock()
	c, _, err := read(path, false, readData)
	if err == nil && c.torn && tornHook != nil {
		tornHook(true)
	}
	return c, err
}
