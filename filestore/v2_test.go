package filestore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/storetest"
)

// listed returns what List reports, by ID.
func listed(t testing.TB, s *filestore.Store) map[string]time.Time {
	t.Helper()
	got := map[string]time.Time{}
	if err := s.List(context.Background(), func(id string, e time.Time) bool { got[id] = e; return true }); err != nil {
		t.Fatal(err)
	}
	return got
}

// addRawMarker puts a v1 marker for id in the index minute of expiry e.
func addRawMarker(t testing.TB, dir, id string, e time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, ".expiry", minute(e)), 0o700); err != nil {
		t.Fatal(err)
	}
	writeRaw(t, filepath.Join(dir, ".expiry", minute(e)), id, "", time.Now())
}

// v1 files (exactly the data, mtime = expiry) load, list, touch (their
// mtime) and sweep, and their first write replaces them with a v2 file.
func TestV1Files(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	past := time.Now().Add(-time.Hour).Round(time.Millisecond)
	future := time.Now().Add(time.Hour).Round(time.Millisecond)
	later := future.Add(time.Hour)

	live, empty, big, dead := storetest.NewID(), storetest.NewID(), storetest.NewID(), storetest.NewID()
	payload := `{"v":1,"data":{"v1":true}}`
	writeRaw(t, dir, live, payload, future)
	writeRaw(t, dir, empty, "", future) // a v1 session with empty data
	bigData := strings.Repeat("0123456789abcdef", 40<<10/16)
	writeRaw(t, dir, big, bigData, future) // larger than one read takes
	writeRaw(t, dir, dead, "expired", past)

	for id, want := range map[string]string{live: payload, empty: "", big: bigData} {
		if d, e, found, err := s.Load(ctx, id); !found || err != nil || string(d) != want || !e.Equal(future) {
			t.Errorf("Load of a v1 file = (%.20q, %v, %v, %v), want (%.20q, %v)", d, e, found, err, want, future)
		}
	}
	if _, _, found, err := s.Load(ctx, dead); found || err != nil {
		t.Errorf("Load of an expired v1 file = (found %v, %v), want absent", found, err)
	}
	if got := listed(t, s); len(got) != 3 || !got[live].Equal(future) || !got[big].Equal(future) {
		t.Errorf("List = %v, want the three live v1 files with expiry %v", got, future)
	}

	// Touch sets a v1 file's mtime and leaves it a v1 file; an expired
	// one stays expired.
	if err := s.Touch(ctx, live, later); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, live)); err != nil || string(b) != payload {
		t.Errorf("after Touch the v1 file holds %q (%v), want its data unchanged", b, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, live)); err != nil || !fi.ModTime().Equal(later) {
		t.Errorf("after Touch the v1 file's mtime is %v (%v), want %v", fi.ModTime(), err, later)
	}
	if _, e, found, _ := s.Load(ctx, live); !found || !e.Equal(later) {
		t.Errorf("Load after Touch: expiry %v, found %v; want %v", e, found, later)
	}
	if err := s.Touch(ctx, dead, later); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, dead)); err != nil || !fi.ModTime().Equal(past) {
		t.Errorf("Touch revived an expired v1 file: mtime %v (%v)", fi.ModTime(), err)
	}

	// A sweep removes an expired v1 file whose marker fell due.
	addRawMarker(t, dir, dead, past)
	if n, err := s.Sweep(ctx); n != 1 || err != nil || exists(filepath.Join(dir, dead)) {
		t.Errorf("Sweep = (%d, %v), want the expired v1 file removed", n, err)
	}

	// The first write makes a v2 file, by rename: Swap, Update, and an
	// Update over an expired v1 file.
	fi, _ := os.Stat(filepath.Join(dir, live))
	if ok, err := s.Swap(ctx, live, []byte(payload), []byte("swapped"), future); !ok || err != nil {
		t.Fatalf("Swap of a v1 file = (%v, %v)", ok, err)
	}
	put(t, s, big, "updated", future)
	writeRaw(t, dir, dead, "expired", past)
	err := s.Update(ctx, dead, func(_ []byte, found bool) ([]byte, time.Time, error) {
		if found {
			t.Error("Update found an expired v1 file")
		}
		return []byte("revived"), future, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{live: "swapped", big: "updated", dead: "revived"} {
		if d := readV2(t, filepath.Join(dir, id)); string(d.Data) != want || !d.Expiry.Equal(future) {
			t.Errorf("after its first write the file holds (%q, %v), want v2 (%q, %v)", d.Data, d.Expiry, want, future)
		}
		if d, e, found, err := s.Load(ctx, id); !found || err != nil || string(d) != want || !e.Equal(future) {
			t.Errorf("Load after conversion = (%q, %v, %v, %v), want (%q, %v)", d, e, found, err, want, future)
		}
	}
	if fi2, err := os.Stat(filepath.Join(dir, live)); err != nil || os.SameFile(fi, fi2) {
		t.Errorf("a v1 file was converted in place (%v); it must be replaced by rename", err)
	}
	if names := dirNames(t, filepath.Join(dir, ".tmp")); len(names) != 0 {
		t.Errorf(".tmp holds %q after the conversions, want nothing", names)
	}

	if os.Geteuid() != 0 { // root can write any file
		// A file whose permissions refuse writing is replaced, not
		// written in place, by a write and by Touch.
		ro := storetest.NewID()
		put(t, s, ro, "read-only", future)
		if err := os.Chmod(filepath.Join(dir, ro), 0o400); err != nil {
			t.Fatal(err)
		}
		if err := s.Touch(ctx, ro, later); err != nil {
			t.Fatalf("Touch of a read-only file: %v", err)
		}
		put(t, s, ro, "written", later)
		if d, e, found, err := s.Load(ctx, ro); !found || err != nil || string(d) != "written" || !e.Equal(later) {
			t.Errorf("Load after writing a read-only file = (%q, %v, %v, %v)", d, e, found, err)
		}
	}
}

// A v2 file's expiry is its header's: its mtime, which every write sets to
// the time of the write, means nothing to Load, List, Touch or Sweep.
func TestV2IgnoresMtime(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	past := time.Now().Add(-time.Hour).Round(time.Millisecond)
	future := time.Now().Add(time.Hour).Round(time.Millisecond)

	live, dead := storetest.NewID(), storetest.NewID()
	put(t, s, live, "live", future)
	put(t, s, dead, "dead", past)
	os.Chtimes(filepath.Join(dir, live), time.Time{}, past.Add(-time.Hour))
	os.Chtimes(filepath.Join(dir, dead), time.Time{}, future.Add(time.Hour))

	if d, e, found, err := s.Load(ctx, live); !found || err != nil || string(d) != "live" || !e.Equal(future) {
		t.Errorf("Load of a live v2 file with a past mtime = (%q, %v, %v, %v)", d, e, found, err)
	}
	if _, _, found, err := s.Load(ctx, dead); found || err != nil {
		t.Errorf("Load of an expired v2 file with a future mtime = (found %v, %v)", found, err)
	}
	if got := listed(t, s); len(got) != 1 || !got[live].Equal(future) {
		t.Errorf("List = %v, want only %s with expiry %v", got, live, future)
	}
	if err := s.Touch(ctx, dead, future); err != nil {
		t.Fatal(err)
	}
	if d := filestore.DecodeFile(mustRead(t, filepath.Join(dir, dead))); !d.Expiry.Equal(past) {
		t.Errorf("Touch of an expired v2 file set its expiry to %v; it must not revive it", d.Expiry)
	}
	appendRaw(t, dir, live, past, "\n"+live+"\n") // a stale entry: the session lives on
	if n, err := s.Sweep(ctx); n != 1 || err != nil || exists(filepath.Join(dir, dead)) || !exists(filepath.Join(dir, live)) {
		t.Errorf("Sweep = (%d, %v), want the expired v2 file removed and the live one kept", n, err)
	}

	// The sweep of a directory without an index reads v2 headers too.
	if err := os.RemoveAll(filepath.Join(dir, ".expiry")); err != nil {
		t.Fatal(err)
	}
	put(t, s, dead, "dead again", past)
	os.Chtimes(filepath.Join(dir, dead), time.Time{}, future)
	if n, err := s.Sweep(ctx); n != 1 || err != nil || exists(filepath.Join(dir, dead)) {
		t.Errorf("scanning Sweep = (%d, %v), want the expired v2 file removed", n, err)
	}
	if got, want := indexEntries(t, dir), []string{minute(future) + "/" + live}; !slices.Equal(got, want) {
		t.Errorf("rebuilt index = %q, want %q (the header's minute)", got, want)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A write killed between its data and its header leaves the previous
// version whole, data and expiry; so does one killed before its data. The
// next write goes on from there.
func TestWriteCrashLeavesPreviousVersion(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	id := storetest.NewID()
	path := filepath.Join(dir, id)
	exp1 := time.Now().Add(time.Hour).Round(time.Millisecond)
	exp2 := exp1.Add(time.Hour)
	put(t, s, id, "version one", exp1)
	t.Cleanup(func() { filestore.SetWriteHook(nil) })

	for _, stage := range []string{"data", "header"} {
		for _, next := range []string{"version two", strings.Repeat("v2", 200)} {
			filestore.SetWriteHook(func(at string) {
				if at == stage {
					panic("crash at " + at)
				}
			})
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("the write did not reach stage %q", stage)
					}
				}()
				put(t, s, id, next, exp2)
			}()
			filestore.SetWriteHook(nil)
			b := mustRead(t, path)
			if stage == "header" && !bytes.Contains(b, []byte(next)) {
				t.Errorf("crash at %s: the inactive slot does not hold the new data", stage)
			}
			if d, e, found, err := s.Load(ctx, id); !found || err != nil || string(d) != "version one" || !e.Equal(exp1) {
				t.Errorf("crash at %s: Load = (%q, %v, %v, %v), want (%q, %v)", stage, d, e, found, err, "version one", exp1)
			}
			if got := listed(t, s); !got[id].Equal(exp1) {
				t.Errorf("crash at %s: List = %v, want expiry %v", stage, got, exp1)
			}
		}
	}
	put(t, s, id, "version three", exp2)
	if d, e, found, err := s.Load(ctx, id); !found || err != nil || string(d) != "version three" || !e.Equal(exp2) {
		t.Errorf("Load after the crashes = (%q, %v, %v, %v), want (%q, %v)", d, e, found, err, "version three", exp2)
	}
}

