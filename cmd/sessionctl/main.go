// Command sessionctl is an operator's tool for the session store of an
// application using github.com/sessionkit/session. It is configured like the
// library: flags, or the environment variables SESSION_DRIVER,
// SESSION_CONNECTION, SESSION_FILES, SESSION_TABLE, SESSION_SECRET and
// SESSION_LIFETIME, with the defaults of session.Config.
//
// Usage:
//
//	sessionctl <command> [flags] [args]
//
// Commands:
//
//	migrate        create the database driver's table and index (idempotent),
//	               or print the DDL with --print --dialect D
//	gc             remove expired sessions now
//	list           list the live sessions and their expiries
//	count          count the live sessions
//	show ID        print a session's payload as JSON
//	destroy ID     remove one session
//	destroy --all  remove every session (asks for confirmation unless --yes)
//
// Exit status: 0 on success, 1 on a runtime error, 2 on a usage error.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sessionkit/session"
	_ "github.com/sessionkit/session/drivers"
	"github.com/sessionkit/session/sqlstore"
)

const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// placeholderSecret lets New build a store when no secret is configured. It
// decodes nothing: sessionctl never opens a sealed payload.
const placeholderSecret = "sessionctl placeholder secret: decodes nothing"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what a command runs with.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand.
type command struct {
	name, args, summary string
	// flags adds the command's own flags to fs, returning a function that runs
	// the command with the parsed configuration and positional arguments.
	setup func(fs *flag.FlagSet, cfg *config) func(e *env, args []string) int
}

var commands []command

func init() {
	commands = []command{
		{"migrate", "", "create the database table and index, or print the DDL", setupMigrate},
		{"gc", "", "remove expired sessions now", setupGC},
		{"list", "", "list live sessions with their expiry", setupList},
		{"count", "", "count live sessions", setupCount},
		{"show", "ID", "print a session's payload as indented JSON", setupShow},
		{"destroy", "ID | --all [--yes]", "remove one session, or all of them", setupDestroy},
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, "Usage: sessionctl <command> [flags] [args]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'sessionctl <command> --help' for a command's flags.\n"+
		"Configuration flags default to SESSION_DRIVER, SESSION_CONNECTION, SESSION_FILES,\n"+
		"SESSION_TABLE, SESSION_SECRET and SESSION_LIFETIME.\n")
}

// run runs sessionctl with args (without the program name) and returns the
// exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stderr)
		return exitOK
	}
	var cmd *command
	for i := range commands {
		if commands[i].name == args[0] {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "sessionctl: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	fs := flag.NewFlagSet("sessionctl "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := configFlags(fs, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "sessionctl: %v\n", err)
		return exitUsage
	}
	runCmd := cmd.setup(fs, cfg)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sessionctl %s [flags]", cmd.name)
		if cmd.args != "" {
			fmt.Fprintf(stderr, " %s", cmd.args)
		}
		fmt.Fprintf(stderr, "\n\n%s.\n\nFlags:\n", strings.ToUpper(cmd.summary[:1])+cmd.summary[1:])
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage // the flag package has printed the error and usage
	}
	return runCmd(&env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}, pos)
}

// parseInterleaved parses flags wherever they are among the positional
// arguments (so that "destroy ID --yes" works), stopping at "--". An
// argument that starts with "-" but names no flag and is shaped like a
// session ID (IDs are URL-safe base64, so one in 64 starts with "-") is a
// positional argument, not an unknown flag.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case len(a) < 2 || a[0] != '-':
			pos = append(pos, a)
		default:
			name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
			f := fs.Lookup(name)
			if f == nil && name != "h" && name != "help" && looksLikeID(a) {
				pos = append(pos, a)
				continue
			}
			flags = append(flags, a)
			if f == nil || hasValue || i+1 == len(args) {
				continue
			}
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
			i++
			flags = append(flags, args[i]) // the flag's value
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	return append(pos, fs.Args()...), nil
}

