// Package ferrettest_test runs package mongostore against FerretDB 1.24 (SQLite
// back end) embedded in the test process. It is a module of its own so that
// FerretDB's large dependency tree stays out of the library's go.mod:
//
//	cd mongostore/ferrettest && go test -race -count=1 ./...
//
// FerretDB is a MongoDB wire-protocol server written in Go: it needs no
// installation, so a failure to start it always fails the tests (it is never
// a reason to skip them).
package ferrettest_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/sessionkit/session/mongostore"
)

const testDB = "sessionkit_test"

var (
	// serverURI is the embedded FerretDB's connection string
	// ("mongodb://127.0.0.1:PORT/"); empty when it did not start.
	serverURI string
	// startErr says why it did not start.
	startErr error
	// client is shared by the tests, as an application shares its client.
	client *mongo.Client
	// collSeq numbers the tests' collections.
	collSeq atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sessionkit-ferretdb-")
	if err != nil {
		startErr = fmt.Errorf("create FerretDB's data directory: %w", err)
		return m.Run()
	}
	defer os.RemoveAll(dir)

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	defer func() {
		stop()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			fmt.Fprintln(os.Stderr, "ferrettest: FerretDB did not stop within 10 s")
		}
	}()
	serverURI, startErr = startFerretDB(ctx, dir, done)
	if startErr == nil {
		client, startErr = connect(serverURI)
	}
	if startErr != nil {
		close(done)
		return m.Run() // every test that needs the server fails with startErr
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		client.Disconnect(dctx)
	}()
	return m.Run()
}

// startFerretDB starts FerretDB with the SQLite handler keeping its data in
// dir, listening on a free loopback port, and returns its URI. done is closed
// when it has stopped after ctx ends.
func startFerretDB(ctx context.Context, dir string, done chan struct{}) (string, error) {
	level := slog.LevelError
	if os.Getenv("FERRETDB_DEBUG") != "" {
		level = slog.LevelDebug
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return "", fmt.Errorf("start FerretDB: %w", err)
	}
	go func() {
		defer close(done)
		f.Run(ctx)
	}()
	// MongoDBURI waits until the listener is up; do not wait forever.
	uri := make(chan string, 1)
	go func() { uri <- f.MongoDBURI() }()
	select {
	case u := <-uri:
		return u, nil
	case <-time.After(30 * time.Second):
		return "", fmt.Errorf("start FerretDB: its listener did not come up within 30 s")
	}
}

// connect returns a client for uri after a successful ping.
//
// The pool has one connection: FerretDB 1.x runs an update as a query
// followed by a rewrite of the matched documents by _id, not atomically, so
// two connections racing on one document can both pass the version filter.
// Commands on one connection run one after the other, which gives MongoDB's
// single-document atomicity back. The store's own optimistic concurrency
// (read, fn, compare-and-swap, retry) is still fully exercised: the
// concurrent tests' goroutines interleave between those commands.
// TestFerretDBUpdateIsNotAtomic shows why this is needed.
func connect(uri string) (*mongo.Client, error) {
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetMaxPoolSize(1))
	if err != nil {
		return nil, fmt.Errorf("connect to FerretDB at %s: %w", uri, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Ping(ctx, nil); err != nil {
		c.Disconnect(ctx)
		return nil, fmt.Errorf("ping FerretDB at %s: %w", uri, err)
	}
	return c, nil
}

// needServer fails the test when FerretDB did not start.
func needServer(t testing.TB) {
	t.Helper()
	if startErr != nil {
		t.Fatalf("FerretDB (embedded) is not available: %v", startErr)
	}
}

// newCollection returns a fresh, empty collection, dropped when the test
// ends with the store's user index collection (its name plus "_users").
func newCollection(t testing.TB) *mongo.Collection {
	t.Helper()
	needServer(t)
	db := client.Database(testDB)
	coll := db.Collection(fmt.Sprintf("s%04d", collSeq.Add(1)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, c := range []*mongo.Collection{coll, db.Collection(coll.Name() + "_users")} {
			if err := c.Drop(ctx); err != nil {
				t.Errorf("drop %s: %v", c.Name(), err)
			}
		}
	})
	return coll
}

// newStore returns a store over a fresh collection.
func newStore(t testing.TB) *mongostore.Store {
	t.Helper()
	st, err := mongostore.New(t.Context(), newCollection(t), mongostore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}

// rawDoc returns the stored document of id as the server holds it.
func rawDoc(t testing.TB, coll *mongo.Collection, id string) bson.M {
	t.Helper()
	var d bson.M
	if err := coll.FindOne(t.Context(), bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		t.Fatalf("FindOne(%q): %v", id, err)
	}
	return d
}
