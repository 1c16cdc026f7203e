//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package filestore

import "os"

// On this platform the store has no cross-process lock: Updates are atomic
// within one process (the shard mutex) only. Do not share a directory between
// processes here.

func lockFile(*os.File) error   { return nil }
func unlockFile(*os.File) error { return nil }
