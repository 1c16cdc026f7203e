package memstore_test

import (
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

// TestManager runs the manager-level checks (200 concurrent requests on one
// session, read-only cost, Regenerate, Destroy) over the memory store.
func TestManager(t *testing.T) {
	storetest.RunManager(t, func(t *testing.T) session.Store { return memstore.New() })
}
