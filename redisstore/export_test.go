package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// LoadSwapScript loads Swap's script into the script cache of every server
// that c reaches (every master of a Cluster), so that tests can count
// Swap's round trips without the first EVALSHA's NOSCRIPT.
func LoadSwapScript(ctx context.Context, c redis.UniversalClient) error {
	return swapScript.Load(ctx, c).Err()
}
