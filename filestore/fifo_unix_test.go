//go:build unix

package filestore_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sessionkit/session/storetest"
)

// A FIFO named like a session is not one, and Load does not block on it
// waiting for a writer.
func TestLoadIgnoresFIFOs(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := context.Background()
	fifo := storetest.NewID()
	if err := syscall.Mkfifo(filepath.Join(dir, fifo), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, _, found, err := s.Load(ctx, fifo); found || err != nil {
			t.Errorf("Load of a FIFO = (found %v, %v), want not found", found, err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Load of a FIFO blocked")
	}
}
