package sqlstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

var _ session.BatchSweeper = (*sqlstore.Store)(nil)

// SweepBatch removes at most limit expired rows per call, never a live one,
// and returns fewer than limit once none is left.
func TestSweepBatch(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		// Options.SweepBatch is Sweep's batch size; SweepBatch's limit
		// must not depend on it.
		st := openStore(t, b.newURL(t), sqlstore.Options{SweepBatch: 2})
		ctx := t.Context()
		past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		var live []string
		for i := range 12 {
			id, exp := storetest.NewID(), past
			if i%4 == 0 {
				exp = future // 3 live, 9 expired
				live = append(live, id)
			}
			if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), exp, nil }); err != nil {
				t.Fatal(err)
			}
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
		var left []string
		if err := st.List(ctx, func(id string, _ time.Time) bool { left = append(left, id); return true }); err != nil {
			t.Fatal(err)
		}
		var rows int
		if err := st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM sessions").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		slices.Sort(left)
		slices.Sort(live)
		if !slices.Equal(left, live) || rows != len(live) {
			t.Errorf("after the sweep: %d rows, live %v, want only the live %v", rows, left, live)
		}
		for _, limit := range []int{0, -1} {
			if _, err := st.SweepBatch(ctx, limit); err == nil {
				t.Errorf("SweepBatch(%d) = nil error", limit)
			}
		}
	})
}
