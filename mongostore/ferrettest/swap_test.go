package ferrettest_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/mongostore"
	"github.com/sessionkit/session/storetest"
)

var _ session.Swapper = (*mongostore.Store)(nil)

func TestSwapper(t *testing.T) {
	storetest.RunSwapper(t, func(t *testing.T) session.Store { return newStore(t) })
}

// Swap writes the document layout Update writes, and increments version,
// so that an Update that read the document before the swap starts again.
func TestSwapDocument(t *testing.T) {
	st := newStore(t)
	coll := st.Collection()
	id := storetest.NewID()
	exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if ok, err := st.Swap(t.Context(), id, nil, []byte(`{"user":"Ana"}`), exp); !ok || err != nil {
		t.Fatalf("Swap = (%v, %v)", ok, err)
	}
	d := rawDoc(t, coll, id)
	if d["payload"] != `{"user":"Ana"}` {
		t.Errorf("payload = %#v, want the string", d["payload"])
	}
	if ea, ok := d["expiresAt"].(bson.DateTime); !ok || !ea.Time().Equal(exp) {
		t.Errorf("expiresAt = %#v, want %v", d["expiresAt"], exp)
	}
	if _, ok := d["lastActivity"].(int64); !ok {
		t.Errorf("lastActivity = %#v (%T), want int64", d["lastActivity"], d["lastActivity"])
	}
	if v, ok := d["version"].(int64); !ok || v != 1 {
		t.Errorf("version = %#v (%T), want int64 1", d["version"], d["version"])
	}
	if ok, err := st.Swap(t.Context(), id, []byte(`{"user":"Ana"}`), []byte("\xff binary"), exp); !ok || err != nil {
		t.Fatalf("Swap = (%v, %v)", ok, err)
	}
	d = rawDoc(t, coll, id)
	if b, ok := d["payload"].(bson.Binary); !ok || string(b.Data) != "\xff binary" {
		t.Errorf("payload = %#v, want BSON binary", d["payload"])
	}
	if v, ok := d["version"].(int64); !ok || v != 2 {
		t.Errorf("version = %#v, want 2", d["version"])
	}

	// An Update whose read came before a Swap calls fn again with the
	// swapped record.
	calls := 0
	err := st.Update(t.Context(), id, func(data []byte, found bool) ([]byte, time.Time, error) {
		calls++
		if calls == 1 {
			if ok, err := st.Swap(t.Context(), id, data, []byte("swapped in between"), exp); !ok || err != nil {
				t.Errorf("Swap inside fn = (%v, %v)", ok, err)
			}
			return []byte("from a stale read"), exp, nil
		}
		if string(data) != "swapped in between" {
			t.Errorf("fn's second call got %q, want the swapped record", data)
		}
		return append([]byte("after "), data...), exp, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d, _, _, _ := st.Load(t.Context(), id); string(d) != "after swapped in between" {
		t.Errorf("record = %q, want the Update applied over the Swap", d)
	}

	if ok, err := st.Swap(t.Context(), "bad/id", nil, []byte("x"), exp); ok || err == nil {
		t.Errorf("Swap of an invalid ID = (%v, %v), want an error", ok, err)
	}
}

// commandCounter counts the commands a client sends: each is one round trip.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(context.Context, *event.CommandStartedEvent) { c.n.Add(1) }}
}

// TestSwapRoundTrips counts the commands (round trips) a request sends,
// through a Manager: a read-only request sends one (find); a writing request
// on a session no other request changed sends two (find, then one update);
// a new session is created with one (an upsert). It logs, for comparison,
// the same requests when the Manager saves with Update (find; find, update
// or insert).
//
// The checks of the Swap path measure the Manager's use of Swap: they fail
// on a core that still saves with Update.
func TestSwapRoundTrips(t *testing.T) {
	needServer(t)
	var cc commandCounter
	c, err := mongo.Connect(options.Client().ApplyURI(serverURI).SetMaxPoolSize(1).SetMonitor(cc.monitor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	coll := c.Database(testDB).Collection(fmt.Sprintf("s%04d", collSeq.Add(1)))
	t.Cleanup(func() {
		coll.Drop(context.Background())
		c.Database(testDB).Collection(coll.Name() + "_users").Drop(context.Background())
	})
	st, err := mongostore.New(t.Context(), coll, mongostore.Options{})
	if err != nil {
		t.Fatal(err)
	}

	measure := func(store session.Store) storetest.RequestCosts {
		c, _ := storetest.MeasureRequests(t, storetest.NewManager(t, store, session.Config{}), func() int64 { return cc.n.Swap(0) })
		return c
	}
	before := measure(storetest.Plain(st))
	after := measure(st)
	t.Logf("commands saving with Update: new session %d, read %d, write %d", before.NewSession, before.Read, before.Write)
	t.Logf("commands saving with Swap:   new session %d, read %d, write %d", after.NewSession, after.Read, after.Write)
	if before.NewSession != 2 || before.Read != 1 || before.Write != 3 {
		t.Errorf("saving with Update: new session %d, read %d, write %d commands, want 2, 1 and 3", before.NewSession, before.Read, before.Write)
	}
	if after.Read != 1 {
		t.Errorf("read-only request: %d commands, want 1", after.Read)
	}
	if after.Write != 2 {
		t.Errorf("writing request on an unchanged session: %d commands, want 2 (find, update)", after.Write)
	}
	if after.NewSession != 1 {
		t.Errorf("new session: %d commands, want 1 (upsert)", after.NewSession)
	}
}
