package storetest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// ScaleSizes returns the store sizes of a scale benchmark: n, and 1,000,000
// too when the environment sets SESSION_SCALE=1m (a long run).
func ScaleSizes(n int) []int {
	if os.Getenv("SESSION_SCALE") == "1m" {
		return []int{n, 1_000_000}
	}
	return []int{n}
}

// benchPayload is the record the store benchmarks write: a small session.
var benchPayload = []byte("some session payload of a typical size, say eighty bytes long......")

// benchIDs returns n new IDs.
func benchIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = NewID()
	}
	return ids
}

// BenchmarkLoad measures st.Load of a live record, from parallel goroutines
// (b.RunParallel) taking ids records in turn, which it writes first. It
// reports allocations. A store's benchmark calls it with a fresh store:
//
//	func BenchmarkLoad(b *testing.B) { storetest.BenchmarkLoad(b, newStore(b), 256) }
func BenchmarkLoad(b *testing.B, st session.Store, ids int) {
	b.Helper()
	ctx := context.Background()
	keys := benchIDs(ids)
	exp := time.Now().Add(time.Hour)
	for _, id := range keys {
		err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return benchPayload, exp, nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, _, found, err := st.Load(ctx, keys[i%len(keys)]); !found || err != nil {
				b.Errorf("Load: found %v, %v", found, err)
				return
			}
			i++
		}
	})
}

// BenchmarkUpdate measures st.Update writing a small record (68 bytes)
// under one of ids IDs in turn, from parallel goroutines (b.RunParallel):
// the first write of each ID creates its record, later ones replace it. It
// reports allocations.
func BenchmarkUpdate(b *testing.B, st session.Store, ids int) {
	b.Helper()
	ctx := context.Background()
	keys := benchIDs(ids)
	exp := time.Now().Add(time.Hour)
	fn := func([]byte, bool) ([]byte, time.Time, error) { return benchPayload, exp, nil }
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := st.Update(ctx, keys[i%len(keys)], fn); err != nil {
				b.Errorf("Update: %v", err)
				return
			}
			i++
		}
	})
}
