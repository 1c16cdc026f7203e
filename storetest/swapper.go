package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

var swapperSubtests = []struct {
	name string
	run  func(t *testing.T, s session.Store, sw session.Swapper)
}{
	{"NilCreates", testSwapNilCreates},
	{"NilLive", testSwapNilLive},
	{"NilExpired", testSwapNilExpired},
	{"OldMatches", testSwapOldMatches},
	{"OldDiffers", testSwapOldDiffers},
	{"OldMissing", testSwapOldMissing},
	{"OldExpired", testSwapOldExpired},
	{"SameBytes", testSwapSameBytes},
	{"EmptyAndBinary", testSwapEmptyAndBinary},
	{"ContextCanceled", testSwapContextCanceled},
	{"DoesNotRetain", testSwapDoesNotRetain},
	{"ConcurrentSwaps", testSwapConcurrent},
	{"ConcurrentCreates", testSwapConcurrentCreates},
	{"HostileIDs", testSwapHostileIDs},
}

// RunSwapper runs the conformance checks of the optional session.Swapper
// interface as subtests of t, in addition to Run (call both). newStore is
// called once per subtest and must return a new, empty store, as for Run;
// RunSwapper fails when it does not implement session.Swapper.
//
// The checks, by the rules in the session.Swapper documentation:
//
//   - With old == nil, Swap creates the record when there is none, or when
//     the one there has expired, and reports true; over a live record it
//     reports false and changes nothing.
//   - With old != nil, Swap replaces the record's data and expiry (as Load
//     then shows them) and reports true when the record is live and holds
//     exactly old; it reports false and changes nothing when the data
//     differs (by letter case, a trailing space, a prefix), when there is no
//     record, and when the record holding old has expired (which it does not
//     revive). Writing back the same bytes counts as a match, with or
//     without a new expiry. Empty and binary (non-UTF-8, NUL) data compare
//     and store byte for byte.
//   - A canceled context makes Swap return an error that errors.Is reports
//     as context.Canceled, having written nothing.
//   - The store keeps neither old nor next: changing them after Swap returns
//     does not change the record.
//   - Of 20 concurrent Swaps from the same old (or of 20 concurrent creates
//     with old == nil), exactly one reports true, and the record is the
//     winner's.
//   - An ID outside the store's alphabet makes Swap report false or an
//     error, or write under exactly that ID; it never panics and never
//     changes another ID's record.
func RunSwapper(t *testing.T, newStore func(t *testing.T) session.Store) {
	t.Helper()
	for _, st := range swapperSubtests {
		t.Run("Swap"+st.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned a nil Store")
			}
			sw, ok := s.(session.Swapper)
			if !ok {
				t.Fatalf("%T does not implement session.Swapper", s)
			}
			st.run(t, s, sw)
		})
	}
}

// wantSwap runs Swap and checks that it reports want with a nil error.
func wantSwap(t *testing.T, sw session.Swapper, id string, old, next []byte, expiry time.Time, want bool) {
	t.Helper()
	got, err := sw.Swap(t.Context(), id, old, next, expiry)
	switch {
	case err != nil:
		t.Errorf("Swap(%q, old %q, next %q): unexpected error %v", id, old, next, err)
	case got != want:
		t.Errorf("Swap(%q, old %q, next %q) = %v, want %v", id, old, next, got, want)
	}
}

func testSwapNilCreates(t *testing.T, s session.Store, sw session.Swapper) {
	id, other := NewID(), NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, other, []byte("bystander"), exp)
	wantSwap(t, sw, id, nil, []byte("new session"), exp, true)
	wantRecord(t, s, id, []byte("new session"), exp)
	wantRecord(t, s, other, []byte("bystander"), exp)
	// The record is an ordinary one.
	wantFnSees(t, s, id, []byte("new session"), true)
}

func testSwapNilLive(t *testing.T, s session.Store, sw session.Swapper) {
	id := NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, id, []byte("taken"), exp)
	wantSwap(t, sw, id, nil, []byte("must not be written"), time.Now().Add(2*time.Hour), false)
	wantRecord(t, s, id, []byte("taken"), exp)
}

func testSwapNilExpired(t *testing.T, s session.Store, sw session.Swapper) {
	id := NewID()
	put(t, s, id, []byte("stale"), time.Now().Add(-time.Hour))
	exp := time.Now().Add(time.Hour)
	wantSwap(t, sw, id, nil, []byte("fresh"), exp, true)
	wantRecord(t, s, id, []byte("fresh"), exp)
}

