package ferrettest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/mongostore"
	"github.com/sessionkit/session/storetest"
)

// Issue 13 for MongoDB: an application with a 30-minute lifetime wrote a
// session 10 minutes ago. A process with the default 5-minute lifetime over
// the same collection, opened as sessionctl opens it (the "mongodb" driver,
// only the connection and the collection set), decides nothing from its own
// lifetime: its sweeps keep the session, Load returns it with its own
// expiry, and ListActivity reports the document's last activity, not the
// expiry less 5 minutes.
func TestOtherLifetimeKeepsSessions(t *testing.T) {
	coll := newCollection(t)
	app, err := mongostore.New(t.Context(), coll, mongostore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	appM := storetest.NewManager(t, app, session.Config{Lifetime: 30 * time.Minute})
	storetest.Put(t, appM, nil, "user", "Ana")
	var doc struct {
		ID string `bson:"_id"`
	}
	if err := coll.FindOne(t.Context(), bson.D{}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	// As if written 10 minutes ago with the application's 30 minutes.
	written := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	expiry := written.Add(30 * time.Minute)
	if _, err := coll.UpdateOne(t.Context(), bson.D{{Key: "_id", Value: doc.ID}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "lastActivity", Value: written.Unix()},
		{Key: "expiresAt", Value: bson.NewDateTimeFromTime(expiry)},
	}}}); err != nil {
		t.Fatal(err)
	}

	op := storetest.NewManager(t, nil, session.Config{
		Driver:     "mongodb",
		Connection: serverURI + testDB + "?maxPoolSize=1",
		Table:      coll.Name(),
	})
	st := op.Store().(*mongostore.Store)

	if n, err := op.Sweep(t.Context()); n != 0 || err != nil {
		t.Errorf("Sweep with a 5-minute lifetime = (%d, %v), want (0, nil)", n, err)
	}
	if n, err := st.SweepBatch(t.Context(), 100); n != 0 || err != nil {
		t.Errorf("SweepBatch = (%d, %v), want (0, nil)", n, err)
	}
	if _, exp, found, err := st.Load(t.Context(), doc.ID); !found || err != nil || !exp.Equal(expiry) {
		t.Errorf("Load = (%v, %v, %v), want found with expiry %v", exp, found, err, expiry)
	}
	seen := 0
	err = st.ListActivity(t.Context(), func(id string, last, exp time.Time) bool {
		seen++
		if id != doc.ID || !last.Equal(written) || !exp.Equal(expiry) {
			t.Errorf("ListActivity gave (%s, last %v, expires %v), want (%s, last %v, expires %v)", id, last, exp, doc.ID, written, expiry)
		}
		return true
	})
	if err != nil || seen != 1 {
		t.Errorf("ListActivity = %v after %d sessions, want 1", err, seen)
	}
	n := 0
	if err := st.List(t.Context(), func(string, time.Time) bool { n++; return true }); err != nil || n != 1 {
		t.Errorf("List = %v after %d sessions, want 1", err, n)
	}
}

// ListActivity reports the time of the last write or touch, the zero time
// for a document without lastActivity, live documents only, and stops when
// fn returns false.
func TestListActivity(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	before := time.Now().Truncate(time.Second)
	a, b := storetest.NewID(), storetest.NewID()
	put(t, st, a, []byte("a"), time.Now().Add(time.Hour))
	put(t, st, b, []byte("b"), time.Now().Add(-time.Minute)) // expired: not listed
	foreign := storetest.NewID()
	if _, err := st.Collection().InsertOne(ctx, bson.D{
		{Key: "_id", Value: foreign},
		{Key: "payload", Value: "x"},
		{Key: "expiresAt", Value: bson.NewDateTimeFromTime(time.Now().Add(time.Hour))},
	}); err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Time{}
	if err := st.ListActivity(ctx, func(id string, last, _ time.Time) bool { got[id] = last; return true }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[a].Before(before) || got[a].After(time.Now()) || !got[foreign].IsZero() {
		t.Errorf("ListActivity = %v, want %s at about %v and %s at the zero time", got, a, before, foreign)
	}
	calls := 0
	if err := st.ListActivity(ctx, func(string, time.Time, time.Time) bool { calls++; return false }); err != nil || calls != 1 {
		t.Errorf("ListActivity = %v after %d calls of fn returning false, want 1", err, calls)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := st.ListActivity(cctx, func(string, time.Time, time.Time) bool { return true }); !errors.Is(err, context.Canceled) {
		t.Errorf("ListActivity with a canceled context = %v, want context.Canceled", err)
	}
}
