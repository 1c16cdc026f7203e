package filestore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/storetest"
)

var _ session.UserIndex = (*filestore.Store)(nil)

// userIDs returns the sorted IDs of user's index, with their times.
func userEntries(t *testing.T, s *filestore.Store, user string) map[string]time.Time {
	t.Helper()
	got := map[string]time.Time{}
	err := s.ListUserSessions(t.Context(), user, func(id string, added time.Time) bool {
		if _, dup := got[id]; dup {
			t.Errorf("%s listed twice", id)
		}
		got[id] = added
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func userIDs(t *testing.T, s *filestore.Store, user string) []string {
	t.Helper()
	return slices.Sorted(func(yield func(string) bool) {
		for id := range userEntries(t, s, user) {
			if !yield(id) {
				return
			}
		}
	})
}

// userLine is an index line of id added at t.
func userLine(id string, t time.Time) string { return fmt.Sprintf("%s %012d\n", id, t.Unix()) }

// writeUserFile writes the index file of user in the store as content.
func writeUserFile(t testing.TB, s *filestore.Store, user, content string) {
	t.Helper()
	path := s.UserFile(user)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The index of a user is .users/<xx>/<SHA-256 of the user ID, hex>, mode
// 0600 in a directory of mode 0700, one line per entry; no user ID, however
// made, names a path.
func TestUserIndexLayout(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := t.Context()
	users := []string{"ana", "../../escape", "/abs/path", "a/b", ".", "..", "ü\n\x01", strings.Repeat("z", session.MaxUserIDLen)}
	ids := map[string]string{}
	for _, u := range users {
		ids[u] = storetest.NewID()
		before := time.Now().Unix()
		if err := s.AddUserSession(ctx, u, ids[u]); err != nil {
			t.Fatalf("AddUserSession(%q): %v", u, err)
		}
		sum := sha256.Sum256([]byte(u))
		h := hex.EncodeToString(sum[:])
		path := filepath.Join(dir, ".users", h[:2], h)
		if s.UserFile(u) != path {
			t.Errorf("index file of %q is %s, want %s", u, s.UserFile(u), path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var stamp int64
		if _, err := fmt.Sscanf(string(b), ids[u]+" %012d\n", &stamp); err != nil || len(b) != len(ids[u])+14 || stamp < before || stamp > time.Now().Unix() {
			t.Errorf("index file of %q holds %q, want one line %q", u, b, ids[u]+" <12-digit Unix seconds>")
		}
		for _, p := range []string{path, filepath.Dir(path), filepath.Join(dir, ".users")} {
			want := fs.FileMode(0o600)
			if p != path {
				want = 0o700 | fs.ModeDir
			}
			if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
				t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode(), err, want)
			}
		}
	}
	// Nothing but the store's directories and the index files.
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		top := strings.Split(rel, string(filepath.Separator))[0]
		switch top {
		case ".", ".locks", ".expiry", ".tmp":
			return nil
		case ".users":
			if d.IsDir() || len(d.Name()) == 64 {
				return nil
			}
		}
		t.Errorf("unexpected %s in the store", rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(dir), "escape")); err == nil {
		t.Error("a user ID named a path outside the store")
	}
	for _, u := range users {
		if got := userIDs(t, s, u); !slices.Equal(got, []string{ids[u]}) {
			t.Errorf("user %q lists %v, want [%s]", u, got, ids[u])
		}
	}
	// An invalid session ID is refused, and writes nothing.
	for _, bad := range []string{"", "a b", "a\nb", "../x", strings.Repeat("a", 129)} {
		if err := s.AddUserSession(ctx, "ana", bad); !errors.Is(err, filestore.ErrInvalidID) {
			t.Errorf("AddUserSession(%q) = %v, want ErrInvalidID", bad, err)
		}
	}
	if got := userIDs(t, s, "ana"); len(got) != 1 {
		t.Errorf("ana lists %v after refused adds", got)
	}
}

// A line that a crash cut short is no entry, and the next add still lands
// whole; an ID added twice is listed once, with its newest time.
func TestUserIndexTornAndDuplicateLines(t *testing.T) {
	s := newStore(t, t.TempDir())
	a, b, c, d := storetest.NewID(), storetest.NewID(), storetest.NewID(), storetest.NewID()
	t1, t2 := time.Unix(1_700_000_000, 0), time.Unix(1_700_000_100, 0)
	cut := func(line string, n int) string { return line[:len(line)-n] }
	writeUserFile(t, s, "ana", userLine(a, t2)+userLine(a, t1)+
		cut(userLine(b, t1), 4)+"\n"+ // cut in its time, then closed by a later line
		cut(userLine(c, t1), 20)+"\n"+ // cut in its ID
		"garbage line\n"+userLine("bad id!", t1)+
		cut(userLine(d, t1), 3)) // the last line, unfinished
	got := userEntries(t, s, "ana")
	if len(got) != 1 || !got[a].Equal(t2) {
		t.Fatalf("listed %v, want only %s at %v", got, a, t2)
	}
	e := storetest.NewID()
	if err := s.AddUserSession(t.Context(), "ana", e); err != nil {
		t.Fatal(err)
	}
	if got, want := userIDs(t, s, "ana"), slices.Sorted(slices.Values([]string{a, e})); !slices.Equal(got, want) {
		t.Errorf("after an add behind an unfinished line, listed %v, want %v", got, want)
	}
	// A rewrite keeps each entry once and drops the damaged lines.
	if err := s.RemoveUserSessions(t.Context(), "ana", storetest.NewID()); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(s.UserFile("ana"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines) != 2 || lines[0]+"\n" != userLine(a, t2) || !strings.HasPrefix(lines[1], e+" ") {
		t.Errorf("after a rewrite the index file holds %q", body)
	}
}

// RemoveUserSessions rewrites the index file through a temporary file,
// leaving none behind, and removes the file with its last entry.
func TestUserIndexRemove(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := t.Context()
	a, b := storetest.NewID(), storetest.NewID()
	for _, id := range []string{a, b, a} {
		if err := s.AddUserSession(ctx, "ana", id); err != nil {
			t.Fatal(err)
		}
	}
	path := s.UserFile("ana")
	before, _ := os.ReadFile(path)
	if err := s.RemoveUserSessions(ctx, "bob", a, b); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("removing from another user's index changed ana's file")
	}
	if err := s.RemoveUserSessions(ctx, "ana", a); err != nil {
		t.Fatal(err)
	}
	if body, _ := os.ReadFile(path); !strings.HasPrefix(string(body), b+" ") || strings.Count(string(body), "\n") != 1 {
		t.Errorf("after removing %s the index file holds %q", a, body)
	}
	if names := dirNames(t, filepath.Join(dir, ".tmp")); len(names) != 0 {
		t.Errorf("a rewrite left %q in .tmp", names)
	}
	if err := s.RemoveUserSessions(ctx, "ana", b); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the index file of a user without entries is still there (%v)", err)
	}
	s.Close()
	if err := s.AddUserSession(ctx, "ana", a); !errors.Is(err, filestore.ErrClosed) {
		t.Errorf("AddUserSession after Close: %v, want ErrClosed", err)
	}
	if err := s.ListUserSessions(ctx, "ana", func(string, time.Time) bool { return true }); !errors.Is(err, filestore.ErrClosed) {
		t.Errorf("ListUserSessions after Close: %v, want ErrClosed", err)
	}
	if err := s.RemoveUserSessions(ctx, "ana", a); !errors.Is(err, filestore.ErrClosed) {
		t.Errorf("RemoveUserSessions after Close: %v, want ErrClosed", err)
	}
}

// Sweep drops the entries whose session is gone or expired once they are a
// minute old, and the index files left without entries; it keeps the
// entries of live sessions, and young ones (a Login in flight).
func TestSweepPrunesUserIndex(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	now := time.Now()
	old, young := now.Add(-2*time.Minute), now.Add(-10*time.Second)
	live, liveOld, expiredOld, goneOld, goneYoung := storetest.NewID(), storetest.NewID(), storetest.NewID(), storetest.NewID(), storetest.NewID()
	put(t, s, live, "x", now.Add(time.Hour))
	put(t, s, liveOld, "x", now.Add(time.Hour))
	put(t, s, expiredOld, "x", now.Add(-time.Second))
	writeUserFile(t, s, "ana", userLine(live, young)+userLine(liveOld, old)+userLine(expiredOld, old)+userLine(goneOld, old)+userLine(goneYoung, young))
	writeUserFile(t, s, "bob", userLine(storetest.NewID(), old)+userLine(storetest.NewID(), old))
	if _, err := s.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := userIDs(t, s, "ana"), slices.Sorted(slices.Values([]string{live, liveOld, goneYoung})); !slices.Equal(got, want) {
		t.Errorf("after Sweep ana lists %v, want %v (live sessions and young entries)", got, want)
	}
	if _, err := os.Lstat(s.UserFile("bob")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the index file whose sessions are all gone is still there (%v)", err)
	}
	if names := dirNames(t, filepath.Join(dir, ".tmp")); len(names) != 0 {
		t.Errorf("the sweep left %q in .tmp", names)
	}
}

// One Sweep does bounded work on the user index, and sweeps resume where
// the previous one stopped until every stale index file is gone.
func TestSweepUserIndexBounded(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	old := time.Now().Add(-2 * time.Minute)
	n := 2*filestore.UserSweepBudget + 100
	for i := range n {
		writeUserFile(t, s, fmt.Sprint("user", i), userLine(storetest.NewID(), old))
	}
	remaining := func() int {
		k := 0
		for _, sub := range dirNames(t, filepath.Join(dir, ".users")) {
			k += len(dirNames(t, filepath.Join(dir, ".users", sub)))
		}
		return k
	}
	sweeps := 0
	for left := n; left > 0; sweeps++ {
		if sweeps > 10 {
			t.Fatalf("%d index files left after %d sweeps", left, sweeps)
		}
		if _, err := s.Sweep(t.Context()); err != nil {
			t.Fatal(err)
		}
		now := remaining()
		// Each file costs two (its read and its entry's check), each
		// directory one.
		if left-now > filestore.UserSweepBudget/2 {
			t.Fatalf("one sweep removed %d index files, more than its budget allows (%d)", left-now, filestore.UserSweepBudget/2)
		}
		if now == left {
			t.Fatalf("a sweep removed no index file (%d left)", left)
		}
		left = now
	}
	if sweeps < 4 {
		t.Errorf("all %d index files went in %d sweeps", n, sweeps)
	}
}

// Sweeps pruning a user's index while others add to it lose no added entry.
func TestSweepUserIndexRacesAdds(t *testing.T) {
	s := newStore(t, t.TempDir())
	old := time.Now().Add(-2 * time.Minute)
	var content strings.Builder
	for range 200 {
		content.WriteString(userLine(storetest.NewID(), old))
	}
	writeUserFile(t, s, "ana", content.String())
	var want []string
	var wg sync.WaitGroup
	for g := range 4 {
		ids := make([]string, 50)
		for i := range ids {
			ids[i] = storetest.NewID()
		}
		want = append(want, ids...)
		wg.Go(func() {
			for _, id := range ids {
				if err := s.AddUserSession(context.Background(), "ana", id); err != nil {
					t.Error(err)
				}
				if g == 0 {
					if _, err := s.Sweep(context.Background()); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := s.Sweep(context.Background()); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if _, err := s.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := userIDs(t, s, "ana"); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("after sweeps raced %d adds, %d entries listed", len(want), len(got))
	}
}

// BenchmarkUserIndex measures the user index's calls: an add to an existing
// index file (what Login adds to a request), the listing of a user with 10 entries, and one Sweep
// of a store with 10000 users whose sessions live (the user index's part:
// the expiry index has nothing due).
func BenchmarkUserIndex(b *testing.B) {
	ctx := context.Background()
	b.Run("Add", func(b *testing.B) {
		s := newStore(b, b.TempDir())
		for u := range 1000 { // the files exist: a Login appends
			if err := s.AddUserSession(ctx, fmt.Sprint("user", u), storetest.NewID()); err != nil {
				b.Fatal(err)
			}
		}
		for i := 0; b.Loop(); i++ {
			if err := s.AddUserSession(ctx, fmt.Sprint("user", i%1000), storetest.NewID()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("List10", func(b *testing.B) {
		s := newStore(b, b.TempDir())
		for range 10 {
			if err := s.AddUserSession(ctx, "ana", storetest.NewID()); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			n := 0
			if err := s.ListUserSessions(ctx, "ana", func(string, time.Time) bool { n++; return true }); err != nil || n != 10 {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("Sweep10kUsers", func(b *testing.B) {
		s := newStore(b, b.TempDir())
		old := time.Now().Add(-2 * time.Minute)
		for i := range 10000 {
			id := storetest.NewID()
			put(b, s, id, "x", time.Now().Add(time.Hour))
			writeUserFile(b, s, fmt.Sprint("user", i), userLine(id, old))
		}
		for b.Loop() {
			if _, err := s.Sweep(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