func testSwapOldMatches(t *testing.T, s session.Store, sw session.Swapper) {
	id, other := NewID(), NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, id, []byte("version 1"), exp)
	put(t, s, other, []byte("version 1"), exp)
	exp2 := time.Now().Add(3 * time.Hour)
	wantSwap(t, sw, id, []byte("version 1"), []byte("version 2"), exp2, true)
	wantRecord(t, s, id, []byte("version 2"), exp2)
	wantRecord(t, s, other, []byte("version 1"), exp)
	// A second swap from what the first stored.
	exp3 := time.Now().Add(2 * time.Hour)
	wantSwap(t, sw, id, []byte("version 2"), []byte("version 3, longer than before"), exp3, true)
	wantRecord(t, s, id, []byte("version 3, longer than before"), exp3)
	// And the one before no longer matches.
	wantSwap(t, sw, id, []byte("version 2"), []byte("must not be written"), exp, false)
	wantRecord(t, s, id, []byte("version 3, longer than before"), exp3)
}

func testSwapOldDiffers(t *testing.T, s session.Store, sw session.Swapper) {
	id := NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, id, []byte("Data"), exp)
	for _, old := range []string{"data", "DATA", "Data ", "Dat", "Data\x00", " Data", "Dáta", "", "something else"} {
		wantSwap(t, sw, id, []byte(old), []byte("must not be written"), time.Now().Add(2*time.Hour), false)
		wantRecord(t, s, id, []byte("Data"), exp)
	}
}

func testSwapOldMissing(t *testing.T, s session.Store, sw session.Swapper) {
	id := NewID()
	wantSwap(t, sw, id, []byte("anything"), []byte("must not be written"), time.Now().Add(time.Hour), false)
	wantMissing(t, s, id)
	wantSwap(t, sw, id, []byte{}, []byte("must not be written"), time.Now().Add(time.Hour), false)
	wantMissing(t, s, id)
	// After a Delete too.
	put(t, s, id, []byte("gone"), time.Now().Add(time.Hour))
	if err := s.Delete(t.Context(), id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantSwap(t, sw, id, []byte("gone"), []byte("must not be written"), time.Now().Add(time.Hour), false)
	wantMissing(t, s, id)
}

func testSwapOldExpired(t *testing.T, s session.Store, sw session.Swapper) {
	id := NewID()
	put(t, s, id, []byte("stale"), time.Now().Add(-time.Hour))
	wantSwap(t, sw, id, []byte("stale"), []byte("revived"), time.Now().Add(time.Hour), false)
	wantMissing(t, s, id)
	wantFnSees(t, s, id, nil, false)
}

func testSwapSameBytes(t *testing.T, s session.Store, sw session.Swapper) {
	// Writing back what is there is a match: with a new expiry, and with the
	// same one (a back end reporting changed rather than matched rows must
	// still report true).
	id := NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, id, []byte("unchanged"), exp)
	exp2 := exp.Add(time.Hour)
	wantSwap(t, sw, id, []byte("unchanged"), []byte("unchanged"), exp2, true)
	wantRecord(t, s, id, []byte("unchanged"), exp2)
	wantSwap(t, sw, id, []byte("unchanged"), []byte("unchanged"), exp2, true)
	wantRecord(t, s, id, []byte("unchanged"), exp2)
	// An expired record overwritten with old == nil by the same bytes and
	// expiry is a swap too.
	id2 := NewID()
	past := time.Now().Add(-time.Hour)
	put(t, s, id2, []byte("same"), past)
	wantSwap(t, sw, id2, nil, []byte("same"), past, true)
	wantMissing(t, s, id2) // stored, but expired
}

func testSwapEmptyAndBinary(t *testing.T, s session.Store, sw session.Swapper) {
	exp := time.Now().Add(time.Hour)
	id := NewID()
	wantSwap(t, sw, id, nil, []byte{}, exp, true)
	wantRecord(t, s, id, []byte{}, exp)
	bin := []byte("\x00\x01\xff\xfebinary\x00")
	wantSwap(t, sw, id, []byte("not empty"), []byte("x"), exp, false)
	wantSwap(t, sw, id, []byte{}, bin, exp, true)
	wantRecord(t, s, id, bin, exp)
	wantSwap(t, sw, id, []byte("\x00\x01\xff\xfebinary"), []byte("x"), exp, false)
	wantSwap(t, sw, id, []byte("\x01\x00\xff\xfebinary\x00"), []byte("x"), exp, false)
	wantRecord(t, s, id, bin, exp)
	wantSwap(t, sw, id, bin, []byte("\x01 starts with a one"), exp, true)
	wantRecord(t, s, id, []byte("\x01 starts with a one"), exp)
	wantSwap(t, sw, id, []byte("\x01 starts with a one"), []byte{}, exp, true)
	wantRecord(t, s, id, []byte{}, exp)
}

