package ferrettest_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/mongostore"
	"github.com/sessionkit/session/storetest"
)

var _ session.BatchSweeper = (*mongostore.Store)(nil)

// SweepBatch removes at most limit expired documents per call, never a live
// one, and returns fewer than limit once none is left.
func TestSweepBatch(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	var live []string
	for i := range 12 { // 3 live, 9 expired
		id, exp := storetest.NewID(), past
		if i%4 == 0 {
			exp = future
			live = append(live, id)
		}
		put(t, st, id, []byte("x"), exp)
	}
	var got []int
	for range 10 {
		n, err := st.SweepBatch(ctx, 4)
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
	if n, err := st.SweepBatch(ctx, 4); n != 0 || err != nil {
		t.Errorf("SweepBatch with nothing expired = (%d, %v), want (0, nil)", n, err)
	}
	if n := count(t, st.Collection()); n != int64(len(live)) {
		t.Errorf("%d documents after the sweep, want the %d live ones", n, len(live))
	}
	for _, id := range live {
		if _, _, found, err := st.Load(ctx, id); !found || err != nil {
			t.Errorf("live session %s after the sweep: found %v, %v", id, found, err)
		}
	}
	for _, limit := range []int{0, -1} {
		if _, err := st.SweepBatch(ctx, limit); err == nil {
			t.Errorf("SweepBatch(%d) = nil error", limit)
		}
	}
}