// Files that do not read whole under the lock (a creation cut short, a
// damaged header or data) are no sessions: Load reports them absent,
// without error, after reading them under the lock; a write replaces them
// and Sweep removes them when an index entry falls due.
func TestTornFilesAreNoSessions(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	past := time.Now().Add(-time.Hour)
	future := time.Now().Add(time.Hour)
	var locked atomic.Int64
	filestore.SetTornHook(func(l bool) {
		if l {
			locked.Add(1)
		}
	})
	t.Cleanup(func() { filestore.SetTornHook(nil) })

	damage := func(off int) func([]byte) []byte {
		return func(b []byte) []byte { b[off] ^= 0x40; return b }
	}
	cases := map[string]func(whole []byte) []byte{
		"magic only":          func(b []byte) []byte { return b[:len(filestore.Magic)] },
		"header only":         func(b []byte) []byte { return b[:filestore.HeaderSize] },
		"creation cut short":  func(b []byte) []byte { return b[:600] },
		"larger than it says": func(b []byte) []byte { return append(b, 0) },
		"damaged header":      damage(20),
		"damaged length":      damage(28),
		"damaged data":        damage(filestore.HeaderSize + 3),
	}
	for name, mk := range cases {
		id := storetest.NewID()
		path := filepath.Join(dir, id)
		content := mk(filestore.EncodeFile([]byte("whole session data"), future))
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		before := locked.Load()
		if _, _, found, err := s.Load(ctx, id); found || err != nil {
			t.Errorf("%s: Load = (found %v, %v), want absent", name, found, err)
		}
		if locked.Load() == before {
			t.Errorf("%s: Load did not read the file again under the lock", name)
		}
		if got := listed(t, s); len(got) != 0 {
			t.Errorf("%s: List = %v, want nothing", name, got)
		}
		if err := s.Touch(ctx, id, future.Add(time.Hour)); err != nil {
			t.Errorf("%s: Touch: %v", name, err)
		}
		if b := mustRead(t, path); !bytes.Equal(b, content) {
			t.Errorf("%s: Touch changed a file that is no session", name)
		}
		ok, err := s.Swap(ctx, id, nil, []byte("new"), future)
		if !ok || err != nil {
			t.Errorf("%s: Swap(nil) = (%v, %v), want the file replaced", name, ok, err)
		}
		if d, _, found, err := s.Load(ctx, id); !found || err != nil || string(d) != "new" {
			t.Errorf("%s: Load after Swap = (%q, %v, %v)", name, d, found, err)
		}

		// Sweep removes such a file once an index entry falls due, when
		// its header's expiry has passed or it has none that reads.
		content = mk(filestore.EncodeFile([]byte("whole session data"), past))
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		appendRaw(t, dir, id, past, "\n"+id+"\n")
		if n, err := s.Sweep(ctx); n != 1 || err != nil || exists(path) {
			t.Errorf("%s: Sweep = (%d, %v), want the file removed", name, n, err)
		}
	}
}

