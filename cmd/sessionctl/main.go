// Command sessionctl is an operator's tool for the session store of an
// application using github.com/sessionkit/session. It is configured like the
// library, from the SESSION_* environment variables that
// session.ConfigFromEnv reads (SESSION_DRIVER, SESSION_CONNECTION,
// SESSION_FILES, SESSION_TABLE, SESSION_SECRET, SESSION_PREVIOUS_SECRETS,
// ...), with flags overriding them and the defaults of session.Config.
//
// Usage:
//
//	sessionctl <command> [flags] [args]
//
// Commands:
//
//	migrate        create the database driver's table, or bring it up to date
//	               (idempotent; --lifetime sets the expiry of rows that have
//	               none), or print the DDL with --print --dialect D
//	gc             remove expired sessions now, in batches with a progress
//	               line where the store can sweep in batches
//	list           list the live sessions and their expiries
//	count          count the live sessions
//	show ID        print a session's payload as JSON, decrypting it with the
//	               secret when the application sets Encrypt
//	destroy ID     remove one session
//	destroy --all  remove every session (asks for confirmation unless --yes)
//	user list USER
//	               list the live sessions of a user (Session.Login): handle,
//	               login time, last seen, expiry, IP and browser
//	user destroy USER [HANDLE]
//	               end every session of a user ("log out everywhere"), or
//	               the one HANDLE (from user list) names
//
// The user commands go through session.Manager.UserSessions,
// DestroyUserSessions and DestroyUserSession, so they work on every driver
// whose store keeps an index of each user's sessions (session.UserIndex);
// on the others they say so and exit 1. They need the application's secret
// (SESSION_SECRET or --secret): handles derive from it, and sessions sealed
// with Encrypt open only with it. A user ID that starts with "-" goes after
// "--".
//
// Exit status: 0 on success, 1 on a runtime error, 2 on a usage error.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/session"
	_ "github.com/sessionkit/session/drivers"
	"github.com/sessionkit/session/internal/sessionid"
	"github.com/sessionkit/session/sqlstore"
)

const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// sealedPrefix starts a payload that the session package sealed
// (Config.Encrypt); a plain payload is a JSON object.
const sealedPrefix = "sk1."

// defaultProgressEvery is the least time between two progress lines of gc
// when stderr is not a terminal.
const defaultProgressEvery = 3 * time.Second

// quietRedis drops go-redis's own log lines (a refused dial logs one per
// attempt): sessionctl reports the error the command ends with.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func main() {
	redis.SetLogger(quietRedis{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first interrupt ends ctx, which commands honour at their next
	// step (gc finishes its batch); a second one kills the process.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what a command runs with.
type env struct {
	ctx    context.Context
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// terminal reports that stderr is a terminal: gc's progress line is
	// rewritten in place (with \r) after every batch.
	terminal bool
	// progressEvery is the least time between two of gc's progress lines
	// when stderr is not a terminal.
	progressEvery time.Duration
}

// command is one subcommand.
type command struct {
	name, args, summary string
	// setup adds the command's own flags to fs, returning a function that runs
	// the command with the parsed configuration and positional arguments.
	setup func(fs *flag.FlagSet, cfg *config) func(e *env, args []string) int
}

var commands []command

func init() {
	commands = []command{
		{"migrate", "", "create the database table or bring it up to date, or print the DDL", setupMigrate},
		{"gc", "", "remove expired sessions now", setupGC},
		{"list", "", "list live sessions with their last activity and expiry", setupList},
		{"count", "", "count live sessions", setupCount},
		{"show", "ID", "print a session's payload as indented JSON (ID: whole, or its start as list prints it)", setupShow},
		{"destroy", "ID | --all [--yes]", "remove one session, or all of them", setupDestroy},
		{"user", "list USER | destroy USER [HANDLE]", "list a user's sessions, or end them all or one", setupUser},
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, "Usage: sessionctl <command> [flags] [args]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'sessionctl <command> --help' for a command's flags.\n"+
		"The configuration comes from the application's SESSION_* environment variables\n"+
		"(SESSION_DRIVER, SESSION_CONNECTION, SESSION_SECRET, ...); flags override them.\n")
}

// run runs sessionctl with args (without the program name) and returns the
// exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{
		ctx: ctx, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr,
		terminal: isTerminal(stderr), progressEvery: defaultProgressEvery,
	}
	return e.run(args)
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// run runs sessionctl with args and returns the exit status.
func (e *env) run(args []string) int {
	stderr := e.stderr
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stderr)
		return exitOK
	case "help":
		if len(args) == 1 {
			usage(stderr)
			return exitOK
		}
		if len(args) > 2 {
			fmt.Fprintf(stderr, "sessionctl: help takes one command\n\n")
			usage(stderr)
			return exitUsage
		}
		args = []string{args[1], "--help"} // "help gc" is "gc --help"
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
	cfg := &config{}
	applyFlags := configFlags(fs)
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
	if err := cfg.load(e.getenv, applyFlags); err != nil {
		fmt.Fprintf(stderr, "sessionctl: %v\n", err)
		return exitUsage
	}
	return runCmd(e, pos)
}

