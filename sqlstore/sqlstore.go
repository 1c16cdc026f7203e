package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/session"
)

// A Dialect names the SQL flavour of a database. It decides the DDL, the
// quoting of identifiers, the placeholders and how Update locks a row.
type Dialect string

// The supported dialects.
const (
	// SQLite is SQLite 3 (package sqlstore/sqlite: the pure-Go
	// modernc.org/sqlite driver). Writes take the database's write lock up
	// front with BEGIN IMMEDIATE.
	SQLite Dialect = "sqlite"
	// Postgres is PostgreSQL (package sqlstore/postgres: pgx's
	// database/sql adapter). Update locks the row with SELECT ... FOR
	// UPDATE.
	Postgres Dialect = "postgres"
	// MySQL is MySQL 8 or MariaDB 10.5 and later with InnoDB tables
	// (package sqlstore/mysql: go-sql-driver/mysql). Update locks the row
	// with SELECT ... FOR UPDATE in a READ COMMITTED transaction.
	MySQL Dialect = "mysql"
)

func (d Dialect) valid() bool { return d == SQLite || d == Postgres || d == MySQL }

// Errors wrapped by the errors this package returns, for errors.Is.
var (
	// ErrInvalidID is wrapped by the errors of Update, Delete, Touch and
	// Move for an ID outside the store's alphabet: 1 to 128 characters from
	// [A-Za-z0-9_-] (the Manager's IDs are 43 of them). Load reports such an
	// ID as not found.
	ErrInvalidID = errors.New("sqlstore: invalid session ID")

	// ErrExists is wrapped by the error of Move when the new ID already
	// holds an unexpired record.
	ErrExists = errors.New("sqlstore: session ID already in use")

	// ErrSchema is wrapped by the error of New when the table lacks a
	// column (the error lists the columns it has, so that another
	// program's table is recognized as such), has a column of an unusable
	// type, or (MySQL) is not an InnoDB table or compares IDs
	// case-insensitively; when, under Options.SkipCreate, the table or its
	// expiresAt column is missing; by the ErrNotReady errors of a Store
	// whose deferred setup finds such a table; and by the errors of the
	// user index's calls while its table (<table>_users) is missing.
	ErrSchema = errors.New("sqlstore: unusable table")

	// ErrNotReady is wrapped, with the cause, by the errors of a Store's
	// calls while its deferred setup (see Options.DeferUnreachable) keeps
	// failing: typically because the database still cannot be reached.
	ErrNotReady = errors.New("sqlstore: database not ready")
)

// DefaultTable is the table name used when Options.Table is empty.
const DefaultTable = session.DefaultTable

// Options configures a Store.
type Options struct {
	// Table is the table holding the sessions; default "sessions". It must
	// be a plain identifier: a letter or underscore, then letters, digits
	// or underscores, 48 characters at most. It is quoted in every
	// statement, so in PostgreSQL it is case-sensitive. The user index
	// lives beside it, in the table Table + "_users".
	Table string

	// Lifetime is used for one thing only: New (unless SkipCreate is set)
	// gives the rows that have no expiry, those of a table with
	// NodeSession's layout that New adds the expiresAt column to, or those
	// a program unaware of that column wrote, the expiry lastActivity +
	// Lifetime. Set it to the Lifetime of the application that wrote them.
	// When it is zero and such rows exist, New fails with an error saying
	// so, wrapping session.ErrConfig. Every other expiry is the one the
	// Manager gives with each write, kept in the row.
	Lifetime time.Duration

	// SkipCreate makes New leave the schema alone: it creates and changes
	// nothing, and only checks that the table exists with usable columns
	// (see SchemaSteps for the statements that make them), so that New
	// works for a database user allowed SELECT, INSERT, UPDATE and DELETE
	// only. Without it, New still runs no DDL when nothing is missing.
	SkipCreate bool

	// DeferUnreachable makes New and Open return a Store even when the
	// database (PostgreSQL or MySQL) cannot be reached: the connection is
	// refused or reset, the host does not resolve, or ctx's deadline or
	// the connect timeout passes; the server answering that it is starting
	// up, shutting down or has too many connections counts as unreachable
	// too. The setup New would have done (creating and checking the
	// table) is then run by the Store's first call that reaches the
	// database, with that call's context; until it succeeds, every call
	// fails with an error wrapping ErrNotReady and the cause, and once it
	// has, it is never run again. Everything else still fails at once: a
	// bad URL or option, a server that refuses the credentials or does
	// not know the database, an unusable table (ErrSchema), a SQLite
	// error, a canceled ctx. The "database" driver sets it, so that an
	// application starts while its database is down; it is off by
	// default, so that code building a Store itself finds out at once.
	// How long New waits for an answer before deferring is DeferAfter.
	DeferUnreachable bool

	// DeferAfter bounds, when DeferUnreachable is set, New's (and Open's)
	// attempt to reach a PostgreSQL or MySQL database: one that has
	// neither answered nor refused the connection within it (its address
	// silently drops packets, or a server accepts and says nothing) counts
	// as unreachable, and New returns the Store with its setup deferred.
	// Default DefaultDeferAfter, 2 s, instead of the connect timeout
	// (ConnectTimeout, 10 s, unless the URL sets one), so that an
	// application starts quickly while its database is unreachable; a
	// negative value leaves only ctx and the connect timeout. It bounds
	// reaching the database only: the setup that follows (creating or
	// checking the table) has ctx's time. A pool from Open goes on with
	// the connection it was setting up, and keeps it for the Store's
	// first call. Without DeferUnreachable, it is not used.
	DeferAfter time.Duration

	// SweepBatch is how many expired rows one DELETE statement of Sweep
	// removes at most; Sweep repeats it until fewer are left, so that no
	// statement holds locks (in SQLite, the database's write lock) for
	// long. Default 5000; a negative value removes all expired rows in one
	// statement.
	SweepBatch int
}

