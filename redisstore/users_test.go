package redisstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/sessionid"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/redisstore"
	"github.com/sessionkit/session/storetest"
)

// The conformance suite of session.UserIndex on a single server and a
// Cluster through New, and behind Sentinel through Open. (TestManager runs
// RunManager's user subtests on every topology.)
func TestUserIndex(t *testing.T) {
	for _, topo := range topologies[:2] {
		t.Run(topo.name, func(t *testing.T) {
			client := topo.client(t)
			storetest.RunUserIndex(t, func(t *testing.T) session.Store {
				return mustNew(t, client, redisstore.Options{Prefix: freshPrefix()})
			})
		})
	}
	t.Run("sentinel", func(t *testing.T) {
		g := testserver.RedisSentinel(t)
		storetest.RunUserIndex(t, func(t *testing.T) session.Store {
			st, err := redisstore.Open(t.Context(), fmt.Sprintf("redis+sentinel://%s/%s/0?prefix=%s", g.SentinelAddr, g.MasterName, freshPrefix()), redisstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
}

// userKey is the key of user's index under prefix, as the package
// documentation gives it.
func userKey(prefix, user string) string {
	sum := sha256.Sum256([]byte(user))
	return prefix + "user:" + hex.EncodeToString(sum[:]) + ":"
}

// A user's index is one sorted set, prefix + "user:" + hex SHA-256 of the
// user ID + ":", scored with the time each entry was added in Unix
// milliseconds, without a TTL; no key holds the user ID; the key is no
// session key, by List or by a store whose prefix ends inside it; and its
// last entry removed, the key is gone.
func TestUserKeyLayout(t *testing.T) {
	client := singleClient(t)
	prefix := freshPrefix()
	st := mustNew(t, client, redisstore.Options{Prefix: prefix})
	ctx := t.Context()
	user := "ana@example.com"
	a, b := storetest.NewID(), storetest.NewID()
	before := time.Now().UnixMilli()
	for _, id := range []string{a, b} {
		if err := st.AddUserSession(ctx, user, id); err != nil {
			t.Fatal(err)
		}
	}
	after := time.Now().UnixMilli()
	keys := client.Keys(ctx, prefix+"*").Val()
	key := userKey(prefix, user)
	if !slices.Equal(keys, []string{key}) {
		t.Fatalf("keys under the prefix: %q, want only %q", keys, key)
	}
	if strings.Contains(key, user) || strings.Contains(key, "ana") {
		t.Errorf("key %q holds the user ID", key)
	}
	if rest := strings.TrimPrefix(key, prefix); sessionid.Valid(rest) {
		t.Errorf("the remainder %q of the index key is a valid session ID", rest)
	}
	// Cut anywhere after a character no ID holds, the rest is no ID either.
	for i := len(prefix); i < len(key); i++ {
		if !sessionid.Valid(key[i-1:i]) && sessionid.Valid(key[i:]) {
			t.Errorf("a store with prefix %q would take the index key for session %q", key[:i], key[i:])
		}
	}
	if typ := client.Type(ctx, key).Val(); typ != "zset" {
		t.Errorf("index key type %q, want zset", typ)
	}
	for _, id := range []string{a, b} {
		score, err := client.ZScore(ctx, key, id).Result()
		if err != nil || int64(score) < before || int64(score) > after {
			t.Errorf("score of %s = %v, %v; want Unix milliseconds in [%d, %d]", id, score, err, before, after)
		}
	}
	if ttl := client.PTTL(ctx, key).Val(); ttl != -1 {
		t.Errorf("index key PTTL = %v, want none (-1)", ttl)
	}
	// An entry that is no session ID (written by something else) is skipped.
	client.ZAdd(ctx, key, redis.Z{Score: 1, Member: "not an id"})
	var listed []string
	if err := st.ListUserSessions(ctx, user, func(id string, _ time.Time) bool { listed = append(listed, id); return true }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(listed)
	if want := []string{min(a, b), max(a, b)}; !slices.Equal(listed, want) {
		t.Errorf("listed %q, want the two session IDs", listed)
	}
	client.ZRem(ctx, key, "not an id")
	if err := st.RemoveUserSessions(ctx, user, a, b, "not an id"); err != nil {
		t.Fatal(err)
	}
	if n := client.Exists(ctx, key).Val(); n != 0 {
		t.Error("the index key outlives its last entry")
	}
	if err := st.AddUserSession(ctx, user, "bad id"); !errors.Is(err, redisstore.ErrInvalidID) {
		t.Errorf("AddUserSession of an invalid ID: %v, want ErrInvalidID", err)
	}
}