// parseInterleaved parses flags wherever they are among the positional
// arguments (so that "destroy ID --yes" works), stopping at "--". An
// argument that starts with "-" but names no flag and is shaped like a
// session ID or its start as list prints it (IDs are URL-safe base64, so
// one in 64 starts with "-") is a positional argument, not an unknown flag.
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

// looksLikeID reports whether s could be a session ID (at least 20
// characters of the URL-safe base64 alphabet) or an ID's start as list
// prints it (followed by "...", which no flag ends with).
func looksLikeID(s string) bool {
	if start, ok := sessionid.Unabbrev(s); ok {
		return sessionid.Valid(start)
	}
	return len(s) >= 20 && sessionid.Valid(s)
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
	session.Config
	// secretSet reports that a secret (current or previous) was
	// configured; without one, sealed payloads cannot be shown.
	secretSet bool
}

// configFlags adds the configuration flags to fs, and returns a function
// that copies the flags given on the command line into cfg. Flags have no
// defaults of their own: an absent flag leaves the environment's value, and
// the environment's absence leaves session.Config's default (so --help shows
// no secret or connection URL from the environment).
func configFlags(fs *flag.FlagSet) func(cfg *session.Config) {
	var (
		driver, connection, files, table, secret string
		lifetime                                 time.Duration
	)
	fs.StringVar(&driver, "driver", "", fmt.Sprintf("session driver: %s (default $SESSION_DRIVER, else %s)", strings.Join(session.Drivers(), ", "), session.DefaultDriver))
	fs.StringVar(&connection, "connection", "", "URL of the back end of the database, redis, memcached or mongodb driver (default $SESSION_CONNECTION)")
	fs.StringVar(&files, "files", "", fmt.Sprintf("file driver directory (default $SESSION_FILES, else %s)", session.DefaultFiles))
	fs.StringVar(&table, "table", "", fmt.Sprintf("database driver table (default $SESSION_TABLE, else %s)", session.DefaultTable))
	fs.StringVar(&secret, "secret", "", "the application's secret, to decrypt sealed payloads (default $SESSION_SECRET; prefer the variable: other users can read a command line)")
	fs.DurationVar(&lifetime, "lifetime", 0, "the Lifetime of the application that wrote a database table's rows: migrate sets the expiry of rows that have none to their last activity plus it (default $SESSION_LIFETIME; migrate never guesses it)")
	return func(cfg *session.Config) {
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "driver":
				cfg.Driver = driver
			case "connection":
				cfg.Connection = connection
			case "files":
				cfg.Files = files
			case "table":
				cfg.Table = table
			case "secret":
				cfg.Secret = secret
			case "lifetime":
				cfg.Lifetime = lifetime
			}
		})
	}
}

// load fills cfg from the environment, with session.ConfigFromFunc, and
// then from the flags given (applyFlags), and fills in the defaults that
// messages name.
func (cfg *config) load(getenv func(string) string, applyFlags func(*session.Config)) error {
	c, err := session.ConfigFromFunc(getenv)
	if err != nil {
		return err
	}
	applyFlags(&c)
	if c.Driver == "" {
		c.Driver = session.DefaultDriver
	}
	if c.Table == "" {
		c.Table = session.DefaultTable
	}
	cfg.Config = c
	cfg.secretSet = c.Secret != "" || len(c.PreviousSecrets) > 0
	return nil
}

