package sqlstore_test

import (
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// A table with a missing or unusable column is a clear error from New,
// naming the table and the column, with or without SkipCreate.
func TestWrongColumns(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := appPool(t, b.dialect, b.newURL(t))
		ctx := t.Context()
		text := "TEXT"
		for _, tc := range []struct {
			table, ddl, column string
		}{
			{"snake", "CREATE TABLE snake (id VARCHAR(128) PRIMARY KEY, payload TEXT, last_activity BIGINT)", "lastActivity"},
			{"nopayload", "CREATE TABLE nopayload (id VARCHAR(128) PRIMARY KEY, data TEXT, " + quoteCol(b.dialect, "lastActivity") + " BIGINT)", "payload"},
			{"noid", "CREATE TABLE noid (sid VARCHAR(128) PRIMARY KEY, payload TEXT, " + quoteCol(b.dialect, "lastActivity") + " BIGINT)", "id"},
			{"texttime", "CREATE TABLE texttime (id VARCHAR(128) PRIMARY KEY, payload " + text + ", " + quoteCol(b.dialect, "lastActivity") + " " + text + ")", "lastActivity"},
		} {
			if _, err := db.ExecContext(ctx, tc.ddl); err != nil {
				t.Fatalf("%s: %v", tc.ddl, err)
			}
			for _, skip := range []bool{false, true} {
				_, err := sqlstore.New(ctx, db, b.dialect, sqlstore.Options{Table: tc.table, SkipCreate: skip})
				switch {
				case err == nil:
					t.Errorf("New on table %s (SkipCreate %v) succeeded, want an error naming column %s", tc.table, skip, tc.column)
				case !errors.Is(err, sqlstore.ErrSchema):
					t.Errorf("New on table %s: error %v does not wrap ErrSchema", tc.table, err)
				case !strings.Contains(err.Error(), `"`+tc.table+`"`) || !strings.Contains(err.Error(), `"`+tc.column+`"`):
					t.Errorf("New on table %s: error %q does not name the table and the column %q", tc.table, err, tc.column)
				case !strings.HasPrefix(err.Error(), "sqlstore: "):
					t.Errorf("error %q lacks the sqlstore: prefix", err)
				}
			}
		}

		// A missing table with SkipCreate.
		_, err := sqlstore.New(ctx, db, b.dialect, sqlstore.Options{Table: "absent", SkipCreate: true})
		if !errors.Is(err, sqlstore.ErrSchema) || !strings.Contains(err.Error(), `"absent"`) {
			t.Errorf("New with SkipCreate on a missing table: error = %v, want ErrSchema naming it", err)
		}
		// ... and without: it is created.
		if _, err := sqlstore.New(ctx, db, b.dialect, sqlstore.Options{Table: "absent"}); err != nil {
			t.Errorf("New creating a missing table: %v", err)
		}

		if b.dialect == sqlstore.MySQL {
			// MySQL only: a table comparing IDs case-insensitively, or
			// one that is not InnoDB (no transactions, no row locks).
			for _, tc := range []struct{ table, ddl, want string }{
				{"ci", "CREATE TABLE ci (id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, payload TEXT, lastActivity BIGINT) ENGINE=InnoDB", "case-insensitive"},
				{"myisam", "CREATE TABLE myisam (id VARBINARY(128) PRIMARY KEY, payload TEXT, lastActivity BIGINT) ENGINE=MyISAM", "InnoDB"},
			} {
				if _, err := db.ExecContext(ctx, tc.ddl); err != nil {
					t.Fatal(err)
				}
				_, err := sqlstore.New(ctx, db, b.dialect, sqlstore.Options{Table: tc.table, SkipCreate: true})
				if !errors.Is(err, sqlstore.ErrSchema) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("New on table %s: error = %v, want ErrSchema mentioning %s", tc.table, err, tc.want)
				}
			}
		}
	})
}

func quoteCol(d sqlstore.Dialect, name string) string {
	if d == sqlstore.MySQL {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

// A table made by hand from Schema's DDL works with SkipCreate; New with
// SkipCreate creates nothing.
func TestSkipCreate(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := appPool(t, b.dialect, b.newURL(t))
		ctx := t.Context()
		if _, err := sqlstore.New(ctx, db, b.dialect, sqlstore.Options{Table: "manual", SkipCreate: true}); err == nil {
			t.Fatal("New with SkipCreate on a missing table succeeded")
		}
		stmts, err := sqlstore.Schema(b.dialect, "manual")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stmts {
			if _, err := db.ExecContext(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		st, err := sqlstore.New(ctx, db, b.dialect, sqlstore.Options{Table: "manual", SkipCreate: true})
		if err != nil {
			t.Fatalf("New with SkipCreate on Schema's table: %v", err)
		}
		id := storetest.NewID()
		exp := time.Now().Add(time.Hour)
		if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), exp, nil }); err != nil {
			t.Fatal(err)
		}
		if _, _, found, err := st.Load(ctx, id); !found || err != nil {
			t.Errorf("Load = (%v, %v)", found, err)
		}
		// The DDL runs again harmlessly.
		for _, s := range stmts {
			if _, err := db.ExecContext(ctx, s); err != nil {
				t.Errorf("%s, a second time: %v", s, err)
			}
		}
	})
}

