package sqlstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// Load goes to the driver itself on the pools of Open (and on an
// application's PostgreSQL or MySQL pool), and through database/sql on an
// application's SQLite pool or a MySQL pool that prepares on the server;
// each way reads the same records.
func TestLoadPaths(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		url := b.newURL(t)
		fromNew, err := sqlstore.New(t.Context(), appPool(t, b.dialect, url), b.dialect, sqlstore.Options{Table: "paths_new"})
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			st     *sqlstore.Store
			direct bool
		}{
			{openStore(t, url, sqlstore.Options{Table: "paths_open"}), true},
			{fromNew, b.dialect != sqlstore.SQLite},
		}
		if b.dialect == sqlstore.MySQL {
			cases = append(cases, struct {
				st     *sqlstore.Store
				direct bool
			}{openStore(t, url+"?interpolateParams=false", sqlstore.Options{Table: "paths_prepared"}), false})
		}
		for _, c := range cases {
			id, gone := storetest.NewID(), storetest.NewID()
			exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
			for _, rec := range []string{"", "{\"a\":1}", "\x01binary\x00\xff"} {
				if ok, err := c.st.Swap(t.Context(), id, nil, []byte(rec), exp); !ok || err != nil {
					c.st.Delete(t.Context(), id)
					if ok, err = c.st.Swap(t.Context(), id, nil, []byte(rec), exp); !ok || err != nil {
						t.Fatalf("%s: Swap = (%v, %v)", c.st.Table(), ok, err)
					}
				}
				data, expiry, found, err := c.st.Load(t.Context(), id)
				if err != nil || !found || string(data) != rec || data == nil || !expiry.Equal(exp) {
					t.Errorf("%s: Load = (%q, %v, %v, %v), want (%q, %v, true, nil)", c.st.Table(), data, expiry, found, err, rec, exp)
				}
			}
			if _, _, found, err := c.st.Load(t.Context(), gone); found || err != nil {
				t.Errorf("%s: Load of a missing ID = (found %v, %v)", c.st.Table(), found, err)
			}
			if got := c.st.DriverPath(); got != c.direct {
				t.Errorf("%s: Load went to the driver itself: %v, want %v", c.st.Table(), got, c.direct)
			}
			// Only Open's PostgreSQL pool has connections that load rows
			// with the driver's own API (sqlstore/postgres).
			wantLoader := c.direct && b.dialect == sqlstore.Postgres && c.st.Table() == "paths_open"
			if got := c.st.RowLoader(); got != wantLoader {
				t.Errorf("%s: Load used the connection's LoadRow: %v, want %v", c.st.Table(), got, wantLoader)
			}
		}
	})
}

// A SQLite row whose columns hold values of other types than the Store
// writes reads the same through the driver-level path (Open's pool) as
// through database/sql (an application's pool).
func TestLoadOddValues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd.db")
	direct := openStore(t, "sqlite://"+path, sqlstore.Options{})
	viaSQL, err := sqlstore.New(t.Context(), appPool(t, sqlstore.SQLite, "sqlite://"+path), sqlstore.SQLite, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour).UnixMilli()
	rows := map[string][2]string{ // ID -> payload and expiresAt, as SQL
		"blob":     {"X'7B7D'", "?1"},
		"empty":    {"X''", "?1"},
		"number":   {"42", "?1"},
		"real":     {"'{}'", "?1 + 0.5"},
		"integral": {"'{}'", "CAST(?1 AS REAL)"},
		"text":     {"'{}'", "'not a number'"},
		"textnum":  {"'{}'", "CAST(?1 AS TEXT)"},
		"bytes":    {"'{}'", "CAST(CAST(?1 AS TEXT) AS BLOB)"},
	}
	for id, v := range rows {
		q := "INSERT INTO sessions (id, payload, lastActivity, expiresAt) VALUES ('" + id + "', " + v[0] + ", 0, " + v[1] + ")"
		if _, err := direct.DB().Exec(q, later); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	for id := range rows {
		d1, e1, f1, err1 := direct.Load(t.Context(), id)
		d2, e2, f2, err2 := viaSQL.Load(t.Context(), id)
		if string(d1) != string(d2) || (d1 == nil) != (d2 == nil) || !e1.Equal(e2) || f1 != f2 || (err1 == nil) != (err2 == nil) {
			t.Errorf("%s: driver-level Load = (%q, %v, %v, %v), database/sql Load = (%q, %v, %v, %v)", id, d1, e1, f1, err1, d2, e2, f2, err2)
		} else {
			t.Logf("%s: Load = (%q, %v, %v, %v)", id, d1, e1, f1, err1)
		}
	}
	if !direct.DriverPath() || viaSQL.DriverPath() {
		t.Errorf("DriverPath: Open's %v, New's %v; want true, false", direct.DriverPath(), viaSQL.DriverPath())
	}
}

