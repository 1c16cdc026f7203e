package filestore_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/storetest"
)

var _ session.Lister = (*filestore.Store)(nil)

func TestLister(t *testing.T) {
	storetest.RunLister(t, func(t *testing.T) session.Store { return newStore(t, t.TempDir()) })
}

// Files that are not sessions are never listed, however fresh their mtime.
func TestListSkipsNonSessions(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	future := time.Now().Add(time.Hour)
	for _, name := range []string{".hidden", "notes.txt", ".tmp-00-x"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, time.Time{}, future)
	}
	sub := filepath.Join(dir, storetest.NewID())
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(sub, time.Time{}, future)
	id := storetest.NewID()
	put(t, s, id, "live", future)
	var got []string
	if err := s.List(t.Context(), func(id string, _ time.Time) bool { got = append(got, id); return true }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != id {
		t.Errorf("List = %q, want only %q", got, id)
	}
}