// open builds a Manager on the configured store; it never sweeps in the
// background. Without a configured secret, the Manager gets a random one
// (New requires a secret): it then opens plain payloads only, which need no
// key, and payloads sealed under SESSION_PREVIOUS_SECRETS if any. The
// database driver's store is opened here, with sqlstore.Options.SkipCreate:
// only migrate changes the schema. The store returned, if any, is the
// caller's to close (the Manager does not close a store it was given).
func (cfg *config) open(e *env) (*session.Manager, io.Closer, error) {
	c := cfg.Config
	if c.Secret == "" {
		c.Secret = rand.Text() + rand.Text() // 52 characters: New wants at least 32 bytes
	}
	c.Lottery = [2]int{0, 1}
	c.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var st *sqlstore.Store
	if c.Driver == "database" {
		var err error
		if st, err = cfg.openSQL(e, sqlstore.Options{SkipCreate: true}); err != nil {
			return nil, nil, err
		}
		c.Store = st
	}
	m, err := session.New(c)
	if err != nil {
		if st != nil {
			st.Close()
		}
		return nil, nil, err
	}
	if st == nil {
		return m, nil, nil
	}
	return m, st, nil
}

// openSQL opens the database driver's store with opts and the configured
// connection and table.
func (cfg *config) openSQL(e *env, opts sqlstore.Options) (*sqlstore.Store, error) {
	if cfg.Connection == "" {
		return nil, errors.New("the database driver needs a connection URL: set SESSION_CONNECTION or --connection, e.g. sqlite://./sessions.db or postgres://user:pass@host:5432/app")
	}
	opts.Table = cfg.Table
	return sqlstore.Open(e.ctx, cfg.Connection, opts)
}

// withStore opens the store and runs f with it, closing the Manager (and
// the store, when open opened it) after.
func withStore(e *env, cfg *config, f func(m *session.Manager) int) int {
	m, st, err := cfg.open(e)
	if err != nil {
		return fail(e, "%v", err)
	}
	code := f(m)
	if err := m.Close(); err != nil && code == exitOK {
		code = fail(e, "%v", err)
	}
	if st != nil {
		if err := st.Close(); err != nil && code == exitOK {
			code = fail(e, "%v", err)
		}
	}
	return code
}

// lister returns the store's Lister, or an explanation of why there is none.
func lister(cfg *config, m *session.Manager) (session.Lister, error) {
	st := m.Store()
	if st == nil {
		return nil, fmt.Errorf("the %s driver keeps sessions in the browser's cookies: there are none in a store to enumerate", cfg.Driver)
	}
	l, ok := st.(session.Lister)
	if !ok {
		return nil, fmt.Errorf("the %s driver cannot enumerate its sessions", cfg.Driver)
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
				d = dialectOf(cfg.Connection)
			}
			if d == "" {
				return usageError(fs, "migrate --print needs --dialect sqlite|postgres|mysql (or a --connection URL to take it from)")
			}
			steps, err := sqlstore.SchemaSteps(sqlstore.Dialect(d), cfg.Table, cfg.Lifetime)
			if err != nil {
				return usageError(fs, "%v", err)
			}
			printSteps(e.stdout, steps)
			return exitOK
		}
		if *dialect != "" {
			return usageError(fs, "--dialect goes with --print")
		}
		if cfg.Driver != "database" {
			return fail(e, "migrate: the %s driver has no table to create (only the database driver has)", cfg.Driver)
		}
		// Only an explicit lifetime (--lifetime, SESSION_LIFETIME) sets
		// expiries: a default one would expire the sessions of an
		// application with a longer Lifetime early.
		st, err := cfg.openSQL(e, sqlstore.Options{Lifetime: cfg.Lifetime})
		if err != nil {
			return fail(e, "migrate: %v", err)
		}
		for _, c := range st.SchemaChanges() {
			fmt.Fprintln(e.stdout, c)
		}
		// The user index's table is optional to New (a store without it
		// works but for the index); migrate makes sure it is there.
		idxErr := st.CheckUserIndex(e.ctx)
		if err := st.Close(); err != nil {
			return fail(e, "migrate: %v", err)
		}
		if idxErr != nil {
			return fail(e, "migrate: %v", idxErr)
		}
		fmt.Fprintf(e.stdout, "table %s ready\n", cfg.Table)
		return exitOK
	}
}

