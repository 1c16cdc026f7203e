// Package redisstore keeps sessions in Redis — a single server, a master
// managed by Sentinel, or a Redis Cluster — through the official client,
// github.com/redis/go-redis/v9. Importing it registers the "redis" driver
// for session.Config.Driver, opened from Config.Connection with Open:
//
//	import _ "github.com/sessionkit/session/redisstore" // or .../session/drivers
//
//	m, err := session.New(session.Config{
//		Secret:     secret,
//		Driver:     "redis",
//		Connection: "redis://127.0.0.1:6379/0",
//	})
//
// or built in code, with Open from a URL, or with New from a client the
// application already has (the store never closes it):
//
//	st, err := redisstore.Open(ctx, "redis://127.0.0.1:6379/0", redisstore.Options{Prefix: "myapp:session:"})
//	st, err := redisstore.New(rdb, redisstore.Options{Prefix: "myapp:session:"})
//	...
//	m, err := session.New(session.Config{Secret: secret, Store: st})
//
// Neither contacts Redis: an application starts while Redis is down, and its
// requests get the ErrorHandler's response (a 500 by default) until Redis
// answers.
//
// # Connection URLs
//
//	redis://[[user]:password@]host[:port][/db][?options]     one server (port 6379, db 0 by default)
//	rediss://...                                             the same over TLS
//	unix://[[user]:password@]/path/to/redis.sock[?db=N]      one server on a Unix socket
//	redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/mastername[/db][?options]
//	                                                         the master that the Sentinels name
//	                                                         (Sentinel port 26379 by default)
//	rediss+sentinel://...                                    the same over TLS
//	redis+cluster://[[user]:password@]host[:port][,host[:port]...][?options]
//	                                                         a Redis Cluster: any of its nodes
//	rediss+cluster://...                                     the same over TLS
//
// Examples:
//
//	redis://127.0.0.1:6379/0
//	redis://:s3cret@cache.internal:6379/2?prefix=myapp:sess:
//	redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster/0
//	redis+cluster://10.0.1.1:7000,10.0.1.2:7000,10.0.1.3:7000
//
// The user and password in a URL are the data server's (for Sentinel: the
// master's and replicas'); Sentinels that require a password of their own take
// it from the sentinel_username and sentinel_password parameters (the
// username and password parameters stand in for the user information in
// Sentinel URLs only; other URLs refuse all four). A password holding '/', '?', '#' or '%' must be percent-encoded (%2F, %3F,
// %23, %25); an '@' or ':' in it is read as meant, the user information
// running to the last '@' before the host list. In a parameter, '&', '#',
// '+' and '%' must be. The prefix parameter sets Options.Prefix. Every
// other parameter is go-redis's own, in its snake_case spelling
// (dial_timeout=2s, read_timeout=1s, pool_size=50, max_retries=2,
// skip_verify=true, ...; see redis.ParseURL, redis.ParseFailoverURL and
// redis.ParseClusterURL); an unknown parameter is an error, and so is a
// pool_size or pipeline_pool_size above 10000 (go-redis allocates by them at
// once).
//
// No error about a URL quotes its password, however malformed the URL: the
// credentials are set apart before anything else reads it, and go-redis's
// parsers get a URL rebuilt without them. Since a password that is not
// encoded as it should be spills into other parts of the URL, an error names
// the URL by its scheme and hosts only (user information as xxxxx; only the
// scheme when an '@' follows the host list) and says what is wrong in words;
// it quotes a parameter (and go-redis's message about it) only when the URL
// holds no credentials, and otherwise gives the parameter's position.
//
// Open's defaults differ from go-redis's in three places, because a session
// store sits on every request's path, unless the URL sets them:
// context_timeout_enabled=true (a request's context deadline bounds each
// command), dialer_retries=1 (one dial per attempt instead of five, so a
// server that refuses connections fails a request in tens of milliseconds,
// not seconds) and dial_timeout=2s (instead of 5s). Command retries
// (max_retries, 3) stay go-redis's.
//
// # Layout and guarantees
//
// Each session is one string key, Prefix + ID, holding the encoded payload,
// with the session's expiry as the key's Redis TTL: Redis removes expired
// sessions itself, so the store has no Sweep. Expiries are sent relative to
// the moment of the call (SET ... PX, PEXPIRE) and read back with PTTL, so
// the store does not depend on the application servers' clocks agreeing with
// the Redis server's; expiries are kept to the millisecond.
//
//   - Load is one round trip: GET and PTTL in one MULTI/EXEC, so data and
//     expiry belong together.
//   - Update is optimistic: WATCH the key, read it, call fn, then
//     MULTI/SET (or DEL)/EXEC. When another client changed the key in
//     between, EXEC fails and Update starts again with the newer record
//     (calling fn again), after a short random back-off, up to 100 attempts
//     (ErrConflict after that) or until the context ends. This works alike on
//     a single server, behind Sentinel and on a Cluster, where one session's
//     key lives in one slot.
//   - Touch is one PEXPIRE, which never creates a key: a session that is
//     gone (deleted, or expired and so removed by Redis) stays gone. It does
//     not rewrite the payload.
//   - Delete is one DEL.
//   - Move (session.Mover, used by Session.Regenerate) is atomic on a single
//     server and behind Sentinel: WATCH both keys, read the old one, check the
//     new one is free, then MULTI/DEL old/SET new/EXEC. On a Cluster the two
//     keys hash to different slots, which no transaction can span, so Move
//     runs in two steps there: the old key is read and deleted in one
//     transaction, then the new key is created with SET NX. A failure between
//     the two loses the session (the user signs in again) but never leaves the
//     old ID loadable — the same guarantee as the Manager's own fallback for
//     stores without Move. The same two steps serve any client that is not a
//     plain *redis.Client (a Ring, say).
//   - List (session.Lister) SCANs the prefix (every master of a Cluster),
//     taking only the keys whose remainder after the prefix is a valid ID;
//     it suits operators' tools, not request paths.
//
// Session IDs are checked before they reach Redis, by the rule every store
// shares: only the URL-safe base64 alphabet (the Manager's IDs), at most 128
// characters. Load reports any other ID as not found, Update, Move and Swap
// refuse it (ErrInvalidID), Delete and Touch ignore it.
//
// # Applications sharing a Redis
//
// Give each its own prefix. A prefix must end with a character that no ID
// holds (outside A-Z, a-z, 0-9, '-' and '_'; ':' by convention): New and
// Open refuse any other, since with "shop" and "shop2" the key of shop2's
// session X would be shop's session "2X", listed (and removed by sessionctl
// destroy --all) with shop's own. With that rule and the ID check, two
// different prefixes never share a key, even when one starts the other
// ("shop:" and "shop:eu:"): an ID cannot hold the ':' that ends the longer
// one. The store uses no Cluster hash tags; a prefix holding one ({...})
// would put every session in one slot, on one node.
//
// Sentinel: the failover client asks the Sentinels for the current master
// and follows a failover. Commands in flight while the master changes fail
// (the Manager answers them through its ErrorHandler, a 500 by default) and
// later requests go to the new master. Replication is asynchronous, so a
// write acknowledged by the old master just before it failed can be lost; a
// session written before that is there after.
//
// A request that only reads its session costs one round trip (the Load); one
// that changes it costs the Load plus one (Swap's script, run by EVALSHA),
// and a new session one. Update (WATCH, GET+PTTL, MULTI/EXEC: three round
// trips) is left for when another request changed the session in between.
package redisstore
