package ferrettest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/mongostore"
	"github.com/sessionkit/session/storetest"
)

var (
	_ session.Store   = (*mongostore.Store)(nil)
	_ session.Sweeper = (*mongostore.Store)(nil)
	_ session.Lister  = (*mongostore.Store)(nil)
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) session.Store { return newStore(t) })
	storetest.RunLister(t, func(t *testing.T) session.Store { return newStore(t) })
}

func put(t testing.TB, st *mongostore.Store, id string, data []byte, exp time.Time) {
	t.Helper()
	err := st.Update(t.Context(), id, func([]byte, bool) ([]byte, time.Time, error) { return data, exp, nil })
	if err != nil {
		t.Fatalf("Update(%q): %v", id, err)
	}
}

func count(t testing.TB, coll *mongo.Collection) int64 {
	t.Helper()
	n, err := coll.CountDocuments(t.Context(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The document holds the fields the package documents, with the right BSON
// types, and version counts the writes.
func TestDocumentLayout(t *testing.T) {
	st := newStore(t)
	coll := st.Collection()
	id := storetest.NewID()
	exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	before := time.Now().Unix()
	put(t, st, id, []byte(`{"user":"Ana"}`), exp)

	d := rawDoc(t, coll, id)
	if d["_id"] != id {
		t.Errorf("_id = %#v, want %q", d["_id"], id)
	}
	if d["payload"] != `{"user":"Ana"}` {
		t.Errorf("payload = %#v, want the string %q", d["payload"], `{"user":"Ana"}`)
	}
	if la, ok := d["lastActivity"].(int64); !ok || la < before || la > time.Now().Unix() {
		t.Errorf("lastActivity = %#v (%T), want int64 Unix seconds of now", d["lastActivity"], d["lastActivity"])
	}
	if ea, ok := d["expiresAt"].(bson.DateTime); !ok || !ea.Time().Equal(exp) {
		t.Errorf("expiresAt = %#v (%T), want the BSON date %v", d["expiresAt"], d["expiresAt"], exp)
	}
	if v, ok := d["version"].(int64); !ok || v != 1 {
		t.Errorf("version = %#v (%T), want int64 1", d["version"], d["version"])
	}

	put(t, st, id, []byte("second"), exp)
	if v := rawDoc(t, coll, id)["version"]; v != int64(2) {
		t.Errorf("version after a second Update = %#v, want 2", v)
	}
	// Touch moves the expiry, not the payload or the version.
	exp2 := exp.Add(time.Hour)
	if err := st.Touch(t.Context(), id, exp2); err != nil {
		t.Fatal(err)
	}
	d = rawDoc(t, coll, id)
	if d["payload"] != "second" || d["version"] != int64(2) || !d["expiresAt"].(bson.DateTime).Time().Equal(exp2) {
		t.Errorf("after Touch: %v, want payload \"second\", version 2, expiresAt %v", d, exp2)
	}

	// Bytes that are not UTF-8 are kept exactly, as BSON binary.
	bin := []byte{0, 0xff, 0xfe, 'x'}
	put(t, st, id, bin, exp)
	if b, ok := rawDoc(t, coll, id)["payload"].(bson.Binary); !ok || string(b.Data) != string(bin) {
		t.Errorf("payload of non-UTF-8 bytes = %#v, want BSON binary %q", rawDoc(t, coll, id)["payload"], bin)
	}
	got, _, found, err := st.Load(t.Context(), id)
	if err != nil || !found || string(got) != string(bin) {
		t.Errorf("Load = (%q, %v, %v), want %q", got, found, err, bin)
	}
}

// FerretDB 1.x has no TTL indexes: the store falls back to a plain index on
// expiresAt, and says so through TTL. Creating it again is harmless.
func TestExpiryIndex(t *testing.T) {
	coll := newCollection(t)
	for range 2 {
		st, err := mongostore.New(t.Context(), coll, mongostore.Options{})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if st.TTL() {
			t.Error("TTL() = true on FerretDB 1.x, which has no TTL indexes")
		}
	}
	specs, err := coll.Indexes().ListSpecifications(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	if !slices.Contains(names, "expiresAt_1") {
		t.Errorf("indexes = %v, want one named expiresAt_1", names)
	}

	coll2 := newCollection(t)
	if _, err := mongostore.New(t.Context(), coll2, mongostore.Options{SkipIndexes: true}); err != nil {
		t.Fatal(err)
	}
	specs, err = coll2.Indexes().ListSpecifications(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		if s.Name != "_id_" {
			t.Errorf("SkipIndexes: index %s was created", s.Name)
		}
	}
}

// An expired document is never served, even while it is still stored (no
// TTL monitor here, or one that has not run yet), and Sweep removes it.
func TestExpiredNotServedThenSwept(t *testing.T) {
	st := newStore(t)
	coll := st.Collection()
	ctx := t.Context()

	dead, live := storetest.NewID(), storetest.NewID()
	put(t, st, dead, []byte("dead"), time.Now().Add(time.Hour))
	put(t, st, live, []byte("live"), time.Now().Add(time.Hour))
	// Let dead's deadline pass behind the store's back, as time would.
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: dead}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "expiresAt", Value: bson.NewDateTimeFromTime(time.Now().Add(-time.Second))}}}}); err != nil {
		t.Fatal(err)
	}

	if _, _, found, err := st.Load(ctx, dead); found || err != nil {
		t.Errorf("Load of an expired document = (found %v, %v), want not found", found, err)
	}
	err := st.Update(ctx, dead, func(d []byte, found bool) ([]byte, time.Time, error) {
		if found || d != nil {
			t.Errorf("Update's fn got (%q, %v) for an expired document, want (nil, false)", d, found)
		}
		return nil, time.Time{}, errors.New("only looking")
	})
	if err == nil || err.Error() != "only looking" {
		t.Errorf("Update = %v, want fn's error", err)
	}
	if err := st.Touch(ctx, dead, time.Now().Add(time.Hour)); err != nil {
		t.Errorf("Touch: %v", err)
	}
	if _, _, found, _ := st.Load(ctx, dead); found {
		t.Error("Touch revived an expired document")
	}
	if n := count(t, coll); n != 2 {
		t.Fatalf("%d documents before Sweep, want 2 (the expired one is still stored)", n)
	}

	removed, err := st.Sweep(ctx)
	if err != nil || removed != 1 {
		t.Errorf("Sweep = (%d, %v), want (1, nil)", removed, err)
	}
	if n := count(t, coll); n != 1 {
		t.Errorf("%d documents after Sweep, want 1", n)
	}
	if _, _, found, err := st.Load(ctx, live); !found || err != nil {
		t.Errorf("Load of the live session after Sweep = (found %v, %v)", found, err)
	}
	if removed, err := st.Sweep(ctx); err != nil || removed != 0 {
		t.Errorf("second Sweep = (%d, %v), want (0, nil)", removed, err)
	}

	// A session written with a past expiry is stored (so Sweep finds it)
	// but never loads.
	old := storetest.NewID()
	put(t, st, old, []byte("old"), time.Now().Add(-time.Minute))
	if _, _, found, _ := st.Load(ctx, old); found {
		t.Error("a session written with a past expiry loads")
	}
	if removed, err := st.Sweep(ctx); err != nil || removed != 1 {
		t.Errorf("Sweep = (%d, %v), want (1, nil)", removed, err)
	}
}

