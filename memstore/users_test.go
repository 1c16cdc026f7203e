package memstore_test

import (
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

var _ session.UserIndex = (*memstore.Store)(nil)

// TestUserIndex runs the conformance suite of session.UserIndex.
func TestUserIndex(t *testing.T) {
	storetest.RunUserIndex(t, func(t *testing.T) session.Store { return memstore.New() })
}
