package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

var moverSubtests = []struct {
	name string
	run  func(t *testing.T, s session.Store, m session.Mover)
}{
	{"Moves", testMoveMoves},
	{"FnError", testMoveFnError},
	{"MissingOld", testMoveMissingOld},
	{"ExpiredOld", testMoveExpiredOld},
	{"NilDeletes", testMoveNilDeletes},
	{"NewExists", testMoveNewExists},
	{"NewExpired", testMoveNewExpired},
	{"SameID", testMoveSameID},
	{"ContextCanceled", testMoveContextCanceled},
	{"ConcurrentUpdates", testMoveConcurrentUpdates},
	{"ConcurrentMoves", testMoveConcurrentMoves},
}

// RunMover runs the conformance checks of the optional session.Mover
// interface as subtests of t, in addition to Run (call both). newStore is
// called once per subtest and must return a new, empty store, as for Run;
// RunMover fails when it does not implement session.Mover.
//
// The checks, by the rules in the session.Mover documentation:
//
//   - Move shows fn the record of the old ID (by the rules of Update: data
//     == nil and found == false when it is missing or expired), removes it,
//     and stores what fn returns, with its expiry, under the new ID; nil data
//     stores nothing. The old ID no longer loads, and an Update on it sees
//     found == false.
//   - When fn returns an error, nothing changes and Move returns that error
//     (errors.Is).
//   - When the new ID holds a live record, Move fails and changes nothing;
//     an expired record under the new ID counts as none and is replaced.
//     Moving an ID onto itself changes nothing.
//   - A canceled context makes Move return an error that errors.Is reports
//     as context.Canceled, having changed nothing.
//   - No other writer comes between the read and the writes: Updates racing
//     a Move either land before it (and fn carries them to the new ID) or
//     find the old ID gone; of concurrent Moves of one ID, exactly one finds
//     the record.
func RunMover(t *testing.T, newStore func(t *testing.T) session.Store) {
	t.Helper()
	for _, st := range moverSubtests {
		t.Run("Move"+st.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned a nil Store")
			}
			m, ok := s.(session.Mover)
			if !ok {
				t.Fatalf("%T does not implement session.Mover", s)
			}
			st.run(t, s, m)
		})
	}
}

// moveTo is a Move fn that checks what it is shown and stores next.
func moveTo(t *testing.T, wantData []byte, wantFound bool, next []byte, expiry time.Time) func([]byte, bool) ([]byte, time.Time, error) {
	return func(data []byte, found bool) ([]byte, time.Time, error) {
		if found != wantFound || wantFound && string(data) != string(wantData) || !found && data != nil {
			t.Errorf("Move: fn got (%q, %v), want (%q, %v)", data, found, wantData, wantFound)
		}
		return next, expiry, nil
	}
}

func testMoveMoves(t *testing.T, s session.Store, m session.Mover) {
	oldID, newID, other := NewID(), NewID(), NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, oldID, []byte("the session"), time.Now().Add(10*time.Minute))
	put(t, s, other, []byte("bystander"), exp)

	newExp := time.Now().Add(2 * time.Hour)
	if err := m.Move(t.Context(), oldID, newID, moveTo(t, []byte("the session"), true, []byte("the session, moved"), newExp)); err != nil {
		t.Fatalf("Move: %v", err)
	}
	wantMissing(t, s, oldID)
	wantFnSees(t, s, oldID, nil, false)
	wantRecord(t, s, newID, []byte("the session, moved"), newExp)
	wantRecord(t, s, other, []byte("bystander"), exp)

	// The new record is an ordinary one.
	put(t, s, newID, []byte("updated"), exp)
	wantRecord(t, s, newID, []byte("updated"), exp)
}

func testMoveFnError(t *testing.T, s session.Store, m session.Mover) {
	oldID, newID := NewID(), NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, oldID, []byte("stay"), exp)
	errFn := errors.New("storetest: move fn failed")
	err := m.Move(t.Context(), oldID, newID, func([]byte, bool) ([]byte, time.Time, error) {
		return []byte("must not be written"), exp, errFn
	})
	if !errors.Is(err, errFn) {
		t.Errorf("Move: error = %v, want fn's error", err)
	}
	wantRecord(t, s, oldID, []byte("stay"), exp)
	wantMissing(t, s, newID)
}

