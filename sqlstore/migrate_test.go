package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// createNodeSessionTable creates table with NodeSession's layout (id,
// payload, lastActivity in Unix seconds, indexed; no expiresAt), as
// sqlstore.Schema gave it before the table kept each session's expiry.
func createNodeSessionTable(t testing.TB, db *sql.DB, d sqlstore.Dialect, table string) {
	t.Helper()
	var stmts []string
	switch d {
	case sqlstore.SQLite:
		stmts = []string{
			`CREATE TABLE "` + table + `" (id TEXT NOT NULL PRIMARY KEY, payload TEXT NOT NULL, lastActivity INTEGER NOT NULL)`,
			`CREATE INDEX "` + table + `_lastActivity" ON "` + table + `" (lastActivity)`,
		}
	case sqlstore.Postgres:
		stmts = []string{
			`CREATE TABLE "` + table + `" ("id" TEXT COLLATE "C" NOT NULL PRIMARY KEY, "payload" TEXT NOT NULL, "lastActivity" BIGINT NOT NULL)`,
			`CREATE INDEX "` + table + `_lastActivity" ON "` + table + `" ("lastActivity")`,
		}
	default:
		stmts = []string{"CREATE TABLE `" + table + "` (`id` VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, " +
			"`payload` MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, `lastActivity` BIGINT NOT NULL, " +
			"PRIMARY KEY (`id`), KEY `" + table + "_lastActivity` (`lastActivity`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"}
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// insertActivity writes a row the way a program that knows only id,
// payload and lastActivity does.
func insertActivity(t testing.TB, db *sql.DB, d sqlstore.Dialect, table, id string, lastActivity time.Time) {
	t.Helper()
	_, err := db.Exec("INSERT INTO "+table+" (id, payload, "+quoteCol(d, "lastActivity")+") VALUES ("+placeholders(d, 3)+")",
		id, `{"v":1,"data":{}}`, lastActivity.Unix())
	if err != nil {
		t.Fatal(err)
	}
}

// hasColumn reports whether table has column name.
func hasColumn(db *sql.DB, d sqlstore.Dialect, table, name string) bool {
	col := quoteCol(d, name)
	if d == sqlstore.SQLite {
		col = name // SQLite takes a quoted name that names no column for a string
	}
	rows, err := db.Query("SELECT " + col + " FROM " + table + " WHERE 1=0")
	if err != nil {
		return false
	}
	rows.Close()
	return true
}

// A NodeSession table gets the expiresAt column, its index and its rows'
// expiries (lastActivity + the application's Lifetime) from New, in one
// step under the schema lock; without a Lifetime, or under SkipCreate, New
// changes nothing and says what to do.
func TestMigrateNodeSessionTable(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := appPool(t, b.dialect, b.newURL(t))
		ctx := t.Context()
		const table, lifetime = "legacy", 30 * time.Minute
		createNodeSessionTable(t, db, b.dialect, table)
		now := time.Now()
		recent, old := storetest.NewID(), storetest.NewID()
		insertActivity(t, db, b.dialect, table, recent, now.Add(-10*time.Minute))
		insertActivity(t, db, b.dialect, table, old, now.Add(-40*time.Minute))

		_, err := sqlstore.New(ctx, db, b.dialect, sqlstore.Options{Table: table, SkipCreate: true, Lifetime: lifetime})
		if !errors.Is(err, sqlstore.ErrSchema) || !strings.Contains(err.Error(), `"expiresAt"`) || !strings.Contains(err.Error(), "sessionctl migrate") {
			t.Errorf("New with SkipCreate on a NodeSession table: error = %v, want ErrSchema naming expiresAt and sessionctl migrate", err)
		}
		_, err = sqlstore.New(ctx, db, b.dialect, sqlstore.Options{Table: table})
		if !errors.Is(err, session.ErrConfig) || !strings.Contains(err.Error(), "Options.Lifetime") || !strings.Contains(err.Error(), "--lifetime") {
			t.Errorf("New without Lifetime on a NodeSession table with rows: error = %v, want ErrConfig naming Options.Lifetime and --lifetime", err)
		}
		if err != nil && strings.Count(err.Error(), "sqlstore: ") != 1 {
			t.Errorf("error %q does not say sqlstore: once", err)
		}
		if hasColumn(db, b.dialect, table, "expiresAt") {
			t.Fatal("a New that failed added the expiresAt column")
		}

		st, err := sqlstore.New(ctx, db, b.dialect, sqlstore.Options{Table: table, Lifetime: lifetime})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			`added column "expiresAt" to table "legacy"`,
			`created index "legacy_expiresAt" on column "expiresAt"`,
			`set the expiry of 2 rows of table "legacy" to lastActivity + 30m0s`,
			`created table "legacy_users"`,
		}
		if got := st.SchemaChanges(); !slices.Equal(got, want) {
			t.Errorf("SchemaChanges = %q, want %q", got, want)
		}
		_, exp, found, err := st.Load(ctx, recent)
		if wantExp := time.Unix(now.Add(-10*time.Minute).Unix(), 0).Add(lifetime); !found || err != nil || !exp.Equal(wantExp) {
			t.Errorf("Load of the row active 10 minutes ago: (%v, %v, %v), want its expiry %v", exp, found, err, wantExp)
		}
		if _, _, found, _ := st.Load(ctx, old); found {
			t.Error("the row active 40 minutes ago loads")
		}
		if n, err := st.Sweep(ctx); n != 1 || err != nil {
			t.Errorf("Sweep = (%d, %v), want the row active 40 minutes ago", n, err)
		}

		// A writer unaware of the column (the previous release, still
		// running during a rolling upgrade) adds a row: it has no expiry,
		// does not load and is not swept until the next New sets it.
		late := storetest.NewID()
		insertActivity(t, db, b.dialect, table, late, time.Now())
		if _, _, found, _ := st.Load(ctx, late); found {
			t.Error("a row without an expiry loads")
		}
		if n, err := st.Sweep(ctx); n != 0 || err != nil {
			t.Errorf("Sweep = (%d, %v) with a row without an expiry, want (0, nil)", n, err)
		}
		st2, err := sqlstore.New(ctx, db, b.dialect, sqlstore.Options{Table: table, Lifetime: lifetime})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := st2.SchemaChanges(), []string{`set the expiry of 1 rows of table "legacy" to lastActivity + 30m0s`}; !slices.Equal(got, want) {
			t.Errorf("SchemaChanges = %q, want %q", got, want)
		}
		if _, _, found, err := st2.Load(ctx, late); !found || err != nil {
			t.Errorf("Load of the late row after New: (%v, %v)", found, err)
		}
		st3, err := sqlstore.New(ctx, db, b.dialect, sqlstore.Options{Table: table})
		if err != nil {
			t.Fatalf("New on the migrated table without a Lifetime: %v", err)
		}
		if got := st3.SchemaChanges(); len(got) > 0 {
			t.Errorf("New on the migrated table changed %q", got)
		}
	})
}