// DefaultSweepBatch is the default of Options.SweepBatch.
const DefaultSweepBatch = 5000

// DefaultDeferAfter is the default of Options.DeferAfter.
const DefaultDeferAfter = 2 * time.Second

var tableRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,47}$`)

// withDefaults fills in defaults and validates opts.
func (opts Options) withDefaults() (Options, error) {
	if opts.Table == "" {
		opts.Table = DefaultTable
	}
	if !tableRE.MatchString(opts.Table) {
		return opts, errorf("%w: table name %q is not a plain identifier (letters, digits and _, not starting with a digit, at most 48 characters)", session.ErrConfig, opts.Table)
	}
	if opts.Lifetime < 0 {
		return opts, errorf("%w: Lifetime %v is negative", session.ErrConfig, opts.Lifetime)
	}
	if opts.SweepBatch == 0 {
		opts.SweepBatch = DefaultSweepBatch
	}
	if opts.DeferAfter == 0 {
		opts.DeferAfter = DefaultDeferAfter
	}
	return opts, nil
}

// Store is a session.Store keeping sessions in one SQL table. It also
// implements session.Sweeper, session.BatchSweeper, session.Swapper,
// session.Mover, session.Lister and session.UserIndex. It is safe
// for concurrent use by any number of goroutines and processes sharing the
// database.
type Store struct {
	db       *sql.DB
	dialect  Dialect
	table    string
	lifetime time.Duration // Options.Lifetime, for setup
	batch    int
	owned    bool // opened by Open: Close closes db
	errs     ErrorClassifier
	q        queries
	// txOpts are the options of Update's and Move's transactions: READ
	// COMMITTED for MySQL, whose default REPEATABLE READ makes SELECT ...
	// FOR UPDATE of a missing row take a gap lock, so that concurrent
	// creators of different sessions deadlock. nil when the pool's
	// connections are in READ COMMITTED already (Open sets it when it
	// connects, saving a round trip per transaction) and for the other
	// dialects (PostgreSQL's default is READ COMMITTED).
	txOpts *sql.TxOptions
	// wlock serializes this Store's SQLite writers in the process, so that
	// they queue here rather than poll in SQLite's busy handler; other
	// processes are kept apart by SQLite's own lock and busy timeout. It
	// is nil for the other dialects.
	wlock chan struct{}
	// skipCreate is Options.SkipCreate, for setup.
	skipCreate bool
	// ready is set once setup has succeeded; until then every call runs
	// setup first, one at a time (setupSem, a lock that a call's context
	// can give up waiting for).
	ready    atomic.Bool
	setupSem chan struct{}
	// stmts are the SQLite statements prepared once (execDB, queryRowDB).
	stmts stmtCache
	// noRaw is set once the pool's connections turned out not to take
	// the driver-level path of Load (raw.go).
	noRaw atomic.Bool
	// noRowLoader is set once the pool's connections turned out not to be
	// rowLoaders: Load then goes through the driver's Rows (queryRowRaw).
	noRowLoader atomic.Bool
	// changes are what setup changed in the schema (SchemaChanges).
	changesMu sync.Mutex
	changes   []string
	// uq are the user index's statements, and users what the Store knows
	// of its table (users.go).
	uq    userQueries
	users userState
}

var (
	_ session.Store   = (*Store)(nil)
	_ session.Sweeper = (*Store)(nil)
	_ session.Mover   = (*Store)(nil)
	_ session.Lister  = (*Store)(nil)
	_ session.Swapper = (*Store)(nil)

	_ session.BatchSweeper = (*Store)(nil)
	_ session.UserIndex    = (*Store)(nil)
)

// New returns a Store on a pool the application owns; the Store never closes
// it (Close is a no-op for such a Store). The dialect's Backend must be
// registered (import its package: sqlstore/sqlite, sqlstore/postgres or
// sqlstore/mysql), or New fails with an error wrapping session.ErrConfig
// that names it. New first finds out from the database's catalogs what the
// schema has. Unless opts.SkipCreate is set, it then makes what is
// missing, the steps of SchemaSteps, which is idempotent and safe when
// several processes start at once: the table, or for a table with
// NodeSession's layout the expiresAt column, its index and the expiry of
// the rows (from lastActivity and opts.Lifetime), and the user index's
// table (which, when it cannot be made, leaves only the user index
// failing: see the package documentation); SchemaChanges says what it did.
// When nothing is missing it runs no DDL, so a database user
// allowed SELECT, INSERT, UPDATE and DELETE only can use it; when something
// is missing and making it fails, the error gives the server's message and
// names Options.SkipCreate and sessionctl migrate --print. In every case it
// checks that the table has usable id, payload, lastActivity and expiresAt
// columns, and reports one that is missing or unusable in an error naming
// the table and the column, wrapping ErrSchema. ctx bounds that work. With
// opts.DeferUnreachable, a database that cannot be reached (within
// opts.DeferAfter, 2 s by default) defers that work to the Store's first
// call instead of failing New.
//
// The pool should allow fewer connections than the server accepts
// (sql.DB.SetMaxOpenConns), and keep as many idle (SetMaxIdleConns: the
// default of 2 makes busy applications reconnect constantly). For SQLite,
// its DSN should set a busy timeout and preferably WAL journal mode, as Open
// does (with modernc.org/sqlite, which sqlstore/sqlite registers as
// "sqlite": "file.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"); for
// MySQL, interpolateParams=true saves a round trip per statement. MySQL
// transactions run in READ COMMITTED (see the package documentation): on an
// application's pool the Store asks for it in each transaction, one more
// statement, which a pool from Open saves by setting it per connection.
func New(ctx context.Context, db *sql.DB, dialect Dialect, opts Options) (*Store, error) {
	if db == nil {
		return nil, errorf("%w: nil *sql.DB", session.ErrConfig)
	}
	if !dialect.valid() {
		return nil, errorf("%w: unknown dialect %q (want %q, %q or %q)", session.ErrConfig, dialect, SQLite, Postgres, MySQL)
	}
	backend, err := backends.forDialect(dialect)
	if err != nil {
		return nil, err
	}
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{
		errs:     backend.Errors,
		db:       db,
		dialect:  dialect,
		table:    opts.Table,
		lifetime: opts.Lifetime,
		batch:    opts.SweepBatch,
		q:        buildQueries(dialect, opts.Table),

		skipCreate: opts.SkipCreate,
		setupSem:   make(chan struct{}, 1),
		uq:         buildUserQueries(dialect, opts.Table),
	}
	s.users.recheck, s.users.sweepEvery = userRecheck, userSweepEvery
	switch dialect {
	case SQLite:
		s.wlock = make(chan struct{}, 1)
	case MySQL:
		if _, ok := db.Driver().(readCommittedDriver); !ok {
			s.txOpts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
		}
	}
	reach := time.Duration(0) // no bound of its own
	if opts.DeferUnreachable && dialect != SQLite {
		reach = opts.DeferAfter
	}
	err = s.setup(ctx, reach)
	switch {
	case err == nil:
		s.ready.Store(true)
	case opts.DeferUnreachable && dialect != SQLite && !errors.Is(err, context.Canceled) && s.unreachable(err):
		// Left for the first call (awaitReady).
	default:
		return nil, err
	}
	return s, nil
}

// setup checks that the database answers, within reach when it is positive
// (Options.DeferAfter), makes what the schema lacks (unless
// Options.SkipCreate is set: see migrate), and checks the table.
func (s *Store) setup(ctx context.Context, reach time.Duration) error {
	pctx, cancel := ctx, context.CancelFunc(func() {})
	if reach > 0 {
		pctx, cancel = context.WithTimeout(ctx, reach)
	}
	err := s.ping(pctx)
	cancel()
	if err != nil {
		return errorf("cannot reach the %s database: %w", s.dialect, err)
	}
	changes, err := s.migrate(ctx)
	if err != nil {
		return err
	}
	s.changesMu.Lock()
	s.changes = changes
	s.changesMu.Unlock()
	return s.checkSchema(ctx)
}

// SchemaChanges returns what New changed in the schema, one line per
// change (`created table "sessions"`, `added column "expiresAt" to table
// "sessions"`, ...); none when the schema was up to date. For a Store whose
// setup New deferred (Options.DeferUnreachable), it is empty until that
// setup has run.
func (s *Store) SchemaChanges() []string {
	s.changesMu.Lock()
	defer s.changesMu.Unlock()
	return slices.Clone(s.changes)
}

