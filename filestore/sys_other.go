//go:build !linux

package filestore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// read returns what the session file at path holds: found == false if it is
// missing, not a regular file (a symbolic link is not followed), or expired
// (whose data it does not read). The current time is taken after the file's
// status, so that a file whose mtime the system has just set (one being
// created) is always expired.
func read(path string) (current, error) {
	// Not a symbolic link, nor a FIFO that os.Open would block on.
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return current{}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return current{}, nil
		}
		return current{}, fmt.Errorf("filestore: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return current{}, fmt.Errorf("filestore: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return current{}, nil
	}
	c := current{exists: true, mtime: fi.ModTime()}
	if expired(c.mtime, time.Now()) {
		return c, nil
	}
	// Files are replaced, never written in place, once their mtime is in the
	// future, so the size is final.
	c.data = make([]byte, fi.Size())
	if _, err := io.ReadFull(f, c.data); err != nil {
		return current{}, fmt.Errorf("filestore: reading %s: %w", path, err)
	}
	c.found = true
	return c, nil
}

// create creates the file path, which must not exist (an existing file is an
// error wrapping fs.ErrExist), with mode 0600, writes data into it and then
// sets its mtime to mtime. On an error after the file was created, it removes
// the file again.
func create(path string, data []byte, mtime time.Time) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(path)
		}
	}()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Chtimes(path, time.Time{}, mtime)
}