func testMoveMissingOld(t *testing.T, s session.Store, m session.Mover) {
	// fn is shown nothing; what it returns is stored all the same.
	oldID, newID := NewID(), NewID()
	exp := time.Now().Add(time.Hour)
	if err := m.Move(t.Context(), oldID, newID, moveTo(t, nil, false, []byte("fresh"), exp)); err != nil {
		t.Fatalf("Move of a missing ID: %v", err)
	}
	wantMissing(t, s, oldID)
	wantRecord(t, s, newID, []byte("fresh"), exp)

	// fn refusing (as Regenerate does for a vanished session) changes nothing.
	oldID, newID = NewID(), NewID()
	errGone := errors.New("storetest: gone")
	err := m.Move(t.Context(), oldID, newID, func(data []byte, found bool) ([]byte, time.Time, error) {
		return nil, time.Time{}, errGone
	})
	if !errors.Is(err, errGone) {
		t.Errorf("Move: error = %v, want fn's error", err)
	}
	wantMissing(t, s, oldID)
	wantMissing(t, s, newID)
}

func testMoveExpiredOld(t *testing.T, s session.Store, m session.Mover) {
	oldID, newID := NewID(), NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, oldID, []byte("stale"), time.Now().Add(-time.Hour))
	if err := m.Move(t.Context(), oldID, newID, moveTo(t, nil, false, []byte("fresh"), exp)); err != nil {
		t.Fatalf("Move of an expired ID: %v", err)
	}
	wantMissing(t, s, oldID)
	wantFnSees(t, s, oldID, nil, false)
	wantRecord(t, s, newID, []byte("fresh"), exp)
}

func testMoveNilDeletes(t *testing.T, s session.Store, m session.Mover) {
	oldID, newID := NewID(), NewID()
	put(t, s, oldID, []byte("doomed"), time.Now().Add(time.Hour))
	if err := m.Move(t.Context(), oldID, newID, moveTo(t, []byte("doomed"), true, nil, time.Now().Add(time.Hour))); err != nil {
		t.Fatalf("Move returning nil data: %v", err)
	}
	wantMissing(t, s, oldID)
	wantMissing(t, s, newID)
	wantFnSees(t, s, newID, nil, false)
}

func testMoveNewExists(t *testing.T, s session.Store, m session.Mover) {
	oldID, newID := NewID(), NewID()
	exp1, exp2 := time.Now().Add(time.Hour), time.Now().Add(2*time.Hour)
	put(t, s, oldID, []byte("old"), exp1)
	put(t, s, newID, []byte("taken"), exp2)
	err := m.Move(t.Context(), oldID, newID, func(data []byte, found bool) ([]byte, time.Time, error) {
		return []byte("must not be written"), exp1, nil
	})
	if err == nil {
		t.Error("Move onto an ID holding a live record succeeded")
	}
	wantRecord(t, s, oldID, []byte("old"), exp1)
	wantRecord(t, s, newID, []byte("taken"), exp2)
}

func testMoveNewExpired(t *testing.T, s session.Store, m session.Mover) {
	oldID, newID := NewID(), NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, oldID, []byte("old"), exp)
	put(t, s, newID, []byte("expired"), time.Now().Add(-time.Hour))
	if err := m.Move(t.Context(), oldID, newID, moveTo(t, []byte("old"), true, []byte("moved"), exp)); err != nil {
		t.Fatalf("Move onto an ID holding an expired record: %v", err)
	}
	wantMissing(t, s, oldID)
	wantRecord(t, s, newID, []byte("moved"), exp)
}