// Several processes starting at once on a NodeSession table migrate it
// once: one adds the column and sets the rows' expiries, the others find it
// done.
func TestConcurrentMigrate(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		rawURL := b.newURL(t)
		db := appPool(t, b.dialect, rawURL)
		createNodeSessionTable(t, db, b.dialect, "sessions")
		const rows = 50
		for i := range rows {
			insertActivity(t, db, b.dialect, "sessions", fmt.Sprintf("id%03d", i), time.Now())
		}
		const n = 6
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			changes []string
		)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				st, err := sqlstore.Open(t.Context(), rawURL, sqlstore.Options{Lifetime: time.Hour})
				if err != nil {
					t.Errorf("Open %d: %v", i, err)
					return
				}
				mu.Lock()
				changes = append(changes, st.SchemaChanges()...)
				mu.Unlock()
				st.Close()
			}()
		}
		close(start)
		wg.Wait()
		slices.Sort(changes)
		want := []string{
			`added column "expiresAt" to table "sessions"`,
			`created index "sessions_expiresAt" on column "expiresAt"`,
			`created table "sessions_users"`,
			fmt.Sprintf(`set the expiry of %d rows of table "sessions" to lastActivity + 1h0m0s`, rows),
		}
		if !slices.Equal(changes, want) {
			t.Errorf("changes of %d concurrent Opens = %q, want %q once each", n, changes, want)
		}
		var zero int
		if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM sessions WHERE "+quoteCol(b.dialect, "expiresAt")+" = 0").Scan(&zero); err != nil || zero != 0 {
			t.Errorf("rows without an expiry: %d (%v)", zero, err)
		}
	})
}