// List enumerates live sessions only, with their expiries, and stops when fn
// returns false.
func TestList(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	want := map[string]time.Time{}
	for i := range 5 {
		id := storetest.NewID()
		exp := time.Now().Add(time.Duration(i+1) * time.Hour)
		put(t, st, id, fmt.Appendf(nil, "live %d", i), exp)
		want[id] = exp
	}
	for i := range 3 {
		put(t, st, storetest.NewID(), fmt.Appendf(nil, "expired %d", i), time.Now().Add(-time.Minute))
	}
	// A document that is not a session (an ObjectID _id) is skipped.
	if _, err := st.Collection().InsertOne(ctx, bson.D{{Key: "expiresAt", Value: bson.NewDateTimeFromTime(time.Now().Add(time.Hour))}}); err != nil {
		t.Fatal(err)
	}

	got := map[string]time.Time{}
	err := st.List(ctx, func(id string, exp time.Time) bool {
		if _, dup := got[id]; dup {
			t.Errorf("List gave %q twice", id)
		}
		got[id] = exp
		return true
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("List gave %d sessions, want the %d live ones", len(got), len(want))
	}
	for id, exp := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("List missed live session %q", id)
		} else if d := g.Sub(exp); d < -time.Second || d > time.Second {
			t.Errorf("List gave expiry %v for %q, want %v", g, id, exp)
		}
	}

	calls := 0
	if err := st.List(ctx, func(string, time.Time) bool { calls++; return false }); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("List called fn %d times after it returned false, want 1", calls)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := st.List(cctx, func(string, time.Time) bool { return true }); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a canceled context = %v, want context.Canceled", err)
	}
}

