package filestore_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session/internal/sessionid"
	"github.com/sessionkit/session/storetest"
)

// occupy puts a non-empty directory where id's session file goes, so that
// removing or replacing that file fails with an error of the operating
// system that names its path.
func occupy(t *testing.T, dir, id string) {
	t.Helper()
	path := filepath.Join(dir, id)
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
}

// The store's errors name a session file by its ID shortened, never whole,
// and still match what they wrap.
func TestErrorsShortenSessionIDs(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	id := storetest.NewID()
	occupy(t, dir, id)

	check := func(op string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s on a directory: no error", op)
		}
		msg := err.Error()
		if strings.Contains(msg, id) {
			t.Errorf("%s: the error names the whole session ID: %s", op, msg)
		}
		if !strings.Contains(msg, sessionid.Abbrev(id)) || !strings.HasPrefix(msg, "filestore: ") {
			t.Errorf("%s: the error %q does not name the file by %s", op, msg, sessionid.Abbrev(id))
		}
	}
	err := s.Delete(ctx, id)
	check("Delete", err)
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != filepath.Join(dir, id) {
		t.Errorf("Delete's error %v does not wrap the *fs.PathError of %s", err, id)
	}
	_, err = s.Swap(ctx, id, nil, []byte("data"), time.Now().Add(time.Hour))
	check("Swap", err)
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("Swap's error %v does not match fs.ErrExist", err)
	}
	check("Update", s.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) {
		return []byte("data"), time.Now().Add(time.Hour), nil
	}))

	// fn's own error comes back as is, even when it names the ID.
	fnErr := errors.New("application error about " + filepath.Join(dir, id))
	if err := s.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) {
		return nil, time.Time{}, fnErr
	}); err != fnErr {
		t.Errorf("Update = %v, want fn's error as is", err)
	}
}