// The driver-level path still waits for a connection of the pool only as
// long as the call's context allows: with every connection taken, Load,
// Swap, Touch and Delete return the context's error (they would wait
// forever otherwise).
func TestDriverPathWaitsWithinContext(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		st := openStore(t, b.newURL(t), sqlstore.Options{})
		id := storetest.NewID()
		if ok, err := st.Swap(t.Context(), id, nil, []byte("x"), time.Now().Add(time.Hour)); !ok || err != nil {
			t.Fatalf("Swap = (%v, %v)", ok, err)
		}
		st.DB().SetMaxOpenConns(1)
		held, err := st.DB().Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		calls := map[string]func(ctx context.Context) error{
			"load": func(ctx context.Context) error { _, _, _, err := st.Load(ctx, id); return err },
			"swap": func(ctx context.Context) error {
				_, err := st.Swap(ctx, id, []byte("x"), []byte("y"), time.Now().Add(time.Hour))
				return err
			},
			"touch":  func(ctx context.Context) error { return st.Touch(ctx, id, time.Now().Add(time.Hour)) },
			"delete": func(ctx context.Context) error { return st.Delete(ctx, id) },
		}
		for name, call := range calls {
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			err := call(ctx)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s with the pool's only connection taken: %v, want an error wrapping context.DeadlineExceeded", name, err)
			}
		}
		held.Close()
		if data, _, found, err := st.Load(t.Context(), id); err != nil || !found || string(data) != "x" {
			t.Errorf("Load once the connection is back = (%q, %v, %v)", data, found, err)
		}
	})
}

// The statements that the driver-level path prepares on a SQLite
// connection are finalized when the pool closes it: a pool that closes
// every connection after each call leaves no file open behind it.
func TestLiteConnStatementsFinalized(t *testing.T) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		if runtime.GOOS == "linux" {
			t.Fatalf("counting open files: %v", err)
		}
		t.Skipf("counting open files needs /proc/self/fd: %v", err)
	}
	st := openStore(t, "sqlite://"+filepath.Join(t.TempDir(), "fin.db"), sqlstore.Options{})
	id := storetest.NewID()
	exp := time.Now().Add(time.Hour)
	if ok, err := st.Swap(t.Context(), id, nil, []byte("v0"), exp); !ok || err != nil {
		t.Fatalf("Swap = (%v, %v)", ok, err)
	}
	st.DB().SetMaxIdleConns(0) // every connection is closed when released
	before := len(fds)
	for i := range 100 {
		prev, next := []byte("v"+string(rune('0'+i%10))), []byte("v"+string(rune('0'+(i+1)%10)))
		if ok, err := st.Swap(t.Context(), id, prev, next, exp); !ok || err != nil {
			t.Fatalf("Swap %d = (%v, %v)", i, ok, err)
		}
		if data, _, found, err := st.Load(t.Context(), id); err != nil || !found || string(data) != string(next) {
			t.Fatalf("Load %d = (%q, %v, %v), want %q", i, data, found, err, next)
		}
	}
	fds, err = os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	if after := len(fds); after > before+10 {
		t.Errorf("%d files open after 100 connections were closed, %d before: connections left open (statements not finalized)", after, before)
	}
	if !st.DriverPath() {
		t.Error("Load left the driver-level path")
	}
}

