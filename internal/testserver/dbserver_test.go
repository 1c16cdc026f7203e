package testserver

import (
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"testing"
	"time"
)

// checkDBServer checks a helper: two calls give two databases on one
// server, the client can use them, and stop stops the server (a later call
// starts a new one).
func checkDBServer(t *testing.T, newDB func(testing.TB) string, stop func(), query func(u *url.URL) *exec.Cmd) {
	u1, u2 := newDB(t), newDB(t)
	if u1 == u2 {
		t.Fatalf("two calls gave the same database %s", u1)
	}
	p1, _ := url.Parse(u1)
	p2, _ := url.Parse(u2)
	if p1.Host != p2.Host || p1.Path == p2.Path {
		t.Errorf("want two databases on one server, got %s and %s", u1, u2)
	}
	for _, p := range []*url.URL{p1, p2} {
		if out, err := query(p).CombinedOutput(); err != nil {
			t.Errorf("query on %s: %v\n%s", p, err, out)
		}
	}
	stop()
	if c, err := net.DialTimeout("tcp", p1.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after stop", p1.Host)
	}
	u3 := newDB(t)
	p3, _ := url.Parse(u3)
	if out, err := query(p3).CombinedOutput(); err != nil {
		t.Errorf("query on a server started after stop: %v\n%s", err, out)
	}
	stop()
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	t.Cleanup(StopPostgres)
	checkDBServer(t, Postgres, StopPostgres, func(u *url.URL) *exec.Cmd {
		return exec.Command("psql", u.String(), "-qAtc", "CREATE TABLE t (x int); SELECT 1")
	})
}

func TestMariaDB(t *testing.T) {
	t.Parallel()
	t.Cleanup(StopMariaDB)
	checkDBServer(t, MariaDB, StopMariaDB, func(u *url.URL) *exec.Cmd {
		return exec.Command(mariaClient, "--no-defaults", "--protocol=tcp", "-h", u.Hostname(), "-P", u.Port(), "-u", "root",
			u.Path[1:], "-e", fmt.Sprintf("CREATE TABLE t (x int); SELECT %d", 1))
	})
}
