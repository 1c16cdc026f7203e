package filestore_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
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

var (
	_ session.BatchSweeper = (*filestore.Store)(nil)
	_ session.Swapper      = (*filestore.Store)(nil)
)

// dirNames returns the sorted names in dir.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// minute returns the name of the index directory of expiry e.
func minute(e time.Time) string {
	u := e.Unix()
	return fmt.Sprintf("%012d", u-u%60)
}

// indexFiles returns the files in the index's minute directories of the
// store in dir (shard logs, and v1 markers), as "minute/name";
// .expiry/.complete is left out.
func indexFiles(t testing.TB, dir string) []string {
	t.Helper()
	var got []string
	for _, m := range dirNames(t, filepath.Join(dir, ".expiry")) {
		if m == ".complete" {
			continue
		}
		for _, name := range dirNames(t, filepath.Join(dir, ".expiry", m)) {
			got = append(got, m+"/"+name)
		}
	}
	return got
}

// indexEntries returns the index entries of the store in dir as
// "minute/id", sorted: one per line of a shard log that is not empty (an
// ID appended twice shows twice), and one per v1 marker. It fails the
// test for a log entry of an ID in another shard than the log's.
func indexEntries(t testing.TB, dir string) []string {
	t.Helper()
	var got []string
	for _, f := range indexFiles(t, dir) {
		m, name, _ := strings.Cut(f, "/")
		shard, isLog := strings.CutSuffix(name, ".log")
		if !isLog {
			got = append(got, f)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, ".expiry", m, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range strings.Split(string(b), "\n") {
			if id == "" {
				continue
			}
			if want := fmt.Sprintf("%02x", filestore.ShardOf(id)); shard != want {
				t.Errorf("%s lists %s, of shard %s", f, id, want)
			}
			got = append(got, m+"/"+id)
		}
	}
	slices.Sort(got)
	return got
}

// markerFiles returns the files in the index's minute directories that are
// not shard logs (v1 markers), as "minute/name".
func markerFiles(t testing.TB, dir string) []string {
	t.Helper()
	var got []string
	for _, f := range indexFiles(t, dir) {
		if !strings.HasSuffix(f, ".log") {
			got = append(got, f)
		}
	}
	return got
}

// logPath returns the shard log that holds the index entries of id in the
// minute of expiry e.
func logPath(dir, id string, e time.Time) string {
	return filepath.Join(dir, ".expiry", minute(e), fmt.Sprintf("%02x.log", filestore.ShardOf(id)))
}

// appendRaw appends content to the shard log of id in the minute of e, as
// a write (or a crash, or damage) would leave it, without the store.
func appendRaw(t testing.TB, dir, id string, e time.Time, content string) {
	t.Helper()
	p := logPath(dir, id, e)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// idInShard returns a new ID of the given lock shard.
func idInShard(shard int) string {
	for {
		if id := storetest.NewID(); filestore.ShardOf(id) == shard {
			return id
		}
	}
}

// writeRaw writes a session file the way the store lays it out, without
// the store (as the v1 layout, or a crash, would leave it).
func writeRaw(t testing.TB, dir, name, data string, mtime time.Time) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, time.Time{}, mtime); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Each write appends an index entry to its shard's log in the minute of the
// new expiry before the session, unless the expiry stays in its minute; old
// entries stay until their minute is swept. No write creates a marker file.
func TestIndexEntries(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	if _, err := s.Sweep(ctx); err != nil { // completes the (empty) index
		t.Fatal(err)
	}
	id := storetest.NewID()
	base := time.Now().Add(time.Hour).Truncate(time.Minute)
	e1, e1b, e2, e3 := base.Add(10*time.Second), base.Add(50*time.Second), base.Add(5*time.Minute), base.Add(9*time.Minute)

	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"Update creates", func() error { put(t, s, id, "a", e1); return nil }, []string{minute(e1) + "/" + id}},
		{"Update in the same minute", func() error { put(t, s, id, "b", e1b); return nil }, []string{minute(e1) + "/" + id}},
		{"Touch to another minute", func() error { return s.Touch(ctx, id, e2) }, []string{minute(e1) + "/" + id, minute(e2) + "/" + id}},
		{"Swap to another minute", func() error {
			ok, err := s.Swap(ctx, id, []byte("b"), []byte("c"), e3)
			if err == nil && !ok {
				err = errors.New("Swap did not swap")
			}
			return err
		}, []string{minute(e1) + "/" + id, minute(e2) + "/" + id, minute(e3) + "/" + id}},
		{"Delete leaves the entries", func() error { return s.Delete(ctx, id) }, []string{minute(e1) + "/" + id, minute(e2) + "/" + id, minute(e3) + "/" + id}},
		{"Touch of a missing session adds none", func() error { return s.Touch(ctx, id, base.Add(20*time.Minute)) }, []string{minute(e1) + "/" + id, minute(e2) + "/" + id, minute(e3) + "/" + id}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		want := slices.Clone(st.want)
		slices.Sort(want)
		if got := indexEntries(t, dir); !slices.Equal(got, want) {
			t.Errorf("%s: index = %q, want %q", st.name, got, want)
		}
		if got := markerFiles(t, dir); len(got) != 0 {
			t.Errorf("%s: the index holds marker files %q", st.name, got)
		}
	}
}

