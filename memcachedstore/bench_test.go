package memcachedstore_test

import (
	"testing"

	"github.com/sessionkit/session/storetest"
)

// BenchmarkRequest measures one request through the middleware over
// memcached (new, read, write, untouched), as every store does.
func BenchmarkRequest(b *testing.B) {
	storetest.BenchmarkRequests(b, newStore(b, newClient(b)))
}
