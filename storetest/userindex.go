package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

// RunUserIndex checks the rules of session.UserIndex on the stores newStore
// returns (each subtest gets a fresh one): an empty index lists nothing;
// added IDs are listed once each, stamped with the time they were added;
// removing is idempotent; the indexes of different users stay apart, also
// for user IDs made of path, key and SQL syntax; 50 concurrent adds for one
// user all land; fn returning false stops the listing; an ended context
// makes every call fail.
func RunUserIndex(t *testing.T, newStore func(t *testing.T) session.Store) {
	index := func(t *testing.T) session.UserIndex {
		t.Helper()
		idx, ok := newStore(t).(session.UserIndex)
		if !ok {
			t.Fatal("the store does not implement session.UserIndex")
		}
		return idx
	}
	t.Run("Empty", func(t *testing.T) {
		idx := index(t)
		if got := listUser(t, idx, "nobody"); len(got) != 0 {
			t.Errorf("index of a user never added lists %v", got)
		}
		if err := idx.RemoveUserSessions(t.Context(), "nobody", NewID()); err != nil {
			t.Errorf("RemoveUserSessions of a missing entry: %v", err)
		}
	})
	t.Run("AddListRemove", func(t *testing.T) {
		idx := index(t)
		ctx := t.Context()
		before := time.Now().Add(-2 * time.Second)
		a, b, c := NewID(), NewID(), NewID()
		for _, id := range []string{a, b, c, b} { // b twice: listed once
			if err := idx.AddUserSession(ctx, "ana", id); err != nil {
				t.Fatalf("AddUserSession: %v", err)
			}
		}
		after := time.Now().Add(2 * time.Second)
		entries := listEntries(t, idx, "ana")
		got := sortedIDs(entries)
		if want := sorted(a, b, c); !slices.Equal(got, want) {
			t.Fatalf("listed %v, want %v", got, want)
		}
		for id, added := range entries {
			if added.Before(before) || added.After(after) {
				t.Errorf("entry %s added at %v, want between %v and %v", id, added, before, after)
			}
		}
		if err := idx.RemoveUserSessions(ctx, "ana", a, c, NewID()); err != nil {
			t.Fatalf("RemoveUserSessions: %v", err)
		}
		if got := listUser(t, idx, "ana"); !slices.Equal(got, []string{b}) {
			t.Errorf("after removing two, listed %v, want [%s]", got, b)
		}
		if err := idx.RemoveUserSessions(ctx, "ana", b); err != nil {
			t.Fatalf("RemoveUserSessions: %v", err)
		}
		if got := listUser(t, idx, "ana"); len(got) != 0 {
			t.Errorf("after removing all, listed %v", got)
		}
	})
	t.Run("UsersApart", func(t *testing.T) {
		idx := index(t)
		ctx := t.Context()
		// User IDs that a careless store would mix up or escape with:
		// prefixes of each other, separators, path, glob and SQL syntax.
		users := []string{
			"u", "u1", "u:1", "u/1", "../u", "u*", "u?", "u[1]", "u%", "u_", "U",
			"a b", "ü", "ü ", "'; DROP TABLE sessions; --", "{u}", "u\\1", "1", "01",
			strings.Repeat("x", session.MaxUserIDLen),
			strings.Repeat("x", session.MaxUserIDLen-1) + "y",
		}
		ids := make(map[string]string, len(users))
		for _, u := range users {
			ids[u] = NewID()
			if err := idx.AddUserSession(ctx, u, ids[u]); err != nil {
				t.Fatalf("AddUserSession(%q): %v", u, err)
			}
		}
		for _, u := range users {
			if got := listUser(t, idx, u); !slices.Equal(got, []string{ids[u]}) {
				t.Errorf("user %q lists %v, want only its own [%s]", u, got, ids[u])
			}
		}
		if err := idx.RemoveUserSessions(ctx, "u", ids["u1"], ids["u:1"], ids["u*"]); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"u1", "u:1", "u*"} {
			if got := listUser(t, idx, u); len(got) != 1 {
				t.Errorf("removing another user's IDs from %q's index removed %q's entry", "u", u)
			}
		}
	})
	t.Run("ConcurrentAdds", func(t *testing.T) {
		idx := index(t)
		const n = 50
		want := make([]string, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range want {
			want[i] = NewID()
			wg.Go(func() {
				if err := idx.AddUserSession(t.Context(), "busy", want[i]); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent AddUserSession: %v", err)
		}
		if got := listUser(t, idx, "busy"); !slices.Equal(got, sorted(want...)) {
			t.Errorf("%d of %d concurrently added entries listed", len(got), n)
		}
	})
	t.Run("StopEarly", func(t *testing.T) {
		idx := index(t)
		for range 5 {
			if err := idx.AddUserSession(t.Context(), "ana", NewID()); err != nil {
				t.Fatal(err)
			}
		}
		calls := 0
		err := idx.ListUserSessions(t.Context(), "ana", func(string, time.Time) bool { calls++; return false })
		if err != nil || calls != 1 {
			t.Errorf("fn returning false: %d calls, err %v; want 1 call, no error", calls, err)
		}
	})
	t.Run("EndedContext", func(t *testing.T) {
		idx := index(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		id := NewID()
		if err := idx.AddUserSession(ctx, "ana", id); !errors.Is(err, context.Canceled) {
			t.Errorf("AddUserSession with a canceled context: %v, want context.Canceled", err)
		}
		if got := listUser(t, idx, "ana"); len(got) != 0 {
			t.Errorf("AddUserSession with a canceled context added %v", got)
		}
		if err := idx.ListUserSessions(ctx, "ana", func(string, time.Time) bool { return true }); !errors.Is(err, context.Canceled) {
			t.Errorf("ListUserSessions with a canceled context: %v, want context.Canceled", err)
		}
		if err := idx.RemoveUserSessions(ctx, "ana", id); !errors.Is(err, context.Canceled) {
			t.Errorf("RemoveUserSessions with a canceled context: %v, want context.Canceled", err)
		}
	})
}

// listEntries returns the entries of user's index, failing t on an error or
// on an ID listed twice.
func listEntries(t *testing.T, idx session.UserIndex, user string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	err := idx.ListUserSessions(t.Context(), user, func(id string, added time.Time) bool {
		if _, dup := out[id]; dup {
			t.Errorf("user %q: ID %s listed twice", user, id)
		}
		out[id] = added
		return true
	})
	if err != nil {
		t.Fatalf("ListUserSessions(%q): %v", user, err)
	}
	return out
}

// listUser returns the sorted IDs of user's index.
func listUser(t *testing.T, idx session.UserIndex, user string) []string {
	t.Helper()
	return sortedIDs(listEntries(t, idx, user))
}

func sortedIDs(m map[string]time.Time) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}