// The shared checks through session.Manager: concurrent requests, the cost
// of a read-only request, Regenerate, a destroyed session staying destroyed.
func TestManager(t *testing.T) {
	storetest.RunManager(t, func(t *testing.T) session.Store { return newStore(t) })
}

// 200 concurrent requests on one session through the Manager's middleware,
// each putting its own key: all 200 keys are there afterwards.
func TestManagerConcurrentRequests(t *testing.T) {
	const n = 200
	st := newStore(t)
	m := storetest.NewManager(t, st, session.Config{
		// The 200 requests queue on the session's lock, over FerretDB's one
		// connection: on a loaded machine under -race the last waits longer
		// than the default 5 s bound, and this test is about lost updates,
		// not timeouts (as storetest's Manager checks).
		StoreTimeout: time.Minute})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		if k := r.URL.Query().Get("put"); k != "" {
			s.Put(k, true)
		}
		if r.URL.Query().Has("count") {
			fmt.Fprint(w, len(s.All()))
		}
	}))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/?put=first", nil))
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusOK || len(cookies) != 1 {
		t.Fatalf("first request: status %d, cookies %v", rec.Code, cookies)
	}
	cookie := cookies[0]

	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := httptest.NewRequest("GET", fmt.Sprintf("/?put=k%03d", i), nil)
			r.AddCookie(cookie)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Errorf("request %d: status %d: %s", i, w.Code, w.Body)
			}
			for _, c := range w.Result().Cookies() {
				if c.Name == cookie.Name && c.Value != cookie.Value {
					t.Errorf("request %d got another session (cookie %q)", i, c.Value)
				}
			}
		}()
	}
	close(start)
	wg.Wait()

	r := httptest.NewRequest("GET", "/?count", nil)
	r.AddCookie(cookie)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if got, want := w.Body.String(), fmt.Sprint(n+1); got != want {
		t.Errorf("after %d concurrent requests the session holds %s keys, want %s: updates were lost", n, got, want)
	}
}

