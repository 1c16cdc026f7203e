package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// RunBatchSweeper runs the conformance checks of the optional
// session.BatchSweeper interface on a store from newStore (a new, empty
// one, as for Run); it fails when the store does not implement
// session.BatchSweeper.
//
// With 9 expired and 3 live records, SweepBatch(ctx, 4) removes 4, 4 and
// then 1 (fewer than the limit: none is left), and then 0; the live records
// still load (and, for a session.Lister, are exactly what List reports); a
// limit below 1 is an error. stored, when not nil, returns how many records
// the store physically holds, expired or not, so that the checks also see
// that the expired records are gone and not merely hidden.
func RunBatchSweeper(t *testing.T, newStore func(t *testing.T) session.Store, stored func(t *testing.T, st session.Store) int) {
	t.Helper()
	st := newStore(t)
	bs, ok := st.(session.BatchSweeper)
	if !ok {
		t.Fatalf("%T does not implement session.BatchSweeper", st)
	}
	ctx := t.Context()
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	var live []string
	for i := range 12 { // 3 live, 9 expired
		id, exp := NewID(), past
		if i%4 == 0 {
			exp = future
			live = append(live, id)
		}
		if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), exp, nil }); err != nil {
			t.Fatal(err)
		}
	}
	var got []int
	for range 10 {
		n, err := bs.SweepBatch(ctx, 4)
		if err != nil {
			t.Fatalf("SweepBatch after %v: %v", got, err)
		}
		got = append(got, n)
		if n < 4 {
			break
		}
	}
	if want := []int{4, 4, 1}; !slices.Equal(got, want) {
		t.Errorf("SweepBatch(4) removed %v, want %v", got, want)
	}
	if n, err := bs.SweepBatch(ctx, 4); n != 0 || err != nil {
		t.Errorf("SweepBatch with nothing expired = (%d, %v), want (0, nil)", n, err)
	}
	for _, id := range live {
		if _, _, found, err := st.Load(ctx, id); !found || err != nil {
			t.Errorf("live session %s after the sweep: found %v, %v", id, found, err)
		}
	}
	if l, ok := st.(session.Lister); ok {
		var left []string
		if err := l.List(ctx, func(id string, _ time.Time) bool { left = append(left, id); return true }); err != nil {
			t.Fatal(err)
		}
		slices.Sort(left)
		slices.Sort(live)
		if !slices.Equal(left, live) {
			t.Errorf("List after the sweep = %v, want only the live %v", left, live)
		}
	}
	if stored != nil {
		if n := stored(t, st); n != len(live) {
			t.Errorf("the store holds %d records after the sweep, want the %d live ones", n, len(live))
		}
	}
	for _, limit := range []int{0, -1} {
		if _, err := bs.SweepBatch(context.Background(), limit); err == nil {
			t.Errorf("SweepBatch(%d) = nil error", limit)
		}
	}
}
