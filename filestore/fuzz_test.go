package filestore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/storetest"
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

// clampExpiry is the store's documented clamp of expiries to the years 1970
// to 2200, written out again.
func clampExpiry(e time.Time) time.Time {
	minTime, maxTime := time.Unix(0, 0), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	if e.Before(minTime) {
		return minTime
	} else if e.After(maxTime) {
		return maxTime
	}
	return e
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FuzzFileFormat fuzzes the parser of the v2 session file format, in
// memory. Any bytes parse without panic; a v2 file that parses whole
// yields data found in it. The file for any data and expiry parses back to
// exactly them, with the header's and the data's CRC-32C where the layout
// says. A second write in place fills the other slot, never the header or
// the active data: after its slot alone (a kill between its slot and its
// header), and with any prefix of its header written (a kill or a reader
// in the middle of it), the file parses as the first version, as the
// second, or as torn, never as anything else; with its whole header, as
// the second, whatever part of the first version's data the wipe that
// follows has zeroed; after the wipe, every byte of the file but the
// header and the second version's data is zero.
func FuzzFileFormat(f *testing.F) {
	exp := time.Date(2100, 1, 2, 3, 4, 5, 6, time.UTC)
	whole := filestore.EncodeFile([]byte(`{"v":1}`), exp)
	for _, content := range [][]byte{
		nil, []byte(`{"v":1,"data":{}}`), []byte("sk1.AAAA"), []byte(filestore.Magic), []byte(filestore.Magic[:5]),
		whole, whole[:filestore.HeaderSize], whole[:100], append(bytes.Clone(whole), 'x'),
	} {
		f.Add(content, []byte("session data"), exp.UnixNano())
	}
	f.Add([]byte{}, []byte{}, int64(0))
	f.Add([]byte{}, bytes.Repeat([]byte("x"), 513), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, content, data []byte, expiryNs int64) {
		d := filestore.DecodeFile(content)
		if d.OK && d.V2 && !bytes.Contains(content, d.Data) {
			t.Fatalf("the parser returned data that is not in the file")
		}
		if !d.V2 && (!d.OK || !bytes.Equal(d.Data, content)) {
			t.Fatalf("a file without the magic does not parse as v1 data")
		}

		// The file for data and expiry.
		expiry := time.Unix(0, expiryNs)
		first := filestore.EncodeFile(data, expiry)
		d = filestore.DecodeFile(first)
		if !d.V2 || !d.OK || !bytes.Equal(d.Data, data) || !d.Expiry.Equal(expiry) {
			t.Fatalf("the file parses as (v2 %v, ok %v, %d bytes, %v), want its %d bytes and %v", d.V2, d.OK, len(d.Data), d.Expiry, len(data), expiry)
		}
		if got := binary.LittleEndian.Uint32(first[36:]); got != crc32.Checksum(first[:36], castagnoli) {
			t.Fatalf("header check %08x is not the CRC-32C of bytes 0 to 35", got)
		}
		off := filestore.HeaderSize + int(d.Seq&1)*d.Cap
		if got := binary.LittleEndian.Uint32(first[32:]); got != crc32.Checksum(first[off:off+len(data)], castagnoli) || !bytes.Equal(first[off:off+len(data)], data) {
			t.Fatalf("the data or its check is not where the header says")
		}
		if len(first) != filestore.HeaderSize+2*d.Cap || d.Cap < 512 || d.Cap&(d.Cap-1) != 0 || d.Cap < len(data) {
			t.Fatalf("a file of %d bytes with slots of %d for %d bytes of data", len(first), d.Cap, len(data))
		}

		// A second write, in place.
		second := append([]byte("2:"), data...)
		slices.Reverse(second)
		exp2 := time.Unix(0, ^expiryNs) // another expiry, in the format's range
		w, ok := filestore.InPlaceWrite(first, second, exp2)
		if !ok {
			return // written as a new file
		}
		slotEnd := w.SlotOff + int64(len(w.Slot))
		if w.SlotOff < filestore.HeaderSize || slotEnd > int64(len(first)) ||
			w.SlotOff < int64(off+len(data)) && slotEnd > int64(off) {
			t.Fatalf("the second write's slot at %d to %d overlaps the header or the active data at %d", w.SlotOff, slotEnd, off)
		}
		if w.WipeOff != int64(off) || w.WipeLen != int64(len(data)) {
			t.Fatalf("the wipe covers %d bytes at %d, want the first version's data, %d at %d", w.WipeLen, w.WipeOff, len(data), off)
		}
		mid := bytes.Clone(first)
		copy(mid[w.SlotOff:], w.Slot)
		if d := filestore.DecodeFile(mid); !d.OK || !bytes.Equal(d.Data, data) || !d.Expiry.Equal(expiry) {
			t.Fatalf("after the second write's slot alone the file does not parse as the first version")
		}
		for k := range len(w.Header) + 1 {
			torn := bytes.Clone(mid)
			copy(torn, w.Header[:k])
			d := filestore.DecodeFile(torn)
			switch {
			case !d.OK:
			case bytes.Equal(d.Data, data) && d.Expiry.Equal(expiry):
			case bytes.Equal(d.Data, second) && d.Expiry.Equal(exp2):
			default:
				t.Fatalf("with %d bytes of the second header the file parses as neither version: (%d bytes, %v)", k, len(d.Data), d.Expiry)
			}
			if k == len(w.Header) && (!d.OK || !bytes.Equal(d.Data, second)) {
				t.Fatalf("with the whole second header the file does not parse as the second version")
			}
		}
		// The wipe comes after the header: cut anywhere (a kill), the file
		// parses as the second version; whole, it leaves nothing of the
		// first: every byte but the header and the active data is zero.
		committed := bytes.Clone(mid)
		copy(committed, w.Header)
		for _, k := range []int64{0, 1, w.WipeLen / 2, w.WipeLen} {
			cut := bytes.Clone(committed)
			clear(cut[w.WipeOff : w.WipeOff+min(k, w.WipeLen)])
			if d := filestore.DecodeFile(cut); !d.OK || !bytes.Equal(d.Data, second) || !d.Expiry.Equal(exp2) {
				t.Fatalf("with %d bytes of the first version wiped the file does not parse as the second version", k)
			}
		}
		after := w.Apply(first)
		off2 := int(w.SlotOff)
		rest := slices.Concat(after[filestore.HeaderSize:off2], after[off2+len(second):])
		if i := slices.IndexFunc(rest, func(c byte) bool { return c != 0 }); i >= 0 {
			t.Fatalf("after the second write the file holds a byte %#x outside its header and active data", rest[i])
		}
	})
}

