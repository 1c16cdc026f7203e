package sqlstore_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

var _ session.Lister = (*sqlstore.Store)(nil)

// TestLister runs the Lister conformance checks on SQLite, with a fresh table
// per subtest as in TestConformance.
func TestLister(t *testing.T) {
	b := backends[0] // sqlite
	if b.dialect != sqlstore.SQLite {
		t.Fatalf("backends[0] is %s, want sqlite", b.name)
	}
	db := appPool(t, b.dialect, b.newURL(t))
	var n atomic.Int64
	storetest.RunLister(t, func(t *testing.T) session.Store {
		st, err := sqlstore.New(t.Context(), db, b.dialect, sqlstore.Options{
			Table: fmt.Sprintf("lister_%d", n.Add(1)),
		})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return st
	})
}
