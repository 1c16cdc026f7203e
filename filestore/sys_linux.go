//go:build linux

package filestore

import (
	"fmt"
	"io"
	"syscall"
	"time"
	"unsafe"
)

// On Linux the store reads and writes session files with plain system calls
// (open, fstat, pread, pwrite, close): for files of a few hundred bytes, the
// bookkeeping of an os.File (its poller registration check, cleanup, and
// the path-based calls) costs more than the calls themselves.

// sfile is an open session file.
type sfile struct {
	fd       int
	writable bool
}

// noFile is the sfile of no file; close does nothing on it.
var noFile = sfile{fd: -1}

// openFile opens path for reading, and for writing as well when rw (when
// the file's permissions refuse writing, it is opened for reading only and
// writable is false). It does not follow a symbolic link and does not block
// on a FIFO. ok is false, with a nil error, when path is missing or names
// something that cannot be a session (a symbolic link, a directory).
func openFile(path string, rw bool) (f sfile, ok bool, err error) {
	flags := syscall.O_CLOEXEC | syscall.O_NOFOLLOW | syscall.O_NONBLOCK
	mode := syscall.O_RDONLY
	if rw {
		mode = syscall.O_RDWR
	}
	fd, err := retry(func() (int, error) { return syscall.Open(path, mode|flags, 0) })
	if rw && (err == syscall.EACCES || err == syscall.EPERM || err == syscall.EROFS) {
		rw = false
		fd, err = retry(func() (int, error) { return syscall.Open(path, syscall.O_RDONLY|flags, 0) })
	}
	switch err {
	case nil:
		return sfile{fd: fd, writable: rw}, true, nil
	case syscall.ENOENT, syscall.ELOOP, syscall.ENOTDIR, syscall.EISDIR:
		return noFile, false, nil
	}
	return noFile, false, err
}

// stat returns whether f is a regular file, its size and its mtime.
func (f sfile) stat() (regular bool, size int64, mtime time.Time, err error) {
	var st syscall.Stat_t
	if _, err := retry(func() (int, error) { return 0, syscall.Fstat(f.fd, &st) }); err != nil {
		return false, 0, time.Time{}, err
	}
	return st.Mode&syscall.S_IFMT == syscall.S_IFREG, st.Size, time.Unix(st.Mtim.Unix()), nil
}

// readAt fills b from offset off; a file ending before is an error.
func (f sfile) readAt(b []byte, off int64) error {
	for len(b) > 0 {
		n, err := retry(func() (int, error) { return syscall.Pread(f.fd, b, off) })
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// writeAt writes all of b at offset off.
func (f sfile) writeAt(b []byte, off int64) error {
	for len(b) > 0 {
		n, err := retry(func() (int, error) { return syscall.Pwrite(f.fd, b, off) })
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// setMtime sets f's mtime, leaving its access time alone.
func (f sfile) setMtime(t time.Time) error {
	// utimensat(fd, NULL, times, 0) is futimens(3).
	ts := [2]syscall.Timespec{{Nsec: utimeOmit}, syscall.NsecToTimespec(t.UnixNano())}
	_, err := retry(func() (int, error) {
		_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(f.fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
		if errno != 0 {
			return 0, errno
		}
		return 0, nil
	})
	return err
}

// close closes f, unless it is noFile.
func (f sfile) close() error {
	if f.fd < 0 {
		return nil
	}
	return syscall.Close(f.fd)
}

// create creates the file path, which must not exist (O_EXCL; an existing
// file, even a symbolic link, is an error wrapping fs.ErrExist), with mode
// 0600, and writes content into it with one write (more only if the kernel
// takes less). On an error after the file was created, it removes the file
// again.
func create(path string, content []byte) (err error) {
	fd, err := retry(func() (int, error) {
		return syscall.Open(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o600)
	})
	if err != nil {
		return err // syscall.EEXIST is fs.ErrExist
	}
	defer func() {
		if cerr := syscall.Close(fd); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			syscall.Unlink(path)
		}
	}()
	return writeAll(fd, content)
}

// writeAll writes all of b to fd at its offset: one write, more only if the
// kernel takes less.
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := retry(func() (int, error) { return syscall.Write(fd, b) })
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b = b[n:]
	}
	return nil
}

// appendFile appends b to the file path, creating it with mode 0600 if
// missing, with one write (more only if the kernel takes less). It does
// not follow a symbolic link. A missing directory is an error wrapping
// fs.ErrNotExist.
func appendFile(path string, b []byte) (err error) {
	fd, err := retry(func() (int, error) {
		return syscall.Open(path, syscall.O_WRONLY|syscall.O_APPEND|syscall.O_CREAT|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	})
	if err != nil {
		return err // syscall.ENOENT is fs.ErrNotExist
	}
	defer func() {
		if cerr := syscall.Close(fd); err == nil && cerr != nil {
			err = cerr
		}
	}()
	return writeAll(fd, b)
}

// appendLine appends the line b (ending in a newline) to the file path,
// creating it with mode 0600 if missing, with one write; when the file does
// not end in a newline (a line that a crash cut short), a newline goes
// first, so that b stays a line of its own. It does not follow a symbolic
// link. A missing directory is an error wrapping fs.ErrNotExist. The caller
// holds a lock that every writer of path holds.
func appendLine(path string, b []byte) (err error) {
	fd, err := retry(func() (int, error) {
		return syscall.Open(path, syscall.O_RDWR|syscall.O_APPEND|syscall.O_CREAT|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	})
	if err != nil {
		return err // syscall.ENOENT is fs.ErrNotExist
	}
	f := sfile{fd: fd, writable: true}
	defer func() {
		if cerr := f.close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	regular, size, _, err := f.stat()
	if err != nil {
		return err
	}
	if !regular {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if size > 0 {
		var last [1]byte
		if err := f.readAt(last[:], size-1); err != nil {
			return err
		}
		if last[0] != '\n' {
			b = append([]byte{'\n'}, b...)
		}
	}
	return writeAll(fd, b)
}

// utimeOmit is UTIME_OMIT of utimensat(2).
const utimeOmit = (1 << 30) - 2

// retry calls f again while it fails with EINTR.
func retry(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