// The "mongodb" driver opens the store from Config.Connection, with
// Config.Table as the collection, and the Manager closes it.
func TestDriver(t *testing.T) {
	needServer(t)
	coll := fmt.Sprintf("drv%04d", collSeq.Add(1))
	m := storetest.NewManager(t, nil, session.Config{
		Driver:     "mongodb",
		Connection: strings.TrimSuffix(serverURI, "/") + "/" + testDB + "?maxPoolSize=1",
		Table:      coll,
	})
	t.Cleanup(func() {
		client.Database(testDB).Collection(coll).Drop(context.Background())
		client.Database(testDB).Collection(coll + "_users").Drop(context.Background())
	})
	if _, ok := m.Store().(*mongostore.Store); !ok {
		t.Fatalf("Store() = %T, want *mongostore.Store", m.Store())
	}
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		n, _ := session.GetAs[int](s, "visits")
		s.Put("visits", n+1)
		fmt.Fprint(w, n+1)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(rec.Result().Cookies()[0])
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Body.String() != "2" {
		t.Errorf("second visit = %q, want 2", rec.Body)
	}
	if n, err := client.Database(testDB).Collection(coll).CountDocuments(t.Context(), bson.D{}); err != nil || n != 1 {
		t.Errorf("collection %s (Config.Table) holds %d documents (%v), want 1", coll, n, err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("Manager.Close: %v", err)
	}
	if _, _, _, err := m.Store().Load(t.Context(), storetest.NewID()); !errors.Is(err, mongo.ErrClientDisconnected) {
		t.Errorf("Load after Manager.Close = %v, want the store's client disconnected", err)
	}
}

// Open takes the database from the URL's path, "sessionkit" without one, and
// the collection from Options.Collection, "sessions" by default.
func TestOpenURL(t *testing.T) {
	needServer(t)
	base := strings.TrimSuffix(serverURI, "/")
	appDB := fmt.Sprintf("app_%d", collSeq.Add(1))
	for _, tc := range []struct {
		url, coll, wantDB, wantColl string
	}{
		{base + "/?maxPoolSize=1", "o" + fmt.Sprint(collSeq.Add(1)), "sessionkit", "o" + fmt.Sprint(collSeq.Load())},
		{base, "", "sessionkit", "sessions"},
		{base + "/" + appDB + "?maxPoolSize=1&appName=ferrettest", "", appDB, "sessions"},
	} {
		st, err := mongostore.Open(t.Context(), tc.url, mongostore.Options{Collection: tc.coll})
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.url, err)
		}
		c := st.Collection()
		if c.Database().Name() != tc.wantDB || c.Name() != tc.wantColl {
			t.Errorf("Open(%q): collection %s.%s, want %s.%s", tc.url, c.Database().Name(), c.Name(), tc.wantDB, tc.wantColl)
		}
		id := storetest.NewID()
		put(t, st, id, []byte("x"), time.Now().Add(time.Minute))
		if _, _, found, err := st.Load(t.Context(), id); !found || err != nil {
			t.Errorf("Open(%q): Load = (%v, %v)", tc.url, found, err)
		}
		for _, c := range []*mongo.Collection{c, st.UserCollection()} {
			if err := c.Drop(t.Context()); err != nil {
				t.Error(err)
			}
		}
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}

	for _, bad := range []string{"", "redis://127.0.0.1:6379/0", "127.0.0.1:27017", "mongodb://127.0.0.1:1/a.b"} {
		if _, err := mongostore.Open(t.Context(), bad, mongostore.Options{}); err == nil || !strings.HasPrefix(err.Error(), "mongostore: ") {
			t.Errorf("Open(%q) = %v, want a mongostore: error", bad, err)
		}
	}
	if _, err := mongostore.Open(t.Context(), serverURI, mongostore.Options{Collection: "a$b"}); err == nil {
		t.Error("Open with collection a$b succeeded")
	}
}

// A store over the app's client leaves the client connected on Close.
func TestNewDoesNotOwnClient(t *testing.T) {
	st := newStore(t)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := client.Ping(t.Context(), nil); err != nil {
		t.Errorf("the application's client after Store.Close: %v", err)
	}
}

// A server that does not answer (a closed port) gives a prompt error, bounded
// by the context, never a hang.
func TestUnreachable(t *testing.T) {
	addr := testserver.ClosedAddr(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := mongostore.Open(ctx, "mongodb://"+addr+"/app", mongostore.Options{})
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Open of an unreachable server took %v, want about the context's 1 s", elapsed)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "mongostore: ") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Open of an unreachable server = %v, want a mongostore: error wrapping context.DeadlineExceeded", err)
	}

	// A store over an application's client for that address.
	c, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	start = time.Now()
	nctx, ncancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	_, err = mongostore.New(nctx, c.Database("app").Collection("sessions"), mongostore.Options{})
	ncancel()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("New over an unreachable server = %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("New over an unreachable server took %v, want about its context's 0.5 s", elapsed)
	}
	st, err := mongostore.New(t.Context(), c.Database("app").Collection("sessions"), mongostore.Options{SkipIndexes: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]func(context.Context) error{
		"Load": func(ctx context.Context) error { _, _, _, err := st.Load(ctx, storetest.NewID()); return err },
		"Update": func(ctx context.Context) error {
			return st.Update(ctx, storetest.NewID(), func([]byte, bool) ([]byte, time.Time, error) {
				return []byte("x"), time.Now().Add(time.Hour), nil
			})
		},
		"Touch":  func(ctx context.Context) error { return st.Touch(ctx, storetest.NewID(), time.Now()) },
		"Delete": func(ctx context.Context) error { return st.Delete(ctx, storetest.NewID()) },
		"Sweep":  func(ctx context.Context) error { _, err := st.Sweep(ctx); return err },
		"List":   func(ctx context.Context) error { return st.List(ctx, func(string, time.Time) bool { return true }) },
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		start := time.Now()
		err := op(ctx)
		cancel()
		if elapsed := time.Since(start); elapsed > 3*time.Second {
			t.Errorf("%s against an unreachable server took %v", name, elapsed)
		}
		if err == nil || !strings.HasPrefix(err.Error(), "mongostore: ") || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s against an unreachable server = %v, want a mongostore: error wrapping context.DeadlineExceeded", name, err)
		}
	}
}