// A SQLite write that the driver-level path runs without a context, and
// that fails after the call's context ended (SQLite's busy handler waited
// for another pool's writer past the deadline), fails with an error
// wrapping the context's error, as one whose context the driver watched
// does: it counts as the call's timeout.
func TestDriverPathBusyPastDeadline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	st := openStore(t, "sqlite://"+path+"?_pragma=busy_timeout(200)", sqlstore.Options{})
	id := storetest.NewID()
	if ok, err := st.Swap(t.Context(), id, nil, []byte("x"), time.Now().Add(time.Hour)); !ok || err != nil {
		t.Fatalf("Swap = (%v, %v)", ok, err)
	}
	other := appPool(t, sqlstore.SQLite, "sqlite://"+path)
	writer, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	if _, err := writer.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer writer.ExecContext(context.Background(), "ROLLBACK")
	calls := map[string]func(ctx context.Context) error{
		"swap": func(ctx context.Context) error {
			_, err := st.Swap(ctx, id, []byte("x"), []byte("y"), time.Now().Add(time.Hour))
			return err
		},
		"touch":  func(ctx context.Context) error { return st.Touch(ctx, id, time.Now().Add(time.Hour)) },
		"delete": func(ctx context.Context) error { return st.Delete(ctx, id) },
	}
	for name, call := range calls {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		err := call(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			t.Errorf("%s while another pool holds the write lock: %v, want an error wrapping context.DeadlineExceeded that says SQLITE_BUSY", name, err)
		}
	}
	// Reads are not blocked by the writer (WAL).
	if data, _, found, err := st.Load(t.Context(), id); err != nil || !found || string(data) != "x" {
		t.Errorf("Load beside the writer = (%q, %v, %v)", data, found, err)
	}
}

// A PostgreSQL table whose columns have other types than the Store
// creates (here expiresAt as double precision, after ALTER TABLE) reads the same through the connections' LoadRow (Open's
// pool) as through database/sql (an application's pool): a value that
// LoadRow cannot scan goes to database/sql's conversions.
func TestRowLoaderOddColumns(t *testing.T) {
	url := testserver.Postgres(t)
	direct := openStore(t, url, sqlstore.Options{Table: "loader_odd"})
	viaSQL, err := sqlstore.New(t.Context(), appPool(t, sqlstore.Postgres, url), sqlstore.Postgres, sqlstore.Options{Table: "loader_odd"})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`ALTER TABLE loader_odd ALTER COLUMN "expiresAt" TYPE double precision`,
	} {
		if _, err := direct.DB().Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	later := float64(time.Now().Add(time.Hour).UnixMilli())
	rows := map[string]float64{"integral": later, "fractional": later + 0.5}
	for id, exp := range rows {
		if _, err := direct.DB().Exec(`INSERT INTO loader_odd (id, payload, "lastActivity", "expiresAt") VALUES ($1, '{}', 0, $2)`, id, exp); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	// An integral double: pgx scans it into the int64 (database/sql's
	// conversion of a float64 refuses one this large).
	data, expiry, found, err := direct.Load(t.Context(), "integral")
	if err != nil || !found || string(data) != "{}" || expiry.UnixMilli() != int64(later) {
		t.Errorf("integral: LoadRow's Load = (%q, %v, %v, %v), want ({}, %v, true, nil)", data, expiry, found, err, time.UnixMilli(int64(later)))
	}
	// A fractional one: LoadRow leaves it to database/sql, which refuses it
	// as it does on an application's pool.
	_, _, found1, err1 := direct.Load(t.Context(), "fractional")
	_, _, found2, err2 := viaSQL.Load(t.Context(), "fractional")
	if err1 == nil || err2 == nil || found1 || found2 || err1.Error() != err2.Error() {
		t.Errorf("fractional: LoadRow's Load = (%v, %v), database/sql's = (%v, %v); want the same error", found1, err1, found2, err2)
	}
	if !direct.RowLoader() || viaSQL.RowLoader() {
		t.Errorf("RowLoader: Open's %v, New's %v; want true, false", direct.RowLoader(), viaSQL.RowLoader())
	}
}
