package filestore_test

import (
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/storetest"
)

// TestManager runs the manager-level checks (200 concurrent requests on one
// session, read-only cost, Regenerate, Destroy, and, the store being a
// session.UserIndex, the sessions of a user: Login, listing, destroying,
// 50 concurrent logins) over the file store.
func TestManager(t *testing.T) {
	storetest.RunManager(t, func(t *testing.T) session.Store {
		st, err := filestore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}
