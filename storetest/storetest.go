package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// tolerance is how far an expiry read back may be from the one written:
// some back ends keep whole seconds.
const tolerance = time.Second

// NewID returns a random session ID shaped like the Manager's: 32 bytes from
// crypto/rand in unpadded URL-safe base64, 43 characters.
func NewID() string {
	var b [32]byte
	rand.Read(b[:]) // never returns an error (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

type subtest struct {
	name string
	run  func(t *testing.T, s session.Store)
}

var subtests = []subtest{
	{"LoadMissing", testLoadMissing},
	{"UpdateCreates", testUpdateCreates},
	{"UpdateSeesCurrent", testUpdateSeesCurrent},
	{"UpdateError", testUpdateError},
	{"UpdateNilDeletes", testUpdateNilDeletes},
	{"UpdateEmptyData", testUpdateEmptyData},
	{"UpdateDoesNotRetain", testUpdateDoesNotRetain},
	{"Delete", testDelete},
	{"DeleteMissing", testDeleteMissing},
	{"Expired", testExpired},
	{"Touch", testTouch},
	{"TouchMissing", testTouchMissing},
	{"TouchExpired", testTouchExpired},
	{"DistinctIDs", testDistinctIDs},
	{"HostileIDs", testHostileIDs},
	{"ContextCanceled", testContextCanceled},
	{"ConcurrentUpdatesOneID", testConcurrentOneID},
	{"ConcurrentUpdatesManyIDs", testConcurrentManyIDs},
	{"Sweep", testSweep},
}

// Run runs the conformance suite as subtests of t. newStore is called once per
// subtest and must return a new, empty store; it may use t.TempDir and
// t.Cleanup for set-up and tear-down, and call t.Fatal (or t.Skip) when the
// back end is unavailable.
func Run(t *testing.T, newStore func(t *testing.T) session.Store) {
	t.Helper()
	for _, st := range subtests {
		t.Run(st.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned a nil Store")
			}
			st.run(t, s)
		})
	}
}

// ---- helpers -------------------------------------------------------------

// put writes data with expiry under id and fails the test on error.
func put(t *testing.T, s session.Store, id string, data []byte, expiry time.Time) {
	t.Helper()
	err := s.Update(t.Context(), id, func([]byte, bool) ([]byte, time.Time, error) {
		return data, expiry, nil
	})
	if err != nil {
		t.Fatalf("Update(%q): %v", id, err)
	}
}

// wantRecord checks that Load returns data with (about) expiry for id.
func wantRecord(t *testing.T, s session.Store, id string, data []byte, expiry time.Time) {
	t.Helper()
	got, exp, found, err := s.Load(t.Context(), id)
	switch {
	case err != nil:
		t.Errorf("Load(%q): unexpected error %v", id, err)
	case !found:
		t.Errorf("Load(%q): found = false, want the record %q", id, data)
	case !bytes.Equal(got, data):
		t.Errorf("Load(%q): data = %q, want %q", id, got, data)
	case !closeTo(exp, expiry):
		t.Errorf("Load(%q): expiry = %v, want %v (±%v)", id, exp, expiry, tolerance)
	}
}

// wantMissing checks that Load reports id as not found, with a nil error.
func wantMissing(t *testing.T, s session.Store, id string) {
	t.Helper()
	got, _, found, err := s.Load(t.Context(), id)
	if err != nil {
		t.Errorf("Load(%q): unexpected error %v", id, err)
	}
	if found {
		t.Errorf("Load(%q): found = true (data %q), want not found", id, got)
	}
}

// wantFnSees runs an Update on id whose fn checks what it is shown and writes
// nothing (it returns an error, which Update must hand back).
func wantFnSees(t *testing.T, s session.Store, id string, wantData []byte, wantFound bool) {
	t.Helper()
	errLook := errors.New("storetest: only looking")
	calls := 0
	err := s.Update(t.Context(), id, func(data []byte, found bool) ([]byte, time.Time, error) {
		calls++
		if found != wantFound {
			t.Errorf("Update(%q): fn got found = %v, want %v", id, found, wantFound)
		}
		if wantFound && !bytes.Equal(data, wantData) {
			t.Errorf("Update(%q): fn got data %q, want %q", id, data, wantData)
		}
		if !found && data != nil {
			t.Errorf("Update(%q): fn got found = false with non-nil data %q", id, data)
		}
		return nil, time.Time{}, errLook
	})
	if !errors.Is(err, errLook) {
		t.Errorf("Update(%q): error = %v, want fn's error %v", id, err, errLook)
	}
	if calls == 0 {
		t.Errorf("Update(%q) did not call fn", id)
	}
}