// Sweep visits the index, not the directory: it drops entries of sessions
// that live on or are gone, removes sessions whose entry fell due, and
// removes emptied minutes, and a crash between an entry (a log's, or an
// v1 marker) and its session leaves nothing that lives
// forever.
func TestSweepFollowsIndex(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	if _, err := s.Sweep(ctx); err != nil { // completes the (empty) index
		t.Fatal(err)
	}
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)

	dead := storetest.NewID()
	put(t, s, dead, "dead", past)
	renewed := storetest.NewID() // written with a past expiry, then renewed
	put(t, s, renewed, "old", past.Add(-10*time.Minute))
	put(t, s, renewed, "new", future)
	deleted := storetest.NewID()
	put(t, s, deleted, "x", past)
	if err := s.Delete(ctx, deleted); err != nil {
		t.Fatal(err)
	}
	// A process killed after appending an entry and before the session
	// file; a v1 file, after its v1 marker.
	crashed, crashedMarker := storetest.NewID(), storetest.NewID()
	appendRaw(t, dir, crashed, past, "\n"+crashed+"\n")
	addRawMarker(t, dir, crashedMarker, past)
	// A file in the directory that the index does not know: an index-based
	// sweep does not look at it.
	stray := storetest.NewID()
	writeRaw(t, dir, stray, "stray", past)

	n, err := s.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("Sweep removed %d, want 1 (only %q was due and still there)", n, "dead")
	}
	for name, want := range map[string]bool{dead: false, renewed: true, stray: true} {
		if got := exists(filepath.Join(dir, name)); got != want {
			t.Errorf("after Sweep, session %s exists = %v, want %v", name, got, want)
		}
	}
	if got, want := indexEntries(t, dir), []string{minute(future) + "/" + renewed}; !slices.Equal(got, want) {
		t.Errorf("index after Sweep = %q, want %q", got, want)
	}
	for _, m := range []time.Time{past, past.Add(-10 * time.Minute)} {
		if exists(filepath.Join(dir, ".expiry", minute(m))) {
			t.Errorf("swept minute %s still has a directory", minute(m))
		}
	}
	if d, _, found, err := s.Load(ctx, renewed); !found || err != nil || string(d) != "new" {
		t.Errorf("Load(renewed) = (%q, %v, %v)", d, found, err)
	}
	// Nothing is left to do.
	if n, err := s.Sweep(ctx); n != 0 || err != nil {
		t.Errorf("second Sweep = (%d, %v), want (0, nil)", n, err)
	}
}

// A new (empty) directory has a complete index from the start, so writes
// that keep their expiry's minute add no entry and no sweep scans it; a
// directory holding sessions is left for its first sweep to index.
func TestNewDirectoryIndexComplete(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	if !exists(filepath.Join(dir, ".expiry", ".complete")) {
		t.Fatal("a store on a new directory did not mark its index complete")
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Minute).Add(30 * time.Second)
	id := storetest.NewID()
	put(t, s, id, "one", exp)
	os.RemoveAll(filepath.Join(dir, ".expiry", minute(exp)))
	put(t, s, id, "two", exp.Add(time.Second)) // the same minute: no new entry
	if got := indexEntries(t, dir); len(got) != 0 {
		t.Errorf("a write within its expiry's minute added entries %q", got)
	}

	v1dir := t.TempDir()
	writeRaw(t, v1dir, storetest.NewID(), "old", exp)
	newStore(t, v1dir)
	if exists(filepath.Join(v1dir, ".expiry", ".complete")) {
		t.Error("a store on a directory with sessions but no index marked the index complete")
	}
}

