package testserver

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// RestartPostgres restarts the private PostgreSQL server that Postgres
// started, as an operator would (pg_ctl restart -m fast: clients are
// disconnected, committed work is kept), on the same port and with the same
// options, and returns once it accepts connections again. Every connection
// open to it breaks. Tests that call it must not run in parallel with other
// tests that use the server.
func RestartPostgres() error {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if !pg.started || pg.err != nil {
		return errors.New("testserver: PostgreSQL is not running (call Postgres first)")
	}
	data, err := postgresDataDir(pg.port)
	if err != nil {
		return err
	}
	args := []string{filepath.Join(pgBin, "pg_ctl"), "-D", data, "-l", filepath.Join(filepath.Dir(data), "postgres.log"),
		"-m", "fast", "-w", "-t", "60", "restart"}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return fmt.Errorf("testserver: restart PostgreSQL as root: %w", err)
		}
		runuser, err := LookPath([]string{"runuser"}, "/usr/sbin", "/sbin")
		if err != nil {
			return fmt.Errorf("testserver: restart PostgreSQL: %w", err)
		}
		args = append([]string{runuser, "-u", "postgres", "--"}, args...)
	}
	if err := dbRun(args[0], args[1:]...); err != nil {
		return fmt.Errorf("testserver: restart PostgreSQL: %w", err)
	}
	return nil
}

// postgresDataDir finds the data directory of the server on port: the one
// among this package's PostgreSQL directories whose postmaster.pid names the
// port (its fourth line).
func postgresDataDir(port int) (string, error) {
	pids, _ := filepath.Glob(filepath.Join(os.TempDir(), "sessionkit-postgres-*", "data", "postmaster.pid"))
	for _, pid := range pids {
		b, err := os.ReadFile(pid)
		if err != nil {
			continue
		}
		if lines := strings.Split(string(b), "\n"); len(lines) > 3 && strings.TrimSpace(lines[3]) == strconv.Itoa(port) {
			return filepath.Dir(pid), nil
		}
	}
	return "", fmt.Errorf("testserver: no PostgreSQL data directory for port %d under %s", port, os.TempDir())
}
