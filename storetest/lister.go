package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

var listerSubtests = []struct {
	name string
	run  func(t *testing.T, s session.Store, l session.Lister)
}{
	{"Enumerates", testListEnumerates},
	{"Stops", testListStops},
	{"ContextCanceled", testListContextCanceled},
}

// RunLister runs the conformance checks of the optional session.Lister
// interface as subtests of t, in addition to Run. newStore is called once per
// subtest and must return a new, empty store, as for Run; RunLister fails
// when it does not implement session.Lister.
//
// The checks, by the rules in the session.Lister documentation:
//
//   - List reports every unexpired record exactly once, with its expiry
//     (within a second), and no expired record: after 5 live and 3 expired
//     records are written with Update, List reports exactly the 5 live IDs.
//   - List stops calling fn once fn returns false, and returns nil.
//   - A context canceled before the call makes List return an error that
//     errors.Is reports as context.Canceled, without calling fn.
func RunLister(t *testing.T, newStore func(t *testing.T) session.Store) {
	t.Helper()
	for _, st := range listerSubtests {
		t.Run("List"+st.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned a nil Store")
			}
			l, ok := s.(session.Lister)
			if !ok {
				t.Fatalf("%T does not implement session.Lister", s)
			}
			st.run(t, s, l)
		})
	}
}

// fillForList writes live records with distinct expiries and dead ones with
// expiries in the past, and returns the live IDs with their expiries.
func fillForList(t *testing.T, s session.Store, live, dead int) map[string]time.Time {
	t.Helper()
	want := make(map[string]time.Time)
	now := time.Now()
	for i := range live {
		id, exp := NewID(), now.Add(time.Hour+time.Duration(i)*time.Minute)
		put(t, s, id, []byte("live"), exp)
		want[id] = exp
	}
	for i := range dead {
		put(t, s, NewID(), []byte("dead"), now.Add(-time.Hour-time.Duration(i)*time.Minute))
	}
	return want
}

func testListEnumerates(t *testing.T, s session.Store, l session.Lister) {
	want := fillForList(t, s, 5, 3)
	seen := make(map[string]int)
	err := l.List(t.Context(), func(id string, expiry time.Time) bool {
		seen[id]++
		exp, ok := want[id]
		switch {
		case !ok:
			t.Errorf("List reported %q, which is not a live record", id)
		case expiry.Sub(exp).Abs() > tolerance:
			t.Errorf("List reported %q expiring at %v, want %v", id, expiry, exp)
		}
		return true
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("List reported live record %q %d times, want once", id, seen[id])
		}
	}
}

func testListStops(t *testing.T, s session.Store, l session.Lister) {
	fillForList(t, s, 5, 0)
	calls := 0
	err := l.List(t.Context(), func(string, time.Time) bool {
		calls++
		return calls < 2
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if calls != 2 {
		t.Errorf("List called fn %d times after it returned false on call 2, want 2", calls)
	}
}

func testListContextCanceled(t *testing.T, s session.Store, l session.Lister) {
	fillForList(t, s, 3, 0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := 0
	err := l.List(ctx, func(string, time.Time) bool { calls++; return true })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("List with a canceled context = %v, want an error wrapping context.Canceled", err)
	}
	if calls != 0 {
		t.Errorf("List with a canceled context called fn %d times, want 0", calls)
	}
}