// A Load that finds a file torn by a write in progress (here a header that
// the write's hook tears, which a reader sees when its read meets the
// write's pwrite) reads it again, and then under the lock, where it waits
// for the write: it returns the new version, never "absent".
func TestLoadRereadsTornFileUnderLock(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	id := storetest.NewID()
	path := filepath.Join(dir, id)
	exp := time.Now().Add(time.Hour).Round(time.Millisecond)
	put(t, s, id, "version one", exp)

	held, release := make(chan struct{}), make(chan struct{})
	filestore.SetWriteHook(func(stage string) {
		if stage != "header" {
			return
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		f.WriteAt([]byte("torn"), 20) // in the expiry: the check fails
		f.Close()
		close(held)
		<-release
	})
	var unlocked, locked atomic.Int64
	filestore.SetTornHook(func(l bool) {
		if l {
			locked.Add(1)
		} else if unlocked.Add(1) == 4 {
			close(release) // the Load has given up reading without the lock
		}
	})
	t.Cleanup(func() { filestore.SetWriteHook(nil); filestore.SetTornHook(nil) })

	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("version two"), exp, nil })
	}()
	<-held
	d, e, found, err := s.Load(ctx, id)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !found || err != nil || string(d) != "version two" || !e.Equal(exp) {
		t.Errorf("Load during the write = (%q, %v, %v, %v), want (%q, %v)", d, e, found, err, "version two", exp)
	}
	if unlocked.Load() != 4 || locked.Load() != 0 {
		t.Errorf("Load read the file torn %d times without the lock and %d with it, want 4 and 0", unlocked.Load(), locked.Load())
	}
}

