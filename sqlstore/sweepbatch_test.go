package sqlstore_test

import (
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

var _ session.BatchSweeper = (*sqlstore.Store)(nil)

// SweepBatch removes at most limit expired rows per call, never a live one,
// and returns fewer than limit once none is left; the rows are gone.
func TestSweepBatch(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		storetest.RunBatchSweeper(t, func(t *testing.T) session.Store {
			// Options.SweepBatch is Sweep's batch size; SweepBatch's limit
			// must not depend on it.
			return openStore(t, b.newURL(t), sqlstore.Options{SweepBatch: 2})
		}, func(t *testing.T, st session.Store) int {
			var rows int
			if err := st.(*sqlstore.Store).DB().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM sessions").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			return rows
		})
	})
}