// awaitReady returns nil when the Store's setup has run. Otherwise (New
// deferred it, see Options.DeferUnreachable) it runs it with ctx, one call
// at a time, and returns an error wrapping ErrNotReady and the cause when
// it fails or ctx ends first. op names the caller's operation.
func (s *Store) awaitReady(ctx context.Context, op string) error {
	if s.ready.Load() {
		return nil
	}
	select {
	case s.setupSem <- struct{}{}:
	case <-ctx.Done():
		return errorf("%w: %s: %w", ErrNotReady, op, ctx.Err())
	}
	defer func() { <-s.setupSem }()
	if s.ready.Load() { // another call set it up while this one waited
		return nil
	}
	if err := s.setup(ctx, 0); err != nil {
		return errorf("%w: %s: %w", ErrNotReady, op, err)
	}
	s.ready.Store(true)
	return nil
}

// ping checks that the database answers. A new SQLite connection can find
// the database busy while another process (or pool) switches it to WAL
// journal mode, which SQLite reports at once, without waiting for the busy
// timeout: ping tries again for a while.
func (s *Store) ping(ctx context.Context) error {
	err := s.db.PingContext(ctx)
	for delay := 5 * time.Millisecond; s.busy(err) && delay < 3*time.Second; delay *= 2 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		err = s.db.PingContext(ctx)
	}
	return err
}

