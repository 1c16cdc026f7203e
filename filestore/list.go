package filestore

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// List calls fn with the ID and expiry (mtime) of every unexpired session
// file, until fn returns false. It skips names starting with "." (the
// store's own files), names that are not valid IDs and anything that is not
// a regular file. It reads the directory in batches and takes no lock, so
// fn may call the store. It implements session.Lister.
func (s *Store) List(ctx context.Context, fn func(id string, expiry time.Time) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("filestore: list: %w", err)
	}
	defer d.Close()
	for {
		entries, rerr := d.ReadDir(256)
		now := time.Now()
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			name := e.Name()
			if name[0] == '.' || !validID(name) || !e.Type().IsRegular() {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue // removed meanwhile
			}
			if expired(info.ModTime(), now) {
				continue
			}
			if !fn(name, info.ModTime()) {
				return nil
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("filestore: list: %w", rerr)
		}
	}
}
