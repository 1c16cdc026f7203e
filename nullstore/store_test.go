package nullstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/nullstore"
	"github.com/sessionkit/session/storetest"
)

var (
	_ session.Store = nullstore.New()
	_ session.Store = (*nullstore.Store)(nil)
)

func TestNothingPersists(t *testing.T) {
	ctx := t.Context()
	var s session.Store = nullstore.New()
	id := storetest.NewID()

	calls := 0
	err := s.Update(ctx, id, func(data []byte, found bool) ([]byte, time.Time, error) {
		calls++
		if data != nil || found {
			t.Errorf("fn got (%q, %v), want (nil, false)", data, found)
		}
		return []byte("payload"), time.Now().Add(time.Hour), nil
	})
	if err != nil || calls != 1 {
		t.Fatalf("Update = %v after %d calls of fn, want nil after 1", err, calls)
	}
	if data, _, found, err := s.Load(ctx, id); found || data != nil || err != nil {
		t.Errorf("Load after Update = (%q, %v, %v), want nothing", data, found, err)
	}
	// A second Update still sees nothing.
	err = s.Update(ctx, id, func(data []byte, found bool) ([]byte, time.Time, error) {
		if data != nil || found {
			t.Errorf("second Update: fn got (%q, %v), want (nil, false)", data, found)
		}
		return nil, time.Time{}, nil
	})
	if err != nil {
		t.Error(err)
	}
	if err := s.Touch(ctx, id, time.Now().Add(time.Hour)); err != nil {
		t.Errorf("Touch: %v", err)
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if _, _, found, _ := s.Load(ctx, id); found {
		t.Error("Load found a record after Touch")
	}
}

func TestFnErrorPropagates(t *testing.T) {
	errFn := errors.New("fn failed")
	err := nullstore.New().Update(t.Context(), storetest.NewID(), func([]byte, bool) ([]byte, time.Time, error) {
		return []byte("x"), time.Now(), errFn
	})
	if err != errFn {
		t.Errorf("Update = %v, want fn's error unchanged", err)
	}
}

func TestContextEnded(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s := nullstore.New()
	id := storetest.NewID()
	if _, _, _, err := s.Load(ctx, id); !errors.Is(err, context.Canceled) {
		t.Errorf("Load = %v, want context.Canceled", err)
	}
	called := false
	err := s.Update(ctx, id, func([]byte, bool) ([]byte, time.Time, error) {
		called = true
		return nil, time.Time{}, nil
	})
	if !errors.Is(err, context.Canceled) || called {
		t.Errorf("Update = %v (fn called: %v), want context.Canceled without calling fn", err, called)
	}
	if err := s.Delete(ctx, id); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete = %v, want context.Canceled", err)
	}
	if err := s.Touch(ctx, id, time.Now()); !errors.Is(err, context.Canceled) {
		t.Errorf("Touch = %v, want context.Canceled", err)
	}
}
