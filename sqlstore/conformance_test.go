package sqlstore_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// TestConformance runs the Store, Mover, UserIndex and Manager conformance
// suites on every dialect: one database per dialect, on a pool the test owns (New), and
// a fresh table per subtest. RunManager sends 200 concurrent requests on one
// session through the middleware (each putting its own key and pushing onto
// one list: nothing may be lost), checks that a read-only request makes one
// Load and no write, that Regenerate makes the old ID stop loading, and that
// a slow request does not bring back a session destroyed meanwhile; and,
// since the Store is a session.UserIndex, the sessions of a user: Login,
// listing, destroying them, 50 concurrent logins of one user.
func TestConformance(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := appPool(t, b.dialect, b.newURL(t))
		var n atomic.Int64
		newStore := func(t *testing.T) session.Store {
			st, err := sqlstore.New(t.Context(), db, b.dialect, sqlstore.Options{
				Table: fmt.Sprintf("conformance_%d", n.Add(1)),
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			return st
		}
		storetest.Run(t, newStore)
		storetest.RunMover(t, newStore)
		storetest.RunUserIndex(t, newStore)
		storetest.RunManager(t, newStore)
	})
}