func testMoveSameID(t *testing.T, s session.Store, m session.Mover) {
	id := NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, id, []byte("me"), exp)
	err := m.Move(t.Context(), id, id, func(data []byte, found bool) ([]byte, time.Time, error) {
		return []byte("must not be written"), exp, nil
	})
	if err == nil {
		t.Error("Move of a live record onto its own ID succeeded: the new ID holds a record")
	}
	wantRecord(t, s, id, []byte("me"), exp)
}

func testMoveContextCanceled(t *testing.T, s session.Store, m session.Mover) {
	oldID, newID := NewID(), NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, oldID, []byte("before"), exp)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := m.Move(ctx, oldID, newID, func([]byte, bool) ([]byte, time.Time, error) {
		return []byte("after"), exp, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Move with a canceled context: error = %v, want context.Canceled", err)
	}
	wantRecord(t, s, oldID, []byte("before"), exp)
	wantMissing(t, s, newID)
}

func testMoveConcurrentUpdates(t *testing.T, s session.Store, m session.Mover) {
	const n = 50
	oldID, newID := NewID(), NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, oldID, encodeKeys([]string{"k-initial"}), exp)
	ctx := t.Context()
	errGone := errors.New("storetest: gone")

	var (
		wg     sync.WaitGroup
		landed [n]atomic.Bool
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			key := fmt.Sprintf("k%03d", i)
			// Like the Manager: never recreate a record that is gone.
			err := s.Update(ctx, oldID, func(data []byte, found bool) ([]byte, time.Time, error) {
				if !found {
					return nil, time.Time{}, errGone
				}
				return addKey(key, exp)(data, found)
			})
			switch {
			case err == nil:
				landed[i].Store(true)
			case !errors.Is(err, errGone):
				t.Errorf("Update racing a Move: %v", err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		time.Sleep(time.Millisecond) // let some updates in first
		err := m.Move(ctx, oldID, newID, func(data []byte, found bool) ([]byte, time.Time, error) {
			if !found {
				return nil, time.Time{}, errGone
			}
			return data, exp, nil
		})
		if err != nil {
			t.Errorf("Move racing Updates: %v", err)
		}
	}()
	close(start)
	wg.Wait()

	wantMissing(t, s, oldID)
	d, _, found, err := s.Load(ctx, newID)
	if err != nil || !found {
		t.Fatalf("Load of the new ID: found=%v err=%v", found, err)
	}
	keys, err := decodeKeys(d)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, k := range keys {
		have[k] = true
	}
	if !have["k-initial"] {
		t.Error("the moved record lost its initial key")
	}
	for i := range n {
		key := fmt.Sprintf("k%03d", i)
		if landed[i].Load() != have[key] {
			t.Errorf("Update %d succeeded = %v, but its key in the moved record = %v: a write came between Move's read and its writes", i, landed[i].Load(), have[key])
		}
	}
}

func testMoveConcurrentMoves(t *testing.T, s session.Store, m session.Mover) {
	const n = 10
	oldID := NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, oldID, []byte("only once"), exp)
	ctx := t.Context()
	errGone := errors.New("storetest: gone")
	newIDs := make([]string, n)
	for i := range newIDs {
		newIDs[i] = NewID()
	}
	var (
		wg  sync.WaitGroup
		won atomic.Int32
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := m.Move(ctx, oldID, newIDs[i], func(data []byte, found bool) ([]byte, time.Time, error) {
				if !found {
					return nil, time.Time{}, errGone
				}
				return data, exp, nil
			})
			switch {
			case err == nil:
				won.Add(1)
			case !errors.Is(err, errGone):
				t.Errorf("concurrent Move: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if won.Load() != 1 {
		t.Errorf("%d of %d concurrent Moves of one ID found the record, want exactly 1", won.Load(), n)
	}
	wantMissing(t, s, oldID)
	holders := 0
	for _, id := range newIDs {
		if d, _, found, err := s.Load(ctx, id); err == nil && found {
			holders++
			if string(d) != "only once" {
				t.Errorf("new ID holds %q", d)
			}
		}
	}
	if holders != 1 {
		t.Errorf("%d new IDs hold the record, want exactly 1", holders)
	}
}
