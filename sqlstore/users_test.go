package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// createSessionsOnly creates table as the first step of SchemaSteps does:
// the sessions table without the user index's table.
func createSessionsOnly(t *testing.T, db *sql.DB, d sqlstore.Dialect, table string) {
	t.Helper()
	steps, err := sqlstore.SchemaSteps(d, table, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps[0].SQL {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// userEntries returns the sorted IDs of user's index.
func userEntries(t *testing.T, idx session.UserIndex, user string) []string {
	t.Helper()
	var ids []string
	if err := idx.ListUserSessions(t.Context(), user, func(id string, _ time.Time) bool { ids = append(ids, id); return true }); err != nil {
		t.Fatalf("ListUserSessions(%q): %v", user, err)
	}
	slices.Sort(ids)
	return ids
}

// checkMissingIndex checks that err is the error of a user index call whose
// table is missing: it wraps ErrSchema, names the table and sessionctl
// migrate, and says sqlstore: once (after session:'s prefix, through the
// Manager).
func checkMissingIndex(t *testing.T, what string, err error, table string, more ...string) {
	t.Helper()
	if !errors.Is(err, sqlstore.ErrSchema) {
		t.Errorf("%s: error = %v, want one wrapping ErrSchema", what, err)
		return
	}
	for _, want := range append([]string{`"` + table + `_users"`, `"sessionctl migrate"`, "sessionctl migrate --print"}, more...) {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q does not say %q", what, err, want)
		}
	}
	if strings.Count(err.Error(), "sqlstore: ") != 1 || !strings.HasPrefix(err.Error(), "sqlstore: ") && !strings.HasPrefix(err.Error(), "session: ") {
		t.Errorf("%s: error %q does not say sqlstore: once", what, err)
	}
}

// With Options.SkipCreate and no user index table, the Store works for
// everything but the index, whose calls (and Login) fail with an error
// naming the table and sessionctl migrate; once the table is made, the same
// Store uses it.
func TestUserIndexTableMissing(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := appPool(t, b.dialect, b.newURL(t))
		ctx := t.Context()
		createSessionsOnly(t, db, b.dialect, "sessions")
		st, err := sqlstore.New(ctx, db, b.dialect, sqlstore.Options{SkipCreate: true})
		if err != nil {
			t.Fatalf("New with SkipCreate and no user index table: %v", err)
		}
		st.SetUserTimes(time.Hour, 0)
		if got := st.SchemaChanges(); len(got) > 0 {
			t.Errorf("New with SkipCreate changed %q", got)
		}
		m := storetest.NewManager(t, st, session.Config{})
		cookie := sessionCookie(t, request(handler(m, func(s *session.Session) { s.Put("k", "v") }), nil))
		var got any
		request(handler(m, func(s *session.Session) { got = s.Get("k") }), cookie)
		if got != "v" {
			t.Errorf("the session store does not work without the user index: k = %v", got)
		}
		if _, err := st.Sweep(ctx); err != nil {
			t.Errorf("Sweep without the user index table: %v", err)
		}

		id := storetest.NewID()
		checkMissingIndex(t, "AddUserSession", st.AddUserSession(ctx, "ana", id), "sessions", "SkipCreate")
		checkMissingIndex(t, "ListUserSessions", st.ListUserSessions(ctx, "ana", func(string, time.Time) bool { return true }), "sessions")
		checkMissingIndex(t, "RemoveUserSessions", st.RemoveUserSessions(ctx, "ana", id), "sessions")
		var loginErr error
		request(handler(m, func(s *session.Session) { loginErr = s.Login("ana") }), cookie)
		checkMissingIndex(t, "Login", loginErr, "sessions")
		if _, err := m.UserSessions(ctx, "ana"); !strings.Contains(fmt.Sprint(err), "sessionctl migrate") {
			t.Errorf("UserSessions: %v, want an error naming sessionctl migrate", err)
		}
		request(handler(m, func(s *session.Session) { got = s.Get("k") }), cookie)
		if got != "v" {
			t.Errorf("a refused Login lost the session: k = %v", got)
		}

		// sessionctl migrate's work: the table appears, and the Store that
		// found it missing uses it once it looks again.
		st2, err := sqlstore.New(ctx, db, b.dialect, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := st2.SchemaChanges(), []string{`created table "sessions_users"`}; !slices.Equal(got, want) {
			t.Errorf("SchemaChanges = %q, want %q", got, want)
		}
		st.SetUserTimes(0, 0)
		if err := st.AddUserSession(ctx, "ana", id); err != nil {
			t.Fatalf("AddUserSession once the table exists: %v", err)
		}
		if got := userEntries(t, st, "ana"); !slices.Equal(got, []string{id}) {
			t.Errorf("ana's index = %v, want [%s]", got, id)
		}
	})
}

// The sweep removes the entries older than a minute whose session is gone
// (no row, or an expired one), walking the index in windows of SweepBatch
// entries; it keeps those of live sessions, of rows without an expiry yet,
// and young ones (a Login in flight). It runs at most once per interval.
func TestUserIndexSweep(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := appPool(t, b.dialect, b.newURL(t))
		ctx := t.Context()
		st, err := sqlstore.New(ctx, db, b.dialect, sqlstore.Options{SweepBatch: 2})
		if err != nil {
			t.Fatal(err)
		}
		st.SetUserTimes(time.Hour, 0)
		put := func(id string, expiry time.Time) {
			t.Helper()
			if err := st.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("x"), expiry, nil }); err != nil {
				t.Fatal(err)
			}
		}
		add := func(user string, ids ...string) {
			t.Helper()
			for _, id := range ids {
				if err := st.AddUserSession(ctx, user, id); err != nil {
					t.Fatal(err)
				}
			}
		}
		age := func() { // every entry so far was added two minutes ago
			t.Helper()
			added := quoteCol(b.dialect, "added")
			if _, err := db.Exec("UPDATE sessions_users SET " + added + " = " + added + " - 120"); err != nil {
				t.Fatal(err)
			}
		}
		live, gone, expired, unset := storetest.NewID(), storetest.NewID(), storetest.NewID(), storetest.NewID()
		put(live, time.Now().Add(time.Hour))
		put(expired, time.Now().Add(-time.Second))
		insertActivity(t, db, b.dialect, "sessions", unset, time.Now()) // expiresAt 0
		bobLive, bobGone, carlGone := storetest.NewID(), storetest.NewID(), storetest.NewID()
		put(bobLive, time.Now().Add(time.Hour))
		add("ana", live, gone, expired, unset)
		add("bob", bobLive, bobGone)
		add("carl", carlGone)
		age()
		young := storetest.NewID()
		add("ana", young)

		if n, err := st.Sweep(ctx); n != 1 || err != nil {
			t.Fatalf("Sweep = (%d, %v), want the expired session", n, err)
		}
		for user, want := range map[string][]string{
			"ana":  {live, unset, young},
			"bob":  {bobLive},
			"carl": nil,
		} {
			slices.Sort(want)
			if got := userEntries(t, st, user); !slices.Equal(got, want) {
				t.Errorf("after the sweep, %s's index = %v, want %v", user, got, want)
			}
		}

		// Within the interval the index is left alone; SweepBatch ending
		// the sessions' sweep takes a pass that is due.
		st.SetUserTimes(time.Hour, time.Hour)
		add("ana", gone)
		age()
		if _, err := st.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if got := userEntries(t, st, "ana"); !slices.Contains(got, gone) {
			t.Error("a second pass ran within the interval")
		}
		st.SetUserTimes(time.Hour, 0)
		if n, err := st.SweepBatch(ctx, 10); n != 0 || err != nil {
			t.Fatalf("SweepBatch = (%d, %v)", n, err)
		}
		if got := userEntries(t, st, "ana"); slices.Contains(got, gone) || !slices.Contains(got, live) {
			t.Errorf("after SweepBatch, ana's index = %v: want %s gone and %s kept", got, gone, live)
		}
	})
}

