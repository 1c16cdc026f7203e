package ferrettest_test

import (
	"testing"

	"github.com/sessionkit/session/storetest"
)

// BenchmarkRequest measures one request through the middleware with the
// MongoDB store, as the root package's BenchmarkRequest does for the other
// stores (storetest.BenchmarkRequests): a new visitor whose handler puts a
// value (new), an existing session read (read), written (write) and not
// touched (untouched). The server is the embedded FerretDB 1.24 on SQLite,
// reached through the tests' one-connection client, so the numbers measure
// FerretDB+SQLite, not MongoDB.
func BenchmarkRequest(b *testing.B) {
	storetest.BenchmarkRequests(b, newStore(b))
}
