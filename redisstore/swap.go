package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/sessionid"
)

var _ session.Swapper = (*Store)(nil)

// swapScript is Swap's compare-and-swap, atomic in Redis. KEYS[1] is the
// session's key; ARGV[1] is "1" when the caller gives old and "0" when it
// does not, ARGV[2] old, ARGV[3] next and ARGV[4] the TTL in milliseconds,
// "0" for an expiry that has passed (the record is then deleted, as Update
// does). A key without time left (missing, or without a TTL: not written by
// this store, and not a record to Load) holds no record. It returns 1 when
// it wrote, 0 when it changed nothing.
var swapScript = redis.NewScript(`
local ttl = redis.call('PTTL', KEYS[1])
if ARGV[1] == '1' then
	if ttl <= 0 then return 0 end
	if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
elseif ttl > 0 then
	return 0
end
if ARGV[4] == '0' then
	redis.call('DEL', KEYS[1])
else
	redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
return 1
`)

// Swap stores next with expiry under id, and reports true, when the record
// of id is live and holds exactly old (old non-nil), or when there is no
// live record (old nil); otherwise it changes nothing and reports false. It
// implements session.Swapper with one Lua script, run atomically by Redis:
// PTTL, GET and a comparison, then SET with PX (DEL for an expiry that has
// passed). The script is sent by EVALSHA, one round trip; only when the
// server does not have it yet (the first Swap after a start or SCRIPT
// FLUSH) is it sent again with EVAL. It names one key, so it runs on a
// single server, behind Sentinel and on a Cluster alike. An ID outside the
// store's alphabet makes it return ErrInvalidID.
func (s *Store) Swap(ctx context.Context, id string, old, next []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("redisstore: swap: %w", err)
	}
	if !sessionid.Valid(id) {
		return false, ErrInvalidID
	}
	mode := "1"
	if old == nil {
		mode = "0"
	}
	n, err := swapScript.Run(ctx, s.client, []string{s.prefix + id}, mode, old, next, ttlOf(expiry).Milliseconds()).Int()
	if err != nil {
		return false, fail(ctx, "swap", err)
	}
	return n == 1, nil
}
