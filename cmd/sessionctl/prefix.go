package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/sessionid"
)

// resolveID returns the session ID that arg names for show and destroy: a
// whole ID, or the start of one as list prints it ("AbCdEfGhIjKl..."), which
// must match exactly one live session of a store that can enumerate.
func resolveID(e *env, cfg *config, m *session.Manager, arg string) (string, error) {
	prefix, _ := sessionid.Unabbrev(arg)
	if len(prefix) == sessionid.Len || !sessionid.Valid(prefix) {
		return arg, nil // a whole ID (or no ID at all: the store says so)
	}
	l, err := lister(cfg, m)
	if err != nil {
		return "", fmt.Errorf("%q is not a whole session ID, and %w", arg, err)
	}
	var matches []string
	err = l.List(e.ctx, func(id string, _ time.Time) bool {
		if strings.HasPrefix(id, prefix) {
			matches = append(matches, id)
		}
		return len(matches) < 2
	})
	switch {
	case err != nil:
		return "", err
	case len(matches) == 0:
		return "", fmt.Errorf("no session ID starts with %q", prefix)
	case len(matches) > 1:
		return "", fmt.Errorf("more than one session ID starts with %q: give more of it (list --full prints whole IDs)", prefix)
	}
	return matches[0], nil
}
