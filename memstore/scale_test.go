package memstore_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

// BenchmarkBytesPerSession measures the heap that the memory store holds per
// session: the growth of runtime.MemStats.HeapAlloc (after a GC) from an
// empty store to one holding N sessions with a typical 135-byte payload (an encoded session with a user, a cart and a CSRF token),
// divided by N, reported as B/session. It counts everything the store keeps
// (the record, its copy of the payload, the ID string it keys the map with,
// the map's buckets). N is 100,000, and also 1,000,000 with
// SESSION_SCALE=1m:
//
//	go test -run '^$' -bench BytesPerSession -benchtime 3x ./memstore/
func BenchmarkBytesPerSession(b *testing.B) {
	payload := []byte(`{"v":1,"data":{"user":{"id":42,"name":"Ana"},"cart":["apple","pear"]},"token":"` +
		"ttttttttttttttttttttttttttttttttttttttttttt" + `","flash":{}}`)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	fn := func([]byte, bool) ([]byte, time.Time, error) { return payload, exp, nil }
	for _, n := range storetest.ScaleSizes(100_000) {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			var perSession float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				s := memstore.New()
				for range n {
					// The ID is made here and kept only by the store, as
					// one from a cookie would be.
					if err := s.Update(ctx, storetest.NewID(), fn); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				if got := s.Len(); got != n {
					b.Fatalf("store holds %d sessions, want %d", got, n)
				}
				runtime.KeepAlive(s)
				perSession = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
			}
			b.ReportMetric(perSession, "B/session")
			b.ReportMetric(float64(len(payload)), "payload-B")
		})
	}
}
