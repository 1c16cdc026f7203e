package memstore_test

import (
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

var _ session.Lister = (*memstore.Store)(nil)

func TestLister(t *testing.T) {
	storetest.RunLister(t, func(t *testing.T) session.Store { return memstore.New() })
}
