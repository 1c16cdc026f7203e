package filestore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/storetest"
)

// scalePayload is a typical encoded session (about 130 bytes).
var scalePayload = []byte(`{"v":1,"data":{"user":{"id":42,"name":"Ana"},"cart":["apple","pear"]},"token":"` +
	"tttttttttttttttttttttttttttttttttttttttttt" + `","flash":{}}`)

// fillStore writes n sessions with Update from several goroutines, with
// expiries spread evenly from `from` over span (so over span/minute index
// minutes), and returns their IDs.
func fillStore(b *testing.B, s *filestore.Store, n int, from time.Time, span time.Duration) []string {
	b.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = storetest.NewID()
	}
	workers := 4 * runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				exp := from.Add(span * time.Duration(i) / time.Duration(n))
				err := s.Update(context.Background(), ids[i], func([]byte, bool) ([]byte, time.Time, error) {
					return scalePayload, exp, nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return ids
}

// BenchmarkScale measures how the file store's costs grow with the number
// of stored sessions N: one Load and one Update of a random session among
// N, one Sweep that finds nothing due among N live sessions (Sweep0), and
// one Sweep that removes the 1% of N that expired (Sweep1pct; N/100 expired
// sessions are written, untimed, before each). Live sessions expire in one
// to three hours, expired ones expired over the last hour, so the index
// has some 180 minutes. Sessions are written with Update from several
// goroutines. N is 10,000, and also 1,000,000 with SESSION_SCALE=1m (that
// writes about 5 GB into the temporary directory and takes minutes):
//
//	go test -run '^$' -bench Scale ./filestore/
//	SESSION_SCALE=1m go test -run '^$' -bench 'Scale/N=1000000' -timeout 80m ./filestore/
func BenchmarkScale(b *testing.B) {
	for _, n := range storetest.ScaleSizes(10_000) {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			s := newStore(b, dir)
			ctx := context.Background()
			now := time.Now()
			start := time.Now()
			dead := n / 100
			// Writing a million sessions takes minutes: start the live
			// expiries an hour ahead so that none has passed when the
			// benchmarks run.
			live := fillStore(b, s, n-dead, now.Add(time.Hour), 2*time.Hour)
			b.Logf("wrote %d sessions in %v", n-dead, time.Since(start))
			// A first sweep (which builds the index of a new directory).
			if _, err := s.Sweep(ctx); err != nil {
				b.Fatal(err)
			}

			b.Run("Load", func(b *testing.B) {
				for b.Loop() {
					if _, _, found, err := s.Load(ctx, live[rand.IntN(len(live))]); !found || err != nil {
						b.Fatalf("Load: found=%v err=%v", found, err)
					}
				}
			})
			b.Run("Update", func(b *testing.B) {
				exp := time.Now().Add(2 * time.Hour)
				fn := func([]byte, bool) ([]byte, time.Time, error) { return scalePayload, exp, nil }
				for b.Loop() {
					if err := s.Update(ctx, live[rand.IntN(len(live))], fn); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Sweep0", func(b *testing.B) {
				for b.Loop() {
					if removed, err := s.Sweep(ctx); removed != 0 || err != nil {
						b.Fatalf("Sweep = (%d, %v), want (0, nil)", removed, err)
					}
				}
			})
			b.Run("Sweep1pct", func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					fillStore(b, s, dead, time.Now().Add(-time.Hour), 59*time.Minute)
					b.StartTimer()
					if removed, err := s.Sweep(ctx); removed != dead || err != nil {
						b.Fatalf("Sweep = (%d, %v), want (%d, nil)", removed, err, dead)
					}
				}
				b.ReportMetric(float64(dead), "removed/op")
			})
		})
	}
}