// A v1 directory (no index, v1 temporary files in the directory itself)
// loads; its first sweep scans it once, indexing the live sessions in shard
// logs (no markers), and later sweeps use the index.
func TestSweepV1Directory(t *testing.T) {
	dir := t.TempDir()
	past, future := time.Now().Add(-2*time.Hour), time.Now().Add(time.Hour)
	live, dead := storetest.NewID(), storetest.NewID()
	writeRaw(t, dir, live, "live", future)
	writeRaw(t, dir, dead, "dead", past)
	writeRaw(t, dir, ".tmp-00-crashed", "junk", past)
	writeRaw(t, dir, ".tmp-ab-in-progress", "junk", time.Now())
	if err := os.MkdirAll(filepath.Join(dir, ".locks"), 0o700); err != nil {
		t.Fatal(err)
	}

	s := newStore(t, dir)
	ctx := context.Background()
	if d, _, found, err := s.Load(ctx, live); !found || err != nil || string(d) != "live" {
		t.Fatalf("Load of a v1 directory's session = (%q, %v, %v)", d, found, err)
	}
	n, err := s.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("first Sweep = (%d, %v), want (1, nil)", n, err)
	}
	for name, want := range map[string]bool{
		live: true, dead: false, ".tmp-00-crashed": false, ".tmp-ab-in-progress": true, ".expiry/.complete": true,
	} {
		if got := exists(filepath.Join(dir, name)); got != want {
			t.Errorf("after the first Sweep, %s exists = %v, want %v", name, got, want)
		}
	}
	if got, want := indexEntries(t, dir), []string{minute(future) + "/" + live}; !slices.Equal(got, want) {
		t.Errorf("index after the first Sweep = %q, want %q", got, want)
	}
	if got := markerFiles(t, dir); len(got) != 0 {
		t.Errorf("the scan wrote marker files %q, want shard logs", got)
	}
	// Now that the index is complete, a file it does not know is not seen.
	stray := storetest.NewID()
	writeRaw(t, dir, stray, "stray", past)
	if n, err := s.Sweep(ctx); n != 0 || err != nil || !exists(filepath.Join(dir, stray)) {
		t.Errorf("Sweep after the index was built = (%d, %v), want (0, nil) without a directory scan", n, err)
	}
	// Removing the index makes the next sweep scan again.
	if err := os.RemoveAll(filepath.Join(dir, ".expiry")); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Sweep(ctx); n != 1 || err != nil || exists(filepath.Join(dir, stray)) {
		t.Errorf("Sweep without an index = (%d, %v), want (1, nil) and the stray file gone", n, err)
	}
	if got, want := indexEntries(t, dir), []string{minute(future) + "/" + live}; !slices.Equal(got, want) {
		t.Errorf("rebuilt index = %q, want %q", got, want)
	}
}

