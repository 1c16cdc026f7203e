package mongostore

import (
	"context"
	"time"

	"github.com/sessionkit/session"
)

// DriverOpenTimeout bounds how long the "mongodb" driver waits for the server
// when a Manager opens it (session.New has no context to pass on).
const DriverOpenTimeout = 30 * time.Second

func init() {
	session.Register("mongodb", func(cfg session.Config) (session.Store, error) {
		ctx, cancel := context.WithTimeout(context.Background(), DriverOpenTimeout)
		defer cancel()
		return Open(ctx, cfg.Connection, Options{Collection: cfg.Table})
	})
}