// FuzzLoadFile checks the store against the format, on files. Any bytes,
// as a session file with a future mtime, load as the parser reads them: a
// file without the magic is a v1 session holding those bytes; a v2
// file is a session only when it parses whole and its header's expiry is
// to come, with that data and expiry; Load never fails. The store writes a
// new session as exactly the format's file for its data and (clamped)
// expiry, and a second write in place as exactly the format's writes (its
// slot, its header, the wipe of the first version's data).
func FuzzLoadFile(f *testing.F) {
	dir := f.TempDir()
	s, err := filestore.New(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	exp := time.Date(2100, 1, 2, 3, 4, 5, 6, time.UTC)
	whole := filestore.EncodeFile([]byte(`{"v":1}`), exp)
	for _, content := range [][]byte{
		nil, []byte(`{"v":1}`), []byte(filestore.Magic), whole, whole[:filestore.HeaderSize], whole[:100],
	} {
		f.Add(content, []byte("data"), exp.UnixNano())
	}
	f.Add([]byte{}, bytes.Repeat([]byte("x"), 513), int64(math.MaxInt64))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, content, data []byte, expiryNs int64) {
		id := storetest.NewID()
		path := filepath.Join(dir, id)
		defer s.Delete(ctx, id)
		d := filestore.DecodeFile(content)
		mtime := time.Now().Add(time.Hour).Round(time.Second)
		writeRaw(t, dir, id, string(content), mtime)
		got, e, found, err := s.Load(ctx, id)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		switch {
		case !d.V2:
			if !found || !bytes.Equal(got, content) || !e.Equal(mtime) {
				t.Fatalf("Load of a v1 file = (%q, %v, %v), want its content and mtime", got, e, found)
			}
		case d.OK && d.Expiry.After(time.Now()):
			if !found || !bytes.Equal(got, d.Data) || !e.Equal(d.Expiry) {
				t.Fatalf("Load of a v2 file = (%q, %v, %v), want (%q, %v)", got, e, found, d.Data, d.Expiry)
			}
		default:
			if found {
				t.Fatalf("Load of a v2 file that is torn or expired found (%q, %v)", got, e)
			}
		}
		if err := s.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}

		if data == nil {
			data = []byte{} // nil is a deletion
		}
		expiry := clampExpiry(time.Unix(0, expiryNs))
		err = s.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return data, time.Unix(0, expiryNs), nil })
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		first := mustRead(t, path)
		if !bytes.Equal(first, filestore.EncodeFile(data, expiry)) {
			t.Fatalf("the store's new file differs from the format's for %d bytes, expiry %v", len(data), expiry)
		}
		exp2 := clampExpiry(expiry.Add(-time.Minute))
		second := append([]byte("2:"), data...)
		w, ok := filestore.InPlaceWrite(first, second, exp2)
		if !ok {
			return
		}
		if err := s.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return second, exp2, nil }); err != nil {
			t.Fatalf("second Update: %v", err)
		}
		if got := mustRead(t, path); !bytes.Equal(got, w.Apply(first)) {
			t.Fatalf("the store's in-place write differs from the format's")
		}
	})
}