// Listing a user's sessions is one query on the index table, through its
// primary key (each dialect's query plan says so), and one Load per session:
// never a scan of the sessions table.
func TestUserListCost(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		var dc counts
		rawURL := b.newURL(t)
		db := countingPool(t, b.dialect, rawURL, &dc)
		st, err := sqlstore.New(t.Context(), db, b.dialect, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := storetest.NewManager(t, st, session.Config{})
		for i := range 13 {
			user := "ana"
			if i >= 3 {
				user = fmt.Sprint("user", i)
			}
			request(handler(m, func(s *session.Session) {
				if err := s.Login(user); err != nil {
					t.Errorf("Login: %v", err)
				}
			}), nil)
		}
		dc.reset()
		infos, err := m.UserSessions(t.Context(), "ana")
		if err != nil || len(infos) != 3 {
			t.Fatalf("UserSessions = %d sessions, %v; want 3", len(infos), err)
		}
		if dc.queries.Load() != 4 || dc.execs.Load() != 0 || dc.begins.Load() != 0 {
			t.Errorf("listing 3 sessions reached the database with %v, want 4 queries (the index, 3 loads) and nothing else", &dc)
		}

		// The plan of the index's query, on a table large enough for the
		// planner to prefer an index to a scan.
		admin := appPool(t, b.dialect, rawURL)
		var values []string
		for i := range 2000 {
			values = append(values, fmt.Sprintf("('user%d', '%s', %d)", i%400, storetest.NewID(), time.Now().Unix()))
		}
		if _, err := admin.Exec("INSERT INTO sessions_users (user_id, id, added) VALUES " + strings.Join(values, ", ")); err != nil {
			t.Fatal(err)
		}
		query := st.UserListQuery()
		var plan string
		switch b.dialect {
		case sqlstore.SQLite:
			mustExec(t, admin, "ANALYZE")
			plan = explain(t, admin, "EXPLAIN QUERY PLAN "+query, "ana")
			if !strings.Contains(plan, "SEARCH") || !strings.Contains(plan, "PRIMARY KEY") || strings.Contains(plan, "SCAN") {
				t.Errorf("SQLite plan %q: want a SEARCH through the primary key", plan)
			}
		case sqlstore.Postgres:
			mustExec(t, admin, `ANALYZE "sessions_users"`)
			plan = explain(t, admin, "EXPLAIN "+strings.Replace(query, "$1", "'ana'", 1))
			if !strings.Contains(plan, "sessions_users_pkey") || strings.Contains(plan, "Seq Scan") {
				t.Errorf("PostgreSQL plan %q: want the primary key's index, no Seq Scan", plan)
			}
		default:
			mustExec(t, admin, "ANALYZE TABLE sessions_users")
			plan = explain(t, admin, "EXPLAIN "+query, "ana")
			if !strings.Contains(plan, "key=PRIMARY") || !strings.Contains(plan, "type=ref") {
				t.Errorf("MySQL plan %q: want a ref lookup through PRIMARY", plan)
			}
		}
		t.Logf("plan of %s: %s", query, plan)
	})
}

func mustExec(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	rows, err := db.Query(query) // ANALYZE TABLE returns rows in MySQL
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	rows.Close()
}

// explain runs an EXPLAIN and returns its rows as text, one "col=value"
// list per row.
func explain(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for i, c := range cols {
			if len(cols) == 1 {
				parts = append(parts, vals[i].String)
			} else {
				parts = append(parts, c+"="+vals[i].String)
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "; ")
}
