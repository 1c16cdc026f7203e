package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowConnector is a driver.Connector whose Connect takes delay (or until
// its context ends) and counts its dials and the connections closed.
type slowConnector struct {
	delay  time.Duration
	dials  atomic.Int32
	closed atomic.Int32
	fail   error
}

type fakeConn struct {
	driver.Conn // nil: only Close is called
	c           *slowConnector
	once        sync.Once
}

func (f *fakeConn) Close() error {
	f.once.Do(func() { f.c.closed.Add(1) })
	return nil
}

func (s *slowConnector) Connect(ctx context.Context) (driver.Conn, error) {
	s.dials.Add(1)
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
	}
	if s.fail != nil {
		return nil, s.fail
	}
	return &fakeConn{c: s}, nil
}

func (s *slowConnector) Driver() driver.Driver { return nil }

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func connectWithin(c *spareConnector, d time.Duration) (driver.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.Connect(ctx)
}

// A dial its caller gave up on goes on, and its connection is the next
// Connect's, without a dial of its own.
func TestSpareAbandonedDialFeedsNext(t *testing.T) {
	inner := &slowConnector{delay: 200 * time.Millisecond}
	c := newSpareConnector(inner)
	defer c.Close()
	if _, err := connectWithin(c, 20*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect with a deadline shorter than the dial: error %v, want DeadlineExceeded", err)
	}
	waitFor(t, "the abandoned dial to park its connection", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.spare != nil
	})
	conn, err := connectWithin(c, 20*time.Millisecond)
	if err != nil || conn == nil {
		t.Fatalf("Connect with a spare parked: %v, %v", conn, err)
	}
	if n := inner.dials.Load(); n != 1 {
		t.Errorf("%d dials, want 1: the second Connect should have taken the spare", n)
	}
	conn.Close()

	// A caller that waits gets its own dial's connection.
	inner.delay = 0
	if conn, err := connectWithin(c, 5*time.Second); err != nil || conn == nil {
		t.Errorf("Connect on a fast dial: %v, %v", conn, err)
	}
}

// One slot: a second parked connection replaces the first, which is
// closed; a stale spare is closed rather than handed out; a failed
// abandoned dial parks nothing.
func TestSpareSlot(t *testing.T) {
	inner := &slowConnector{delay: 100 * time.Millisecond}
	c := newSpareConnector(inner)
	defer c.Close()
	for range 2 {
		if _, err := connectWithin(c, 10*time.Millisecond); err == nil {
			t.Fatal("Connect with a deadline shorter than the dial succeeded")
		}
	}
	waitFor(t, "both dials", func() bool { return inner.closed.Load() == 1 })
	c.mu.Lock()
	if c.spare == nil {
		t.Error("no spare parked after two abandoned dials")
	}
	c.spareAt = time.Now().Add(-2 * c.maxAge) // stale
	c.mu.Unlock()
	inner.delay = 0
	conn, err := connectWithin(c, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if inner.closed.Load() != 2 || inner.dials.Load() != 3 {
		t.Errorf("stale spare: %d closed, %d dials; want it closed (2) and a new dial (3)", inner.closed.Load(), inner.dials.Load())
	}
	conn.Close()

	inner.delay, inner.fail = 100*time.Millisecond, errors.New("refused")
	if _, err := connectWithin(c, 10*time.Millisecond); err == nil {
		t.Fatal("Connect with a deadline shorter than the dial succeeded")
	}
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spare != nil {
		t.Error("a failed dial parked a connection")
	}
}

// Close ends the dials in flight, waits for them and closes the spare;
// Connect after Close fails.
func TestSpareClose(t *testing.T) {
	inner := &slowConnector{delay: time.Hour}
	c := newSpareConnector(inner)
	if _, err := connectWithin(c, 10*time.Millisecond); err == nil {
		t.Fatal("Connect on an endless dial succeeded")
	}
	c.park(&fakeConn{c: inner})
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end a dial in flight")
	}
	if inner.closed.Load() != 1 {
		t.Errorf("%d connections closed, want the spare's 1", inner.closed.Load())
	}
	if _, err := connectWithin(c, time.Second); err == nil {
		t.Error("Connect after Close succeeded")
	}
	c.park(&fakeConn{c: inner})
	if inner.closed.Load() != 2 {
		t.Error("a connection parked after Close was not closed")
	}
}

// Beyond maxDials detached dials in flight, Connect dials on its caller's
// context: the dial ends with it.
func TestSpareDialLimit(t *testing.T) {
	inner := &slowConnector{delay: time.Hour}
	c := newSpareConnector(inner)
	defer c.Close()
	c.maxDials = 2
	for i := range 3 {
		if _, err := connectWithin(c, 10*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Connect %d on an endless dial: error %v, want DeadlineExceeded", i, err)
		}
	}
	waitFor(t, "the detached dials to start", func() bool { return inner.dials.Load() == 3 })
	c.mu.Lock()
	n := c.inflight
	c.mu.Unlock()
	if n != 2 {
		t.Errorf("%d dials, %d detached in flight; want 3 dials, 2 in flight (the third on the caller's context)", inner.dials.Load(), n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Connect(ctx); !errors.Is(err, context.Canceled) || inner.dials.Load() != 3 {
		t.Errorf("Connect on an ended context: error %v after %d dials; want Canceled and no dial", err, inner.dials.Load())
	}
}
