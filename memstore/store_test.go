package memstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

var (
	_ session.Store   = (*memstore.Store)(nil)
	_ session.Sweeper = (*memstore.Store)(nil)
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) session.Store { return memstore.New() })
}

func put(t testing.TB, s *memstore.Store, id string, data string, exp time.Time) {
	t.Helper()
	err := s.Update(context.Background(), id, func([]byte, bool) ([]byte, time.Time, error) {
		return []byte(data), exp, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLen(t *testing.T) {
	s := memstore.New()
	if n := s.Len(); n != 0 {
		t.Fatalf("Len of a new store = %d", n)
	}
	for i := range 10 {
		put(t, s, storetest.NewID(), "live", time.Now().Add(time.Hour))
		if i < 4 {
			put(t, s, storetest.NewID(), "dead", time.Now().Add(-time.Hour))
		}
	}
	if n := s.Len(); n != 10 {
		t.Errorf("Len = %d, want 10 (expired records are not counted)", n)
	}
	removed, err := s.Sweep(context.Background())
	if err != nil || removed != 4 {
		t.Errorf("Sweep = (%d, %v), want (4, nil)", removed, err)
	}
	if n := s.Len(); n != 10 {
		t.Errorf("Len after Sweep = %d, want 10", n)
	}
}

// An append by fn to the slice it is given must not write into the stored
// record, even when fn then fails.
func TestUpdateFnAppendDoesNotLeak(t *testing.T) {
	s := memstore.New()
	id := storetest.NewID()
	exp := time.Now().Add(time.Hour)
	put(t, s, id, "abc", exp)
	err := s.Update(context.Background(), id, func(d []byte, _ bool) ([]byte, time.Time, error) {
		d = append(d, "def"...)
		return nil, time.Time{}, fmt.Errorf("give up after %q", d)
	})
	if err == nil {
		t.Fatal("Update did not return fn's error")
	}
	d, _, _, _ := s.Load(context.Background(), id)
	if string(d) != "abc" {
		t.Errorf("record = %q after a failed Update, want \"abc\"", d)
	}
	if cap(d) >= 6 && string(d[3:6]) == "def" {
		t.Error("fn's append wrote into the stored record's spare capacity")
	}
}

// A panic in fn must not leave the shard locked.
func TestUpdatePanicReleasesLock(t *testing.T) {
	storetest.RunUpdatePanic(t, func(*testing.T) []session.Store { return []session.Store{memstore.New()} })
}

func BenchmarkLoad(b *testing.B) { storetest.BenchmarkLoad(b, memstore.New(), 1024) }

func BenchmarkUpdate(b *testing.B) { storetest.BenchmarkUpdate(b, memstore.New(), 1024) }
