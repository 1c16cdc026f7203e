package testserver

// Private Redis servers for the redisstore tests: a single server, a
// three-master Cluster and a master + replica + Sentinel group. Each kind is
// started once per test binary, on first use, and stopped by StopRedis, which
// the test package's TestMain calls. RedisSentinelFresh starts a group of its
// own for a test that breaks it (a failover), stopped when that test ends.
//
// The servers run in the foreground as children of the test binary (no
// --daemonize), with --save '' --appendonly no, in a directory from Dir, on
// free loopback ports. On Linux they also get SIGKILL when the test binary
// dies (a crash, a -timeout panic), so nothing is left behind.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RedisMasterName is the master name of the Sentinel groups started here.
const RedisMasterName = "mymaster"

// redisStartTimeout bounds the wait for one server to answer PING.
const redisStartTimeout = 15 * time.Second

// RedisSentinelGroup describes a master + replica + Sentinel group. The
// master and replica addresses are the roles at start: a failover swaps them.
type RedisSentinelGroup struct {
	SentinelAddr string // the Sentinel, host:port
	MasterName   string // the name the Sentinel monitors the master under
	MasterAddr   string // the master at start
	ReplicaAddr  string // its replica at start
}

// redisProc is one running redis-server (or memcached) child process.
type redisProc struct {
	name string // for messages: "redis", "cluster node 2", ...
	addr string
	dir  string // removed when the process stops, if owned
	log  string // the log file, read when the start fails
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	werr error         // cmd.Wait's result, set before done closes
}

var (
	redisMu    sync.Mutex
	redisProcs []*redisProc // every process started, for StopRedis
	redisDirs  []string     // every directory made, for StopRedis

	redisSingle struct {
		once sync.Once
		addr string
		err  error
	}
	redisCluster struct {
		once  sync.Once
		addrs []string
		err   error
	}
	redisSentinel struct {
		once  sync.Once
		group RedisSentinelGroup
		err   error
	}
)

// Redis returns the address (host:port) of a private redis-server shared by
// the tests of this test binary. When redis-server is missing or does not
// start, it reports the server Unavailable.
func Redis(t testing.TB) string {
	t.Helper()
	redisSingle.once.Do(func() {
		redisSingle.addr, redisSingle.err = redisStartSingle()
	})
	if redisSingle.err != nil {
		Unavailable(t, "redis-server", redisSingle.err)
	}
	return redisSingle.addr
}

// RedisCluster returns the addresses of the three masters of a private Redis
// Cluster (no replicas), shared by the tests of this test binary, once every
// node reports cluster_state:ok.
func RedisCluster(t testing.TB) []string {
	t.Helper()
	redisCluster.once.Do(func() {
		redisCluster.addrs, redisCluster.err = redisStartCluster(nil)
	})
	if redisCluster.err != nil {
		Unavailable(t, "Redis Cluster", redisCluster.err)
	}
	return redisCluster.addrs
}

// RedisSentinel returns a private master + replica + Sentinel group shared by
// the tests of this test binary. Tests that fail the master over must use
// RedisSentinelFresh instead.
func RedisSentinel(t testing.TB) RedisSentinelGroup {
	t.Helper()
	redisSentinel.once.Do(func() {
		redisSentinel.group, redisSentinel.err = redisStartSentinel(nil)
	})
	if redisSentinel.err != nil {
		Unavailable(t, "Redis Sentinel", redisSentinel.err)
	}
	return redisSentinel.group
}

// RedisSentinelFresh starts a master + replica + Sentinel group for t alone
// and stops it when t ends: a test may fail it over or kill its master.
func RedisSentinelFresh(t testing.TB) RedisSentinelGroup {
	t.Helper()
	var procs []*redisProc
	g, err := redisStartSentinel(&procs)
	t.Cleanup(func() {
		for _, p := range procs {
			p.stop()
		}
	})
	if err != nil {
		Unavailable(t, "Redis Sentinel", err)
	}
	return g
}

// StopRedis stops every Redis server this package started and removes their
// directories. Call it from the test package's TestMain, after m.Run.
func StopRedis() {
	redisMu.Lock()
	procs, dirs := redisProcs, redisDirs
	redisProcs, redisDirs = nil, nil
	redisMu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(p.stop)
	}
	wg.Wait()
	for _, d := range dirs {
		os.RemoveAll(d)
	}
}

