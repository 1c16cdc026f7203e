package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/nullstore"
)

// A Manager loads, exposes and saves sessions for the requests that pass its
// Middleware. It is safe for concurrent use; build one per application with
// New and Close it on shutdown.
type Manager struct {
	cfg Config
	raw Store // the store as given or opened: Store returns it, Close closes it
	// store and its optional capabilities (nil when it lacks them), each
	// traced when Config.Hooks.StoreCall is set (see capabilities).
	store     Store
	swapper   Swapper
	mover     Mover
	sweeper   Sweeper
	users     UserIndex
	ownStore  bool  // opened from cfg.Driver: Close closes it
	hooks     Hooks // Config.Hooks, or none
	signer    signer
	cookieFmt cookieFormat
	// cookieDate caches the Expires date of the cookies set in the current
	// second.
	cookieDate atomic.Pointer[cookieDate]
	sealer     sealer
	// clientSide: the cookie driver keeps sessions in the client; store is nil.
	clientSide   bool
	cookieSealer sealer
	cookieAD     []byte // the cookie driver's additional data: the cookie name
	handleKey    []byte // derives SessionInfo.Handle from session IDs
	log          *slog.Logger
	onError      func(http.ResponseWriter, *http.Request, error)
	untimed      bool       // StoreTimeout sets no timer: no deadline can interrupt the store's calls (memory, null: they never wait; file: system calls)
	csrf         csrfConfig // VerifyCSRF's settings (token.go)

	bypassOnce sync.Once // warnBypass logs once

	mu        sync.Mutex // guards closed and sweeps.Add
	closed    bool
	sweeps    sync.WaitGroup
	sweeping  chan struct{} // holds a token while a sweep runs
	lastSweep atomic.Int64  // when the last background sweep started, Unix ns; 0: never
	ctx       context.Context
	cancel    context.CancelFunc
}

// New returns a Manager for cfg, opening the store that cfg.Driver names
// unless cfg.Store is set. An invalid Config is an error wrapping ErrConfig,
// an unregistered driver one wrapping ErrUnknownDriver.
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	csrf, err := newCSRF(cfg)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:      cfg,
		csrf:     csrf,
		raw:      cfg.Store,
		log:      cfg.Logger,
		onError:  cfg.ErrorHandler,
		sweeping: make(chan struct{}, 1),
	}
	if m.raw == nil && cfg.Driver == "cookie" {
		m.clientSide = true
	} else if m.raw == nil {
		if m.raw, err = openDriver(cfg); err != nil {
			return nil, err
		}
		m.ownStore = true
	}
	if cfg.Hooks != nil {
		m.hooks = *cfg.Hooks
	}
	if m.raw != nil {
		m.capabilities(m.raw)
	}
	switch m.raw.(type) {
	case *memstore.Store, nullstore.Store, *filestore.Store:
		m.untimed = true
	}
	secrets := append([]string{cfg.Secret}, cfg.PreviousSecrets...)
	m.cookieFmt = newCookieFormat(cfg)
	m.signer = newSigner(deriveKeys(secrets, purposeCookie))
	m.sealer = newSealer(deriveKeys(secrets, purposeSeal))
	m.handleKey = deriveKeys(secrets[:1], purposeHandle)[0]
	if m.clientSide {
		m.cookieSealer = newSealer(deriveKeys(secrets, purposeCookieStore))
		m.cookieAD = []byte(cfg.Cookie)
	}
	if m.onError == nil {
		m.onError = defaultErrorHandler
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// Store returns the store the Manager uses, or nil for the cookie driver,
// which keeps sessions in the client.
func (m *Manager) Store() Store { return m.raw }

// Close stops the background sweeps the Manager started, waits for them, and
// closes the store when the Manager opened it (a Config.Store built in code is
// left to its owner). Close is safe to call more than once.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.sweeps.Wait()
	if c, ok := m.raw.(io.Closer); ok && m.ownStore {
		if err := c.Close(); err != nil {
			return fmt.Errorf("session: close store: %w", err)
		}
	}
	return nil
}

// Sweep removes expired sessions now, when the store needs sweeping (it
// implements Sweeper), and reports how many it removed.
func (m *Manager) Sweep(ctx context.Context) (int, error) {
	if m.sweeper == nil {
		return 0, nil
	}
	n, err := m.sweeper.Sweep(ctx)
	if m.hooks.Swept != nil {
		m.hooks.Swept(ctx, n, err)
	}
	if err != nil {
		return n, fmt.Errorf("%w: sweep: %w", ErrStore, err)
	}
	return n, nil
}

// lottery starts a background sweep with the chance Config.Lottery gives,
// unless one is running. The request that wins never waits for it.
func (m *Manager) lottery() {
	n, d := m.cfg.Lottery[0], m.cfg.Lottery[1]
	if n == 0 || rand.IntN(d) >= n {
		return
	}
	if m.sweeper == nil {
		return
	}
	now := time.Now().UnixNano()
	if last := m.lastSweep.Load(); last != 0 && now-last < int64(m.cfg.SweepInterval) {
		return // swept lately
	}
	select {
	case m.sweeping <- struct{}{}:
	default:
		return // a sweep is running
	}
	m.lastSweep.Store(now)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		<-m.sweeping
		return
	}
	m.sweeps.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.sweeps.Done()
		defer func() { <-m.sweeping }()
		ctx, cancel := context.WithTimeout(m.ctx, time.Minute)
		defer cancel()
		start := time.Now()
		n, err := m.Sweep(ctx)
		if err != nil {
			m.log.LogAttrs(ctx, slog.LevelError, "session: sweep failed", slog.Any("error", err), slog.Int("removed", n))
			return
		}
		m.log.LogAttrs(ctx, slog.LevelDebug, "session: swept expired sessions", slog.Int("removed", n), slog.Duration("took", time.Since(start)))
	}()
}

// bound returns ctx limited by Config.StoreTimeout, for one store call. A
// ctx that ends sooner anyway (a request with a deadline of its own) is
// returned as it is: a timer and a child context cost a few allocations
// and a microsecond or two per call.
func (m *Manager) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if m.cfg.StoreTimeout < 0 || m.untimed {
		return ctx, noCancel
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= m.cfg.StoreTimeout {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, m.cfg.StoreTimeout)
}

func noCancel() {}

// fail answers a request whose session could not be loaded or saved.
func (m *Manager) fail(w http.ResponseWriter, r *http.Request, err error) {
	m.log.LogAttrs(r.Context(), slog.LevelError, "session: request failed", slog.Any("error", err),
		slog.String("method", r.Method), slog.String("path", r.URL.Path))
	m.onError(w, r, err)
}

func defaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// errGone stops an Update when the record has vanished: a request never
// brings back a session that another request destroyed.
var errGone = errors.New("session: record is gone")

// errTaken stops the Update that creates a session when its new ID is
// already in use (never seen with 256-bit IDs, but never overwritten either).
var errTaken = errors.New("session: new session ID already in use")
