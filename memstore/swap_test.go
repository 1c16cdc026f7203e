package memstore_test

import (
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

var _ session.Swapper = (*memstore.Store)(nil)

func TestSwapper(t *testing.T) {
	storetest.RunSwapper(t, func(t *testing.T) session.Store { return memstore.New() })
}