// Files larger than one read takes are read as their header, then the
// active slot, whichever it is.
func TestLargeFiles(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	id := storetest.NewID()
	exp := time.Now().Add(time.Hour).Round(time.Millisecond)
	for i, size := range []int{20 << 10, 30 << 10, 9 << 10, 17 << 10, 300 << 10, 200 << 10, 1 << 10} {
		data := bytes.Repeat([]byte{byte('a' + i)}, size)
		copy(data, strconv.Itoa(i))
		put(t, s, id, string(data), exp)
		if d, e, found, err := s.Load(ctx, id); !found || err != nil || !bytes.Equal(d, data) || !e.Equal(exp) {
			t.Errorf("write %d (%d bytes): Load = (%d bytes, %v, %v, %v)", i, size, len(d), e, found, err)
		}
	}
}

// versionData returns the payload of version n in TestLoadDuringWrites.
// Their sizes vary: most stay within their slots, some outgrow them (a new
// file by rename), every fiftieth is large, so that the next shrinks the
// file again.
func versionData(n int) []byte {
	size := 100 + n*131%2900
	if n%50 == 49 {
		size = 70 << 10
	}
	b := make([]byte, size)
	head := fmt.Sprintf("version %09d:", n)
	copy(b, head)
	for i := len(head); i < size; i++ {
		b[i] = byte('a' + (n+i)%26)
	}
	return b
}

// versionOf returns the version a payload of versionData holds, checking
// that it is exactly that version's payload.
func versionOf(b []byte) (int, bool) {
	var n int
	if _, err := fmt.Sscanf(string(b[:min(len(b), 18)]), "version %09d:", &n); err != nil {
		return 0, false
	}
	return n, bytes.Equal(b, versionData(n))
}