// looksLikeID reports whether s could be a session ID: at least 20
// characters of the URL-safe base64 alphabet.
func looksLikeID(s string) bool {
	if len(s) < 20 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// usageError prints msg and the command's usage, and returns exitUsage.
func usageError(fs *flag.FlagSet, format string, a ...any) int {
	fmt.Fprintf(fs.Output(), "sessionctl: "+format+"\n\n", a...)
	fs.Usage()
	return exitUsage
}

// fail prints a runtime error and returns exitError.
func fail(e *env, format string, a ...any) int {
	fmt.Fprintf(e.stderr, "sessionctl: "+format+"\n", a...)
	return exitError
}

// config is the library configuration sessionctl opens the store with.
type config struct {
	driver, connection, files, table, secret string
	lifetime                                 time.Duration
}

func configFlags(fs *flag.FlagSet, getenv func(string) string) (*config, error) {
	def := func(name, fallback string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return fallback
	}
	lifetime := session.DefaultLifetime
	if v := getenv("SESSION_LIFETIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("SESSION_LIFETIME=%q: want a duration such as 2h or 30m", v)
		}
		lifetime = d
	}
	cfg := &config{}
	fs.StringVar(&cfg.driver, "driver", def("SESSION_DRIVER", session.DefaultDriver), "session driver: file, memory, database, redis, memcached, mongodb, cookie, null (SESSION_DRIVER)")
	fs.StringVar(&cfg.connection, "connection", getenv("SESSION_CONNECTION"), "URL of the back end for database, redis, ... (SESSION_CONNECTION)")
	fs.StringVar(&cfg.files, "files", def("SESSION_FILES", session.DefaultFiles), "file driver directory (SESSION_FILES)")
	fs.StringVar(&cfg.table, "table", def("SESSION_TABLE", session.DefaultTable), "database driver table (SESSION_TABLE)")
	fs.StringVar(&cfg.secret, "secret", getenv("SESSION_SECRET"), "the application's secret (SESSION_SECRET)")
	fs.DurationVar(&cfg.lifetime, "lifetime", lifetime, "idle lifetime of a session (SESSION_LIFETIME)")
	return cfg, nil
}