// Several processes starting at once on an empty database all create, or
// find, the table: 8 Stores with pools of their own open concurrently.
func TestConcurrentCreate(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		rawURL := b.newURL(t)
		const n = 8
		stores := make([]*sqlstore.Store, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				st, err := sqlstore.Open(t.Context(), rawURL, sqlstore.Options{})
				if err != nil {
					t.Errorf("Open %d: %v", i, err)
					return
				}
				stores[i] = st
			}()
		}
		close(start)
		wg.Wait()
		for _, st := range stores {
			if st != nil {
				defer st.Close()
			}
		}
		if t.Failed() {
			return
		}
		// They all work on the one table, and it has its index.
		id := storetest.NewID()
		exp := time.Now().Add(time.Hour)
		for i, st := range stores {
			err := st.Update(t.Context(), id, func(d []byte, found bool) ([]byte, time.Time, error) {
				return append(d, byte('a'+i)), exp, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		d, _, _, _ := stores[0].Load(t.Context(), id)
		if string(d) != "abcdefgh" {
			t.Errorf("record = %q, want abcdefgh", d)
		}
		if !hasIndex(t, stores[0].DB(), b.dialect, "sessions", "sessions_expiresAt") {
			t.Error("the expiresAt index is missing")
		}
	})
}

func hasIndex(t *testing.T, db *sql.DB, d sqlstore.Dialect, table, index string) bool {
	t.Helper()
	var q string
	switch d {
	case sqlstore.SQLite:
		q = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name = ?"
	case sqlstore.Postgres:
		q = "SELECT COUNT(*) FROM pg_indexes WHERE tablename = $1 AND indexname = $2"
	default:
		q = "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?"
	}
	var n int
	if err := db.QueryRow(q, table, index).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// A table made without the index on expiresAt gets it from New; one that
// has an index starting with expiresAt, under any name, gets no other.
func TestAddsIndex(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := appPool(t, b.dialect, b.newURL(t))
		la, ex := quoteCol(b.dialect, "lastActivity"), quoteCol(b.dialect, "expiresAt")
		id := "id VARCHAR(128) PRIMARY KEY"
		engine := ""
		if b.dialect == sqlstore.MySQL {
			id, engine = "id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY", " ENGINE=InnoDB"
		}
		for _, table := range []string{"bare", "own"} {
			_, err := db.Exec("CREATE TABLE " + table + " (" + id + ", payload TEXT NOT NULL, " + la + " BIGINT NOT NULL, " + ex + " BIGINT NOT NULL)" + engine)
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Exec("CREATE INDEX own_by_expiry ON own (" + ex + ", id)"); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"bare", "own"} {
			st, err := sqlstore.New(t.Context(), db, b.dialect, sqlstore.Options{Table: table})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{`created index "bare_expiresAt" on column "expiresAt"`, `created table "bare_users"`}
			if table == "own" {
				want = []string{`created table "own_users"`}
			}
			if got := st.SchemaChanges(); !slices.Equal(got, want) {
				t.Errorf("table %s: SchemaChanges = %q, want %q", table, got, want)
			}
			st, err = sqlstore.New(t.Context(), db, b.dialect, sqlstore.Options{Table: table})
			if err != nil {
				t.Fatalf("New a second time: %v", err)
			}
			if got := st.SchemaChanges(); len(got) > 0 {
				t.Errorf("New a second time changed %q", got)
			}
		}
		if !hasIndex(t, db, b.dialect, "bare", "bare_expiresAt") || hasIndex(t, db, b.dialect, "own", "own_expiresAt") {
			t.Error("New did not add the index to bare only")
		}
	})
}

func TestSchema(t *testing.T) {
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres, sqlstore.MySQL} {
		stmts, err := sqlstore.Schema(d, "")
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(stmts, ";\n")
		for _, want := range []string{"sessions", "id", "payload", "lastActivity", "expiresAt", "sessions_expiresAt", "IF NOT EXISTS", "sessions_users", "user_id", "added"} {
			if !strings.Contains(all, want) {
				t.Errorf("Schema(%s) lacks %q:\n%s", d, want, all)
			}
		}
		if d == sqlstore.Postgres && (!strings.Contains(all, `"lastActivity"`) || !strings.Contains(all, `"expiresAt"`)) {
			t.Errorf("PostgreSQL schema does not quote lastActivity and expiresAt:\n%s", all)
		}
	}
	for _, bad := range []string{"a b", "x;DROP TABLE y", `"quoted"`, "1abc", "a.b", "a-b", strings.Repeat("a", 49), "é"} {
		if _, err := sqlstore.Schema(sqlstore.Postgres, bad); !errors.Is(err, session.ErrConfig) {
			t.Errorf("Schema with table %q: error = %v, want ErrConfig", bad, err)
		}
	}
	if _, err := sqlstore.Schema("oracle", ""); err == nil {
		t.Error("Schema of an unknown dialect succeeded")
	}
}

// MySQL: a pool Open opens runs its transactions in READ COMMITTED (set once
// per connection), so that creating a session takes no gap lock.
func TestMySQLReadCommitted(t *testing.T) {
	b := backends[2]
	st := openStore(t, b.newURL(t), sqlstore.Options{})
	var level string
	// MariaDB's name; MySQL 8 calls it transaction_isolation.
	if err := st.DB().QueryRow("SELECT @@SESSION.tx_isolation").Scan(&level); err != nil {
		t.Fatal(err)
	}
	if level != "READ-COMMITTED" {
		t.Errorf("isolation of Open's connections = %s, want READ-COMMITTED", level)
	}
}