func closeTo(a, b time.Time) bool {
	d := a.Sub(b)
	return d >= -tolerance && d <= tolerance
}

// noPanic runs f and turns a panic into a test error naming what was called.
func noPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v", what, r)
		}
	}()
	f()
}

// Records in the concurrency tests hold a set of keys: sorted, distinct,
// newline-terminated lines, so a torn or mixed-up record does not decode.

func encodeKeys(keys []string) []byte {
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func decodeKeys(data []byte) ([]string, error) {
	if len(data) == 0 {
		return nil, nil
	}
	if data[len(data)-1] != '\n' {
		return nil, fmt.Errorf("record %q is not newline-terminated", data)
	}
	keys := strings.Split(string(data[:len(data)-1]), "\n")
	for i, k := range keys {
		if k == "" || !strings.HasPrefix(k, "k") {
			return nil, fmt.Errorf("record %q: malformed key %q", data, k)
		}
		if i > 0 && keys[i-1] >= k {
			return nil, fmt.Errorf("record %q: keys not sorted and distinct", data)
		}
	}
	return keys, nil
}

// addKey is an Update fn adding key to the set, with expiry.
func addKey(key string, expiry time.Time) func([]byte, bool) ([]byte, time.Time, error) {
	return func(data []byte, found bool) ([]byte, time.Time, error) {
		keys, err := decodeKeys(data)
		if err != nil {
			return nil, time.Time{}, err
		}
		if i, ok := slices.BinarySearch(keys, key); !ok {
			keys = slices.Insert(keys, i, key)
		}
		return encodeKeys(keys), expiry, nil
	}
}

// ---- subtests ------------------------------------------------------------

func testLoadMissing(t *testing.T, s session.Store) {
	wantMissing(t, s, NewID())
}

func testUpdateCreates(t *testing.T, s session.Store) {
	id := NewID()
	exp := time.Now().Add(time.Hour)
	data := []byte("first record \x00\xff with binary bytes")
	calls := 0
	err := s.Update(t.Context(), id, func(d []byte, found bool) ([]byte, time.Time, error) {
		calls++
		if found || d != nil {
			t.Errorf("fn for a new ID got (%q, %v), want (nil, false)", d, found)
		}
		return data, exp, nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if calls == 0 {
		t.Fatal("Update did not call fn")
	}
	wantRecord(t, s, id, data, exp)
	wantMissing(t, s, NewID()) // and nothing else appeared
}

func testUpdateSeesCurrent(t *testing.T, s session.Store) {
	id := NewID()
	exp1 := time.Now().Add(time.Hour)
	put(t, s, id, []byte("one"), exp1)

	// Replace with a longer expiry, checking fn sees the current record.
	exp2 := time.Now().Add(48 * time.Hour)
	err := s.Update(t.Context(), id, func(d []byte, found bool) ([]byte, time.Time, error) {
		if !found || string(d) != "one" {
			t.Errorf("fn got (%q, %v), want (\"one\", true)", d, found)
		}
		return []byte("two"), exp2, nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	wantRecord(t, s, id, []byte("two"), exp2)

	// A shorter expiry replaces a longer one too.
	exp3 := time.Now().Add(10 * time.Minute)
	err = s.Update(t.Context(), id, func(d []byte, found bool) ([]byte, time.Time, error) {
		if !found || string(d) != "two" {
			t.Errorf("fn got (%q, %v), want (\"two\", true)", d, found)
		}
		return []byte("three, longer than before"), exp3, nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	wantRecord(t, s, id, []byte("three, longer than before"), exp3)

	// And a shorter payload does not keep a tail of the longer one.
	put(t, s, id, []byte("4"), exp3)
	wantRecord(t, s, id, []byte("4"), exp3)
	wantFnSees(t, s, id, []byte("4"), true)
}

func testUpdateError(t *testing.T, s session.Store) {
	errFn := errors.New("storetest: fn failed")

	// On a missing ID: nothing is created.
	id := NewID()
	err := s.Update(t.Context(), id, func([]byte, bool) ([]byte, time.Time, error) {
		return []byte("must not be written"), time.Now().Add(time.Hour), errFn
	})
	if !errors.Is(err, errFn) {
		t.Errorf("Update on a new ID: error = %v, want fn's error", err)
	}
	wantMissing(t, s, id)

	// On an existing ID: the record and its expiry are unchanged.
	id = NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, id, []byte("keep me"), exp)
	err = s.Update(t.Context(), id, func([]byte, bool) ([]byte, time.Time, error) {
		return []byte("must not be written"), time.Now().Add(72 * time.Hour), errFn
	})
	if !errors.Is(err, errFn) {
		t.Errorf("Update on an existing ID: error = %v, want fn's error", err)
	}
	wantRecord(t, s, id, []byte("keep me"), exp)

	// An error with nil data does not delete either.
	err = s.Update(t.Context(), id, func([]byte, bool) ([]byte, time.Time, error) {
		return nil, time.Time{}, errFn
	})
	if !errors.Is(err, errFn) {
		t.Errorf("Update returning (nil, error): error = %v, want fn's error", err)
	}
	wantRecord(t, s, id, []byte("keep me"), exp)
}

func testUpdateNilDeletes(t *testing.T, s session.Store) {
	id := NewID()
	put(t, s, id, []byte("doomed"), time.Now().Add(time.Hour))
	err := s.Update(t.Context(), id, func(d []byte, found bool) ([]byte, time.Time, error) {
		if !found {
			t.Error("fn got found = false for an existing record")
		}
		return nil, time.Now().Add(time.Hour), nil
	})
	if err != nil {
		t.Fatalf("Update returning nil data: %v", err)
	}
	wantMissing(t, s, id)
	wantFnSees(t, s, id, nil, false)

	// Returning nil for a missing ID is fine and creates nothing.
	id = NewID()
	err = s.Update(t.Context(), id, func([]byte, bool) ([]byte, time.Time, error) {
		return nil, time.Now().Add(time.Hour), nil
	})
	if err != nil {
		t.Fatalf("Update returning nil data for a missing ID: %v", err)
	}
	wantMissing(t, s, id)
}

func testUpdateEmptyData(t *testing.T, s session.Store) {
	// Only nil data deletes: an empty, non-nil slice is a record.
	id := NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, id, []byte{}, exp)
	wantRecord(t, s, id, []byte{}, exp)
	wantFnSees(t, s, id, []byte{}, true)
}

func testUpdateDoesNotRetain(t *testing.T, s session.Store) {
	id := NewID()
	exp := time.Now().Add(time.Hour)
	buf := []byte("original")
	put(t, s, id, buf, exp)
	copy(buf, "XXXXXXXX") // the caller reuses its buffer
	wantRecord(t, s, id, []byte("original"), exp)
}

func testDelete(t *testing.T, s session.Store) {
	id, other := NewID(), NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, id, []byte("a"), exp)
	put(t, s, other, []byte("b"), exp)
	if err := s.Delete(t.Context(), id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMissing(t, s, id)
	wantFnSees(t, s, id, nil, false)
	wantRecord(t, s, other, []byte("b"), exp)

	// Deleting twice is fine.
	if err := s.Delete(t.Context(), id); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	// The ID can be used again.
	put(t, s, id, []byte("again"), exp)
	wantRecord(t, s, id, []byte("again"), exp)
}

func testDeleteMissing(t *testing.T, s session.Store) {
	id := NewID()
	if err := s.Delete(t.Context(), id); err != nil {
		t.Errorf("Delete of a missing ID: %v", err)
	}
	wantMissing(t, s, id)
}

func testExpired(t *testing.T, s session.Store) {
	past := time.Now().Add(-time.Hour)

	// Written already expired.
	id := NewID()
	put(t, s, id, []byte("stale"), past)
	wantMissing(t, s, id)
	wantFnSees(t, s, id, nil, false)

	// Live, then moved into the past by Update.
	id2 := NewID()
	put(t, s, id2, []byte("live"), time.Now().Add(time.Hour))
	put(t, s, id2, []byte("dead"), past)
	wantMissing(t, s, id2)
	wantFnSees(t, s, id2, nil, false)

	// A zero expiry is in the past too.
	id3 := NewID()
	put(t, s, id3, []byte("zero expiry"), time.Time{})
	wantMissing(t, s, id3)

	// An expired record can be replaced by a live one.
	exp := time.Now().Add(time.Hour)
	put(t, s, id, []byte("fresh"), exp)
	wantRecord(t, s, id, []byte("fresh"), exp)
}

func testTouch(t *testing.T, s session.Store) {
	id := NewID()
	put(t, s, id, []byte("touch me"), time.Now().Add(time.Hour))

	later := time.Now().Add(30 * 24 * time.Hour)
	if err := s.Touch(t.Context(), id, later); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	wantRecord(t, s, id, []byte("touch me"), later)

	// Touch may also bring the expiry closer.
	sooner := time.Now().Add(5 * time.Minute)
	if err := s.Touch(t.Context(), id, sooner); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	wantRecord(t, s, id, []byte("touch me"), sooner)
	wantFnSees(t, s, id, []byte("touch me"), true)
}

func testTouchMissing(t *testing.T, s session.Store) {
	id := NewID()
	if err := s.Touch(t.Context(), id, time.Now().Add(time.Hour)); err != nil {
		t.Errorf("Touch of a missing ID: %v", err)
	}
	wantMissing(t, s, id)
	wantFnSees(t, s, id, nil, false)

	// Nor after Delete.
	put(t, s, id, []byte("x"), time.Now().Add(time.Hour))
	if err := s.Delete(t.Context(), id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Touch(t.Context(), id, time.Now().Add(time.Hour)); err != nil {
		t.Errorf("Touch of a deleted ID: %v", err)
	}
	wantMissing(t, s, id)
}

func testTouchExpired(t *testing.T, s session.Store) {
	id := NewID()
	put(t, s, id, []byte("expired"), time.Now().Add(-time.Hour))
	if err := s.Touch(t.Context(), id, time.Now().Add(time.Hour)); err != nil {
		t.Errorf("Touch of an expired record: %v", err)
	}
	wantMissing(t, s, id)
	wantFnSees(t, s, id, nil, false)
}

// swapCase returns id with its first letter's case flipped.
func swapCase(id string) (string, bool) {
	b := []byte(id)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
			return string(b), true
		case 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
			return string(b), true
		}
	}
	return "", false
}

func testDistinctIDs(t *testing.T, s session.Store) {
	exp := time.Now().Add(time.Hour)
	id := NewID()
	for {
		if _, ok := swapCase(id); ok {
			break
		}
		id = NewID()
	}
	put(t, s, id, []byte("victim"), exp)

	// Valid IDs (in the alphabet) that differ from id by letter case, by
	// length, or by '-' versus '_': the store must hold them separately.
	swapped, _ := swapCase(id)
	dash := "-" + id[1:]
	under := "_" + id[1:]
	var valid []string
	for _, v := range []string{
		swapped, strings.ToLower(id), strings.ToUpper(id),
		id[:len(id)-1], id + "A", dash, under,
	} {
		if v != id && !slices.Contains(valid, v) {
			valid = append(valid, v)
		}
	}
	for _, v := range valid {
		wantMissing(t, s, v)
		put(t, s, v, []byte("other "+v), exp)
		wantRecord(t, s, v, []byte("other "+v), exp)
		wantRecord(t, s, id, []byte("victim"), exp)
	}
	for _, v := range valid {
		if err := s.Touch(t.Context(), v, time.Now().Add(time.Minute)); err != nil {
			t.Errorf("Touch(%q): %v", v, err)
		}
		if err := s.Delete(t.Context(), v); err != nil {
			t.Errorf("Delete(%q): %v", v, err)
		}
		wantMissing(t, s, v)
		wantRecord(t, s, id, []byte("victim"), exp)
	}

	// IDs outside the alphabet that some back ends might normalize to id
	// (paths, padding, collation, NUL-terminated strings): they may be
	// rejected, but must never reach id's record.
	aliases := []string{
		"./" + id, "x/../" + id, id + "/", id + "/.", "/" + id, "//" + id,
		id + " ", " " + id, id + "\x00", id + "\x00junk", id + "\n",
		id + "*", id[:len(id)-1] + "?", id[:len(id)-1] + "*", id + "%00",
		id + ".", id + "\\", "." + id,
	}
	for _, a := range aliases {
		noPanic(t, fmt.Sprintf("Load(%q)", a), func() {
			d, _, found, err := s.Load(t.Context(), a)
			if err != nil {
				t.Errorf("Load(%q): unexpected error %v", a, err)
			}
			if found {
				t.Errorf("Load(%q) found %q: it reached another ID's record", a, d)
			}
		})
		noPanic(t, fmt.Sprintf("Update(%q)", a), func() {
			s.Update(t.Context(), a, func(d []byte, found bool) ([]byte, time.Time, error) {
				if found {
					t.Errorf("Update(%q): fn saw %q from another ID's record", a, d)
				}
				return []byte("alias"), exp, nil
			})
		})
		wantRecord(t, s, id, []byte("victim"), exp)
		noPanic(t, fmt.Sprintf("Touch(%q)", a), func() {
			s.Touch(t.Context(), a, time.Now().Add(-time.Hour))
		})
		noPanic(t, fmt.Sprintf("Delete(%q)", a), func() {
			s.Delete(t.Context(), a)
		})
		wantRecord(t, s, id, []byte("victim"), exp)
	}
}

// hostileIDs are IDs a Manager never sends but an attacker-controlled or buggy
// caller might.
func hostileIDs() []string {
	return []string{
		"", ".", "..", "/", "\\", "../../etc/passwd", "/etc/passwd", "a/b",
		"..\\..\\windows\\win.ini", "C:\\x", "a\x00b", "\x00", "\xff\xfe",
		strings.Repeat("a", 1000), " ", "a b", "a\nb", "é", "%2e%2e%2f",
		"~", "*", "?", "[a-z]*", "key:*", "'; DROP TABLE sessions; --",
		"$where", "{\"$gt\":\"\"}", ".locks", ".tmp-x",
	}
}

func testHostileIDs(t *testing.T, s session.Store) {
	exp := time.Now().Add(time.Hour)
	for _, id := range hostileIDs() {
		noPanic(t, fmt.Sprintf("Load(%q)", id), func() { wantMissing(t, s, id) })

		var updErr error
		noPanic(t, fmt.Sprintf("Update(%q)", id), func() {
			updErr = s.Update(t.Context(), id, func(d []byte, found bool) ([]byte, time.Time, error) {
				if found {
					t.Errorf("Update(%q): fn got found = true in an empty store (data %q)", id, d)
				}
				return []byte("hostile"), exp, nil
			})
		})
		noPanic(t, fmt.Sprintf("Load(%q) after Update", id), func() {
			d, _, found, err := s.Load(t.Context(), id)
			if err != nil {
				t.Errorf("Load(%q) after Update: unexpected error %v", id, err)
			}
			if found && (updErr != nil || string(d) != "hostile") {
				t.Errorf("Load(%q) after Update (error %v) found %q", id, updErr, d)
			}
		})
		noPanic(t, fmt.Sprintf("Touch(%q)", id), func() {
			s.Touch(t.Context(), id, time.Now().Add(2*time.Hour))
		})
		var delErr error
		noPanic(t, fmt.Sprintf("Delete(%q)", id), func() {
			delErr = s.Delete(t.Context(), id)
		})
		if delErr == nil {
			noPanic(t, fmt.Sprintf("Load(%q) after Delete", id), func() { wantMissing(t, s, id) })
		}
	}
}

func testContextCanceled(t *testing.T, s session.Store) {
	id := NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, id, []byte("before"), exp)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	if _, _, _, err := s.Load(ctx, id); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a canceled context: error = %v, want context.Canceled", err)
	}
	err := s.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) {
		return []byte("after"), exp, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a canceled context: error = %v, want context.Canceled", err)
	}
	wantRecord(t, s, id, []byte("before"), exp)

	fresh := NewID()
	err = s.Update(ctx, fresh, func([]byte, bool) ([]byte, time.Time, error) {
		return []byte("after"), exp, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update of a new ID with a canceled context: error = %v, want context.Canceled", err)
	}
	wantMissing(t, s, fresh)

	dctx, dcancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer dcancel()
	if _, _, _, err := s.Load(dctx, id); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Load past the context's deadline: error = %v, want context.DeadlineExceeded", err)
	}
}

func testConcurrentOneID(t *testing.T, s session.Store) {
	const n = 200
	id := NewID()
	exp := time.Now().Add(time.Hour)
	ctx := t.Context()

	var writers, readers sync.WaitGroup
	done := make(chan struct{})
	// Readers check that Load only ever sees whole records.
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				d, _, found, err := s.Load(ctx, id)
				if err != nil {
					t.Errorf("concurrent Load: %v", err)
					return
				}
				if found {
					if _, err := decodeKeys(d); err != nil {
						t.Errorf("concurrent Load saw a torn record: %v", err)
						return
					}
				}
				time.Sleep(100 * time.Microsecond) // leave the writers room
			}
		}()
	}
	start := make(chan struct{})
	for i := range n {
		writers.Add(1)
		go func() {
			defer writers.Done()
			<-start
			if err := s.Update(ctx, id, addKey(fmt.Sprintf("k%03d", i), exp)); err != nil {
				t.Errorf("concurrent Update %d: %v", i, err)
			}
		}()
	}
	close(start)
	writers.Wait()
	close(done)
	readers.Wait()

	d, _, found, err := s.Load(ctx, id)
	if err != nil || !found {
		t.Fatalf("Load after concurrent updates: found=%v err=%v", found, err)
	}
	keys, err := decodeKeys(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != n {
		t.Errorf("after %d concurrent Updates adding a key each, the record has %d keys: updates were lost", n, len(keys))
	}
}

