package memstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

var _ session.BatchSweeper = (*memstore.Store)(nil)

// SweepBatch removes at most limit expired records per call, never a live
// one, and returns fewer than limit once none is left.
func TestSweepBatch(t *testing.T) {
	s := memstore.New()
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	var live []string
	for i := range 100 { // across the shards: 25 live, 75 expired
		id, exp := storetest.NewID(), past
		if i%4 == 0 {
			exp = future
			live = append(live, id)
		}
		put(t, s, id, "x", exp)
	}
	ctx := context.Background()
	var got []int
	for range 10 {
		n, err := s.SweepBatch(ctx, 30)
		if err != nil {
			t.Fatalf("SweepBatch after %v: %v", got, err)
		}
		got = append(got, n)
		if n < 30 {
			break
		}
	}
	if want := []int{30, 30, 15}; !slices.Equal(got, want) {
		t.Errorf("SweepBatch(30) removed %v, want %v", got, want)
	}
	// An exact multiple: the last full batch is followed by an empty one.
	for range 10 {
		put(t, s, storetest.NewID(), "x", past)
	}
	if n, err := s.SweepBatch(ctx, 10); n != 10 || err != nil {
		t.Errorf("SweepBatch(10) of 10 expired = (%d, %v)", n, err)
	}
	if n, err := s.SweepBatch(ctx, 10); n != 0 || err != nil {
		t.Errorf("SweepBatch with nothing expired = (%d, %v), want (0, nil)", n, err)
	}
	var left []string
	if err := s.List(ctx, func(id string, _ time.Time) bool { left = append(left, id); return true }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(left)
	slices.Sort(live)
	if !slices.Equal(left, live) {
		t.Errorf("after the sweep, %d sessions are left, want the %d live ones", len(left), len(live))
	}
	for _, id := range live {
		if _, _, found, err := s.Load(ctx, id); !found || err != nil {
			t.Errorf("live session %s: found %v, %v", id, found, err)
		}
	}
	if n, err := s.Sweep(ctx); n != 0 || err != nil {
		t.Errorf("Sweep after the batches = (%d, %v), want (0, nil)", n, err)
	}
	for _, limit := range []int{0, -1} {
		if _, err := s.SweepBatch(ctx, limit); err == nil {
			t.Errorf("SweepBatch(%d) = nil error", limit)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	put(t, s, storetest.NewID(), "x", past)
	if n, err := s.SweepBatch(cctx, 10); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("SweepBatch with an ended context = (%d, %v), want (0, context.Canceled)", n, err)
	}
}

// The conformance checks of session.BatchSweeper.
func TestBatchSweeperConformance(t *testing.T) {
	storetest.RunBatchSweeper(t, func(*testing.T) session.Store { return memstore.New() }, nil)
}