// RedisDo sends one command to the Redis server at addr on a new connection
// and returns its reply: a string for a status or bulk string (nil for a nil
// bulk), an int64 for an integer, a []any for an array, or an error for an
// error reply. Tests use it to reach a server behind the client's back
// (WAIT, SHUTDOWN, SENTINEL FAILOVER, INFO).
func RedisDo(addr string, timeout time.Duration, args ...string) (any, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		return nil, err
	}
	return redisReadReply(bufio.NewReader(c))
}

// redisReplyError is an error reply from a server.
type redisReplyError string

func (e redisReplyError) Error() string { return string(e) }

func redisReadReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply line")
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, redisReplyError(body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			// An error inside an array is a value, not a failure.
			v, err := redisReadReply(r)
			var re redisReplyError
			if errors.As(err, &re) {
				v, err = re, nil
			}
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected reply %q", line)
}

// redisString runs a command whose reply is a string.
func redisString(addr string, args ...string) (string, error) {
	v, err := RedisDo(addr, 2*time.Second, args...)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%v: reply %v is not a string", args, v)
	}
	return s, nil
}

// redisInfoField returns field from the INFO section of the server at addr.
func redisInfoField(addr, section, field string) string {
	s, err := redisString(addr, "INFO", section)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
}

// redisWaitFor polls cond every 20ms until it holds or timeout passes.
func redisWaitFor(what string, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// redisProcAttr makes Linux kill the server with SIGKILL when the test
// binary dies (Pdeathsig). The field exists only on some systems, hence the
// reflection: elsewhere the attribute is left empty and StopRedis alone
// stops the servers.
func redisProcAttr() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{}
	f := reflect.ValueOf(attr).Elem().FieldByName("Pdeathsig")
	if f.IsValid() && f.CanSet() && reflect.TypeOf(syscall.SIGKILL).ConvertibleTo(f.Type()) {
		f.Set(reflect.ValueOf(syscall.SIGKILL).Convert(f.Type()))
	}
	return attr
}

// redisStartProc starts one server with the arguments args(port) on a free
// port and waits until ready(addr) holds. It retries on a fresh port when the
// process exits early (another process took the port meanwhile). The process
// is recorded in *own, for the caller to stop, or when own is nil for
// StopRedis.
func redisStartProc(name, bin, dir, log string, own *[]*redisProc, args func(port int) []string, ready func(addr string) bool) (*redisProc, error) {
	var lastErr error
	for range 3 {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		p := &redisProc{
			name: name,
			addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			dir:  dir,
			log:  log,
			cmd:  exec.Command(bin, args(port)...),
			done: make(chan struct{}),
		}
		p.cmd.Dir = dir
		p.cmd.SysProcAttr = redisProcAttr()
		if log == "" { // the server logs to stderr: keep it in a file
			p.log = filepath.Join(dir, "stderr.log")
			f, err := os.Create(p.log)
			if err != nil {
				return nil, err
			}
			p.cmd.Stdout, p.cmd.Stderr = f, f
			defer f.Close() // the child has its own copy
		}
		if err := p.cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		go func() { p.werr = p.cmd.Wait(); close(p.done) }()
		if own != nil {
			*own = append(*own, p)
		} else {
			redisMu.Lock()
			redisProcs = append(redisProcs, p)
			redisMu.Unlock()
		}
		deadline := time.Now().Add(redisStartTimeout)
		for {
			if ready(p.addr) {
				return p, nil
			}
			select {
			case <-p.done:
				lastErr = fmt.Errorf("%s exited at start (%v): %s", name, p.werr, p.logTail())
			case <-time.After(20 * time.Millisecond):
				if time.Now().Before(deadline) {
					continue
				}
				p.stop()
				return nil, fmt.Errorf("%s did not become ready within %v: %s", name, redisStartTimeout, p.logTail())
			}
			break
		}
	}
	return nil, lastErr
}

// logTail returns the end of p's log, for error messages.
func (p *redisProc) logTail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return strings.TrimSpace(string(b))
}

// stop ends p (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (p *redisProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// redisDir makes a directory for servers, removed by StopRedis.
func redisDir(prefix string) (string, error) {
	d, err := Dir(prefix)
	if err != nil {
		return "", err
	}
	redisMu.Lock()
	redisDirs = append(redisDirs, d)
	redisMu.Unlock()
	return d, nil
}

