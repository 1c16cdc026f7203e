package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// stuckAfter is how long RunUpdatePanic waits for an Update before it
// reports it stuck on a lock that a panic left held: far longer than any
// write takes, so that only a lock that is never released fails.
const stuckAfter = time.Minute

// errPanicked is the value fn panics with in RunUpdatePanic.
type errPanicked struct{ id string }

// RunUpdatePanic checks a store whose Update runs fn under a lock (a mutex, a
// file lock, a row lock): a panic in fn reaches Update's caller with its
// value unchanged, writes nothing, and leaves no lock held, so that the
// next Updates of that ID (and of a new ID) complete. newStores returns
// stores sharing one new, empty back end: the panic happens in the first,
// and every one of them writes the ID afterwards, so that a lock that only
// another store value (another process) would wait for is found too. A
// store whose values share nothing returns one. A call still blocked after
// a minute fails the test as stuck.
func RunUpdatePanic(t *testing.T, newStores func(t *testing.T) []session.Store) {
	t.Helper()
	for _, existing := range []bool{true, false} {
		name := "NewID"
		if existing {
			name = "ExistingRecord"
		}
		t.Run(name, func(t *testing.T) {
			stores := newStores(t)
			if len(stores) == 0 {
				t.Fatal("newStores returned no store")
			}
			testUpdatePanic(t, stores, existing)
		})
	}
}

func testUpdatePanic(t *testing.T, stores []session.Store, existing bool) {
	id := NewID()
	exp := time.Now().Add(time.Hour)
	before := []byte("before the panic")
	if existing {
		put(t, stores[0], id, before, exp)
	}
	got := func() (r any) {
		defer func() { r = recover() }()
		stores[0].Update(t.Context(), id, func([]byte, bool) ([]byte, time.Time, error) {
			panic(errPanicked{id})
		})
		return nil
	}()
	if got != (errPanicked{id}) {
		t.Fatalf("Update whose fn panicked: recovered %v, want fn's panic value unchanged", got)
	}
	unstuck(t, "Load after the panic", func() {
		if existing {
			wantRecord(t, stores[0], id, before, exp)
		} else {
			wantMissing(t, stores[0], id)
		}
	})
	for i, st := range stores {
		data := fmt.Appendf(nil, "written by store %d after the panic", i)
		unstuck(t, fmt.Sprintf("store %d: Update after the panic", i), func() {
			err := st.Update(t.Context(), id, func([]byte, bool) ([]byte, time.Time, error) {
				return data, exp, nil
			})
			if err != nil {
				t.Errorf("store %d: Update after a panicking fn: %v", i, err)
			}
		})
		unstuck(t, fmt.Sprintf("store %d: Load after its Update", i), func() {
			wantRecord(t, st, id, data, exp)
		})
	}
}

// unstuck runs f, which may only report errors (t.Errorf), and fails the
// test if it has not returned after stuckAfter: it waits for a lock that is
// never released.
func unstuck(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(stuckAfter):
		t.Fatalf("%s is stuck: a panic in fn left a lock held", what)
	}
}