// open builds a Manager on the configured store; it never sweeps.
func (cfg *config) open(e *env) (*session.Manager, error) {
	secret := cfg.secret
	if secret == "" {
		secret = placeholderSecret
	}
	m, err := session.New(session.Config{
		Secret:     secret,
		Driver:     cfg.driver,
		Connection: cfg.connection,
		Files:      cfg.files,
		Table:      cfg.table,
		Lifetime:   cfg.lifetime,
		Lottery:    [2]int{0, 1},
		Logger:     slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// withStore opens the store and runs f with it, closing the Manager after.
func withStore(e *env, cfg *config, f func(m *session.Manager) int) int {
	m, err := cfg.open(e)
	if err != nil {
		return fail(e, "%v", err)
	}
	code := f(m)
	if err := m.Close(); err != nil && code == exitOK {
		return fail(e, "%v", err)
	}
	return code
}

// lister returns the store's Lister, or an explanation of why there is none.
func lister(cfg *config, m *session.Manager) (session.Lister, error) {
	st := m.Store()
	if st == nil {
		return nil, fmt.Errorf("the %s driver keeps sessions in the browser's cookies: there are none in a store to enumerate", cfg.driver)
	}
	l, ok := st.(session.Lister)
	if !ok {
		return nil, fmt.Errorf("the %s driver cannot enumerate its sessions", cfg.driver)
	}
	return l, nil
}

// ---- migrate -------------------------------------------------------------

func setupMigrate(fs *flag.FlagSet, cfg *config) func(*env, []string) int {
	printDDL := fs.Bool("print", false, "print the DDL instead of running it (connects to nothing)")
	dialect := fs.String("dialect", "", "SQL dialect for --print: sqlite, postgres or mysql (default: from --connection)")
	return func(e *env, args []string) int {
		if len(args) > 0 {
			return usageError(fs, "migrate takes no arguments")
		}
		if *printDDL {
			d := *dialect
			if d == "" {
				d = dialectOf(cfg.connection)
			}
			if d == "" {
				return usageError(fs, "migrate --print needs --dialect sqlite|postgres|mysql (or a --connection URL to take it from)")
			}
			stmts, err := sqlstore.Schema(sqlstore.Dialect(d), cfg.table)
			if err != nil {
				return usageError(fs, "%v", err)
			}
			for _, s := range stmts {
				fmt.Fprintf(e.stdout, "%s;\n", s)
			}
			return exitOK
		}
		if *dialect != "" {
			return usageError(fs, "--dialect goes with --print")
		}
		if cfg.driver != "database" {
			return fail(e, "migrate: the %s driver has no table to create (only the database driver has)", cfg.driver)
		}
		return withStore(e, cfg, func(m *session.Manager) int {
			// Opening the database driver creates the table and its index.
			fmt.Fprintf(e.stdout, "table %s ready\n", cfg.table)
			return exitOK
		})
	}
}

// dialectOf returns the dialect named by a database URL's scheme, or "".
func dialectOf(url string) string {
	scheme, _, ok := strings.Cut(url, "://")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		return string(sqlstore.SQLite)
	case "postgres", "postgresql":
		return string(sqlstore.Postgres)
	case "mysql", "mariadb":
		return string(sqlstore.MySQL)
	}
	return ""
}

// ---- gc ------------------------------------------------------------------

func setupGC(fs *flag.FlagSet, cfg *config) func(*env, []string) int {
	return func(e *env, args []string) int {
		if len(args) > 0 {
			return usageError(fs, "gc takes no arguments")
		}
		return withStore(e, cfg, func(m *session.Manager) int {
			if _, ok := m.Store().(session.Sweeper); !ok {
				fmt.Fprintf(e.stdout, "the %s driver's back end expires sessions itself: nothing to sweep\n", cfg.driver)
				return exitOK
			}
			n, err := m.Sweep(e.ctx)
			if err != nil {
				return fail(e, "gc: %v (removed %d expired sessions before the error)", err, n)
			}
			fmt.Fprintf(e.stdout, "removed %d expired sessions\n", n)
			return exitOK
		})
	}
}

// ---- list, count ---------------------------------------------------------

// shortID is how many characters of an ID list shows without --full.
const shortID = 12

func setupList(fs *flag.FlagSet, cfg *config) func(*env, []string) int {
	full := fs.Bool("full", false, "print whole session IDs")
	return func(e *env, args []string) int {
		if len(args) > 0 {
			return usageError(fs, "list takes no arguments")
		}
		return withStore(e, cfg, func(m *session.Manager) int {
			l, err := lister(cfg, m)
			if err != nil {
				return fail(e, "list: %v", err)
			}
			w := bufio.NewWriter(e.stdout)
			defer w.Flush()
			idWidth := shortID + 3
			if *full {
				idWidth = 43
			}
			fmt.Fprintf(w, "%-*s  %s\n", idWidth, "ID", "EXPIRES")
			err = l.List(e.ctx, func(id string, expiry time.Time) bool {
				if !*full && len(id) > shortID {
					id = id[:shortID] + "..."
				}
				fmt.Fprintf(w, "%-*s  %s\n", idWidth, id, expiry.UTC().Format(time.RFC3339))
				return true
			})
			if err != nil {
				w.Flush()
				return fail(e, "list: %v", err)
			}
			return exitOK
		})
	}
}

func setupCount(fs *flag.FlagSet, cfg *config) func(*env, []string) int {
	return func(e *env, args []string) int {
		if len(args) > 0 {
			return usageError(fs, "count takes no arguments")
		}
		return withStore(e, cfg, func(m *session.Manager) int {
			l, err := lister(cfg, m)
			if err != nil {
				return fail(e, "count: %v", err)
			}
			n := 0
			if err := l.List(e.ctx, func(string, time.Time) bool { n++; return true }); err != nil {
				return fail(e, "count: %v", err)
			}
			fmt.Fprintln(e.stdout, n)
			return exitOK
		})
	}
}

// ---- show ----------------------------------------------------------------

func setupShow(fs *flag.FlagSet, cfg *config) func(*env, []string) int {
	return func(e *env, args []string) int {
		if len(args) != 1 {
			return usageError(fs, "show takes one session ID")
		}
		id := args[0]
		return withStore(e, cfg, func(m *session.Manager) int {
			st := m.Store()
			if st == nil {
				return fail(e, "show: the %s driver keeps sessions in the browser's cookies, not in a store", cfg.driver)
			}
			data, _, found, err := st.Load(e.ctx, id)
			if err != nil {
				return fail(e, "show: %v", err)
			}
			if !found {
				return fail(e, "show: no session %s (missing or expired)", id)
			}
			if bytes.HasPrefix(data, []byte("sk1.")) {
				return fail(e, "show: session %s is sealed (the application sets Encrypt): sessionctl cannot decrypt it, since the session package exports no way to open a sealed payload", id)
			}
			var out bytes.Buffer
			if err := json.Indent(&out, data, "", "  "); err != nil {
				return fail(e, "show: session %s is not JSON: %v", id, err)
			}
			out.WriteByte('\n')
			e.stdout.Write(out.Bytes())
			return exitOK
		})
	}
}

// ---- destroy -------------------------------------------------------------

func setupDestroy(fs *flag.FlagSet, cfg *config) func(*env, []string) int {
	all := fs.Bool("all", false, "remove every session in the store")
	yes := fs.Bool("yes", false, "with --all: do not ask for confirmation")
	return func(e *env, args []string) int {
		switch {
		case *all && len(args) > 0:
			return usageError(fs, "destroy takes a session ID or --all, not both")
		case !*all && len(args) != 1:
			return usageError(fs, "destroy takes one session ID, or --all")
		case *yes && !*all:
			return usageError(fs, "--yes goes with --all")
		}
		return withStore(e, cfg, func(m *session.Manager) int {
			st := m.Store()
			if st == nil {
				return fail(e, "destroy: the %s driver keeps sessions in the browser's cookies, not in a store", cfg.driver)
			}
			if !*all {
				id := args[0]
				_, _, found, err := st.Load(e.ctx, id)
				if err != nil {
					return fail(e, "destroy: %v", err)
				}
				if !found {
					return fail(e, "destroy: no session %s (missing or expired)", id)
				}
				if err := st.Delete(e.ctx, id); err != nil {
					return fail(e, "destroy: %v", err)
				}
				fmt.Fprintf(e.stdout, "destroyed session %s\n", id)
				return exitOK
			}
			l, err := lister(cfg, m)
			if err != nil {
				return fail(e, "destroy --all: %v", err)
			}
			// Collect first: some stores hold a read transaction while
			// List runs, which a Delete from inside fn would wait on.
			var ids []string
			if err := l.List(e.ctx, func(id string, _ time.Time) bool { ids = append(ids, id); return true }); err != nil {
				return fail(e, "destroy --all: %v", err)
			}
			if len(ids) == 0 {
				fmt.Fprintln(e.stdout, "no sessions to destroy")
				return exitOK
			}
			if !*yes {
				fmt.Fprintf(e.stderr, "This destroys all %d sessions in the %s store: everyone is logged out.\nType yes to continue: ", len(ids), cfg.driver)
				line, _ := bufio.NewReader(e.stdin).ReadString('\n')
				if strings.TrimSpace(line) != "yes" {
					return fail(e, "destroy --all: not confirmed; nothing destroyed")
				}
			}
			n := 0
			for _, id := range ids {
				if err := st.Delete(e.ctx, id); err != nil {
					return fail(e, "destroy --all: %v (destroyed %d of %d sessions before the error)", err, n, len(ids))
				}
				n++
			}
			fmt.Fprintf(e.stdout, "destroyed %d sessions\n", n)
			return exitOK
		})
	}
}
