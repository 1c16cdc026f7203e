// Package testserver starts private, throw-away servers on loopback for the
// drivers' tests: each server gets its own temporary directory and a free
// port, and is stopped when the test package's tests end.
//
// The servers come from Debian's packages, which scripts/test.sh installs when
// they are missing. A server that cannot be started fails the test when the
// environment variable CI is "true" (so CI never passes by skipping), and
// skips it with a message naming the install command otherwise.
package testserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Unavailable reports that the server what could not be had: under CI=true it
// fails the test, otherwise it skips it, saying how to install the server.
func Unavailable(t testing.TB, what string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s is not available: %v (bash scripts/test.sh installs and starts every server the tests need)", what, err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// LookPath returns the path of the first of the named programs found in PATH
// or in dirs.
func LookPath(names []string, dirs ...string) (string, error) {
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		for _, d := range dirs {
			if p := filepath.Join(d, name); isExecutable(p) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("none of %v found in PATH or %v", names, dirs)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ClosedAddr returns a loopback address, host:port, where nothing listens:
// the address of a server that is not there.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Dir creates a fresh temporary directory that other users (a server that
// drops privileges, such as PostgreSQL's postgres user) can enter: mode 0755.
// The caller removes it.
func Dir(prefix string) (string, error) {
	d, err := os.MkdirTemp("", "sessionkit-"+prefix+"-")
	if err != nil {
		return "", err
	}
	return d, os.Chmod(d, 0o755)
}

// WaitTCP waits until addr accepts TCP connections or timeout passes.
func WaitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not accept connections within %v: %w", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