func TestSweepBatch(t *testing.T) {
	for _, tc := range []struct {
		name          string
		v1            bool // sessions written without an index
		expired, live int
		limit         int
	}{
		{"nothing due", false, 0, 3, 5},
		{"one batch, not full", false, 4, 3, 5},
		{"exactly one batch", false, 5, 3, 5},
		{"several batches", false, 12, 3, 5},
		{"limit one", false, 3, 2, 1},
		{"v1 directory, several batches", true, 7, 3, 3},
		{"v1 directory, one batch", true, 2, 3, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var s *filestore.Store
			if !tc.v1 {
				s = newStore(t, dir)
			}
			ctx := context.Background()
			past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
			var dead, live []string
			for i := range tc.expired + tc.live {
				id := storetest.NewID()
				exp, list := past.Add(-time.Duration(i)*time.Minute), &dead // spread over minutes
				if i >= tc.expired {
					exp, list = future, &live
				}
				*list = append(*list, id)
				if tc.v1 {
					writeRaw(t, dir, id, "x", exp)
				} else {
					put(t, s, id, "x", exp)
				}
			}
			if tc.v1 {
				// A store opened on a v1 directory.
				s = newStore(t, dir)
			}
			var got []int
			total := 0
			for range tc.expired/tc.limit + 2 {
				n, err := s.SweepBatch(ctx, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				if n > tc.limit {
					t.Fatalf("SweepBatch(%d) removed %d", tc.limit, n)
				}
				got = append(got, n)
				total += n
				if n < tc.limit {
					break
				}
			}
			// Every batch but the last is full, and the last is not.
			var want []int
			for left := tc.expired; ; left -= tc.limit {
				want = append(want, min(left, tc.limit))
				if left < tc.limit {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("SweepBatch(%d) removed %v in turn, want %v", tc.limit, got, want)
			}
			for _, id := range dead {
				if exists(filepath.Join(dir, id)) {
					t.Errorf("expired session %s is still there", id)
				}
			}
			for _, id := range live {
				if _, _, found, err := s.Load(ctx, id); !found || err != nil {
					t.Errorf("live session %s: found=%v err=%v", id, found, err)
				}
			}
			if !exists(filepath.Join(dir, ".expiry", ".complete")) {
				t.Error("the index is not marked complete after the batches")
			}
		})
	}
}

func TestSweepBatchBadLimit(t *testing.T) {
	s := newStore(t, t.TempDir())
	for _, limit := range []int{0, -1} {
		if n, err := s.SweepBatch(context.Background(), limit); err == nil || n != 0 || !strings.HasPrefix(err.Error(), "filestore: ") {
			t.Errorf("SweepBatch(%d) = (%d, %v), want a filestore error", limit, n, err)
		}
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.SweepBatch(cctx, 10); !errors.Is(err, context.Canceled) {
		t.Errorf("SweepBatch with a canceled context = %v", err)
	}
}

func TestSwap(t *testing.T) {
	past, future, later := time.Now().Add(-time.Hour), time.Now().Add(time.Hour), time.Now().Add(2*time.Hour).Round(time.Millisecond)
	type rec struct {
		data string
		exp  time.Time
	}
	for _, tc := range []struct {
		name      string
		cur       *rec // nil: no record
		old, next []byte
		want      bool
	}{
		{"create when missing", nil, nil, []byte("new"), true},
		{"create over an expired record", &rec{"old", past}, nil, []byte("new"), true},
		{"no create over a live record", &rec{"old", future}, nil, []byte("new"), false},
		{"swap when equal", &rec{"old", future}, []byte("old"), []byte("new"), true},
		{"no swap when different", &rec{"old", future}, []byte("olD"), []byte("new"), false},
		{"no swap on a prefix", &rec{"old", future}, []byte("ol"), []byte("new"), false},
		{"no swap when missing", nil, []byte("old"), []byte("new"), false},
		{"no swap when expired", &rec{"old", past}, []byte("old"), []byte("new"), false},
		{"empty record swaps for empty old", &rec{"", future}, []byte{}, []byte("new"), true},
		{"empty old is not missing", nil, []byte{}, []byte("new"), false},
		{"empty next is stored", &rec{"old", future}, []byte("old"), []byte{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, t.TempDir())
			ctx := context.Background()
			id := storetest.NewID()
			if tc.cur != nil {
				put(t, s, id, tc.cur.data, tc.cur.exp)
			}
			got, err := s.Swap(ctx, id, tc.old, tc.next, later)
			if err != nil || got != tc.want {
				t.Fatalf("Swap = (%v, %v), want (%v, nil)", got, err, tc.want)
			}
			d, e, found, err := s.Load(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want:
				if !found || string(d) != string(tc.next) || !e.Equal(later) {
					t.Errorf("after a swap, Load = (%q, %v, %v), want (%q, %v, true)", d, e, found, tc.next, later)
				}
			case tc.cur != nil && tc.cur.exp.After(time.Now()):
				if !found || string(d) != tc.cur.data {
					t.Errorf("after a refused swap, Load = (%q, %v), want the record %q unchanged", d, found, tc.cur.data)
				}
			default:
				if found {
					t.Errorf("after a refused swap, Load found %q, want nothing", d)
				}
			}
		})
	}
}

func TestSwapErrors(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	id := storetest.NewID()
	exp := time.Now().Add(time.Hour)

	if ok, err := s.Swap(ctx, id, nil, nil, exp); ok || err == nil || !strings.HasPrefix(err.Error(), "filestore: ") {
		t.Errorf("Swap with nil next = (%v, %v), want a filestore error", ok, err)
	}
	for _, bad := range []string{"", "../escape", ".locks", "a/b", strings.Repeat("a", 129)} {
		if ok, err := s.Swap(ctx, bad, nil, []byte("x"), exp); ok || !errors.Is(err, filestore.ErrInvalidID) {
			t.Errorf("Swap(%q) = (%v, %v), want ErrInvalidID", bad, ok, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if ok, err := s.Swap(cctx, id, nil, []byte("x"), exp); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("Swap with a canceled context = (%v, %v), want context.Canceled", ok, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, id)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed Swap wrote the session file: %v", err)
	}
	if got := indexEntries(t, dir); len(got) != 0 {
		t.Errorf("a failed Swap wrote markers %q", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Swap(ctx, id, nil, []byte("x"), exp); !errors.Is(err, filestore.ErrClosed) {
		t.Errorf("Swap after Close = %v, want ErrClosed", err)
	}
}

// Concurrent Swaps from two Stores on one directory (separate locks, as two
// processes) each read-compare-write under the lock: every swap that reports
// true builds on the previous one, so the counter counts them all.
func TestSwapConcurrent(t *testing.T) {
	dir := t.TempDir()
	stores := []*filestore.Store{newStore(t, dir), newStore(t, dir)}
	ctx := context.Background()
	id := storetest.NewID()
	exp := time.Now().Add(time.Hour)
	put(t, stores[0], id, "0", exp)
	const workers, perWorker = 8, 25
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			st := stores[w%2]
			done := 0
			for done < perWorker {
				cur, _, found, err := st.Load(ctx, id)
				if err != nil || !found {
					errs <- fmt.Errorf("Load: found=%v err=%v", found, err)
					return
				}
				var n int
				fmt.Sscan(string(cur), &n)
				ok, err := st.Swap(ctx, id, cur, []byte(fmt.Sprint(n+1)), exp)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					done++
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	d, _, _, _ := stores[0].Load(ctx, id)
	if want := fmt.Sprint(workers * perWorker); string(d) != want {
		t.Errorf("counter = %s after %s successful swaps: some were lost", d, want)
	}
}

// The conformance checks of session.BatchSweeper; the session files are
// gone, not only unlisted.
func TestBatchSweeperConformance(t *testing.T) {
	dir := t.TempDir()
	storetest.RunBatchSweeper(t, func(t *testing.T) session.Store { return newStore(t, dir) },
		func(t *testing.T, _ session.Store) int {
			n := 0
			for _, name := range dirNames(t, dir) {
				if !strings.HasPrefix(name, ".") {
					n++
				}
			}
			return n
		})
}

// A new session appends exactly one entry, a newline, its ID and a newline,
// to the log of its shard in its expiry's minute, and creates no marker
// file: the session is one file, its index entry a line. Another session of
// the same shard and minute appends to the same log, one of another shard
// to its own; a write that keeps its expiry's minute appends nothing.
func TestNewSessionAppendsOneEntry(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	exp := time.Now().Add(time.Hour).Truncate(time.Minute).Add(10 * time.Second)
	id := storetest.NewID()
	put(t, s, id, "a", exp)

	log := logPath(dir, id, exp)
	if got, want := dirNames(t, filepath.Join(dir, ".expiry")), []string{".complete", minute(exp)}; !slices.Equal(got, want) {
		t.Errorf(".expiry holds %q, want %q", got, want)
	}
	if got, want := dirNames(t, filepath.Dir(log)), []string{filepath.Base(log)}; !slices.Equal(got, want) {
		t.Errorf("the minute's directory holds %q, want only the shard's log %q", got, want)
	}
	if got, want := string(mustRead(t, log)), "\n"+id+"\n"; got != want {
		t.Errorf("the shard's log holds %q, want %q", got, want)
	}

	put(t, s, id, "b", exp.Add(30*time.Second)) // the same minute
	if got, want := string(mustRead(t, log)), "\n"+id+"\n"; got != want {
		t.Errorf("after a write in the same minute the log holds %q, want %q", got, want)
	}
	same := idInShard(filestore.ShardOf(id))
	put(t, s, same, "c", exp)
	if got, want := string(mustRead(t, log)), "\n"+id+"\n\n"+same+"\n"; got != want {
		t.Errorf("after a second session of the shard the log holds %q, want %q", got, want)
	}
	other := idInShard((filestore.ShardOf(id) + 1) % 256)
	put(t, s, other, "d", exp)
	if got, want := string(mustRead(t, logPath(dir, other, exp))), "\n"+other+"\n"; got != want {
		t.Errorf("the log of another shard holds %q, want %q", got, want)
	}
	if got := markerFiles(t, dir); len(got) != 0 {
		t.Errorf("writes created marker files %q", got)
	}
	if got, want := dirNames(t, dir), slices.Sorted(slices.Values([]string{".expiry", ".locks", ".tmp", ".users", id, same, other})); !slices.Equal(got, want) {
		t.Errorf("the store's directory holds %q, want %q", got, want)
	}
}

// One minute holding both v1 markers and shard logs is swept whole: the
// sessions of either that fell due are removed, those renewed since stay
// with their later entries, and the minute's directory goes.
func TestSweepMarkersAndLogs(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	writeV2 := func(id string, e time.Time) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, id), filestore.EncodeFile([]byte("x"), e), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// Indexed by v1 markers: an expired v2 session, an expired v1 one, and
	// one renewed since.
	markedDead, markedV1, markedLive := storetest.NewID(), storetest.NewID(), storetest.NewID()
	writeV2(markedDead, past)
	addRawMarker(t, dir, markedDead, past)
	writeRaw(t, dir, markedV1, "v1", past)
	addRawMarker(t, dir, markedV1, past)
	writeV2(markedLive, future)
	addRawMarker(t, dir, markedLive, past)
	addRawMarker(t, dir, markedLive, future)
	// Indexed by this version's logs.
	loggedDead, loggedLive := storetest.NewID(), storetest.NewID()
	put(t, s, loggedDead, "x", past)
	put(t, s, loggedLive, "x", past)
	put(t, s, loggedLive, "y", future)

	if got := len(markerFiles(t, dir)); got != 4 {
		t.Fatalf("%d marker files before the sweep, want 4", got)
	}
	n, err := s.Sweep(ctx)
	if err != nil || n != 3 {
		t.Errorf("Sweep = (%d, %v), want (3, nil)", n, err)
	}
	for id, want := range map[string]bool{markedDead: false, markedV1: false, loggedDead: false, markedLive: true, loggedLive: true} {
		if got := exists(filepath.Join(dir, id)); got != want {
			t.Errorf("after Sweep, session %s exists = %v, want %v", id, got, want)
		}
	}
	want := []string{minute(future) + "/" + markedLive, minute(future) + "/" + loggedLive}
	slices.Sort(want)
	if got := indexEntries(t, dir); !slices.Equal(got, want) {
		t.Errorf("index after Sweep = %q, want %q", got, want)
	}
	if exists(filepath.Join(dir, ".expiry", minute(past))) {
		t.Errorf("the swept minute %s still has a directory", minute(past))
	}
}

// A shard log damaged by crashes or otherwise sweeps all the same: lines
// that are not IDs of the log's shard are ignored (garbage, NUL bytes, a
// line too long, an ID of another shard, whose session is not the log's to
// remove), an entry cut short does not spoil the next, an ID listed three
// times is removed once, and an unfinished last line is no entry.
func TestSweepDamagedLog(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	shard := filestore.ShardOf(storetest.NewID())
	dup, afterCut, live, unfinished := idInShard(shard), idInShard(shard), idInShard(shard), idInShard(shard)
	other := idInShard((shard + 1) % 256)
	for id, e := range map[string]time.Time{dup: past, afterCut: past, unfinished: past, other: past, live: future} {
		if err := os.WriteFile(filepath.Join(dir, id), filestore.EncodeFile([]byte("x"), e), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	appendRaw(t, dir, dup, past, "\n"+dup+"\n"+
		"garbage!\n"+"\x00\x00\x00\x00\n"+strings.Repeat("a", 200)+"\n"+
		"\n"+other+"\n"+
		"\n"+dup+"\n"+
		"\n"+live+"\n"+
		"\n"+afterCut[:10]+ // an entry cut short by a crash...
		"\n"+afterCut+"\n"+ // ...and the next one, whole
		"\n"+dup+"\n"+
		"\n"+unfinished) // a last entry cut short, before its newline

	n, err := s.Sweep(ctx)
	if err != nil || n != 2 {
		t.Errorf("Sweep = (%d, %v), want (2, nil): %s (listed three times) and %s", n, err, dup, afterCut)
	}
	for id, want := range map[string]bool{dup: false, afterCut: false, live: true, unfinished: true, other: true} {
		if got := exists(filepath.Join(dir, id)); got != want {
			t.Errorf("after Sweep, session %s exists = %v, want %v", id, got, want)
		}
	}
	if exists(filepath.Join(dir, ".expiry", minute(past))) {
		t.Errorf("the swept minute %s still has a directory (holding %q)", minute(past), dirNames(t, filepath.Join(dir, ".expiry", minute(past))))
	}
}

// A batch that reaches its limit within a shard log leaves the log to the
// next batch, which finds the sessions already removed gone: the batches
// remove the limit each, then the rest, and the log and its minute go with
// the last.
func TestSweepBatchWithinLog(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	shard := filestore.ShardOf(storetest.NewID())
	var dead []string
	for range 12 {
		id := idInShard(shard)
		put(t, s, id, "x", past)
		dead = append(dead, id)
	}
	live := idInShard(shard) // renewed since: its entry in the past minute is stale
	put(t, s, live, "x", past)
	put(t, s, live, "y", future)

	var got []int
	for range 5 {
		n, err := s.SweepBatch(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
		if n < 5 {
			break
		}
	}
	if want := []int{5, 5, 2}; !slices.Equal(got, want) {
		t.Errorf("SweepBatch(5) removed %v in turn, want %v", got, want)
	}
	for _, id := range dead {
		if exists(filepath.Join(dir, id)) {
			t.Errorf("expired session %s is still there", id)
		}
	}
	if _, _, found, err := s.Load(ctx, live); !found || err != nil {
		t.Errorf("live session: found=%v err=%v", found, err)
	}
	if exists(filepath.Join(dir, ".expiry", minute(past))) {
		t.Errorf("the swept minute %s still has a directory", minute(past))
	}
}

// Writes racing sweeps of the same minutes, through separate Stores (as
// separate processes): writers create, rewrite, touch and delete sessions of
// a few shards, with expiries in two minutes that have ended and in a future
// one, while another Store sweeps without pause. However the appends and the
// sweeps of a log interleave, no session is left without its index entry:
// after a last sweep no expired session is left, and every live one is
// listed in the log of its expiry's minute.
func TestSweepRacesWrites(t *testing.T) {
	dir := t.TempDir()
	writers := []*filestore.Store{newStore(t, dir), newStore(t, dir)}
	sweeper := newStore(t, dir)
	ctx := context.Background()
	now := time.Now()
	m1 := now.Add(-2 * time.Minute).Truncate(time.Minute) // ended
	m2 := m1.Add(-time.Minute)                            // ended
	fut := now.Add(time.Hour).Truncate(time.Minute)
	// IDs of four shards, so that writes and sweeps meet on the same logs.
	var ids []string
	for i := range 120 {
		ids = append(ids, idInShard(i%4))
	}
	expiry := func(r *rand.Rand) time.Time {
		at := []time.Time{m1, m2, fut}[r.IntN(3)]
		return at.Add(time.Duration(r.IntN(60_000)) * time.Millisecond)
	}

	stop := make(chan struct{})
	sweeps := make(chan int)
	go func() {
		n := 0
		defer func() { sweeps <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := sweeper.Sweep(ctx); err != nil {
				t.Errorf("Sweep: %v", err)
				return
			}
			n++
		}
	}()
	const goroutines, ops = 8, 300
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			st := writers[g%2]
			for range ops {
				id := ids[r.IntN(len(ids))]
				var err error
				switch op := r.IntN(10); {
				case op < 6:
					e := expiry(r)
					err = st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), e, nil })
				case op < 9:
					err = st.Touch(ctx, id, expiry(r))
				default:
					err = st.Delete(ctx, id)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	n := <-sweeps
	if _, err := sweeper.Sweep(ctx); err != nil {
		t.Fatal(err)
	}

	index := indexEntries(t, dir)
	live := 0
	for _, id := range ids {
		b, err := os.ReadFile(filepath.Join(dir, id))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		d := filestore.DecodeFile(b)
		switch {
		case !d.OK || !d.V2:
			t.Errorf("session %s is not a whole v2 file", id)
		case !d.Expiry.After(time.Now()):
			t.Errorf("session %s, expired at %v, outlived the last sweep: it had no index entry", id, d.Expiry)
		default:
			live++
			if _, ok := slices.BinarySearch(index, minute(d.Expiry)+"/"+id); !ok {
				t.Errorf("live session %s, expiring at %v, is not in its minute's log", id, d.Expiry)
			}
		}
	}
	for _, m := range []time.Time{m1, m2} {
		if exists(filepath.Join(dir, ".expiry", minute(m))) {
			t.Errorf("the ended minute %s still has a directory after the last sweep", minute(m))
		}
	}
	t.Logf("%d writes during %d sweeps; %d live sessions left", goroutines*ops, n, live)
	if n < 2 {
		t.Errorf("only %d sweeps ran during the writes", n)
	}
}

// A write appends its index entry before it writes the session, so that a
// crash between the two leaves an entry without a session, never the other
// way round; the sweep of that minute drops such an entry.
func TestIndexEntryBeforeSession(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	e1 := time.Now().Add(time.Hour).Round(time.Millisecond)
	e2, e3 := e1.Add(5*time.Minute), e1.Add(10*time.Minute)
	id := storetest.NewID()
	var want, prior time.Time // the expiry being written, and the one before
	calls := 0
	filestore.SetIndexHook(func(got string) {
		calls++
		if got != id {
			t.Errorf("index hook for %s, want %s", got, id)
		}
		if _, ok := slices.BinarySearch(indexEntries(t, dir), minute(want)+"/"+id); !ok {
			t.Errorf("writing expiry %v: no entry in its minute's log", want)
		}
		b, err := os.ReadFile(filepath.Join(dir, id))
		switch {
		case prior.IsZero() && err == nil:
			t.Errorf("writing expiry %v: the session file exists before its entry was appended", want)
		case !prior.IsZero() && (err != nil || !filestore.DecodeFile(b).Expiry.Equal(prior)):
			t.Errorf("writing expiry %v: the session no longer holds %v when its entry is appended (%v)", want, prior, err)
		}
	})
	defer filestore.SetIndexHook(nil)
	want = e1
	put(t, s, id, "a", e1)
	prior, want = e1, e2
	put(t, s, id, "b", e2)
	prior, want = e2, e3
	if err := s.Touch(ctx, id, e3); err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("%d entries appended, want 3", calls)
	}

	// A write cut short (here by a panic) between its entry and its session,
	// as a crash would: the entry stays without a session, and the sweep of
	// its minute drops it.
	past := time.Now().Add(-time.Hour)
	cut := storetest.NewID()
	filestore.SetIndexHook(func(string) { panic("cut") })
	func() {
		defer func() { recover() }()
		s.Update(ctx, cut, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), past, nil })
	}()
	filestore.SetIndexHook(nil)
	if exists(filepath.Join(dir, cut)) {
		t.Fatal("a write cut after its index entry wrote the session")
	}
	if _, ok := slices.BinarySearch(indexEntries(t, dir), minute(past)+"/"+cut); !ok {
		t.Fatal("a write cut after its index entry left no entry")
	}
	if n, err := s.Sweep(ctx); n != 0 || err != nil {
		t.Errorf("Sweep = (%d, %v), want (0, nil)", n, err)
	}
	if exists(filepath.Join(dir, ".expiry", minute(past))) {
		t.Errorf("the entry without a session was not dropped: %q", indexEntries(t, dir))
	}
}
