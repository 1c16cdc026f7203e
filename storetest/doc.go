// Package storetest is the conformance suite for session.Store
// implementations. Every built-in store runs it against itself, and so should
// any third-party store (SQL, Redis, memcached, MongoDB, ...).
//
// A store's test calls Run with a constructor; each subtest gets a fresh,
// empty store from it:
//
//	package mystore_test
//
//	import (
//		"testing"
//
//		"github.com/sessionkit/session"
//		"github.com/sessionkit/session/storetest"
//
//		"example.com/mystore"
//	)
//
//	func TestConformance(t *testing.T) {
//		newStore := func(t *testing.T) session.Store {
//			s, err := mystore.Open("mystore://localhost", mystore.Options{
//				Prefix: storetest.NewID() + ":", // a fresh key space per subtest
//			})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		}
//		storetest.Run(t, newStore)
//		storetest.RunManager(t, newStore)
//	}
//
// The constructor must return an empty store: subtests count records (the
// Sweep test expects Sweep to report exactly the records it created), so a
// store shared between subtests, or pre-filled, fails them. Use t.TempDir,
// a per-test key prefix, table or database for isolation, and t.Cleanup to
// release resources.
//
// The suite checks every rule in the session.Store documentation:
//
//   - Load of a missing ID reports found == false with a nil error.
//   - Update creates a record; Load returns its data and expiry (within one
//     second, for back ends that keep whole seconds). Update with a non-nil,
//     empty slice stores an empty record; only nil deletes.
//   - Update shows fn the current record (data == nil, found == false when
//     there is none, including after Delete and after expiry), stores what
//     fn returns, deletes on nil data, and on an error from fn writes nothing
//     and returns that error (errors.Is). The store must not keep the slice fn
//     returned: the caller may reuse it once Update returns.
//   - A record whose expiry has passed is never returned by Load, and
//     Update's fn sees found == false for it. Records are written with an
//     expiry in the past rather than waited for, so the suite stays fast.
//   - Delete removes a record, and deleting a missing one is not an error.
//   - Touch moves the expiry without changing the data; it creates nothing for
//     a missing ID and does not revive an expired record.
//   - IDs are distinct byte strings: IDs differing only in letter case, by a
//     trailing space or by path tricks ("./id", "x/../id") never reach
//     another ID's record, and hostile IDs ("../../etc/passwd", "", ".", "..",
//     a NUL byte, 1000 characters) never panic; Load reports them as not
//     found with a nil error. Update, Delete and Touch may reject them with
//     an error.
//   - A canceled context makes Load and Update return an error that
//     errors.Is reports as context.Canceled, and the canceled Update writes
//     nothing; an expired deadline makes Load return context.DeadlineExceeded.
//   - 200 goroutines updating one ID each add their own key to the record and
//     none is lost, while concurrent Loads only ever see whole records;
//     concurrent updates on many IDs never mix records.
//   - A store that implements session.Sweeper removes exactly the expired
//     records and reports how many; live records still load. (Update with an
//     expiry in the past must therefore store the record, as the contract
//     says, so that Sweep has something to remove.)
//
// RunManager checks the store through session.Manager, as applications use
// it: 200 concurrent requests on one session lose no update, a read-only
// request costs one Load and no write, Regenerate makes the old ID stop
// loading, and a slow request does not bring back a destroyed session.
// RunMover checks the optional session.Mover, RunSwapper the optional
// session.Swapper (one-round-trip saves), RunLister the optional
// session.Lister (used by sessionctl), and RunBatchSweeper the optional
// session.BatchSweeper (sessionctl gc's progress). NewManager returns a
// Manager with test defaults, and Request, Put and Get send requests through
// one; MeasureRequests counts what a new session, a read and a write cost,
// and Plain hides a store's optional interfaces to compare with: for a
// driver's own tests of its request costs.
// RunUpdatePanic checks a store that runs Update's fn under a lock: a panic
// in fn leaves no lock held. BenchmarkRequests measures one request through
// the middleware over a store (new, read, write, untouched); BenchmarkLoad
// and BenchmarkUpdate measure the store's own calls; ScaleSizes gives a
// scale benchmark its store sizes (SESSION_SCALE=1m adds a million).
//
// Session IDs in the suite look like the Manager's: see NewID.
//
// Run the suite with the race detector (go test -race); several subtests are
// only meaningful under it.
package storetest
