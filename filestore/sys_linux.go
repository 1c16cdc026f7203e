//go:build linux

package filestore

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"
)

// On Linux the store reads and writes session files with plain system calls
// (open, fstat, read, close; open, write, utimensat on the descriptor,
// close): for files of a few hundred bytes, the bookkeeping of an os.File
// (its poller registration check, cleanup, and the path-based Chtimes) costs
// more than the calls themselves.

// read returns what the session file at path holds: found == false if it is
// missing, not a regular file (a symbolic link is not followed), or expired
// (whose data it does not read). The current time is taken after the file's
// status, so that a file whose mtime the kernel has just set (one being
// created) is always expired.
func read(path string) (current, error) {
	fd, err := retry(func() (int, error) {
		return syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	})
	if err != nil {
		if err == syscall.ENOENT || err == syscall.ELOOP || err == syscall.ENOTDIR {
			return current{}, nil
		}
		return current{}, fmt.Errorf("filestore: open %s: %w", path, err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if _, err := retry(func() (int, error) { return 0, syscall.Fstat(fd, &st) }); err != nil {
		return current{}, fmt.Errorf("filestore: stat %s: %w", path, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return current{}, nil
	}
	c := current{exists: true, mtime: time.Unix(st.Mtim.Unix())}
	if expired(c.mtime, time.Now()) {
		return c, nil
	}
	// Files are replaced, never written in place, once their mtime is in the
	// future, so the size is final.
	c.data = make([]byte, st.Size)
	for off := 0; off < len(c.data); {
		n, err := retry(func() (int, error) { return syscall.Read(fd, c.data[off:]) })
		if err != nil {
			return current{}, fmt.Errorf("filestore: reading %s: %w", path, err)
		}
		if n == 0 {
			return current{}, fmt.Errorf("filestore: reading %s: file shorter than its size", path)
		}
		off += n
	}
	c.found = true
	return c, nil
}

// create creates the file path, which must not exist (O_EXCL; an existing
// file, even a symbolic link, is an error wrapping fs.ErrExist), with mode
// 0600, writes data into it and then sets its mtime to mtime. On an error
// after the file was created, it removes the file again.
func create(path string, data []byte, mtime time.Time) (err error) {
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
	for off := 0; off < len(data); {
		n, err := retry(func() (int, error) { return syscall.Write(fd, data[off:]) })
		if err != nil {
			return err
		}
		off += n
	}
	// utimensat(fd, NULL, times, 0) is futimens(3): after the last write,
	// which set the mtime to now. The access time is left alone.
	ts := [2]syscall.Timespec{{Nsec: utimeOmit}, syscall.NsecToTimespec(mtime.UnixNano())}
	if _, err := retry(func() (int, error) {
		_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
		if errno != 0 {
			return 0, errno
		}
		return 0, nil
	}); err != nil {
		return err
	}
	return nil
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
