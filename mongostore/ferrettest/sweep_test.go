package ferrettest_test

import (
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/mongostore"
	"github.com/sessionkit/session/storetest"
)

var _ session.BatchSweeper = (*mongostore.Store)(nil)

// SweepBatch removes at most limit expired documents per call, never a live
// one, and returns fewer than limit once none is left; the documents are
// gone.
func TestSweepBatch(t *testing.T) {
	storetest.RunBatchSweeper(t, func(t *testing.T) session.Store { return newStore(t) },
		func(t *testing.T, st session.Store) int { return int(count(t, st.(*mongostore.Store).Collection())) })
}
