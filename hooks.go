package session

import (
	"context"
	"time"
)

// Hooks receive the Manager's lifecycle events and its store calls, for
// metrics and tracing (the exporters in github.com/sessionkit/session/
// promsession and otelsession build them). Every field may be nil, and a
// Manager without Hooks pays nothing for them. Hooks run on the goroutine of
// the request (or sweep) that caused the event, so they must be fast and
// safe for concurrent use; they must not call the Manager or the session.
type Hooks struct {
	// SessionLoaded is called once per request that passes the middleware
	// (or Manager.Load), with what its cookie or token gave.
	SessionLoaded func(ctx context.Context, result LoadResult)

	// SessionCreated is called when a new session is first stored (or, on
	// the cookie driver, first sent).
	SessionCreated func(ctx context.Context)

	// SessionDestroyed is called for each session ended by Session.Destroy,
	// Session.DestroyOtherSessions, Manager.DestroyUserSessions or
	// Manager.DestroyUserSession.
	SessionDestroyed func(ctx context.Context)

	// SessionRegenerated is called when a session gets a new ID
	// (Session.Regenerate, Session.Login).
	SessionRegenerated func(ctx context.Context)

	// CSRFRejected is called when VerifyCSRF refuses a request.
	CSRFRejected func(ctx context.Context)

	// Swept is called after each sweep of expired sessions (the lottery's
	// or Manager.Sweep), with how many it removed and its error.
	Swept func(ctx context.Context, removed int, err error)

	// StoreCall is called before each call the Manager makes to its store,
	// with the driver's name (Config.Driver, or "custom" for a Config.Store)
	// and the call ("load", "update", "swap", "move", "delete", "touch",
	// "sweep", "user_index_add", "user_index_list", "user_index_remove").
	// The context it returns is the one the call gets (a tracer puts its
	// span there); the function it returns, if not nil, is called when the
	// call returns, with its error (a record not found is no error).
	StoreCall func(ctx context.Context, driver, op string) (context.Context, func(err error))
}

// LoadResult says what a request's cookie (or token) gave when its session
// was loaded.
type LoadResult string

// The results of loading a session, as Hooks.SessionLoaded reports them.
const (
	LoadFound   LoadResult = "found"   // it named a live session, which loaded
	LoadNew     LoadResult = "new"     // there was none: a new session starts
	LoadExpired LoadResult = "expired" // it named a session that expired, ended or was never stored
	LoadInvalid LoadResult = "invalid" // it did not verify (forged, truncated, another key) or named a corrupt record
)

// event calls the hook f, when set, with ctx.
func event(f func(context.Context), ctx context.Context) {
	if f != nil {
		f(ctx)
	}
}

// loaded reports a load's result to Hooks.SessionLoaded, when set.
func (m *Manager) loaded(ctx context.Context, r LoadResult) {
	if m.hooks.SessionLoaded != nil {
		m.hooks.SessionLoaded(ctx, r)
	}
}

// capabilities finds the store's optional interfaces once, wrapping each in a
// tracer when Hooks.StoreCall is set, so that every store call the Manager
// makes reaches the hook and a Manager without it calls the store directly.
func (m *Manager) capabilities(st Store) {
	m.store = st
	m.swapper, _ = st.(Swapper)
	m.mover, _ = st.(Mover)
	m.sweeper, _ = st.(Sweeper)
	m.users, _ = st.(UserIndex)
	if m.hooks.StoreCall == nil {
		return
	}
	t := &tracer{call: m.hooks.StoreCall, driver: m.cfg.Driver}
	if m.cfg.Store != nil {
		t.driver = "custom"
	}
	m.store = tracedStore{st, t}
	if m.swapper != nil {
		m.swapper = tracedSwapper{m.swapper, t}
	}
	if m.mover != nil {
		m.mover = tracedMover{m.mover, t}
	}
	if m.sweeper != nil {
		m.sweeper = tracedSweeper{m.sweeper, t}
	}
	if m.users != nil {
		m.users = tracedUsers{m.users, t}
	}
}

// A tracer reports store calls to Hooks.StoreCall.
type tracer struct {
	call   func(ctx context.Context, driver, op string) (context.Context, func(error))
	driver string
}

// do runs f, one store call named op, between the hook's start and end.
func (t *tracer) do(ctx context.Context, op string, f func(ctx context.Context) error) error {
	ctx, end := t.call(ctx, t.driver, op)
	err := f(ctx)
	if end != nil {
		end(err)
	}
	return err
}

type tracedStore struct {
	st Store
	t  *tracer
}

func (s tracedStore) Load(ctx context.Context, id string) (data []byte, expiry time.Time, found bool, err error) {
	err = s.t.do(ctx, "load", func(ctx context.Context) (err error) {
		data, expiry, found, err = s.st.Load(ctx, id)
		return err
	})
	return data, expiry, found, err
}

func (s tracedStore) Update(ctx context.Context, id string, fn func(data []byte, found bool) ([]byte, time.Time, error)) error {
	return s.t.do(ctx, "update", func(ctx context.Context) error { return s.st.Update(ctx, id, fn) })
}

func (s tracedStore) Delete(ctx context.Context, id string) error {
	return s.t.do(ctx, "delete", func(ctx context.Context) error { return s.st.Delete(ctx, id) })
}

func (s tracedStore) Touch(ctx context.Context, id string, expiry time.Time) error {
	return s.t.do(ctx, "touch", func(ctx context.Context) error { return s.st.Touch(ctx, id, expiry) })
}

type tracedSwapper struct {
	sw Swapper
	t  *tracer
}

func (s tracedSwapper) Swap(ctx context.Context, id string, old, next []byte, expiry time.Time) (swapped bool, err error) {
	err = s.t.do(ctx, "swap", func(ctx context.Context) (err error) {
		swapped, err = s.sw.Swap(ctx, id, old, next, expiry)
		return err
	})
	return swapped, err
}

type tracedMover struct {
	mv Mover
	t  *tracer
}

func (s tracedMover) Move(ctx context.Context, oldID, newID string, fn func(data []byte, found bool) ([]byte, time.Time, error)) error {
	return s.t.do(ctx, "move", func(ctx context.Context) error { return s.mv.Move(ctx, oldID, newID, fn) })
}

type tracedSweeper struct {
	sw Sweeper
	t  *tracer
}

func (s tracedSweeper) Sweep(ctx context.Context) (removed int, err error) {
	err = s.t.do(ctx, "sweep", func(ctx context.Context) (err error) {
		removed, err = s.sw.Sweep(ctx)
		return err
	})
	return removed, err
}

type tracedUsers struct {
	idx UserIndex
	t   *tracer
}

func (s tracedUsers) AddUserSession(ctx context.Context, userID, id string) error {
	return s.t.do(ctx, "user_index_add", func(ctx context.Context) error { return s.idx.AddUserSession(ctx, userID, id) })
}

func (s tracedUsers) ListUserSessions(ctx context.Context, userID string, fn func(id string, added time.Time) bool) error {
	return s.t.do(ctx, "user_index_list", func(ctx context.Context) error { return s.idx.ListUserSessions(ctx, userID, fn) })
}

func (s tracedUsers) RemoveUserSessions(ctx context.Context, userID string, ids ...string) error {
	return s.t.do(ctx, "user_index_remove", func(ctx context.Context) error { return s.idx.RemoveUserSessions(ctx, userID, ids...) })
}
