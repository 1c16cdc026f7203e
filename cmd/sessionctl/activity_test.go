package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
)

// activityStore is a memory store that also reports a last activity of its
// own for each session, as mongostore does from its documents.
type activityStore struct {
	*memstore.Store
	last time.Time
}

func (s activityStore) ListActivity(ctx context.Context, fn func(id string, lastActivity, expiry time.Time) bool) error {
	return s.List(ctx, func(id string, expiry time.Time) bool { return fn(id, s.last, expiry) })
}

// activityStores are the stores the "activitytest" driver opens, by
// Connection.
var activityStores = map[string]activityStore{}

func init() {
	session.Register("activitytest", func(cfg session.Config) (session.Store, error) {
		return activityStores[cfg.Connection], nil
	})
}

// Issue 13: list shows the last activity the store keeps (mongostore's
// lastActivity field), not the expiry less sessionctl's own lifetime, which
// need not be the application's: a session written 10 minutes ago by an
// application with a 30-minute lifetime shows its real last activity with
// sessionctl's default 5 minutes, and with --lifetime 1h.
func TestListShowsStoredActivity(t *testing.T) {
	written := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	expiry := time.Now().Add(20 * time.Minute).UTC().Truncate(time.Second)
	st := activityStore{memstore.New(), written}
	conn := t.Name()
	activityStores[conn] = st
	id := storetest.NewID()
	if err := st.Update(t.Context(), id, func([]byte, bool) ([]byte, time.Time, error) { return []byte("{}"), expiry, nil }); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"--lifetime", "1h"}} {
		r := mustRun(t, append([]string{"list", "--full", "--driver", "activitytest", "--connection", conn}, extra...)...)
		want := id + "  " + written.Format("2006-01-02T15:04:05Z") + "  " + expiry.Format("2006-01-02T15:04:05Z")
		if !strings.Contains(r.stdout, want) {
			t.Errorf("sessionctl list %v:\n%s\nwant the line %q", extra, r.stdout, want)
		}
	}
}
