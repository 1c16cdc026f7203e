package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/storetest"
)

var (
	_ session.Store   = (*filestore.Store)(nil)
	_ session.Sweeper = (*filestore.Store)(nil)
)

// Environment of the child processes of TestCrossProcessUpdates.
const (
	envChildDir  = "FILESTORE_TEST_CHILD_DIR"
	envChildSync = "FILESTORE_TEST_CHILD_SYNC"
	envChildID   = "FILESTORE_TEST_CHILD_ID"
	envChildName = "FILESTORE_TEST_CHILD_NAME"
	childUpdates = 100
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envChildDir); dir != "" {
		os.Exit(child(dir))
	}
	if dir := os.Getenv(envUserChildDir); dir != "" {
		os.Exit(userChild(dir))
	}
	if dir := os.Getenv(envKillDir); dir != "" {
		fmt.Fprintln(os.Stderr, "kill writer:", killWriter(dir))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func newStore(t testing.TB, dir string) *filestore.Store {
	t.Helper()
	s, err := filestore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) session.Store { return newStore(t, t.TempDir()) })
}

func put(t testing.TB, s *filestore.Store, id string, data string, exp time.Time) {
	t.Helper()
	err := s.Update(context.Background(), id, func([]byte, bool) ([]byte, time.Time, error) {
		return []byte(data), exp, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// addKey adds key to a record holding sorted, newline-terminated keys.
func addKey(key string, exp time.Time) func([]byte, bool) ([]byte, time.Time, error) {
	return func(data []byte, _ bool) ([]byte, time.Time, error) {
		var keys []string
		if len(data) > 0 {
			keys = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		}
		if i, ok := slices.BinarySearch(keys, key); !ok {
			keys = slices.Insert(keys, i, key)
		}
		return []byte(strings.Join(keys, "\n") + "\n"), exp, nil
	}
}

// wantKeys checks that the record under id holds exactly want keys.
func wantKeys(t *testing.T, s *filestore.Store, id string, want []string) {
	t.Helper()
	d, _, found, err := s.Load(context.Background(), id)
	if err != nil || !found {
		t.Fatalf("Load: found=%v err=%v", found, err)
	}
	got := strings.Split(strings.TrimSuffix(string(d), "\n"), "\n")
	slices.Sort(want)
	if !slices.Equal(got, want) {
		missing := 0
		for _, k := range want {
			if _, ok := slices.BinarySearch(got, k); !ok {
				missing++
			}
		}
		t.Errorf("record holds %d keys, want %d: %d updates were lost", len(got), len(want), missing)
	}
}

func TestNew(t *testing.T) {
	root := t.TempDir()

	dir := filepath.Join(root, "a", "b", "sessions")
	s := newStore(t, dir)
	for _, d := range []string{filepath.Join(root, "a"), filepath.Join(root, "a", "b"), dir, filepath.Join(dir, ".locks"), filepath.Join(dir, ".tmp"), filepath.Join(dir, ".expiry"), filepath.Join(dir, ".users")} {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("New created %s with mode %v (%v), want a directory with 0700", d, fi.Mode(), err)
		}
	}
	if s.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", s.Dir(), dir)
	}
	// New leaves nothing behind but its own directories.
	if got := dirNames(t, dir); !slices.Equal(got, []string{".expiry", ".locks", ".tmp", ".users"}) {
		t.Errorf("a new store directory holds %q, want only .expiry, .locks, .tmp and .users", got)
	}

	if _, err := filestore.New(""); err == nil {
		t.Error("New(\"\") succeeded")
	}
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := filestore.New(file); err == nil || !strings.HasPrefix(err.Error(), "filestore: ") {
		t.Errorf("New on a regular file: error = %v, want a filestore error", err)
	}
	if os.Geteuid() != 0 { // root can write anywhere
		ro := filepath.Join(root, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		if _, err := filestore.New(ro); err == nil {
			t.Error("New on a read-only directory succeeded")
		}
	}
}

// New refuses a directory that others may write (anyone on the machine
// could plant a v1 file, plain data, for an ID whose cookie they hold), and
// one owned by another user, with an error that says what to run; it
// creates nothing in it. Directories only this user writes are taken.
func TestNewRefusesUnsafeDirectory(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes do not say who may write a directory on Windows")
	}
	root := t.TempDir()
	for _, mode := range []fs.FileMode{0o777, 0o777 | fs.ModeSticky, 0o770, 0o730, 0o702, 0o703} {
		dir := filepath.Join(root, fmt.Sprintf("mode-%o", mode))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		s, err := filestore.New(dir)
		if err == nil {
			s.Close()
			t.Errorf("New on a directory of mode %v succeeded", mode)
			continue
		}
		if !errors.Is(err, filestore.ErrUnsafeDir) || !strings.Contains(err.Error(), "chmod go-w "+dir) ||
			strings.Count(err.Error(), "filestore:") != 1 {
			t.Errorf("New on a directory of mode %v: error %q, want ErrUnsafeDir saying to run chmod go-w %s", mode, err, dir)
		}
		if names := dirNames(t, dir); len(names) != 0 {
			t.Errorf("New on a directory of mode %v created %q in it", mode, names)
		}
	}
	for _, mode := range []fs.FileMode{0o700, 0o711, 0o750, 0o755} {
		dir := filepath.Join(root, fmt.Sprintf("ok-%o", mode))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		newStore(t, dir)
	}

	// One of the store's own subdirectories, made writable by others.
	dir := filepath.Join(root, "sub")
	newStore(t, dir)
	if err := os.Chmod(filepath.Join(dir, ".tmp"), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := filestore.New(dir); !errors.Is(err, filestore.ErrUnsafeDir) {
		t.Errorf("New with a world-writable .tmp: %v, want ErrUnsafeDir", err)
	}
	// The user index's directory alike.
	dir = filepath.Join(root, "users")
	newStore(t, dir)
	if err := os.Chmod(filepath.Join(dir, ".users"), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := filestore.New(dir); !errors.Is(err, filestore.ErrUnsafeDir) || !strings.Contains(err.Error(), ".users") {
		t.Errorf("New with a world-writable .users: %v, want ErrUnsafeDir naming it", err)
	}
	// A symbolic link to a world-writable directory.
	open := filepath.Join(root, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(open, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := filestore.New(filepath.Join(root, "link")); !errors.Is(err, filestore.ErrUnsafeDir) {
		t.Errorf("New through a link to a world-writable directory: %v, want ErrUnsafeDir", err)
	}

	// A directory owned by another user: root gives one away; any other
	// user finds one in "/", which root owns.
	other := "/"
	if os.Geteuid() == 0 {
		other = filepath.Join(root, "other")
		if err := os.Mkdir(other, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := filestore.New(other); !errors.Is(err, filestore.ErrUnsafeDir) || !strings.Contains(err.Error(), "chown ") {
		t.Errorf("New on a directory of another user: %v, want ErrUnsafeDir saying to run chown", err)
	}
}

// readV2 returns the decoded session file at path, failing unless it is a
// whole v2 file.
func readV2(t testing.TB, path string) filestore.Decoded {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := filestore.DecodeFile(b)
	if !d.V2 || !d.OK {
		t.Fatalf("%s is not a whole v2 session file (%d bytes, v2 %v)", path, len(b), d.V2)
	}
	return d
}

func TestFileLayout(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	id := storetest.NewID()
	data := "payload \x00\xff\n with binary bytes"
	exp := time.Now().Add(3 * time.Hour).Round(time.Millisecond)
	put(t, s, id, data, exp)

	// A new session: a v2 file, the magic, a header holding the expiry, two
	// slots of 512 bytes.
	path := filepath.Join(dir, id)
	d := readV2(t, path)
	if string(d.Data) != data || !d.Expiry.Equal(exp) || d.Cap != 512 {
		t.Errorf("session file holds (%q, expiry %v, capacity %d), want (%q, %v, 512)", d.Data, d.Expiry, d.Cap, data, exp)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 || fi.Size() != filestore.HeaderSize+2*512 {
		t.Errorf("session file mode %v, size %d; want 0600, %d", fi.Mode(), fi.Size(), filestore.HeaderSize+2*512)
	}
	if names := dirNames(t, filepath.Join(dir, ".tmp")); len(names) != 0 {
		t.Errorf(".tmp holds %q after a new session, want nothing", names)
	}

	// Touch writes the header of the same file, not its slots.
	before, _ := os.ReadFile(path)
	later := time.Now().Add(48 * time.Hour).Round(time.Millisecond)
	if err := s.Touch(ctx, id, later); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	fi2, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(fi, fi2) {
		t.Error("Touch replaced the session file; it should write its header only")
	}
	if !bytes.Equal(before[filestore.HeaderSize:], after[filestore.HeaderSize:]) {
		t.Error("Touch changed the slots; it should write the header only")
	}
	if d := readV2(t, path); string(d.Data) != data || !d.Expiry.Equal(later) {
		t.Errorf("after Touch the file holds (%q, %v), want (%q, %v)", d.Data, d.Expiry, data, later)
	}
	if _, e, found, err := s.Load(ctx, id); !found || err != nil || !e.Equal(later) {
		t.Errorf("Load after Touch = (%v, %v, %v), want expiry %v", e, found, err, later)
	}

	// Updates that fit are written in place, into the other slot each time.
	seq := readV2(t, path).Seq
	for i, next := range []string{"second", "third", strings.Repeat("x", 512)} {
		put(t, s, id, next, exp)
		fi3, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(fi, fi3) {
			t.Errorf("update %d replaced the session file; it should write in place", i)
		}
		d := readV2(t, path)
		if string(d.Data) != next || !d.Expiry.Equal(exp) || d.Seq != seq+uint64(i)+1 {
			t.Errorf("after update %d the file holds (%.20q, %v, write %d), want (%.20q, %v, write %d)", i, d.Data, d.Expiry, d.Seq, next, exp, seq+uint64(i)+1)
		}
	}

	// Data that does not fit makes a new file with twice the capacity
	// (temporary file, rename), which takes smaller data in place again.
	grown := strings.Repeat("y", 513)
	put(t, s, id, grown, exp)
	fi4, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(fi, fi4) {
		t.Error("data larger than the slots was written in place")
	}
	if d := readV2(t, path); string(d.Data) != grown || d.Cap != 1024 {
		t.Errorf("after growing the file holds (%d bytes, capacity %d), want (513, 1024)", len(d.Data), d.Cap)
	}
	put(t, s, id, "small", exp)
	if fi5, err := os.Stat(path); err != nil || !os.SameFile(fi4, fi5) || readV2(t, path).Cap != 1024 {
		t.Errorf("small data after growing: %v, same file %v; want it in place, capacity 1024", err, os.SameFile(fi4, fi5))
	}
	// A large file shrinks again once the data would fit an eighth of it.
	put(t, s, id, strings.Repeat("z", 100<<10), exp)
	if d := readV2(t, path); d.Cap != 128<<10 {
		t.Errorf("100 KiB of data: capacity %d, want %d", d.Cap, 128<<10)
	}
	put(t, s, id, strings.Repeat("z", 20<<10), exp)
	if d := readV2(t, path); d.Cap != 128<<10 {
		t.Errorf("20 KiB of data in a 128 KiB file: capacity %d, want it kept", d.Cap)
	}
	put(t, s, id, strings.Repeat("z", 16<<10), exp)
	if d := readV2(t, path); d.Cap != 16<<10 {
		t.Errorf("16 KiB of data in a 128 KiB file: capacity %d, want %d", d.Cap, 16<<10)
	}
	if names, want := dirNames(t, dir), slices.Sorted(slices.Values([]string{".expiry", ".locks", ".tmp", ".users", id})); !slices.Equal(names, want) {
		t.Errorf("store directory holds %q, want only .expiry, .locks, .tmp and the session", names)
	}
	if names := dirNames(t, filepath.Join(dir, ".tmp")); len(names) != 0 {
		t.Errorf(".tmp holds %q after the writes, want nothing", names)
	}

	// Nil data removes the file.
	err = s.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return nil, time.Time{}, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("session file after Update returned nil data: %v, want it gone", err)
	}

	// A far-future expiry is clamped, not wrapped into the past.
	put(t, s, id, "forever", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, e, found, err := s.Load(ctx, id); !found || err != nil || e.Year() < 2100 {
		t.Errorf("Load after writing with expiry in year 3000 = (%v, %v, %v)", e, found, err)
	}
}

// A file an administrator (or another version) put in the directory is
// not a session unless it is named like one.
func TestLoadIgnoresNonSessions(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	future := time.Now().Add(time.Hour)
	for _, name := range []string{".hidden", "notes.txt", ".tmp-00-x"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(filepath.Join(dir, name), time.Time{}, future)
		if _, _, found, err := s.Load(ctx, name); found || err != nil {
			t.Errorf("Load(%q) = (found %v, %v), want not found", name, found, err)
		}
	}
	// A directory named like a session is not one.
	id := storetest.NewID()
	if err := os.Mkdir(filepath.Join(dir, id), 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(filepath.Join(dir, id), time.Time{}, future)
	if _, _, found, err := s.Load(ctx, id); found || err != nil {
		t.Errorf("Load of a directory = (found %v, %v), want not found", found, err)
	}
}

// A symbolic link named like a session is not one: Load does not follow
// it, and a write replaces the link itself, never the file it points to.
func TestLoadIgnoresSymlinks(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	future := time.Now().Add(time.Hour)

	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(target, []byte("not a session"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(target, time.Time{}, future)
	link := storetest.NewID()
	if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
		t.Fatal(err)
	}
	if _, _, found, err := s.Load(ctx, link); found || err != nil {
		t.Errorf("Load of a symbolic link = (found %v, %v), want not found", found, err)
	}
	put(t, s, link, "session", future)
	if got, err := os.ReadFile(target); err != nil || string(got) != "not a session" {
		t.Errorf("the link's target after a write holds %q (%v); it must not change", got, err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, link)); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("after a write the link's name is %v (%v), want a regular session file", fi.Mode(), err)
	}
}

// A new session's file is created in place, in one write: until it is
// written it is empty, with the (past) time of its creation as mtime, so it
// reads as absent (a v1 file that expired), as does what a crash leaves
// of a v1 store's creation; the store then writes the session over
// it.
func TestNewSessionCreatedInPlace(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	id := storetest.NewID()
	// What a write killed before it set the mtime leaves behind.
	if err := os.WriteFile(filepath.Join(dir, id), []byte("half a sess"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, found, err := s.Load(ctx, id); found || err != nil {
		t.Errorf("Load of a file whose mtime is its creation = (found %v, %v), want not found", found, err)
	}
	exp := time.Now().Add(time.Hour).Round(time.Millisecond)
	ok, err := s.Swap(ctx, id, nil, []byte("whole session"), exp)
	if !ok || err != nil {
		t.Fatalf("Swap(nil) over a half-created file = (%v, %v), want it written", ok, err)
	}
	if data, e, found, err := s.Load(ctx, id); !found || err != nil || string(data) != "whole session" || !e.Equal(exp) {
		t.Errorf("Load = (%q, %v, %v, %v), want the whole session", data, e, found, err)
	}

	// A new ID is written without a temporary file.
	fresh := storetest.NewID()
	put(t, s, fresh, "new", exp)
	if names := dirNames(t, filepath.Join(dir, ".tmp")); len(names) != 0 {
		t.Errorf(".tmp holds %q after a new session, want nothing", names)
	}
	if fi, err := os.Stat(filepath.Join(dir, fresh)); err != nil || fi.Mode() != 0o600 {
		t.Errorf("new session file: %v, %v", fi, err)
	}
	if d := readV2(t, filepath.Join(dir, fresh)); string(d.Data) != "new" || !d.Expiry.Equal(exp) {
		t.Errorf("new session file holds (%q, %v), want (%q, %v)", d.Data, d.Expiry, "new", exp)
	}
}

func TestInvalidIDs(t *testing.T) {
	s := newStore(t, t.TempDir())
	ctx := context.Background()
	for _, id := range []string{"", ".", "..", "a/b", "a.b", "a b", "é", "a\x00", strings.Repeat("a", 129)} {
		if _, _, found, err := s.Load(ctx, id); found || err != nil {
			t.Errorf("Load(%q) = (found %v, %v), want (false, nil)", id, found, err)
		}
		called := false
		err := s.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) {
			called = true
			return []byte("x"), time.Now().Add(time.Hour), nil
		})
		if !errors.Is(err, filestore.ErrInvalidID) || called {
			t.Errorf("Update(%q) = %v (fn called: %v), want ErrInvalidID without calling fn", id, err, called)
		} else if !strings.HasPrefix(err.Error(), "filestore: ") {
			t.Errorf("Update(%q) error %q lacks the filestore: prefix", id, err)
		}
		if err := s.Delete(ctx, id); !errors.Is(err, filestore.ErrInvalidID) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidID", id, err)
		}
		if err := s.Touch(ctx, id, time.Now()); !errors.Is(err, filestore.ErrInvalidID) {
			t.Errorf("Touch(%q) = %v, want ErrInvalidID", id, err)
		}
	}
	// The longest and shortest valid IDs work.
	for _, id := range []string{strings.Repeat("Z", 128), "-", "_", "0"} {
		put(t, s, id, "ok", time.Now().Add(time.Hour))
		if d, _, found, err := s.Load(ctx, id); !found || err != nil || string(d) != "ok" {
			t.Errorf("Load(%q) = (%q, %v, %v)", id, d, found, err)
		}
	}
}

func TestPathInjection(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "x", "y", "store")
	s := newStore(t, dir)
	ctx := context.Background()

	// A secret outside the store must not be readable through it.
	if err := os.WriteFile(filepath.Join(root, "x", "secret"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(root, "absolute-target")
	hostile := []string{
		"../secret", "../../secret", "../../../x/secret", "../escape", "../../escape",
		"../../../../escape", "/etc/passwd", "../../etc/passwd", abs, "sub/escape",
		"..", ".", ".locks", ".locks/00", ".tmp-00-escape", "..\\escape", "escape\x00",
		"../store2/escape", "./escape", "~/escape",
	}
	for _, id := range hostile {
		if d, _, found, err := s.Load(ctx, id); found || err != nil {
			t.Errorf("Load(%q) = (%q, found %v, %v), want not found", id, d, found, err)
		}
		err := s.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) {
			return []byte("pwned"), time.Now().Add(time.Hour), nil
		})
		if !errors.Is(err, filestore.ErrInvalidID) {
			t.Errorf("Update(%q) = %v, want ErrInvalidID", id, err)
		}
		s.Touch(ctx, id, time.Now().Add(time.Hour))
		s.Delete(ctx, id)
	}
	if _, err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}

	// Everything under root is the store's skeleton or the planted secret.
	want := map[string]bool{
		"x": true, "x/secret": true, "x/y": true, "x/y/store": true, "x/y/store/.locks": true,
		"x/y/store/.tmp": true, "x/y/store/.expiry": true, "x/y/store/.expiry/.complete": true,
		"x/y/store/.users": true,
	}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".", want[rel]:
		case strings.HasPrefix(rel, "x/y/store/.locks/") && len(rel) == len("x/y/store/.locks/00"):
		default:
			t.Errorf("hostile IDs created %s", path)
		}
		for _, bad := range []string{"escape", "passwd", "pwned", "absolute-target", "store2", "sub"} {
			if d.Name() == bad {
				t.Errorf("found %s, named by a hostile ID", path)
			}
		}
		return nil
	})
	if got, _ := os.ReadFile(filepath.Join(root, "x", "secret")); string(got) != "secret" {
		t.Errorf("secret outside the store was changed to %q", got)
	}
}

func TestSweep(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	old := time.Now().Add(-2 * time.Hour)
	future := time.Now().Add(time.Hour)

	mk := func(name string, mtime time.Time) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, time.Time{}, mtime); err != nil {
			t.Fatal(err)
		}
	}
	mk(".tmp/00-crashed", old)            // crash leftover: removed, not counted
	mk(".tmp/3f-crashed-late", old)       // also
	mk(".tmp/probe-crashed", old)         // New's probe: removed without a lock
	mk(".tmp/ab-in-progress", time.Now()) // a write in progress: kept
	mk(".hidden", old)                    // not ours: kept
	mk("notes.txt", old)                  // not a session name: kept
	subdir := filepath.Join(dir, storetest.NewID())
	if err := os.Mkdir(subdir, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(subdir, time.Time{}, old) // named like a session, but a directory: kept

	dead, live := storetest.NewID(), storetest.NewID()
	put(t, s, dead, "dead", old)
	put(t, s, live, "live", future)

	n, err := s.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("Sweep removed %d, want 1 (temporary files are not counted)", n)
	}
	for name, want := range map[string]bool{
		".tmp/00-crashed": false, ".tmp/3f-crashed-late": false, ".tmp/probe-crashed": false,
		".tmp/ab-in-progress": true, ".hidden": true, "notes.txt": true,
		filepath.Base(subdir): true, dead: false, live: true, ".locks": true,
		".expiry/.complete": true,
	} {
		_, err := os.Lstat(filepath.Join(dir, name))
		if exists := err == nil; exists != want {
			t.Errorf("after Sweep, %s exists = %v, want %v", name, exists, want)
		}
	}
	// The dead session's minute is gone from the index; the live one's stays.
	if got, want := indexEntries(t, dir), []string{minute(future) + "/" + live}; !slices.Equal(got, want) {
		t.Errorf("index after Sweep = %q, want %q", got, want)
	}

	// A canceled context stops a sweep.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Sweep(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Sweep with a canceled context = %v", err)
	}
}

