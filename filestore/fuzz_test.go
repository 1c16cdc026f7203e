package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session/filestore"
)

// entry is what fuzzing compares of a file or directory: its kind, size,
// mode, mtime and, for a regular file, its data.
type entry struct {
	mode  fs.FileMode
	size  int64
	mtime time.Time
	data  string
}

// snapshot returns every path under root (symbolic links not followed)
// with its entry, skipping the subtree skip.
func snapshot(tb testing.TB, root, skip string) map[string]entry {
	tb.Helper()
	snap := map[string]entry{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == skip {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{mode: fi.Mode(), size: fi.Size(), mtime: fi.ModTime()}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			e.data = string(b)
		}
		snap[path] = e
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return snap
}

// validFuzzID is the store's documented ID alphabet, written out again.
func validFuzzID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	return strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == ""
}

// FuzzIDs: any ID string through Load, Update, Touch and Delete never
// panics and never creates, changes or removes anything outside the store's
// directory (a temporary parent holds the store and a decoy file and
// directory beside it, compared before and after each call). An ID outside
// the alphabet is refused with ErrInvalidID (Load: not found); a valid one
// writes exactly the file <dir>/<id>, which Load then returns and Delete
// removes.
func FuzzIDs(f *testing.F) {
	parent := f.TempDir()
	dir := filepath.Join(parent, "store")
	for _, p := range []string{"decoy", "store-sibling", filepath.Join("decoy", "sub")} {
		if err := os.MkdirAll(filepath.Join(parent, p), 0o700); err != nil {
			f.Fatal(err)
		}
	}
	for _, p := range []string{"victim", filepath.Join("decoy", "victim"), filepath.Join("decoy", "sub", "victim")} {
		if err := os.WriteFile(filepath.Join(parent, p), []byte("keep"), 0o600); err != nil {
			f.Fatal(err)
		}
	}
	s, err := filestore.New(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	for _, id := range []string{
		"abc", strings.Repeat("A", 43), strings.Repeat("z", 128), strings.Repeat("z", 129),
		"", ".", "..", "../victim", "../decoy/victim", "..%2fvictim", "/etc/passwd", parent + "/victim",
		"a/b", `a\b`, "a\x00b", ".locks", ".locks/00", ".tmp-00-x", "-", "_", "é", "victim\n", "C:victim",
	} {
		f.Add(id)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, id string) {
		outside := snapshot(t, parent, dir)
		check := func(op string) {
			t.Helper()
			after := snapshot(t, parent, dir)
			for p, e := range outside {
				if a, ok := after[p]; !ok || a != e {
					t.Fatalf("%s(%q) changed %s outside the store: %v -> %v (present %v)", op, id, p, e, a, ok)
				}
			}
			for p := range after {
				if _, ok := outside[p]; !ok {
					t.Fatalf("%s(%q) created %s outside the store", op, id, p)
				}
			}
		}
		valid := validFuzzID(id)
		file := filepath.Join(dir, id)

		if _, _, found, err := s.Load(ctx, id); err != nil || found {
			t.Fatalf("Load(%q) of a missing session: found %v, %v", id, found, err)
		}
		check("Load")

		data := []byte("payload of " + id)
		err := s.Update(ctx, id, func(cur []byte, found bool) ([]byte, time.Time, error) {
			if found {
				return nil, time.Time{}, errors.New("found a session that was never written")
			}
			return data, time.Now().Add(time.Hour), nil
		})
		check("Update")
		if !valid {
			if !errors.Is(err, filestore.ErrInvalidID) {
				t.Fatalf("Update(%q): %v, want ErrInvalidID", id, err)
			}
			for op, err := range map[string]error{
				"Touch":  s.Touch(ctx, id, time.Now().Add(time.Hour)),
				"Delete": s.Delete(ctx, id),
			} {
				if !errors.Is(err, filestore.ErrInvalidID) {
					t.Fatalf("%s(%q): %v, want ErrInvalidID", op, id, err)
				}
			}
			check("Touch and Delete")
			return
		}
		if err != nil {
			t.Fatalf("Update(%q): %v", id, err)
		}
		if b, err := os.ReadFile(file); err != nil || !bytes.Equal(filestore.DecodeFile(b).Data, data) {
			t.Fatalf("Update(%q) did not write %s: %q, %v", id, file, b, err)
		}
		if got, _, found, err := s.Load(ctx, id); err != nil || !found || !bytes.Equal(got, data) {
			t.Fatalf("Load(%q) after Update: %q, %v, %v", id, got, found, err)
		}
		if err := s.Touch(ctx, id, time.Now().Add(2*time.Hour)); err != nil {
			t.Fatalf("Touch(%q): %v", id, err)
		}
		check("Touch")
		if err := s.Delete(ctx, id); err != nil {
			t.Fatalf("Delete(%q): %v", id, err)
		}
		check("Delete")
		if _, err := os.Lstat(file); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Delete(%q) left %s: %v", id, file, err)
		}
	})
}