// DB returns the Store's pool: the application's for a Store from New, the
// Store's own for one from Open (tune it with SetMaxOpenConns and friends;
// do not close it). Through sql.Conn.Raw, the connections of a SQLite pool
// from Open are the Store's wrapper of the driver's connection, which keeps
// the Store's statements prepared; its method Unwrap() driver.Conn returns
// the driver's.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns the Store's dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// Table returns the name of the Store's table.
func (s *Store) Table() string { return s.table }

// Close closes the Store's prepared statements (SQLite), and the pool when
// Open opened it; a Store from New leaves the application's pool open.
func (s *Store) Close() error {
	s.stmts.close()
	if !s.owned {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return errorf("close: %w", err)
	}
	return nil
}

// Driver opens the store for session.Config's "database" driver: Open with
// cfg.Connection, cfg.Table and cfg.Lifetime (which only sets the expiry of
// rows that have none, see Options.Lifetime), bounded by a one-minute
// timeout (the Driver has no context), and with Options.DeferUnreachable:
// the application starts while its database is down (within
// DefaultDeferAfter, 2 s, when the database's address drops packets), its
// requests fail (the Manager's ErrorHandler answers them) until the
// database is back, and the first to reach it creates the table. An empty
// Connection is an error wrapping session.ErrConfig: there is no default
// database.
func Driver(cfg session.Config) (session.Store, error) {
	if cfg.Connection == "" {
		return nil, errorf("%w: the database driver needs Config.Connection, e.g. sqlite://./sessions.db, postgres://user:pass@host:5432/app or mysql://user:pass@host:3306/app", session.ErrConfig)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := Open(ctx, cfg.Connection, Options{Table: cfg.Table, Lifetime: cfg.Lifetime, DeferUnreachable: true})
	if err != nil {
		return nil, err // not a nil *Store in a non-nil interface
	}
	return st, nil
}

func init() {
	session.Register("database", Driver)
}
