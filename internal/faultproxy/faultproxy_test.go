package faultproxy

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sessionkit/session/internal/leakcheck"
)

// echoServer echoes every line back until the test ends.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends a line through addr's connection c and reads it back
// within d.
func roundTrip(c net.Conn, r *bufio.Reader, d time.Duration) (string, error) {
	c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return "", err
	}
	return r.ReadString('\n')
}

func TestModes(t *testing.T) {
	leakcheck.Check(t)
	p, err := New(echoServer(t), Up)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if got, err := roundTrip(c, r, 5*time.Second); got != "ping\n" || err != nil {
		t.Fatalf("up: %q, %v", got, err)
	}

	// Hang holds the bytes; they arrive once the proxy is up again.
	p.Set(Hang)
	if _, err := roundTrip(c, r, 100*time.Millisecond); err == nil {
		t.Fatal("hang: the line came back")
	}
	p.Set(Up)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := r.ReadString('\n'); got != "ping\n" || err != nil {
		t.Fatalf("after hang: %q, %v", got, err)
	}

	// Slow: 5 bytes each way at 20ms a byte take at least 100ms.
	p.SetDelay(20 * time.Millisecond)
	p.Set(Slow)
	start := time.Now()
	if got, err := roundTrip(c, r, 5*time.Second); got != "ping\n" || err != nil {
		t.Fatalf("slow: %q, %v", got, err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("slow: the round trip took %v, less than 5 bytes of 20ms", d)
	}

	// Blackhole swallows the line for good.
	p.Set(Blackhole)
	if _, err := roundTrip(c, r, 100*time.Millisecond); err == nil {
		t.Fatal("blackhole: the line came back")
	}
	p.Set(Up)
	if got, err := roundTrip(c, r, 5*time.Second); got != "ping\n" || err != nil {
		t.Fatalf("up after blackhole: %q, %v", got, err)
	}
	c.SetDeadline(time.Now().Add(100 * time.Millisecond))
	if got, err := r.ReadString('\n'); err == nil {
		t.Fatalf("the blackholed line came back after all: %q", got)
	}

	// Down cuts the connection and refuses new ones.
	p.Set(Down)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("down: the connection is still open")
	}
	if c2, err := net.Dial("tcp", p.Addr()); err == nil {
		c2.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c2.Read(make([]byte, 1)); err == nil {
			t.Error("down: a new connection was served")
		}
		c2.Close()
	}

	// Up again: new connections work.
	p.Set(Up)
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if got, err := roundTrip(c3, bufio.NewReader(c3), 5*time.Second); got != "ping\n" || err != nil {
		t.Fatalf("up again: %q, %v", got, err)
	}
	if p.Mode() != Up || Mode(9).String() != "Mode(9)" || Blackhole.String() != "blackhole" {
		t.Errorf("Mode: %v, %v, %v", p.Mode(), Mode(9), Blackhole)
	}
}

// A connect delay holds a new connection before the backend: its bytes do
// not come back while the delay lasts; connections made after it is lifted
// work at once; Close ends a connection still waiting, without waiting for
// its delay.
func TestConnectDelay(t *testing.T) {
	leakcheck.Check(t)
	p, err := New(echoServer(t), Up)
	if err != nil {
		t.Fatal(err)
	}
	p.SetConnectDelay(time.Hour)
	waiting, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()
	if got, err := roundTrip(waiting, bufio.NewReader(waiting), 100*time.Millisecond); err == nil {
		t.Fatalf("a connection in its connect delay reached the backend: %q", got)
	}
	p.SetConnectDelay(0)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := roundTrip(c, bufio.NewReader(c), 5*time.Second); got != "ping\n" || err != nil {
		t.Fatalf("after the delay was lifted: %q, %v", got, err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	waiting.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := waiting.Read(make([]byte, 1)); err == nil {
		t.Error("Close left the waiting connection open")
	}
}