// Update gives up with ErrConflict after MaxRetries lost races, rather than
// looping forever; fn's error still comes back unchanged.
func TestUpdateRetriesBounded(t *testing.T) {
	coll := newCollection(t)
	st, err := mongostore.New(t.Context(), coll, mongostore.Options{MaxRetries: 3})
	if err != nil {
		t.Fatal(err)
	}
	id := storetest.NewID()
	put(t, st, id, []byte("v"), time.Now().Add(time.Hour))
	calls := 0
	err = st.Update(t.Context(), id, func(d []byte, found bool) ([]byte, time.Time, error) {
		calls++
		// Another writer gets in between every read and write.
		if _, err := coll.UpdateOne(context.Background(), bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}}}); err != nil {
			t.Error(err)
		}
		return []byte("lost"), time.Now().Add(time.Hour), nil
	})
	if !errors.Is(err, mongostore.ErrConflict) {
		t.Errorf("Update that always loses = %v, want ErrConflict", err)
	}
	if calls != 4 {
		t.Errorf("fn called %d times, want 4 (1 + MaxRetries)", calls)
	}
	if d, _, _, _ := st.Load(t.Context(), id); string(d) != "v" {
		t.Errorf("record = %q, want the other writer's \"v\"", d)
	}

	// A new session that another process (another Store) creates first: fn
	// runs again and sees it. (fn must not call Update on its own store for
	// its own ID: that waits for the running Update.)
	other, err := mongostore.New(t.Context(), coll, mongostore.Options{SkipIndexes: true})
	if err != nil {
		t.Fatal(err)
	}
	id = storetest.NewID()
	var seen []string
	err = st.Update(t.Context(), id, func(d []byte, found bool) ([]byte, time.Time, error) {
		seen = append(seen, fmt.Sprintf("%q/%v", d, found))
		if !found {
			put(t, other, id, []byte("theirs"), time.Now().Add(time.Hour))
		}
		return append(append([]byte{}, d...), "+mine"...), time.Now().Add(time.Hour), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d, _, _, _ := st.Load(t.Context(), id); string(d) != "theirs+mine" {
		t.Errorf("record = %q, want \"theirs+mine\" (fn seen %v)", d, seen)
	}
}

// A session document without a version field (written by other software, or
// by hand) is updated like any other: the version check then requires the
// field to be still missing, and $inc starts it at 1.
func TestDocumentWithoutVersion(t *testing.T) {
	st := newStore(t)
	coll := st.Collection()
	id := storetest.NewID()
	exp := time.Now().Add(time.Hour)
	if _, err := coll.InsertOne(t.Context(), bson.D{
		{Key: "_id", Value: id},
		{Key: "payload", Value: "hand-made"},
		{Key: "expiresAt", Value: bson.NewDateTimeFromTime(exp)},
	}); err != nil {
		t.Fatal(err)
	}
	err := st.Update(t.Context(), id, func(d []byte, found bool) ([]byte, time.Time, error) {
		if !found || string(d) != "hand-made" {
			t.Errorf("fn got (%q, %v), want (\"hand-made\", true)", d, found)
		}
		return append(append([]byte{}, d...), ", then updated"...), exp, nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	d := rawDoc(t, coll, id)
	if d["payload"] != "hand-made, then updated" || d["version"] != int64(1) {
		t.Errorf("document = %v, want the new payload and version 1", d)
	}
}

// New's context bounds the index creation; an ended context stops New
// before it sends anything, with or without SkipIndexes.
func TestNewContext(t *testing.T) {
	coll := newCollection(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, opts := range []mongostore.Options{{}, {SkipIndexes: true}} {
		if _, err := mongostore.New(ctx, coll, opts); !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "mongostore: ") {
			t.Errorf("New(%+v) with a canceled context = %v, want a mongostore: error wrapping context.Canceled", opts, err)
		}
	}
	if n := count(t, coll); n != 0 {
		t.Errorf("%d documents after New with a canceled context", n)
	}
}
