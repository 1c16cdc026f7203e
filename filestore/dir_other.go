//go:build !unix

package filestore

import "io/fs"

// checkPrivate checks nothing on this platform, whose file modes do not say
// who may write a directory: keep the store's directory private with its
// access control lists.
func checkPrivate(string, fs.FileInfo) error { return nil }
