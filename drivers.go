package session

import (
	"fmt"
	"sort"
	"sync"

	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/nullstore"
)

// A Driver opens the store that Config.Driver names. It gets the Config with
// its defaults filled in (Connection, Table, Lifetime, Files, ...). A store a
// Driver opens belongs to the Manager: Manager.Close closes it when it has a
// Close method.
type Driver func(cfg Config) (Store, error)

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{
		"file":   func(cfg Config) (Store, error) { return filestore.New(cfg.Files) },
		"memory": func(Config) (Store, error) { return memstore.New(), nil },
		"null":   func(Config) (Store, error) { return nullstore.New(), nil },
	}
)

// Register makes a driver available under name for Config.Driver, in the
// manner of database/sql.Register. Driver packages call it from init; it
// panics when name is empty, d is nil, or name is already registered.
func Register(name string, d Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if name == "" || d == nil {
		panic("session: Register with an empty name or a nil driver")
	}
	if _, dup := drivers[name]; dup || name == "cookie" {
		panic("session: Register called twice for driver " + name)
	}
	drivers[name] = d
}

// Drivers returns the sorted names of the registered drivers.
func Drivers() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	names := make([]string, 0, len(drivers)+1)
	names = append(names, "cookie") // built into the Manager: it has no Store
	for name := range drivers {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func openDriver(cfg Config) (Store, error) {
	driversMu.RLock()
	d, ok := drivers[cfg.Driver]
	driversMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q (registered: %v; import github.com/sessionkit/session/drivers for all of them)", ErrUnknownDriver, cfg.Driver, Drivers())
	}
	st, err := d(cfg)
	if err != nil {
		return nil, fmt.Errorf("session: open %s store: %w", cfg.Driver, err)
	}
	return st, nil
}
