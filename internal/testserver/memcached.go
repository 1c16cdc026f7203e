package testserver

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var memcachedState struct {
	once sync.Once
	addr string
	err  error
	proc *redisProc
	dir  string
}

// Memcached returns the address (host:port) of a private memcached shared by
// the tests of this test binary, started on first use (TCP only, 64 MB).
// StopMemcached stops it. When memcached is missing or does not start, it
// reports the server Unavailable.
func Memcached(t testing.TB) string {
	t.Helper()
	memcachedState.once.Do(func() {
		memcachedState.addr, memcachedState.err = memcachedStart()
	})
	if memcachedState.err != nil {
		Unavailable(t, "memcached", memcachedState.err)
	}
	return memcachedState.addr
}

// StopMemcached stops the memcached that Memcached started, if any, and
// removes its directory. Call it from the test package's TestMain, after
// m.Run.
func StopMemcached() {
	if p := memcachedState.proc; p != nil {
		p.stop()
	}
	if memcachedState.dir != "" {
		os.RemoveAll(memcachedState.dir)
	}
}

func memcachedStart() (string, error) {
	bin, err := LookPath([]string{"memcached"}, "/usr/bin", "/usr/local/bin")
	if err != nil {
		return "", err
	}
	dir, err := Dir("memcached")
	if err != nil {
		return "", err
	}
	memcachedState.dir = dir
	var own []*redisProc
	p, err := redisStartProc("memcached", bin, dir, "", &own, func(port int) []string {
		args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "64", "-c", "1024"}
		if os.Geteuid() == 0 {
			args = append(args, "-u", "root") // memcached refuses to run as root otherwise
		}
		return args
	}, memcachedReady)
	if len(own) > 0 { // the last attempt is the one that runs
		memcachedState.proc = own[len(own)-1]
	}
	if err != nil {
		return "", err
	}
	return p.addr, nil
}

// memcachedReady reports whether the memcached at addr answers "version".
func memcachedReady(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "VERSION ")
}
