// Package faultproxy is a TCP proxy on loopback for fault tests: it forwards
// connections to a server and, on demand, stalls them, slows them down,
// swallows their bytes, or cuts them and refuses new ones, to play a server
// that hangs, is slow, or is gone.
package faultproxy

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Mode is what the proxy does with connections and the bytes on them.
type Mode int

// The modes.
const (
	Up        Mode = iota // forward every byte at once
	Hang                  // hold every byte until the mode changes
	Slow                  // forward each byte after the proxy's delay
	Blackhole             // read and discard every byte; accept new connections
	Down                  // close every connection and refuse new ones
)

func (m Mode) String() string {
	switch m {
	case Up:
		return "up"
	case Hang:
		return "hang"
	case Slow:
		return "slow"
	case Blackhole:
		return "blackhole"
	case Down:
		return "down"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// A Proxy forwards the TCP connections it accepts on loopback to one backend
// address. It is safe for concurrent use.
type Proxy struct {
	ln      net.Listener
	backend string

	mu      sync.Mutex
	cond    *sync.Cond
	mode    Mode
	delay   time.Duration // per byte, in Slow mode
	connect time.Duration // before a new connection reaches the backend
	conns   map[net.Conn]bool
	wg      sync.WaitGroup
	done    bool
	stop    chan struct{} // closed by Close
}

// New starts a proxy to backend (host:port) on a free loopback port, in mode.
func New(backend string, mode Mode) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{ln: ln, backend: backend, mode: mode, delay: 10 * time.Millisecond, conns: map[net.Conn]bool{}, stop: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr returns the proxy's address, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Set switches the proxy to mode. Down closes every open connection.
func (p *Proxy) Set(mode Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
	if mode == Down {
		p.closeConnsLocked()
	}
	p.cond.Broadcast()
}

// SetDelay sets the delay per byte of Slow mode (default 10ms).
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// SetConnectDelay makes every new connection wait d before the proxy dials
// the backend for it (default 0), so that setting one up takes at least d:
// a server slow to accept connections.
func (p *Proxy) SetConnectDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.connect = d
}

// Mode returns the proxy's mode.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Close stops the proxy, closes every connection and waits for its
// goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if !p.done {
		p.done = true
		close(p.stop)
	}
	p.closeConnsLocked()
	p.cond.Broadcast()
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("faultproxy: close: %w", err)
	}
	return nil
}

func (p *Proxy) closeConnsLocked() {
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.accept(c)
	}
}

// accept connects c to the backend, after the connect delay, and starts
// piping between them.
func (p *Proxy) accept(c net.Conn) {
	defer p.wg.Done()
	p.mu.Lock()
	mode, done, wait := p.mode, p.done, p.connect
	p.mu.Unlock()
	if done || mode == Down {
		c.Close()
		return
	}
	if wait > 0 {
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-p.stop:
			timer.Stop()
			c.Close()
			return
		}
		p.mu.Lock()
		mode = p.mode
		p.mu.Unlock()
	}
	var s net.Conn
	if mode != Blackhole {
		var err error
		if s, err = net.DialTimeout("tcp", p.backend, 5*time.Second); err != nil {
			c.Close()
			return
		}
	}
	p.mu.Lock()
	if p.done || p.mode == Down {
		p.mu.Unlock()
		c.Close()
		if s != nil {
			s.Close()
		}
		return
	}
	p.conns[c] = true
	if s != nil {
		p.conns[s] = true
	}
	p.wg.Add(2)
	p.mu.Unlock()
	go p.pipe(c, s)
	go p.pipe(s, c)
}

// pipe copies from src to dst by the rules of the current mode. A nil src
// (the backend side of a blackholed connection) waits for the client side
// to end; a nil dst swallows bytes.
func (p *Proxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	defer p.forget(src, dst)
	if src == nil {
		p.mu.Lock()
		for !p.done && p.conns[dst] {
			p.cond.Wait()
		}
		p.mu.Unlock()
		return
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.forward(buf[:n], dst) {
			return
		}
		if err != nil {
			return
		}
	}
}

// forward writes b to dst as the mode says, and reports whether the
// connection lives on.
func (p *Proxy) forward(b []byte, dst net.Conn) bool {
	for len(b) > 0 {
		p.mu.Lock()
		for p.mode == Hang && !p.done {
			p.cond.Wait()
		}
		mode, delay, done := p.mode, p.delay, p.done
		p.mu.Unlock()
		switch {
		case done || mode == Down:
			return false
		case mode == Blackhole || dst == nil:
			return true
		case mode == Slow:
			time.Sleep(delay)
			if _, err := dst.Write(b[:1]); err != nil {
				return false
			}
			b = b[1:]
		default:
			_, err := dst.Write(b)
			return err == nil
		}
	}
	return true
}

// forget closes both ends and drops them from the proxy's set.
func (p *Proxy) forget(a, b net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range []net.Conn{a, b} {
		if c != nil {
			c.Close()
			delete(p.conns, c)
		}
	}
	p.cond.Broadcast()
}