func testSwapContextCanceled(t *testing.T, s session.Store, sw session.Swapper) {
	id := NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, id, []byte("before"), exp)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	ok, err := sw.Swap(ctx, id, []byte("before"), []byte("after"), exp.Add(time.Hour))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Swap with a canceled context: (%v, %v), want context.Canceled", ok, err)
	}
	wantRecord(t, s, id, []byte("before"), exp)

	fresh := NewID()
	ok, err = sw.Swap(ctx, fresh, nil, []byte("after"), exp)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Swap of a new ID with a canceled context: (%v, %v), want context.Canceled", ok, err)
	}
	wantMissing(t, s, fresh)
}

func testSwapDoesNotRetain(t *testing.T, s session.Store, sw session.Swapper) {
	id := NewID()
	exp := time.Now().Add(time.Hour)
	next := []byte("first")
	wantSwap(t, sw, id, nil, next, exp, true)
	copy(next, "XXXXX")
	wantRecord(t, s, id, []byte("first"), exp)

	old, next2 := []byte("first"), []byte("second")
	wantSwap(t, sw, id, old, next2, exp, true)
	copy(old, "YYYYY")
	copy(next2, "ZZZZZZ")
	wantRecord(t, s, id, []byte("second"), exp)
	wantSwap(t, sw, id, []byte("second"), []byte("third"), exp, true)
	wantRecord(t, s, id, []byte("third"), exp)
}

func testSwapConcurrent(t *testing.T, s session.Store, sw session.Swapper) {
	const n = 20
	id := NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, id, []byte("shared start"), exp)
	winners := raceSwaps(t, sw, id, []byte("shared start"), n, exp)
	if len(winners) != 1 {
		t.Fatalf("%d of %d concurrent Swaps from the same old won (%v), want exactly 1", len(winners), n, winners)
	}
	wantRecord(t, s, id, []byte(fmt.Sprintf("writer %02d", winners[0])), exp)
}

func testSwapConcurrentCreates(t *testing.T, s session.Store, sw session.Swapper) {
	const n = 20
	id := NewID()
	exp := time.Now().Add(time.Hour)
	winners := raceSwaps(t, sw, id, nil, n, exp)
	if len(winners) != 1 {
		t.Fatalf("%d of %d concurrent creating Swaps won (%v), want exactly 1", len(winners), n, winners)
	}
	wantRecord(t, s, id, []byte(fmt.Sprintf("writer %02d", winners[0])), exp)

	// Over an expired record as well.
	id = NewID()
	put(t, s, id, []byte("stale"), time.Now().Add(-time.Hour))
	winners = raceSwaps(t, sw, id, nil, n, exp)
	if len(winners) != 1 {
		t.Fatalf("%d of %d concurrent Swaps over an expired record won (%v), want exactly 1", len(winners), n, winners)
	}
	wantRecord(t, s, id, []byte(fmt.Sprintf("writer %02d", winners[0])), exp)
}

// raceSwaps starts n goroutines each swapping old for "writer NN" under id
// at once, and returns the numbers of those that report true.
func raceSwaps(t *testing.T, sw session.Swapper, id string, old []byte, n int, exp time.Time) []int {
	t.Helper()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []int
		errs    atomic.Int32
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := sw.Swap(t.Context(), id, bytes.Clone(old), []byte(fmt.Sprintf("writer %02d", i)), exp)
			if err != nil {
				errs.Add(1)
				t.Errorf("concurrent Swap %d: %v", i, err)
				return
			}
			if ok {
				mu.Lock()
				winners = append(winners, i)
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return winners
}

func testSwapHostileIDs(t *testing.T, s session.Store, sw session.Swapper) {
	victim := NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, victim, []byte("victim"), exp)
	ids := append(hostileIDs(), "./"+victim, "x/../"+victim, victim+" ", victim+"\x00", "../"+victim, victim+"/")
	for _, id := range ids {
		for _, old := range [][]byte{nil, []byte("victim")} {
			var (
				ok  bool
				err error
			)
			noPanic(t, fmt.Sprintf("Swap(%q, %q)", id, old), func() {
				ok, err = sw.Swap(t.Context(), id, old, []byte("hostile"), exp)
			})
			noPanic(t, fmt.Sprintf("Load(%q) after Swap", id), func() {
				d, _, found, lerr := s.Load(t.Context(), id)
				switch {
				case lerr != nil:
					t.Errorf("Load(%q) after Swap: unexpected error %v", id, lerr)
				case found && !(ok && err == nil && string(d) == "hostile") && !(old != nil && string(d) == "hostile"):
					// (A first Swap with old == nil may have stored
					// "hostile", which the second does not match.)
					t.Errorf("Load(%q) after Swap = (%v, %v) found %q", id, ok, err, d)
				case !found && ok && err == nil:
					t.Errorf("Swap(%q, %q) reported true, but Load finds nothing", id, old)
				}
			})
			wantRecord(t, s, victim, []byte("victim"), exp)
		}
		noPanic(t, fmt.Sprintf("Delete(%q)", id), func() { s.Delete(t.Context(), id) })
	}
}