func redisBinary() (string, error) {
	return LookPath([]string{"redis-server"}, "/usr/bin", "/usr/local/bin")
}

// redisPing reports whether the server at addr answers PING.
func redisPing(addr string) bool {
	v, err := RedisDo(addr, time.Second, "PING")
	return err == nil && v == "PONG"
}

// redisArgs returns the arguments every redis-server here gets.
func redisArgs(port int, dir string, extra ...string) []string {
	return append([]string{
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--logfile", filepath.Join(dir, "redis.log"), "--daemonize", "no",
	}, extra...)
}

func redisStartSingle() (string, error) {
	bin, err := redisBinary()
	if err != nil {
		return "", err
	}
	dir, err := redisDir("redis")
	if err != nil {
		return "", err
	}
	p, err := redisStartProc("redis-server", bin, dir, filepath.Join(dir, "redis.log"), nil,
		func(port int) []string { return redisArgs(port, dir) }, redisPing)
	if err != nil {
		return "", err
	}
	return p.addr, nil
}

// redisStartCluster starts three cluster-enabled servers, gives each a third
// of the slots and introduces them to each other (what redis-cli --cluster
// create does, without its pauses), then waits for cluster_state:ok on all.
func redisStartCluster(own *[]*redisProc) ([]string, error) {
	bin, err := redisBinary()
	if err != nil {
		return nil, err
	}
	base, err := redisDir("redis-cluster")
	if err != nil {
		return nil, err
	}
	ranges := [3][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}}
	addrs := make([]string, 3)
	busPorts := make([]int, 3)
	for i := range addrs {
		dir := filepath.Join(base, strconv.Itoa(i)) // a fresh nodes.conf each run
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		busPort, err := FreePort()
		if err != nil {
			return nil, err
		}
		busPorts[i] = busPort
		p, err := redisStartProc(fmt.Sprintf("cluster node %d", i), bin, dir, filepath.Join(dir, "redis.log"), own,
			func(port int) []string {
				return redisArgs(port, dir, "--cluster-enabled", "yes",
					"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
					"--cluster-node-timeout", "15000", "--cluster-port", strconv.Itoa(busPort))
			}, redisPing)
		if err != nil {
			return nil, err
		}
		addrs[i] = p.addr
		if _, err := RedisDo(p.addr, 2*time.Second, "CLUSTER", "ADDSLOTSRANGE",
			strconv.Itoa(ranges[i][0]), strconv.Itoa(ranges[i][1])); err != nil {
			return nil, fmt.Errorf("cluster node %d: ADDSLOTSRANGE: %w", i, err)
		}
	}
	for i, a := range addrs[1:] {
		host, port, _ := net.SplitHostPort(a)
		// The bus port is not port+10000 here, so MEET is told it.
		if _, err := RedisDo(addrs[0], 2*time.Second, "CLUSTER", "MEET", host, port, strconv.Itoa(busPorts[i+1])); err != nil {
			return nil, fmt.Errorf("CLUSTER MEET %s: %w", a, err)
		}
	}
	for _, a := range addrs {
		err := redisWaitFor("cluster_state:ok on "+a, 20*time.Second, func() bool {
			s, err := redisString(a, "CLUSTER", "INFO")
			return err == nil && strings.Contains(s, "cluster_state:ok") &&
				strings.Contains(s, "cluster_slots_ok:16384") && strings.Contains(s, "cluster_known_nodes:3")
		})
		if err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// redisStartSentinel starts a master, a replica of it and a Sentinel
// monitoring it (quorum 1, down after 1 s), and waits until the replica is
// in sync and the Sentinel knows it, so that a failover can pick it.
func redisStartSentinel(own *[]*redisProc) (RedisSentinelGroup, error) {
	var g RedisSentinelGroup
	bin, err := redisBinary()
	if err != nil {
		return g, err
	}
	base, err := redisDir("redis-sentinel")
	if err != nil {
		return g, err
	}
	sub := func(name string) (string, error) {
		d := filepath.Join(base, name)
		return d, os.Mkdir(d, 0o755)
	}
	mdir, err := sub("master")
	if err != nil {
		return g, err
	}
	master, err := redisStartProc("sentinel's master", bin, mdir, filepath.Join(mdir, "redis.log"), own,
		func(port int) []string { return redisArgs(port, mdir, "--repl-diskless-sync-delay", "0") }, redisPing)
	if err != nil {
		return g, err
	}
	mhost, mport, _ := net.SplitHostPort(master.addr)

	rdir, err := sub("replica")
	if err != nil {
		return g, err
	}
	replica, err := redisStartProc("sentinel's replica", bin, rdir, filepath.Join(rdir, "redis.log"), own,
		func(port int) []string {
			return redisArgs(port, rdir, "--replicaof", mhost, mport, "--repl-diskless-sync-delay", "0")
		}, redisPing)
	if err != nil {
		return g, err
	}
	if err := redisWaitFor("the replica's link to its master", 15*time.Second, func() bool {
		return redisInfoField(replica.addr, "replication", "master_link_status") == "up"
	}); err != nil {
		return g, err
	}

	sdir, err := sub("sentinel")
	if err != nil {
		return g, err
	}
	conf := filepath.Join(sdir, "sentinel.conf") // the Sentinel rewrites it
	sentinel, err := redisStartProc("redis sentinel", bin, sdir, filepath.Join(sdir, "sentinel.log"), own,
		func(port int) []string {
			os.WriteFile(conf, fmt.Appendf(nil, `bind 127.0.0.1
port %d
daemonize no
dir %s
logfile %s
sentinel monitor %s %s %s 1
sentinel down-after-milliseconds %[4]s 1000
sentinel failover-timeout %[4]s 5000
sentinel parallel-syncs %[4]s 1
`, port, sdir, filepath.Join(sdir, "sentinel.log"), RedisMasterName, mhost, mport), 0o644)
			return []string{conf, "--sentinel"}
		}, redisPing)
	if err != nil {
		return g, err
	}
	_, rport, _ := net.SplitHostPort(replica.addr)
	if err := redisWaitFor("the Sentinel to see the replica", 20*time.Second, func() bool {
		v, err := RedisDo(sentinel.addr, time.Second, "SENTINEL", "REPLICAS", RedisMasterName)
		if err != nil {
			return false
		}
		list, _ := v.([]any)
		for _, r := range list {
			fields, _ := r.([]any)
			m := map[string]string{}
			for i := 0; i+1 < len(fields); i += 2 {
				k, _ := fields[i].(string)
				v, _ := fields[i+1].(string)
				m[k] = v
			}
			if m["port"] == rport && m["flags"] == "slave" && m["master-link-status"] == "ok" {
				return true
			}
		}
		return false
	}); err != nil {
		return g, fmt.Errorf("%w: %s", err, sentinel.logTail())
	}
	return RedisSentinelGroup{
		SentinelAddr: sentinel.addr,
		MasterName:   RedisMasterName,
		MasterAddr:   master.addr,
		ReplicaAddr:  replica.addr,
	}, nil
}

// RedisWaitReplicated waits until the replica at replica has applied every
// write the master at master had accepted when it was called: its
// slave_repl_offset reaches the master's master_repl_offset, with its link
// up. (WAIT would not do from a connection of its own: it waits only for
// that connection's writes.)
func RedisWaitReplicated(master, replica string, timeout time.Duration) error {
	v, err := RedisDo(master, timeout, "INFO", "replication")
	if err != nil {
		return fmt.Errorf("testserver: INFO replication on the master: %w", err)
	}
	want, ok := infoInt(v, "master_repl_offset")
	if !ok {
		return fmt.Errorf("testserver: no master_repl_offset in the master's INFO: %v", v)
	}
	var last any
	err = redisWaitFor("the replica to catch up", timeout, func() bool {
		v, err := RedisDo(replica, time.Second, "INFO", "replication")
		if err != nil {
			return false
		}
		last = v
		got, ok := infoInt(v, "slave_repl_offset")
		return ok && got >= want && strings.Contains(fmt.Sprint(v), "master_link_status:up")
	})
	if err != nil {
		return fmt.Errorf("%w (master at offset %d; the replica's INFO: %v)", err, want, last)
	}
	return nil
}

// infoInt returns the integer field name of an INFO reply.
func infoInt(v any, name string) (int64, bool) {
	text, _ := v.(string)
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			n, err := strconv.ParseInt(rest, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
