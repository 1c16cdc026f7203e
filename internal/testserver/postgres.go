package testserver

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A dbServer is one private database server of a test binary, started on
// first use and stopped by its Stop function (from TestMain).
type dbServer struct {
	mu      sync.Mutex // held while starting and stopping
	started bool
	err     error // why the server could not be started
	port    int
	dbs     atomic.Int64
	stop    func()      // stops the server and removes its directory
	guard   *os.Process // the watchdog that cleans up if the test binary dies
}

// ensure starts the server with start unless it was started (or failed to
// start) already, and reports why it is unavailable.
func (s *dbServer) ensure(start func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		if s.err = start(); s.err != nil {
			s.stopLocked()
		}
	}
	return s.err
}

// shutdown stops the server, if it runs; a later use starts a new one.
func (s *dbServer) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	s.started, s.err = false, nil
}

func (s *dbServer) stopLocked() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
	if s.guard != nil {
		// The watchdog leads its own process group: kill it with its sleep.
		syscall.Kill(-s.guard.Pid, syscall.SIGKILL)
		s.guard = nil
	}
}

// dbWatchdog starts a detached shell that waits for this process to end and
// then runs cleanup (a shell command), so that a test binary killed by a
// timeout or a signal leaves no server running and no directory behind. The
// returned process is killed by a normal stop.
func dbWatchdog(cleanup string) (*os.Process, error) {
	script := fmt.Sprintf("while kill -0 %d 2>/dev/null; do sleep 1; done; %s", os.Getpid(), cleanup)
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // survives a ^C to the test's process group
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go cmd.Wait() // reap it when it is killed
	return cmd.Process, nil
}

// dbRun runs a command and returns its error with its output.
func dbRun(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

var pg dbServer

// postgresBinDirs lists Debian's PostgreSQL bin directories, newest first.
func postgresBinDirs() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	return dirs
}

// Postgres returns the URL of a new, empty database on a private PostgreSQL
// server, in the form postgres://postgres@127.0.0.1:PORT/NAME?sslmode=disable
// (user postgres, trust authentication). The server is started on first use,
// once per test binary, with its data in a Dir and fsync off; every call
// creates another database, so tests do not see each other's tables. The
// test binary's TestMain must call StopPostgres after m.Run. When PostgreSQL
// is not installed or does not start, the test fails under CI=true and is
// skipped otherwise (see Unavailable).
//
// PostgreSQL refuses to run as root: as root, the server runs as the
// postgres user (runuser), which owns the directory.
func Postgres(t testing.TB) string {
	t.Helper()
	if err := pg.ensure(startPostgres); err != nil {
		Unavailable(t, "PostgreSQL", err)
	}
	name := fmt.Sprintf("db%d", pg.dbs.Add(1))
	createdb := filepath.Join(pgBin, "createdb")
	if err := dbRun(createdb, "-h", "127.0.0.1", "-p", strconv.Itoa(pg.port), "-U", "postgres", "-S", "file_copy", name); err != nil {
		t.Fatalf("testserver: create PostgreSQL database: %v", err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.port, name)
}

// StopPostgres stops the server Postgres started, if any, and removes its
// directory. Call it from TestMain after m.Run; it is safe to call when no
// server was started and more than once, and a later Postgres starts a new
// server.
func StopPostgres() { pg.shutdown() }

var pgBin string // the bin directory of the PostgreSQL that runs

func startPostgres() error {
	// Debian's directories first: PATH may hold a symbolic link to initdb
	// alone, without createdb beside it.
	var initdb string
	for _, d := range postgresBinDirs() {
		if p := filepath.Join(d, "initdb"); isExecutable(p) {
			initdb = p
			break
		}
	}
	var err error
	if initdb == "" {
		initdb, err = LookPath([]string{"initdb"})
	}
	if err != nil {
		return fmt.Errorf("initdb: %w (Debian package postgresql)", err)
	}
	pgBin = filepath.Dir(initdb)
	pgctl := filepath.Join(pgBin, "pg_ctl")

	// asServer runs a PostgreSQL program as the user that may run it.
	asServer := []string{}
	var uid, gid int = -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root needs the postgres user (created by Debian's postgresql-common): %w", err)
		}
		runuser, err := LookPath([]string{"runuser"}, "/usr/sbin", "/sbin")
		if err != nil {
			return err
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		asServer = []string{runuser, "-u", "postgres", "--"}
	}
	run := func(args ...string) error {
		args = append(slices.Clone(asServer), args...)
		return dbRun(args[0], args[1:]...)
	}

	dir, err := Dir("postgres")
	if err != nil {
		return err
	}
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return err
		}
	}
	data := filepath.Join(dir, "data")
	stopCmd := strings.Join(append(slices.Clone(asServer), pgctl, "-D", data, "-m", "immediate", "stop"), " ")
	guard, err := dbWatchdog(stopCmd + " >/dev/null 2>&1; rm -rf " + shellQuote(dir))
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	pg.guard = guard
	pg.stop = func() {
		if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
			run(pgctl, "-D", data, "-m", "immediate", "-w", "stop")
		}
		os.RemoveAll(dir)
	}
	if err := run(initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		return err
	}
	// A free port can be taken between FreePort and the server's bind:
	// try a few.
	for attempt := 1; ; attempt++ {
		port, err := FreePort()
		if err != nil {
			return err
		}
		logFile := filepath.Join(dir, "postgres.log")
		err = run(pgctl, "-D", data, "-l", logFile, "-w", "-t", "60", "-o",
			fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -F -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", port, dir),
			"start")
		if err == nil {
			pg.port = port
			return nil
		}
		if attempt == 3 {
			log, _ := os.ReadFile(logFile)
			return fmt.Errorf("%w\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
