package filestore

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sessionkit/session/internal/sessionid"
)

// List calls fn with the ID and expiry of every session that Load would
// find, until fn returns false. It skips names starting with "." (the
// store's own files), names that are not valid IDs and anything that is not
// a regular file, and reads each session file as Load does. It reads the
// directory in batches and holds no lock while it calls fn, so fn may call
// the store. It implements session.Lister.
func (s *Store) List(ctx context.Context, fn func(id string, expiry time.Time) bool) (err error) {
	defer func() { err = s.redact(err) }()
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
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			name := e.Name()
			if name[0] == '.' || !sessionid.Valid(name) || !e.Type().IsRegular() {
				continue
			}
			c, err := s.load(name)
			if err != nil {
				return err
			}
			if !c.found {
				continue // removed or expired meanwhile, or no session
			}
			if !fn(name, c.expiry) {
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
