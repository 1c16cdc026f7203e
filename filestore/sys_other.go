//go:build !linux

package filestore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// sfile is an open session file.
type sfile struct {
	f        *os.File
	path     string
	writable bool
}

// noFile is the sfile of no file; close does nothing on it.
var noFile = sfile{}

// openFile opens path for reading, and for writing as well when rw (when
// the file's permissions refuse writing, it is opened for reading only and
// writable is false). It does not follow a symbolic link and does not block
// on a FIFO. ok is false, with a nil error, when path is missing or names
// something that cannot be a session (a symbolic link, a directory).
func openFile(path string, rw bool) (f sfile, ok bool, err error) {
	// Not a symbolic link, nor a FIFO that os.Open would block on.
	if fi, err := os.Lstat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return noFile, false, nil
		}
		return noFile, false, err
	} else if !fi.Mode().IsRegular() {
		return noFile, false, nil
	}
	flag := os.O_RDONLY
	if rw {
		flag = os.O_RDWR
	}
	file, err := os.OpenFile(path, flag, 0)
	if rw && errors.Is(err, fs.ErrPermission) {
		rw = false
		file, err = os.Open(path)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return noFile, false, nil
		}
		return noFile, false, err
	}
	return sfile{f: file, path: path, writable: rw}, true, nil
}

// stat returns whether f is a regular file, its size and its mtime.
func (f sfile) stat() (regular bool, size int64, mtime time.Time, err error) {
	fi, err := f.f.Stat()
	if err != nil {
		return false, 0, time.Time{}, err
	}
	return fi.Mode().IsRegular(), fi.Size(), fi.ModTime(), nil
}

// readAt fills b from offset off; a file ending before is an error.
func (f sfile) readAt(b []byte, off int64) error {
	_, err := f.f.ReadAt(b, off)
	return err
}

// writeAt writes all of b at offset off.
func (f sfile) writeAt(b []byte, off int64) error {
	_, err := f.f.WriteAt(b, off)
	return err
}

// setMtime sets f's mtime, leaving its access time alone.
func (f sfile) setMtime(t time.Time) error { return os.Chtimes(f.path, time.Time{}, t) }

// close closes f, unless it is noFile.
func (f sfile) close() error {
	if f.f == nil {
		return nil
	}
	return f.f.Close()
}

// create creates the file path, which must not exist (an existing file is an
// error wrapping fs.ErrExist), with mode 0600, and writes content into it. On
// an error after the file was created, it removes the file again.
func create(path string, content []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// appendFile appends b to the file path, creating it with mode 0600 if
// missing. A missing directory is an error wrapping fs.ErrNotExist.
func appendFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// appendLine appends the line b (ending in a newline) to the file path,
// creating it with mode 0600 if missing; when the file does not end in a
// newline (a line that a crash cut short), a newline goes first, so that b
// stays a line of its own. A missing directory is an error wrapping
// fs.ErrNotExist. The caller holds a lock that every writer of path holds.
func appendLine(path string, b []byte) error {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() > 0 {
		var last [1]byte
		if _, err = f.ReadAt(last[:], fi.Size()-1); err == nil && last[0] != '\n' {
			b = append([]byte{'\n'}, b...)
		}
	}
	if err == nil {
		_, err = f.Write(b)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
