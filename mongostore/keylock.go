package mongostore

import (
	"context"
	"sync"
)

// keyLocks queues the Updates of one process on one session ID, so that they
// take turns instead of racing each other through the server: without it,
// n concurrent requests on a session cost O(n²) failed compare-and-swaps.
// It is only an optimization: writers in other processes are still kept
// apart by the version check alone.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sem  chan struct{} // holds a token while an Update runs
	refs int           // Updates holding or waiting for sem; guarded by keyLocks.mu
}

// lock waits for id's turn, or until ctx ends. On success the caller must
// call the returned unlock.
func (l *keyLocks) lock(ctx context.Context, id string) (unlock func(), err error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[string]*keyLock)
	}
	k := l.m[id]
	if k == nil {
		k = &keyLock{sem: make(chan struct{}, 1)}
		l.m[id] = k
	}
	k.refs++
	l.mu.Unlock()

	select {
	case k.sem <- struct{}{}:
		return func() {
			<-k.sem
			l.release(id, k)
		}, nil
	case <-ctx.Done():
		l.release(id, k)
		return nil, ctx.Err()
	}
}

func (l *keyLocks) release(id string, k *keyLock) {
	l.mu.Lock()
	k.refs--
	if k.refs == 0 {
		delete(l.m, id)
	}
	l.mu.Unlock()
}
