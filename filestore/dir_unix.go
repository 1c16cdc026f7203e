//go:build unix

package filestore

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkPrivate returns an error wrapping ErrUnsafeDir when the directory
// dir, whose status is fi, is writable by its group or by others (sticky or
// not), or is owned by another user than the process's effective user:
// either could plant a session file (a v1 file is plain data) for an ID
// whose cookie they hold, or remove and replace the store's files.
func checkPrivate(dir string, fi fs.FileInfo) error {
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by its group or by others (mode %v), so they could plant sessions in it; run `chmod go-w %s` (or `chmod 700 %s`)",
			ErrUnsafeDir, dir, fi.Mode(), dir, dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if euid := os.Geteuid(); int64(st.Uid) != int64(euid) {
			return fmt.Errorf("%w: %s is owned by user %d, not by this process's user %d, so its owner could plant sessions in it; run `chown %d %s`, or use a directory of this user",
				ErrUnsafeDir, dir, st.Uid, euid, euid, dir)
		}
	}
	return nil
}