// printSteps prints the schema's steps as an SQL script: each step's
// statements under a comment naming what they make.
func printSteps(w io.Writer, steps []sqlstore.SchemaStep) {
	for i, st := range steps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "-- %d. The %s, %s:\n", i+1, st.Object, st.When)
		if len(st.SQL) == 0 {
			fmt.Fprintln(w, "-- (give --lifetime, the Lifetime of the application that wrote the rows, to print this step)")
		}
		for _, stmt := range st.SQL {
			fmt.Fprintf(w, "%s;\n", stmt)
		}
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

// defaultBatch is how many expired sessions gc removes per batch.
const defaultBatch = 10000

func setupGC(fs *flag.FlagSet, cfg *config) func(*env, []string) int {
	batch := fs.Int("batch", defaultBatch, "remove expired sessions in batches of at most this many, with a progress line between batches (where the store sweeps in batches)")
	return func(e *env, args []string) int {
		if len(args) > 0 {
			return usageError(fs, "gc takes no arguments")
		}
		if *batch < 1 {
			return usageError(fs, "--batch %d: want at least 1", *batch)
		}
		return withStore(e, cfg, func(m *session.Manager) int {
			st := m.Store()
			if st == nil {
				fmt.Fprintf(e.stdout, "the %s driver keeps sessions in the browser's cookies, which expire there: nothing to sweep\n", cfg.Driver)
				return exitOK
			}
			if _, ok := st.(session.Sweeper); !ok {
				fmt.Fprintf(e.stdout, "the %s driver's back end expires sessions itself: nothing to sweep\n", cfg.Driver)
				return exitOK
			}
			bs, ok := st.(session.BatchSweeper)
			if !ok {
				n, err := m.Sweep(e.ctx)
				if err != nil {
					return fail(e, "gc: %v (removed %d expired sessions before the error)", err, n)
				}
				fmt.Fprintf(e.stdout, "removed %d expired sessions\n", n)
				return exitOK
			}
			return sweepBatches(e, bs, *batch)
		})
	}
}

// sweepBatches sweeps with bs in batches of at most limit, reporting
// progress on stderr after each full batch and stopping between batches
// once e.ctx has ended (an interrupt). A batch that has started runs to its
// end, so that an interrupt never leaves one half done.
func sweepBatches(e *env, bs session.BatchSweeper, limit int) int {
	p := progress{e: e, last: time.Now()}
	total := 0
	for {
		n, err := bs.SweepBatch(context.WithoutCancel(e.ctx), limit)
		total += n
		if err != nil {
			p.clear()
			return fail(e, "gc: %v (removed %d expired sessions before the error)", err, total)
		}
		if n < limit {
			break
		}
		if e.ctx.Err() != nil {
			p.clear()
			return fail(e, "gc: interrupted after removing %d expired sessions; run gc again to remove the rest", total)
		}
		p.report(total)
	}
	p.clear()
	fmt.Fprintf(e.stdout, "removed %d expired sessions\n", total)
	return exitOK
}

// progress writes gc's progress lines to stderr: on a terminal one line,
// rewritten after every batch; otherwise a line at most every
// e.progressEvery, so that a log keeps a trace without a line per batch.
type progress struct {
	e     *env
	last  time.Time // when the last line was written (or the sweep began)
	shown int       // length of the line on the terminal, to clear it
}

func (p *progress) report(total int) {
	msg := fmt.Sprintf("removed %d expired sessions so far...", total)
	if p.e.terminal {
		fmt.Fprintf(p.e.stderr, "\r%s", msg)
		p.shown = len(msg)
		return
	}
	if now := time.Now(); now.Sub(p.last) >= p.e.progressEvery {
		fmt.Fprintln(p.e.stderr, msg)
		p.last = now
	}
}

// clear removes the terminal's progress line, before the final message.
func (p *progress) clear() {
	if p.shown > 0 {
		fmt.Fprintf(p.e.stderr, "\r%s\r", strings.Repeat(" ", p.shown))
		p.shown = 0
	}
}

