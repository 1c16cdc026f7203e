package sqlstore_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/sqlstore"
	"github.com/sessionkit/session/storetest"
)

// countingStore counts the Store calls the Manager makes.
type countingStore struct {
	*sqlstore.Store
	mu                                             sync.Mutex
	loads, updates, deletes, touches, moves, swaps int
}

func (c *countingStore) Load(ctx context.Context, id string) ([]byte, time.Time, bool, error) {
	c.mu.Lock()
	c.loads++
	c.mu.Unlock()
	return c.Store.Load(ctx, id)
}

func (c *countingStore) Update(ctx context.Context, id string, fn func([]byte, bool) ([]byte, time.Time, error)) error {
	c.mu.Lock()
	c.updates++
	c.mu.Unlock()
	return c.Store.Update(ctx, id, fn)
}

func (c *countingStore) Delete(ctx context.Context, id string) error {
	c.mu.Lock()
	c.deletes++
	c.mu.Unlock()
	return c.Store.Delete(ctx, id)
}

func (c *countingStore) Touch(ctx context.Context, id string, expiry time.Time) error {
	c.mu.Lock()
	c.touches++
	c.mu.Unlock()
	return c.Store.Touch(ctx, id, expiry)
}

func (c *countingStore) Move(ctx context.Context, oldID, newID string, fn func([]byte, bool) ([]byte, time.Time, error)) error {
	c.mu.Lock()
	c.moves++
	c.mu.Unlock()
	return c.Store.Move(ctx, oldID, newID, fn)
}

func (c *countingStore) Swap(ctx context.Context, id string, old, next []byte, expiry time.Time) (bool, error) {
	c.mu.Lock()
	c.swaps++
	c.mu.Unlock()
	return c.Store.Swap(ctx, id, old, next, expiry)
}

func (c *countingStore) reset() {
	c.mu.Lock()
	c.loads, c.updates, c.deletes, c.touches, c.moves, c.swaps = 0, 0, 0, 0, 0, 0
	c.mu.Unlock()
}

func (c *countingStore) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("%d Load, %d Update, %d Delete, %d Touch, %d Move, %d Swap", c.loads, c.updates, c.deletes, c.touches, c.moves, c.swaps)
}

// A request that only reads its session costs one query and writes nothing;
// one that writes costs one more statement (a Swap), no transaction;
// Regenerate moves the row in one transaction. Counted both at the Store and at the database/sql driver.
func TestRequestCost(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		var dc counts
		db := countingPool(t, b.dialect, b.newURL(t), &dc)
		st, err := sqlstore.New(t.Context(), db, b.dialect, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cs := &countingStore{Store: st}
		m := storetest.NewManager(t, cs, session.Config{})
		cookie := sessionCookie(t, request(handler(m, func(s *session.Session) { s.Put("user", "ana") }), nil))

		// Read only.
		cs.reset()
		dc.reset()
		var got any
		resp := request(handler(m, func(s *session.Session) { got = s.Get("user") }), cookie)
		if resp.StatusCode != http.StatusOK || got != "ana" {
			t.Fatalf("read request: status %d, user %v", resp.StatusCode, got)
		}
		if s := cs.String(); s != "1 Load, 0 Update, 0 Delete, 0 Touch, 0 Move, 0 Swap" {
			t.Errorf("a read-only request made %s, want one Load only", s)
		}
		if dc.queries.Load() != 1 || dc.execs.Load() != 0 || dc.begins.Load() != 0 {
			t.Errorf("a read-only request reached the database with %v, want 1 query and nothing else", &dc)
		}

		// Write: one Load, one Swap (one statement, no transaction).
		cs.reset()
		dc.reset()
		request(handler(m, func(s *session.Session) { s.Put("visits", 1) }), cookie)
		if s := cs.String(); s != "1 Load, 0 Update, 0 Delete, 0 Touch, 0 Move, 1 Swap" {
			t.Errorf("a writing request made %s, want one Load and one Swap", s)
		}
		if dc.queries.Load()+dc.execs.Load() != 2 || dc.begins.Load() != 0 {
			t.Errorf("a writing request reached the database with %v, want 2 statements and no transaction", &dc)
		}
		t.Logf("writing request: %v", &dc)

		// Regenerate: one Move; the old ID stops loading, the new one has the data.
		cs.reset()
		resp = request(handler(m, func(s *session.Session) {
			if err := s.Regenerate(); err != nil {
				t.Errorf("Regenerate: %v", err)
			}
		}), cookie)
		if cs.moves != 1 || cs.deletes != 0 {
			t.Errorf("Regenerate made %s, want one Move", cs)
		}
		newCookie := sessionCookie(t, resp)
		if newCookie.Value == cookie.Value {
			t.Fatal("Regenerate kept the cookie")
		}
		request(handler(m, func(s *session.Session) { got = s.Get("user") }), cookie)
		if got != nil {
			t.Errorf("the old ID still loads after Regenerate (user %v)", got)
		}
		request(handler(m, func(s *session.Session) { got = s.Get("user") }), newCookie)
		if got != "ana" {
			t.Errorf("the new ID loads user %v, want ana", got)
		}
		var rows int
		if err := db.QueryRow("SELECT COUNT(*) FROM sessions").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 1 {
			t.Errorf("the table holds %d rows after Regenerate, want 1", rows)
		}
	})
}