func testConcurrentManyIDs(t *testing.T, s session.Store) {
	const ids, perID = 50, 4
	exp := time.Now().Add(time.Hour)
	ctx := t.Context()
	idList := make([]string, ids)
	for i := range idList {
		idList[i] = NewID()
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, id := range idList {
		for w := range perID {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if err := s.Update(ctx, id, addKey(fmt.Sprintf("k%02d-%d", i, w), exp)); err != nil {
					t.Errorf("Update(%q): %v", id, err)
				}
			}()
		}
	}
	close(start)
	wg.Wait()

	for i, id := range idList {
		d, _, found, err := s.Load(ctx, id)
		if err != nil || !found {
			t.Errorf("Load(%q): found=%v err=%v", id, found, err)
			continue
		}
		keys, err := decodeKeys(d)
		if err != nil {
			t.Error(err)
			continue
		}
		var want []string
		for w := range perID {
			want = append(want, fmt.Sprintf("k%02d-%d", i, w))
		}
		if !slices.Equal(keys, want) {
			t.Errorf("ID %d holds keys %q, want %q", i, keys, want)
		}
	}
}

func testSweep(t *testing.T, s session.Store) {
	sw, ok := s.(session.Sweeper)
	if !ok {
		t.Skip("store does not implement session.Sweeper")
	}
	ctx := t.Context()

	n, err := sw.Sweep(ctx)
	if err != nil || n != 0 {
		t.Fatalf("Sweep of an empty store = (%d, %v), want (0, nil)", n, err)
	}

	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	var expired, live []string
	for i := range 5 {
		id := NewID()
		put(t, s, id, fmt.Appendf(nil, "expired %d", i), past)
		expired = append(expired, id)
	}
	for i := range 3 {
		id := NewID()
		put(t, s, id, fmt.Appendf(nil, "live %d", i), future)
		live = append(live, id)
	}
	// One that expired and was then renewed by Update is live.
	renewed := NewID()
	put(t, s, renewed, []byte("old"), past)
	put(t, s, renewed, []byte("renewed"), future)

	n, err = sw.Sweep(ctx)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if n != len(expired) {
		t.Errorf("Sweep removed %d records, want %d (the expired ones)", n, len(expired))
	}
	for i, id := range live {
		wantRecord(t, s, id, fmt.Appendf(nil, "live %d", i), future)
	}
	wantRecord(t, s, renewed, []byte("renewed"), future)
	for _, id := range expired {
		wantMissing(t, s, id)
		wantFnSees(t, s, id, nil, false)
	}

	n, err = sw.Sweep(ctx)
	if err != nil || n != 0 {
		t.Errorf("second Sweep = (%d, %v), want (0, nil)", n, err)
	}
	for i, id := range live {
		wantRecord(t, s, id, fmt.Appendf(nil, "live %d", i), future)
	}
}