// ---- list, count ---------------------------------------------------------

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
			idWidth := sessionid.AbbrevLen
			if *full {
				idWidth = sessionid.Len
			}
			const stamp = "2006-01-02T15:04:05Z"
			fmt.Fprintf(w, "%-*s  %-*s  %s\n", idWidth, "ID", len(stamp), "LAST ACTIVITY", "EXPIRES")
			line := func(id string, last, expiry time.Time) bool {
				if !*full {
					id = sessionid.Abbrev(id)
				}
				seen := "-"
				if !last.IsZero() {
					seen = last.UTC().Format(stamp)
				}
				fmt.Fprintf(w, "%-*s  %-*s  %s\n", idWidth, id, len(stamp), seen, expiry.UTC().Format(stamp))
				return true
			}
			if al, ok := l.(activityLister); ok {
				// The store keeps each session's last activity.
				err = al.ListActivity(e.ctx, line)
			} else {
				// The store keeps only the expiry: no process can tell the
				// last activity from it (sessions have lifetimes of their own).
				err = l.List(e.ctx, func(id string, expiry time.Time) bool { return line(id, time.Time{}, expiry) })
			}
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
		return withStore(e, cfg, func(m *session.Manager) int {
			st := m.Store()
			if st == nil {
				return fail(e, "show: the %s driver keeps sessions in the browser's cookies, not in a store", cfg.Driver)
			}
			id, err := resolveID(e, cfg, m, args[0])
			if err != nil {
				return fail(e, "show: %v", err)
			}
			data, _, found, err := st.Load(e.ctx, id)
			if err != nil {
				return fail(e, "show: %v", err)
			}
			if !found {
				return fail(e, "show: no session %s (missing or expired)", id)
			}
			sealed := bytes.HasPrefix(data, []byte(sealedPrefix))
			if sealed && !cfg.secretSet {
				return fail(e, "show: session %s: payload is encrypted; set SESSION_SECRET (or --secret) to the application's secret to decrypt it", id)
			}
			plain, err := m.DecodePayload(id, data)
			switch {
			case err != nil && sealed:
				return fail(e, "show: session %s: payload does not decrypt with the configured secret (SESSION_SECRET, SESSION_PREVIOUS_SECRETS): %v", id, err)
			case err != nil:
				return fail(e, "show: session %s: %v", id, err)
			}
			var out bytes.Buffer
			if err := json.Indent(&out, plain, "", "  "); err != nil {
				return fail(e, "show: session %s is not JSON: %v", id, err)
			}
			out.WriteByte('\n')
			if _, err := e.stdout.Write(out.Bytes()); err != nil {
				return fail(e, "show: %v", err)
			}
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
				return fail(e, "destroy: the %s driver keeps sessions in the browser's cookies, not in a store", cfg.Driver)
			}
			if !*all {
				id, err := resolveID(e, cfg, m, args[0])
				if err != nil {
					return fail(e, "destroy: %v", err)
				}
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
				fmt.Fprintf(e.stderr, "This destroys all %d sessions in the %s store: everyone is logged out.\nType yes to continue: ", len(ids), cfg.Driver)
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

// ---- user ----------------------------------------------------------------

func setupUser(fs *flag.FlagSet, cfg *config) func(*env, []string) int {
	return func(e *env, args []string) int {
		if len(args) < 2 {
			return usageError(fs, "user takes list USER, or destroy USER [HANDLE]")
		}
		verb, user, rest := args[0], args[1], args[2:]
		switch {
		case verb != "list" && verb != "destroy":
			return usageError(fs, "user %q: want list or destroy", verb)
		case verb == "list" && len(rest) > 0, verb == "destroy" && len(rest) > 1:
			return usageError(fs, "user %s takes %s", verb, map[string]string{"list": "one user ID", "destroy": "a user ID and at most one handle"}[verb])
		case user == "":
			return usageError(fs, "user %s: the user ID is empty", verb)
		}
		op := "user " + verb
		// Reading a session does not depend on Encrypt (a sealed payload
		// opens either way), but with it a plain one would not decode, and
		// the Manager drops index entries whose session does not decode.
		cfg.Encrypt = false
		return withStore(e, cfg, func(m *session.Manager) int {
			idx, err := userIndex(cfg, m)
			if err != nil {
				return fail(e, "%s: %v", op, err)
			}
			if cfg.Secret == "" {
				return fail(e, "%s: set SESSION_SECRET (or --secret) to the application's secret: session handles derive from it, and sessions sealed with Encrypt open only with it", op)
			}
			if code := checkUserSessionsOpen(e, op, m, idx, user); code != exitOK {
				return code
			}
			switch {
			case verb == "list":
				return listUserSessions(e, m, user)
			case len(rest) == 0:
				n, err := m.DestroyUserSessions(e.ctx, user)
				if err != nil {
					return fail(e, "%s: %v (destroyed %d sessions before the error)", op, err, n)
				}
				fmt.Fprintf(e.stdout, "destroyed %d sessions of user %s\n", n, printable(user))
				return exitOK
			default:
				handle := rest[0]
				err := m.DestroyUserSession(e.ctx, user, handle)
				if errors.Is(err, session.ErrNoSession) {
					return fail(e, "%s: no live session %s of user %s (ended already, another user's, or not a handle that user list printed)", op, printable(handle), printable(user))
				}
				if err != nil {
					return fail(e, "%s: %v", op, err)
				}
				fmt.Fprintf(e.stdout, "destroyed session %s of user %s\n", handle, printable(user))
				return exitOK
			}
		})
	}
}

// userIndex returns the store's UserIndex, or an explanation of why there
// is none.
func userIndex(cfg *config, m *session.Manager) (session.UserIndex, error) {
	st := m.Store()
	if st == nil {
		return nil, fmt.Errorf("the %s driver keeps sessions in the browser's cookies: there is no store to find a user's sessions in", cfg.Driver)
	}
	idx, ok := st.(session.UserIndex)
	if !ok {
		return nil, fmt.Errorf("the %s driver cannot list a user's sessions: its store keeps no index of them (%w)", cfg.Driver, errors.ErrUnsupported)
	}
	return idx, nil
}

// checkUserSessionsOpen makes sure that every live session in user's index
// opens with the configured secret before the Manager reads them: it drops
// the index entry of a session that does not decode (taking it for a
// corrupt one), so a wrong secret would make the application forget which
// sessions are the user's.
func checkUserSessionsOpen(e *env, op string, m *session.Manager, idx session.UserIndex, user string) int {
	var ids []string
	if err := idx.ListUserSessions(e.ctx, user, func(id string, _ time.Time) bool { ids = append(ids, id); return true }); err != nil {
		return fail(e, "%s: %v", op, err)
	}
	for _, id := range ids {
		data, _, found, err := m.Store().Load(e.ctx, id)
		if err != nil {
			return fail(e, "%s: %v", op, err)
		}
		if !found {
			continue
		}
		if _, err := m.DecodePayload(id, data); err != nil {
			return fail(e, "%s: session %s of the user's index does not open with the configured secret (SESSION_SECRET, SESSION_PREVIOUS_SECRETS): %v; "+
				"nothing was changed (if the secret is the application's, the session is corrupt: sessionctl destroy %s removes it)", op, id, err, id)
		}
	}
	return exitOK
}

// listUserSessions prints the live sessions of user, most recently seen
// first.
func listUserSessions(e *env, m *session.Manager, user string) int {
	infos, err := m.UserSessions(e.ctx, user)
	if err != nil {
		return fail(e, "user list: %v", err)
	}
	if len(infos) == 0 {
		fmt.Fprintf(e.stdout, "no live sessions of user %s\n", printable(user))
		return exitOK
	}
	const stamp = "2006-01-02T15:04:05Z"
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "HANDLE\tLOGGED IN\tLAST SEEN\tEXPIRES\tIP\tUSER AGENT")
	for _, in := range infos {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", in.Handle, in.Created.UTC().Format(stamp), in.LastSeen.UTC().Format(stamp),
			in.Expires.UTC().Format(stamp), orDash(printable(in.IP)), orDash(printable(in.UserAgent)))
	}
	if err := w.Flush(); err != nil {
		return fail(e, "user list: %v", err)
	}
	return exitOK
}

// printable returns s as it is when every character of it prints, and
// quoted (with escapes) otherwise: a User-Agent is the client's, and must
// not reach an operator's terminal as control sequences.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.QuoteToGraphic(s)
		}
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
