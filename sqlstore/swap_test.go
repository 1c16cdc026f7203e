package sqlstore_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// TestSwapper runs the Swapper conformance suite on every dialect, a fresh
// table per subtest.
func TestSwapper(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		db := appPool(t, b.dialect, b.newURL(t))
		var n atomic.Int64
		storetest.RunSwapper(t, func(t *testing.T) session.Store {
			st, err := sqlstore.New(t.Context(), db, b.dialect, sqlstore.Options{
				Table: fmt.Sprintf("swapper_%d", n.Add(1)),
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			return st
		})
	})
}

// TestSwapOneConnection runs Swaps that succeed and fail in turn on a pool
// of one connection (from Open, and from New on an application's pool): in
// MySQL, Swap reads its answer from LAST_INSERT_ID, which must not carry
// over from one statement to the next on a connection.
func TestSwapOneConnection(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		url := b.newURL(t)
		app := appPool(t, b.dialect, url)
		app.SetMaxOpenConns(1)
		fromNew, err := sqlstore.New(t.Context(), app, b.dialect, sqlstore.Options{Table: "one_conn_new"})
		if err != nil {
			t.Fatal(err)
		}
		fromOpen := openStore(t, url, sqlstore.Options{Table: "one_conn_open"})
		fromOpen.DB().SetMaxOpenConns(1)
		stores := []*sqlstore.Store{fromNew, fromOpen}
		if b.dialect == sqlstore.MySQL {
			// Server-side prepared statements as well.
			prepared := openStore(t, url+"?interpolateParams=false", sqlstore.Options{Table: "one_conn_prepared"})
			prepared.DB().SetMaxOpenConns(1)
			stores = append(stores, prepared)
		}
		for _, st := range stores {
			id, id2 := storetest.NewID(), storetest.NewID()
			exp := time.Now().Add(time.Hour)
			steps := []struct {
				id        string
				old, next string
				nilOld    bool
				want      bool
			}{
				{id, "", "a", true, true},   // create
				{id, "", "b", true, false},  // live: kept (LAST_INSERT_ID 2)
				{id2, "", "c", true, true},  // insert right after: 0
				{id, "a", "d", false, true}, // replace (lastActivity + 1)
				{id, "a", "e", false, false},
				{id2, "x", "f", false, false},
				{id2, "", "g", true, false},
				{id2, "c", "h", false, true},
			}
			for i, s := range steps {
				var old []byte
				if !s.nilOld {
					old = []byte(s.old)
				}
				got, err := st.Swap(t.Context(), s.id, old, []byte(s.next), exp)
				if err != nil || got != s.want {
					t.Errorf("%s: step %d: Swap(old %q, next %q) = (%v, %v), want %v", st.Table(), i, old, s.next, got, err, s.want)
				}
			}
			for id, want := range map[string]string{id: "d", id2: "h"} {
				d, _, found, err := st.Load(t.Context(), id)
				if err != nil || !found || string(d) != want {
					t.Errorf("%s: Load = (%q, %v, %v), want %q", st.Table(), d, found, err, want)
				}
			}
		}
	})
}

// Swap rejects an ID outside the alphabet with ErrInvalidID, before any
// statement.
func TestSwapInvalidID(t *testing.T) {
	st := openStore(t, backends[0].newURL(t), sqlstore.Options{})
	for _, id := range []string{"", "a/b", "x'; DROP TABLE sessions; --", string(make([]byte, 200))} {
		ok, err := st.Swap(t.Context(), id, nil, []byte("x"), time.Now().Add(time.Hour))
		if ok || err == nil {
			t.Errorf("Swap(%q) = (%v, %v), want an error", id, ok, err)
		}
	}
}

// roundTrips is the number of exchanges with the server that c counts: each
// query and exec, and each transaction's BEGIN and COMMIT. (In SQLite
// BEGIN IMMEDIATE and COMMIT are execs already, and there is no server.)
func roundTrips(c *counts) int64 {
	return c.queries.Load() + c.execs.Load() + 2*c.begins.Load()
}

