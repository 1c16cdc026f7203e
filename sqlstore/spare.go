package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"sync"
	"time"
)

// Limits of a spareConnector.
const (
	// spareDialLimit bounds a dial that its caller gave up on; the
	// driver's own connect timeout (10 s unless the URL sets one) normally
	// ends it first.
	spareDialLimit = time.Minute
	// spareMaxAge is how long a parked connection is kept for the next
	// Connect; an older one is closed rather than handed out.
	spareMaxAge = 10 * time.Second
	// spareMaxDials bounds the detached dials in flight: beyond it,
	// Connect dials on its caller's context, so that a database that
	// swallows connection attempts is not sent one that outlives its
	// request for every request.
	spareMaxDials = 4
)

// spareConnector wraps the connector of a pool that Open opens so that a
// connection whose setup outlasts its caller's context is not lost. Once an
// outage has emptied the pool, each request must open a connection within
// its own deadline (the Manager's StoreTimeout); when setting one up takes
// longer than that (a loaded machine, a distant server), every attempt
// would be abandoned half-way and traffic would never recover. Here the
// dial runs on a context detached from the caller's (bounded by the
// driver's connect timeout and spareDialLimit, and ended by Close); when the
// caller's context ends first, Connect returns its error at once and the
// dial goes on, parking its connection in a one-slot spare that the next
// Connect returns without dialing. Each abandoned dial thus still feeds the
// pool. At most spareMaxDials dials are detached at a time; beyond that,
// Connect dials on the caller's context, as the bare connector would.
type spareConnector struct {
	driver.Connector
	dialLimit, maxAge time.Duration
	maxDials          int

	base   context.Context // ended by Close: stops the dials in flight
	cancel context.CancelFunc
	wg     sync.WaitGroup // dials in flight

	mu       sync.Mutex
	inflight int         // detached dials in flight
	spare    driver.Conn // nil when none
	spareAt  time.Time
	closed   bool
}

func newSpareConnector(c driver.Connector) *spareConnector {
	base, cancel := context.WithCancel(context.Background())
	return &spareConnector{Connector: c, dialLimit: spareDialLimit, maxAge: spareMaxAge, maxDials: spareMaxDials, base: base, cancel: cancel}
}

// Connect returns the parked spare connection when there is a fresh one,
// and otherwise dials, returning when the dial ends or ctx does, whichever
// comes first.
func (c *spareConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if conn := c.takeSpare(); conn != nil {
		return conn, nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errors.New("sqlstore: connect on a closed pool")
	}
	if c.inflight >= c.maxDials {
		c.mu.Unlock()
		return c.Connector.Connect(ctx)
	}
	c.inflight++
	c.wg.Add(1)
	c.mu.Unlock()

	type result struct {
		conn driver.Conn
		err  error
	}
	handed := make(chan result) // unbuffered: a send succeeds only while Connect waits
	abandoned := make(chan struct{})
	go func() {
		defer func() {
			c.mu.Lock()
			c.inflight--
			c.mu.Unlock()
			c.wg.Done()
		}()
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.dialLimit)
		stop := context.AfterFunc(c.base, cancel)
		conn, err := c.Connector.Connect(dctx)
		stop()
		cancel()
		select {
		case handed <- result{conn, err}:
		case <-abandoned:
			if err == nil {
				c.park(conn)
			}
		}
	}()
	select {
	case r := <-handed:
		return r.conn, r.err
	case <-ctx.Done():
		close(abandoned)
		return nil, ctx.Err()
	}
}

// takeSpare returns the parked connection, if any and fresh, emptying the
// slot; a stale one is closed.
func (c *spareConnector) takeSpare() driver.Conn {
	c.mu.Lock()
	conn, at := c.spare, c.spareAt
	c.spare = nil
	c.mu.Unlock()
	if conn == nil {
		return nil
	}
	if time.Since(at) > c.maxAge {
		conn.Close()
		return nil
	}
	return conn
}

// park keeps conn for the next Connect, closing the one it replaces (or
// conn itself once the connector is closed).
func (c *spareConnector) park(conn driver.Conn) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		conn.Close()
		return
	}
	old := c.spare
	c.spare, c.spareAt = conn, time.Now()
	c.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

// Close stops the dials in flight, waits for them, closes the spare
// connection and then the wrapped connector when it is an io.Closer.
// sql.DB.Close calls it.
func (c *spareConnector) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	spare := c.spare
	c.spare = nil
	c.mu.Unlock()
	if spare != nil {
		spare.Close()
	}
	if cl, ok := c.Connector.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}