// FuzzUserIndex: any user ID through AddUserSession, ListUserSessions and
// RemoveUserSessions never panics, never creates or changes anything
// outside the store's directory, and keeps that user's entries apart from
// another's; any bytes as a user's index file list without a panic, each
// valid ID once, and an add after them lands and loses none of them (a last
// line that missed only its newline becomes an entry).
func FuzzUserIndex(f *testing.F) {
	parent := f.TempDir()
	dir := filepath.Join(parent, "store")
	if err := os.WriteFile(filepath.Join(parent, "victim"), []byte("keep"), 0o600); err != nil {
		f.Fatal(err)
	}
	s, err := filestore.New(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	a := strings.Repeat("A", 43)
	for _, seed := range []struct{ user, file string }{
		{"ana", ""},
		{"../victim", a + " 001700000000\n"},
		{"/etc/passwd", a + " 001700000000\n" + a + " 001700000001\n"},
		{"a\x00b", a + " 0017"},
		{".", a + " 0017\nB 001700000000\n"},
		{"", "garbage\n\n \n" + a + "  001700000000\n"},
		{strings.Repeat("é", 300), a + " 99999999999x\n"},
	} {
		f.Add(seed.user, []byte(seed.file))
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, user string, file []byte) {
		list := func(u string) map[string]time.Time {
			t.Helper()
			got := map[string]time.Time{}
			err := s.ListUserSessions(ctx, u, func(id string, added time.Time) bool {
				if !validFuzzID(id) {
					t.Fatalf("user %q: listed an invalid ID %q", u, id)
				}
				if _, dup := got[id]; dup {
					t.Fatalf("user %q: %q listed twice", u, id)
				}
				got[id] = added
				return true
			})
			if err != nil {
				t.Fatalf("ListUserSessions(%q): %v", u, err)
			}
			return got
		}

		// Any user ID.
		outside := snapshot(t, parent, dir)
		other := "other than " + user
		otherID := storetest.NewID()
		if err := s.AddUserSession(ctx, other, otherID); err != nil {
			t.Fatal(err)
		}
		id := storetest.NewID()
		if err := s.AddUserSession(ctx, user, id); err != nil {
			t.Fatalf("AddUserSession(%q): %v", user, err)
		}
		if got := list(user); len(got) != 1 || got[id].IsZero() {
			t.Fatalf("user %q lists %v, want only %s", user, got, id)
		}
		if err := s.RemoveUserSessions(ctx, user, id, otherID); err != nil {
			t.Fatalf("RemoveUserSessions(%q): %v", user, err)
		}
		if got := list(user); len(got) != 0 {
			t.Fatalf("user %q lists %v after its entry was removed", user, got)
		}
		if got := list(other); len(got) != 1 || got[otherID].IsZero() {
			t.Fatalf("removing from user %q's index changed another's: %v", user, got)
		}
		if err := s.RemoveUserSessions(ctx, other, otherID); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(s.UserFile(user)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("user %q: the index file without entries is still there (%v)", user, err)
		}
		after := snapshot(t, parent, dir)
		if len(after) != len(outside) {
			t.Fatalf("user %q: %d paths outside the store, was %d", user, len(after), len(outside))
		}
		for p, e := range outside {
			if after[p] != e {
				t.Fatalf("user %q changed %s outside the store", user, p)
			}
		}

		// Any index file.
		path := s.UserFile("file")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		before := list("file")
		// What the file lists once closed by a newline, as the add closes
		// it: a line that missed only its newline is whole then.
		closed := s.UserFile("closed")
		if err := os.MkdirAll(filepath.Dir(closed), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(closed, append(slices.Clone(file), '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		want := list("closed")
		os.Remove(closed)
		for prev, added := range before {
			if !want[prev].Equal(added) {
				t.Fatalf("closing the last line changed the entry %s (%v -> %v)", prev, added, want[prev])
			}
		}
		if err := s.AddUserSession(ctx, "file", id); err != nil {
			t.Fatal(err)
		}
		got := list("file")
		for prev, added := range want {
			if !got[prev].Equal(added) {
				t.Fatalf("an add lost or changed the entry %s (%v -> %v)", prev, added, got[prev])
			}
		}
		if got[id].IsZero() || len(got) != len(want)+1 {
			t.Fatalf("after an add to %q: %d entries, want %d", file, len(got), len(want)+1)
		}
		ids := slices.Collect(func(yield func(string) bool) {
			for k := range want {
				if !yield(k) {
					return
				}
			}
		})
		if err := s.RemoveUserSessions(ctx, "file", ids...); err != nil {
			t.Fatal(err)
		}
		if got := list("file"); len(got) != 1 || got[id].IsZero() {
			t.Fatalf("after removing the file's entries: %v, want only %s", got, id)
		}
		if err := s.RemoveUserSessions(ctx, "file", id); err != nil {
			t.Fatal(err)
		}
	})
}
