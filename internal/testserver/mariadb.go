package testserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

var maria dbServer

var mariaClient string // the mariadb (or mysql) client program

// MariaDB returns the URL of a new, empty database on a private MariaDB
// server, in the form mysql://root@127.0.0.1:PORT/NAME (user root, no
// password). The server is started on first use, once per test binary, with
// its data in a Dir, no binary log and no flush at commit; every call creates
// another database, so tests do not see each other's tables. The test
// binary's TestMain must call StopMariaDB after m.Run. When MariaDB is not
// installed or does not start, the test fails under CI=true and is skipped
// otherwise (see Unavailable).
func MariaDB(t testing.TB) string {
	t.Helper()
	if err := maria.ensure(startMariaDB); err != nil {
		Unavailable(t, "MariaDB", err)
	}
	name := fmt.Sprintf("db%d", maria.dbs.Add(1))
	if err := mariaExec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("testserver: create MariaDB database: %v", err)
	}
	return fmt.Sprintf("mysql://root@127.0.0.1:%d/%s", maria.port, name)
}

// StopMariaDB stops the server MariaDB started, if any, and removes its
// directory. Call it from TestMain after m.Run; it is safe to call when no
// server was started and more than once, and a later MariaDB starts a new
// server.
func StopMariaDB() { maria.shutdown() }

func mariaExec(sql string) error {
	return dbRun(mariaClient, "--no-defaults", "--protocol=tcp", "-h", "127.0.0.1", "-P", strconv.Itoa(maria.port), "-u", "root", "-e", sql)
}

func startMariaDB() error {
	sbin := []string{"/usr/sbin", "/usr/libexec", "/usr/local/sbin"}
	server, err := LookPath([]string{"mariadbd", "mysqld"}, sbin...)
	if err != nil {
		return fmt.Errorf("%w (Debian package mariadb-server)", err)
	}
	install, err := LookPath([]string{"mariadb-install-db", "mysql_install_db"}, sbin...)
	if err != nil {
		return fmt.Errorf("%w (Debian package mariadb-server)", err)
	}
	if mariaClient, err = LookPath([]string{"mariadb", "mysql"}); err != nil {
		return fmt.Errorf("%w (Debian package mariadb-client)", err)
	}
	me := "root"
	if u, err := user.Current(); err == nil {
		me = u.Username
	}
	dir, err := Dir("mariadb")
	if err != nil {
		return err
	}
	data := filepath.Join(dir, "data")
	pidFile := filepath.Join(dir, "mariadb.pid")
	startedPid := filepath.Join(dir, "started.pid") // written as soon as the server is started
	// The watchdog kills the server by its pid, should this process die
	// without StopMariaDB.
	guard, err := dbWatchdog(fmt.Sprintf("for f in %s %s; do [ -f \"$f\" ] && kill -9 $(cat \"$f\") 2>/dev/null; done; sleep 1; rm -rf %s",
		shellQuote(startedPid), shellQuote(pidFile), shellQuote(dir)))
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	maria.guard = guard
	var (
		cmd    *exec.Cmd
		exited chan error // receives cmd's exit
	)
	maria.stop = func() {
		if cmd != nil {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		}
		os.RemoveAll(dir)
	}

	// A temporary directory of its own: MariaDB's temporary tables in the
	// shared /tmp were deleted under it by other tests' clean-ups.
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	// "normal" authentication lets root log in over TCP without a password
	// (the default, unix_socket, refuses that with ERROR 1698).
	if err := dbRun(install, "--no-defaults", "--datadir="+data, "--tmpdir="+tmp, "--user="+me,
		"--auth-root-authentication-method=normal", "--skip-test-db"); err != nil {
		return err
	}
	logFile := filepath.Join(dir, "error.log")
	// A free port can be taken between FreePort and the server's bind:
	// try a few.
	for attempt := 1; ; attempt++ {
		port, err := FreePort()
		if err != nil {
			return err
		}
		cmd = exec.Command(server, "--no-defaults", "--user="+me, "--datadir="+data, "--tmpdir="+tmp,
			"--socket="+filepath.Join(dir, "mariadb.sock"), "--port="+strconv.Itoa(port),
			"--bind-address=127.0.0.1", "--pid-file="+pidFile, "--log-error="+logFile,
			"--skip-log-bin", "--skip-name-resolve", "--innodb-flush-log-at-trx-commit=0",
			"--innodb-buffer-pool-size=128M", "--max-connections=500")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			cmd = nil
			return err
		}
		os.WriteFile(startedPid, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
		exited = make(chan error, 1)
		go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(cmd, exited)
		maria.port = port
		err = mariaReady(port, exited)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errExited) || attempt == 3 {
			log, _ := os.ReadFile(logFile)
			return fmt.Errorf("%w\n%s", err, log)
		}
		cmd = nil // it exited: try another port
	}
}

var errExited = errors.New("mariadbd exited")

// mariaReady waits until the server on port takes a query, or exits, or a
// minute passes.
func mariaReady(port int, exited chan error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		if WaitTCP(fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond) == nil && mariaExec("SELECT 1") == nil {
			return nil
		}
		select {
		case err := <-exited:
			exited <- err // for stop
			return fmt.Errorf("%w: %v", errExited, err)
		default:
		}
		if time.Now().After(deadline) {
			return errors.New("mariadbd did not accept connections within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