// TestSwapRoundTrips counts what a request costs at the database/sql
// driver, through a Manager over the store: a read-only request makes one
// query and no write; a writing request on a session that no other request
// changed makes two statements (the Load, then one Swap) and no
// transaction; a new session is created by one statement (a Swap with old
// nil). It logs, for comparison, what the same requests cost when the
// Manager saves with Update (one transaction: BEGIN, SELECT ... FOR UPDATE,
// UPDATE, COMMIT).
//
// The Manager's use of Swap is what the checks of the Swap path measure:
// they fail on a core that still saves with Update.
func TestSwapRoundTrips(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		var dc counts
		db := countingPool(t, b.dialect, b.newURL(t), &dc)
		st, err := sqlstore.New(t.Context(), db, b.dialect, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}

		// The store alone: Load then Swap, one statement each.
		id := storetest.NewID()
		dc.reset()
		if ok, err := st.Swap(t.Context(), id, nil, []byte("v1"), time.Now().Add(time.Hour)); !ok || err != nil {
			t.Fatalf("Swap(nil) = (%v, %v)", ok, err)
		}
		d, _, _, err := st.Load(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := st.Swap(t.Context(), id, d, []byte("v2"), time.Now().Add(time.Hour)); !ok || err != nil {
			t.Fatalf("Swap(old) = (%v, %v)", ok, err)
		}
		if dc.queries.Load() != 1 || dc.execs.Load() != 2 || dc.begins.Load() != 0 {
			t.Errorf("Swap, Load, Swap reached the database with %v, want 1 query, 2 execs and no transaction", &dc)
		}

		type cost struct{ newSession, read, write counts }
		measure := func(t *testing.T, store session.Store) *cost {
			var c cost
			m := storetest.NewManager(t, store, session.Config{})
			dc.reset()
			cookie := sessionCookie(t, request(handler(m, func(s *session.Session) { s.Put("user", "ana") }), nil))
			c.newSession.add(&dc)

			dc.reset()
			var got any
			resp := request(handler(m, func(s *session.Session) { got = s.Get("user") }), cookie)
			if resp.StatusCode != http.StatusOK || got != "ana" {
				t.Fatalf("read request: status %d, user %v", resp.StatusCode, got)
			}
			c.read.add(&dc)

			dc.reset()
			resp = request(handler(m, func(s *session.Session) { s.Put("visits", 1) }), cookie)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("write request: status %d", resp.StatusCode)
			}
			c.write.add(&dc)
			request(handler(m, func(s *session.Session) { got = s.Get("visits") }), cookie)
			if got != 1 {
				t.Fatalf("the write was lost: visits = %v", got)
			}
			return &c
		}

		before := measure(t, storetest.Plain(st))
		after := measure(t, st)
		t.Logf("%s, saving with Update: new session %v (%d round trips), read %v (%d), write %v (%d)", b.name,
			&before.newSession, roundTrips(&before.newSession), &before.read, roundTrips(&before.read), &before.write, roundTrips(&before.write))
		t.Logf("%s, saving with Swap:   new session %v (%d round trips), read %v (%d), write %v (%d)", b.name,
			&after.newSession, roundTrips(&after.newSession), &after.read, roundTrips(&after.read), &after.write, roundTrips(&after.write))

		// The baseline: Load, then BEGIN, SELECT ... FOR UPDATE, UPDATE,
		// COMMIT (in SQLite BEGIN IMMEDIATE and COMMIT are execs).
		if c := &before.write; roundTrips(c) != 5 || c.queries.Load() != 2 {
			t.Errorf("saving with Update: a writing request reached the database with %v, want the Load and one transaction (SELECT ... FOR UPDATE, UPDATE)", c)
		}
		for name, c := range map[string]*counts{"with Update": &before.read, "with Swap": &after.read} {
			if c.queries.Load() != 1 || c.execs.Load() != 0 || c.begins.Load() != 0 {
				t.Errorf("saving %s: a read-only request reached the database with %v, want 1 query and nothing else", name, c)
			}
		}
		if c := &after.write; c.queries.Load() != 1 || c.execs.Load() != 1 || c.begins.Load() != 0 {
			t.Errorf("a writing request on an unchanged session reached the database with %v, want 1 query (Load) and 1 exec (Swap), no transaction", c)
		}
		if c := &after.newSession; c.queries.Load() != 0 || c.execs.Load() != 1 || c.begins.Load() != 0 {
			t.Errorf("a new session reached the database with %v, want 1 exec (Swap) and nothing else", c)
		}
	})
}

// add adds what o counted to c.
func (c *counts) add(o *counts) {
	c.queries.Add(o.queries.Load())
	c.execs.Add(o.execs.Load())
	c.begins.Add(o.begins.Load())
}