// Load never misses a session that Updates, Swaps and Touches of two
// Stores (as two processes) keep rewriting, in place and by rename, and
// always returns exactly a version that was written, never older than one
// it returned before.
func TestLoadDuringWrites(t *testing.T) {
	dir := t.TempDir()
	stores := []*filestore.Store{newStore(t, dir), newStore(t, dir)}
	ctx := context.Background()
	id := storetest.NewID()
	exp := time.Now().Add(time.Hour)
	put(t, stores[0], id, string(versionData(0)), exp)

	var torn, tornLocked atomic.Int64
	filestore.SetTornHook(func(locked bool) {
		if locked {
			tornLocked.Add(1)
		} else {
			torn.Add(1)
		}
	})
	t.Cleanup(func() { filestore.SetTornHook(nil) })

	var (
		started  atomic.Int64 // the highest version a write began
		writes   atomic.Int64
		loads    atomic.Int64
		stop     atomic.Bool
		failures = make(chan string, 100)
		wg       sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		select {
		case failures <- fmt.Sprintf(format, args...):
		default:
		}
		stop.Store(true)
	}
	next := func(cur []byte) ([]byte, error) {
		n, ok := versionOf(cur)
		if !ok {
			return nil, fmt.Errorf("the record holds %.30q, which was never written", cur)
		}
		for {
			old := started.Load()
			if old >= int64(n+1) || started.CompareAndSwap(old, int64(n+1)) {
				break
			}
		}
		return versionData(n + 1), nil
	}
	const maxWrites = 1500
	writer := func(body func(st *filestore.Store) error) {
		for i := range 4 {
			st := stores[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() && writes.Load() < maxWrites {
					if err := body(st); err != nil {
						fail("%v", err)
						return
					}
				}
			}()
		}
	}
	writer(func(st *filestore.Store) error { // Update
		defer writes.Add(1)
		return st.Update(ctx, id, func(cur []byte, found bool) ([]byte, time.Time, error) {
			if !found {
				return nil, time.Time{}, fmt.Errorf("Update found no session")
			}
			b, err := next(cur)
			return b, exp, err
		})
	})
	writer(func(st *filestore.Store) error { // Swap, after a Load
		cur, _, found, err := st.Load(ctx, id)
		if err != nil || !found {
			return fmt.Errorf("Load before Swap: found %v, %v", found, err)
		}
		b, err := next(cur)
		if err != nil {
			return err
		}
		_, err = st.Swap(ctx, id, cur, b, exp)
		writes.Add(1)
		return err
	})
	wg.Add(1)
	go func() { // Touch
		defer wg.Done()
		for i := 0; !stop.Load() && writes.Load() < maxWrites; i++ {
			if err := stores[i%2].Touch(ctx, id, exp.Add(time.Duration(i)*time.Second)); err != nil {
				fail("Touch: %v", err)
				return
			}
		}
	}()
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, last := stores[r%2], -1
			for !stop.Load() && writes.Load() < maxWrites {
				d, e, found, err := st.Load(ctx, id)
				loads.Add(1)
				if err != nil || !found {
					fail("Load missed the session: found %v, %v", found, err)
					return
				}
				n, ok := versionOf(d)
				switch {
				case !ok:
					fail("Load returned %d bytes, %.30q, which were never written", len(d), d)
					return
				case n < last:
					fail("Load returned version %d after version %d", n, last)
					return
				case int64(n) > started.Load():
					fail("Load returned version %d, which no write began", n)
					return
				case e.Before(exp.Add(-time.Second)):
					fail("Load returned expiry %v, before any written (%v)", e, exp)
					return
				}
				last = n
			}
		}()
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	d, _, _, _ := stores[0].Load(ctx, id)
	n, _ := versionOf(d)
	t.Logf("%d writes (version %d), %d loads; %d reads torn and read again, %d of them then under the lock",
		writes.Load(), n, loads.Load(), torn.Load(), tornLocked.Load())
}

// wantNotInFile fails the test when the session file at path holds secret
// anywhere in its bytes.
func wantNotInFile(t *testing.T, path, secret, what string) {
	t.Helper()
	if i := bytes.Index(mustRead(t, path), []byte(secret)); i >= 0 {
		t.Errorf("%s: the session file still holds the forgotten value at byte %d", what, i)
	}
}

