package main

import (
	"context"
	"time"
)

// activityLister is implemented by stores that keep each session's last
// activity (mongostore; sqlstore): list shows it instead of deriving it
// from a lifetime, which may not be the application's.
type activityLister interface {
	ListActivity(ctx context.Context, fn func(id string, lastActivity, expiry time.Time) bool) error
}
