package ferrettest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/mongostore"
	"github.com/sessionkit/session/storetest"
)

var _ session.UserIndex = (*mongostore.Store)(nil)

// The UserIndex conformance suite (RunManager's user subtests run in
// TestManager).
func TestUserIndex(t *testing.T) {
	storetest.RunUserIndex(t, func(t *testing.T) session.Store { return newStore(t) })
}

// userHash is the hex SHA-256 of a user ID, as the package documentation
// says the entries hold it.
func userHash(user string) string {
	sum := sha256.Sum256([]byte(user))
	return hex.EncodeToString(sum[:])
}

// The user index's documents have the layout the package documentation
// describes: in <collection>_users, {_id: hash/ID, user: hash, added: a
// date}, never the user ID itself; New made the index on user.
func TestUserIndexLayout(t *testing.T) {
	st := newStore(t)
	users := st.UserCollection()
	if want := st.Collection().Name() + "_users"; users.Name() != want || users.Database().Name() != st.Collection().Database().Name() {
		t.Errorf("user index collection %s.%s, want %s.%s", users.Database().Name(), users.Name(), st.Collection().Database().Name(), want)
	}
	ctx := t.Context()
	const user = "ana@example.com"
	id := storetest.NewID()
	before := time.Now().Truncate(time.Millisecond)
	if err := st.AddUserSession(ctx, user, id); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	var docs []bson.M
	cur, err := users.Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 {
		t.Fatalf("the user index holds %d documents, want 1: %v", len(docs), docs)
	}
	d := docs[0]
	h := userHash(user)
	if d["_id"] != h+"/"+id || d["user"] != h || len(d) != 3 {
		t.Errorf("entry %v, want {_id: %s/%s, user: %s, added}", d, h, id, h)
	}
	if added, ok := d["added"].(bson.DateTime); !ok || added.Time().Before(before) || added.Time().After(after) {
		t.Errorf("added = %#v (%T), want a BSON date between %v and %v", d["added"], d["added"], before, after)
	}
	if s := fmt.Sprint(d); strings.Contains(s, user) {
		t.Errorf("the entry holds the user ID itself: %s", s)
	}

	specs, err := users.Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	if !slices.Contains(names, "user_1") {
		t.Errorf("indexes of %s: %v, want user_1", users.Name(), names)
	}

	if err := st.AddUserSession(ctx, user, "bad/id"); !errors.Is(err, mongostore.ErrInvalidID) {
		t.Errorf("AddUserSession of an invalid ID: %v, want ErrInvalidID", err)
	}
	// A document of another form in the collection is not an entry.
	if _, err := users.InsertOne(ctx, bson.D{{Key: "_id", Value: h + "/not a session ID"}, {Key: "user", Value: h}}); err != nil {
		t.Fatal(err)
	}
	var listed []string
	if err := st.ListUserSessions(ctx, user, func(id string, _ time.Time) bool { listed = append(listed, id); return true }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(listed, []string{id}) {
		t.Errorf("listed %q, want only [%s]", listed, id)
	}
}

// Adding, listing and removing are one command (round trip) each.
func TestUserIndexCommands(t *testing.T) {
	needServer(t)
	var cc commandCounter
	c, err := mongo.Connect(options.Client().ApplyURI(serverURI).SetMaxPoolSize(1).SetMonitor(cc.monitor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	st, err := mongostore.New(t.Context(), c.Database(testDB).Collection(newCollection(t).Name()), mongostore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ids := []string{storetest.NewID(), storetest.NewID(), storetest.NewID()}
	one := func(what string, fn func() error) {
		t.Helper()
		cc.n.Store(0)
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := cc.n.Load(); n != 1 {
			t.Errorf("%s sent %d commands, want 1", what, n)
		}
	}
	for _, id := range ids {
		one("AddUserSession", func() error { return st.AddUserSession(ctx, "ana", id) })
	}
	n := 0
	one("ListUserSessions", func() error {
		return st.ListUserSessions(ctx, "ana", func(string, time.Time) bool { n++; return true })
	})
	if n != 3 {
		t.Errorf("listed %d entries, want 3", n)
	}
	one("RemoveUserSessions", func() error { return st.RemoveUserSessions(ctx, "ana", ids...) })
}

// entries returns the session IDs in user's index, sorted.
func entries(t *testing.T, st *mongostore.Store, user string) []string {
	t.Helper()
	var ids []string
	if err := st.ListUserSessions(t.Context(), user, func(id string, _ time.Time) bool { ids = append(ids, id); return true }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// age moves the added stamp of user's entry of id back by d.
func age(t *testing.T, st *mongostore.Store, user, id string, d time.Duration) {
	t.Helper()
	res, err := st.UserCollection().UpdateOne(t.Context(), bson.D{{Key: "_id", Value: userHash(user) + "/" + id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "added", Value: bson.NewDateTimeFromTime(time.Now().Add(-d))}}}})
	if err != nil || res.MatchedCount != 1 {
		t.Fatalf("age the entry %s of %s: matched %v, %v", id, user, res, err)
	}
}

// Sweep removes the entries older than a minute whose session is gone or
// expired, and keeps those of live sessions, young ones (a Login in flight)
// and every other.
func TestSweepUserIndex(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	live, expired, gone, young, bobGone := storetest.NewID(), storetest.NewID(), storetest.NewID(), storetest.NewID(), storetest.NewID()
	put(t, st, live, []byte("live"), time.Now().Add(time.Hour))
	put(t, st, expired, []byte("expired"), time.Now().Add(-time.Second))
	for _, id := range []string{live, expired, gone, young} {
		if err := st.AddUserSession(ctx, "ana", id); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddUserSession(ctx, "bob", bobGone); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{live, expired, gone} {
		age(t, st, "ana", id, 2*time.Minute)
	}
	age(t, st, "bob", bobGone, 2*time.Minute)
	age(t, st, "ana", young, 30*time.Second)

	n, err := st.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Sweep = (%d, %v), want (1, nil): the expired session", n, err)
	}
	if got, want := entries(t, st, "ana"), sortedIDs(live, young); !slices.Equal(got, want) {
		t.Errorf("after Sweep ana's index holds %v, want %v (the live and the young entry)", got, want)
	}
	if got := entries(t, st, "bob"); len(got) != 0 {
		t.Errorf("after Sweep bob's index holds %v, want nothing", got)
	}
}

// SweepBatch prunes the user index a window of limit entries per call,
// going on where the previous call stopped, and starts again after the
// last.
func TestSweepBatchUserIndex(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	live := storetest.NewID()
	put(t, st, live, []byte("live"), time.Now().Add(time.Hour))
	ids := []string{live}
	for range 5 {
		ids = append(ids, storetest.NewID()) // sessions that are gone
	}
	for _, id := range ids {
		if err := st.AddUserSession(ctx, "ana", id); err != nil {
			t.Fatal(err)
		}
		age(t, st, "ana", id, 2*time.Minute)
	}
	const limit = 2
	prev := len(ids)
	for call := 1; call <= 3; call++ {
		if n, err := st.SweepBatch(ctx, limit); n != 0 || err != nil {
			t.Fatalf("SweepBatch = (%d, %v), want (0, nil)", n, err)
		}
		left := len(entries(t, st, "ana"))
		if prev-left > limit {
			t.Errorf("call %d removed %d entries, want at most %d", call, prev-left, limit)
		}
		prev = left
	}
	if got := entries(t, st, "ana"); !slices.Equal(got, []string{live}) {
		t.Errorf("after three windows of %d over 6 entries, the index holds %d entries, want only the live one", limit, len(got))
	}
	// The pass starts again: a stale entry added since goes too.
	stale := storetest.NewID()
	if err := st.AddUserSession(ctx, "ana", stale); err != nil {
		t.Fatal(err)
	}
	age(t, st, "ana", stale, 2*time.Minute)
	for range 2 { // the end of the pass, then the start of the next
		if _, err := st.SweepBatch(ctx, limit); err != nil {
			t.Fatal(err)
		}
	}
	if got := entries(t, st, "ana"); !slices.Equal(got, []string{live}) {
		t.Errorf("the next pass left %v, want only the live entry", got)
	}
}

func sortedIDs(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}