// A value the session no longer holds does not stay readable in its file:
// an in-place write (Update, Swap) zeroes the previous version's data once
// its header is written, and fills its own slot whole; a new file (growth,
// shrinking, a v1 file's conversion) holds the new version only. A crash
// between the header and the wipe leaves the previous data until the next
// write.
func TestWipePreviousVersion(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).Round(time.Millisecond)
	const secret = "card=4111-1111-1111-1111"
	with := func(n int) string { // n bytes of padding, then the secret
		return `{"pad":"` + strings.Repeat("p", n) + `","secret":"` + secret + `"}`
	}
	without := func(n int) string { return `{"pad":"` + strings.Repeat("q", n) + `"}` }

	cases := []struct {
		name        string
		first, next string
	}{
		{"in place", with(10), without(10)},
		{"in place, longer", with(10), without(300)},
		{"in place, large slots", with(20 << 10), without(100)},
		{"in place, large slots, longer", with(17 << 10), without(30 << 10)},
		{"growth by rename", with(10), without(600)},
		{"shrinking by rename", with(100 << 10), without(100)},
	}
	for _, tc := range cases {
		id := storetest.NewID()
		path := filepath.Join(dir, id)
		put(t, s, id, tc.first, exp)
		put(t, s, id, tc.next, exp)
		wantNotInFile(t, path, secret, "Update, "+tc.name)
		if d, _, found, err := s.Load(ctx, id); !found || err != nil || string(d) != tc.next {
			t.Errorf("Update, %s: Load = (%.20q, %v, %v), want the second version", tc.name, d, found, err)
		}

		id = storetest.NewID()
		path = filepath.Join(dir, id)
		put(t, s, id, tc.first, exp)
		if ok, err := s.Swap(ctx, id, []byte(tc.first), []byte(tc.next), exp); !ok || err != nil {
			t.Fatalf("Swap, %s = (%v, %v)", tc.name, ok, err)
		}
		wantNotInFile(t, path, secret, "Swap, "+tc.name)
	}

	// Several versions in turn, and a Touch after them.
	id := storetest.NewID()
	path := filepath.Join(dir, id)
	put(t, s, id, with(10), exp)
	put(t, s, id, with(200), exp)
	put(t, s, id, without(5), exp)
	put(t, s, id, without(50), exp)
	if err := s.Touch(ctx, id, exp.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantNotInFile(t, path, secret, "several versions")

	// A v1 file's first write.
	id = storetest.NewID()
	path = filepath.Join(dir, id)
	writeRaw(t, dir, id, with(10), exp)
	put(t, s, id, without(10), exp)
	wantNotInFile(t, path, secret, "a v1 file's conversion")

	// A v2 file that holds an older version in its inactive slot (as a
	// crash before a wipe leaves it): the next write fills that slot whole.
	id = storetest.NewID()
	path = filepath.Join(dir, id)
	content := filestore.EncodeFile([]byte(without(10)), exp)
	copy(content[filestore.HeaderSize+512:], with(10))
	writeRaw(t, dir, id, string(content), time.Now())
	put(t, s, id, without(20), exp)
	put(t, s, id, without(30), exp)
	wantNotInFile(t, path, secret, "an older version in the inactive slot")

	// Through the Manager: Put, then Forget.
	m := storetest.NewManager(t, s, session.Config{})
	cookie := storetest.Put(t, m, nil, "card", secret)
	storetest.Put(t, m, cookie, "theme", "dark")
	id, _, _ = strings.Cut(cookie.Value, ".")
	path = filepath.Join(dir, id)
	if !bytes.Contains(mustRead(t, path), []byte(secret)) {
		t.Fatal("the session file does not hold the value put: the test looks in the wrong file")
	}
	if code, _, _ := storetest.Request(ctx, m, cookie, func(s *session.Session) string { s.Forget("card"); return "" }); code != 200 {
		t.Fatalf("Forget: status %d", code)
	}
	wantNotInFile(t, path, secret, "Manager, Forget")
	if got := storetest.Get(t, m, cookie, "theme"); got != "dark" {
		t.Errorf("after Forget the session holds theme %q, want dark", got)
	}

	// A crash between the header and the wipe: the new version is whole,
	// the previous data stays until the next write.
	id = storetest.NewID()
	path = filepath.Join(dir, id)
	put(t, s, id, with(10), exp)
	filestore.SetWriteHook(func(at string) {
		if at == "wipe" {
			panic("crash before the wipe")
		}
	})
	t.Cleanup(func() { filestore.SetWriteHook(nil) })
	func() {
		defer func() { recover() }()
		put(t, s, id, without(10), exp)
	}()
	filestore.SetWriteHook(nil)
	if d, _, found, err := s.Load(ctx, id); !found || err != nil || string(d) != without(10) {
		t.Errorf("after a crash before the wipe, Load = (%.20q, %v, %v), want the new version", d, found, err)
	}
	put(t, s, id, without(20), exp)
	wantNotInFile(t, path, secret, "the write after a crash before the wipe")
}