// Updates that write already-expired records, during Sweeps of another
// Store: a sweep must never disturb a write in progress (the v1 layout
// gave a temporary file the past expiry as mtime just before the rename,
// which a sweep could take for a crash leftover's).
func TestSweepDuringExpiredWrites(t *testing.T) {
	dir := t.TempDir()
	s1, s2 := newStore(t, dir), newStore(t, dir)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s2.Sweep(ctx); err != nil {
				t.Errorf("Sweep: %v", err)
				return
			}
		}
	}()
	for range 300 {
		err := s1.Update(ctx, storetest.NewID(), func([]byte, bool) ([]byte, time.Time, error) {
			return []byte("x"), time.Now().Add(-2 * time.Hour), nil
		})
		if err != nil {
			t.Errorf("Update with a past expiry during Sweep: %v", err)
			break
		}
	}
	close(stop)
	wg.Wait()
}

// Two Store values on one directory have separate mutexes and separate lock
// file descriptors, like two processes: only flock keeps their Updates apart.
func TestTwoStoresOneDirectory(t *testing.T) {
	dir := t.TempDir()
	stores := []*filestore.Store{newStore(t, dir), newStore(t, dir)}
	id := storetest.NewID()
	exp := time.Now().Add(time.Hour)
	const n = 200
	var wg sync.WaitGroup
	start := make(chan struct{})
	var want []string
	for i := range n {
		key := fmt.Sprintf("k%03d", i)
		want = append(want, key)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := stores[i%2].Update(context.Background(), id, addKey(key, exp)); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	wantKeys(t, stores[0], id, want)
}

func TestCrossProcessUpdates(t *testing.T) {
	dir, syncDir := t.TempDir(), t.TempDir()
	s := newStore(t, dir)
	id := storetest.NewID()

	names := []string{"a", "b"}
	cmds := make([]*exec.Cmd, len(names))
	outs := make([]*bytes.Buffer, len(names))
	for i, name := range names {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(),
			envChildDir+"="+dir, envChildSync+"="+syncDir,
			envChildID+"="+id, envChildName+"="+name)
		outs[i] = new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	// Start all writers together once both children are ready.
	deadline := time.Now().Add(60 * time.Second)
	for _, name := range names {
		for {
			if _, err := os.Stat(filepath.Join(syncDir, "ready-"+name)); err == nil {
				break
			}
			if time.Now().After(deadline) {
				for _, c := range cmds {
					c.Process.Kill()
					c.Wait()
				}
				t.Fatalf("child %s did not get ready", name)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if err := os.WriteFile(filepath.Join(syncDir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The parent writes too.
	exp := time.Now().Add(time.Hour)
	var want []string
	for i := range childUpdates {
		key := fmt.Sprintf("k-parent-%03d", i)
		want = append(want, key)
		if err := s.Update(context.Background(), id, addKey(key, exp)); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %s: %v\n%s", names[i], err, outs[i])
		}
		for j := range childUpdates {
			want = append(want, fmt.Sprintf("k-%s-%03d", names[i], j))
		}
	}
	wantKeys(t, s, id, want)
}

// child is the body of a child process of TestCrossProcessUpdates.
func child(dir string) int {
	syncDir, id, name := os.Getenv(envChildSync), os.Getenv(envChildID), os.Getenv(envChildName)
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "child %s: "+format+"\n", append([]any{name}, args...)...)
		return 1
	}
	s, err := filestore.New(dir)
	if err != nil {
		return fail("%v", err)
	}
	defer s.Close()
	if err := os.WriteFile(filepath.Join(syncDir, "ready-"+name), nil, 0o600); err != nil {
		return fail("%v", err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(filepath.Join(syncDir, "go")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fail("no go signal")
		}
	}
	exp := time.Now().Add(time.Hour)
	for i := range childUpdates {
		key := "k-" + name + "-" + fmt.Sprintf("%03d", i)
		if err := s.Update(context.Background(), id, addKey(key, exp)); err != nil {
			return fail("update %d: %v", i, err)
		}
	}
	return 0
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := storetest.NewID()
	put(t, s, id, "kept", time.Now().Add(time.Hour))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, _, err := s.Load(ctx, id); !errors.Is(err, filestore.ErrClosed) {
		t.Errorf("Load after Close = %v, want ErrClosed", err)
	}
	err = s.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return nil, time.Time{}, nil })
	if !errors.Is(err, filestore.ErrClosed) {
		t.Errorf("Update after Close = %v, want ErrClosed", err)
	}
	if err := s.Delete(ctx, id); !errors.Is(err, filestore.ErrClosed) {
		t.Errorf("Delete after Close = %v, want ErrClosed", err)
	}
	if err := s.Touch(ctx, id, time.Now()); !errors.Is(err, filestore.ErrClosed) {
		t.Errorf("Touch after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Sweep(ctx); !errors.Is(err, filestore.ErrClosed) {
		t.Errorf("Sweep after Close = %v, want ErrClosed", err)
	}
	// The sessions stay for the next Store.
	s2 := newStore(t, dir)
	if d, _, found, err := s2.Load(ctx, id); !found || err != nil || string(d) != "kept" {
		t.Errorf("Load from a new Store = (%q, %v, %v)", d, found, err)
	}
}

// A panic in fn must not leave the shard locked: neither its mutex (the
// same Store writes next) nor its flock (a second Store on the directory,
// as another process, writes next).
func TestUpdatePanicReleasesLock(t *testing.T) {
	storetest.RunUpdatePanic(t, func(t *testing.T) []session.Store {
		dir := t.TempDir()
		return []session.Store{newStore(t, dir), newStore(t, dir)}
	})
}

func BenchmarkLoad(b *testing.B) { storetest.BenchmarkLoad(b, newStore(b, b.TempDir()), 256) }

func BenchmarkUpdate(b *testing.B) { storetest.BenchmarkUpdate(b, newStore(b, b.TempDir()), 256) }

func BenchmarkTouch(b *testing.B) {
	s := newStore(b, b.TempDir())
	id := storetest.NewID()
	put(b, s, id, "payload", time.Now().Add(time.Hour))
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := s.Touch(ctx, id, time.Now().Add(time.Hour+time.Duration(i))); err != nil {
			b.Fatal(err)
		}
	}
}

// The shard of an ID names its lock file, its index log and its temporary
// files, so it must never change: these are the shards of FNV-1a (32-bit)
// modulo 256 that the store has always used, checked on disk.
func TestShardLayout(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	exp := time.Now().Add(time.Hour)
	for id, want := range map[string]int{
		"a":          0x2c,
		"-":          0x38,
		"session-id": 0x73,
		"0123456789abcdefghijABCDEFGHIJ_-klmnopqrstu": 0xe0,
		"Cm9R6ePb3k6lVQ2sVbUQyM1x0QEv4ZAm1tVtZ7W9sYk": 0x5f,
		strings.Repeat("Z", 128):                      0xc5,
	} {
		if got := filestore.ShardOf(id); got != want {
			t.Errorf("shard of %.20q = %#02x, want %#02x", id, got, want)
		}
		put(t, s, id, "x", exp)
		xx := fmt.Sprintf("%02x", want)
		if !exists(filepath.Join(dir, ".locks", xx)) {
			t.Errorf("writing %.20q did not use lock file .locks/%s", id, xx)
		}
		b, err := os.ReadFile(filepath.Join(dir, ".expiry", minute(exp), xx+".log"))
		if err != nil || !strings.Contains(string(b), "\n"+id+"\n") {
			t.Errorf("the index log of shard %s does not list %.20q: %v", xx, id, err)
		}
	}
}
