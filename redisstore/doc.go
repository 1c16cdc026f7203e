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
//   - Load is one round trip: GET and PTTL, pipelined, not in MULTI/EXEC
//     (a command of another client between them changes nothing that
//     matters, see Store.Load); on a Cluster, one EVALSHA of a script that
//     runs both, since go-redis runs a Cluster's plain pipeline in a
//     goroutine and MULTI/EXEC costs Redis four commands.
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
//   - The index of a user's sessions (session.UserIndex) is one sorted set
//     per user; see "Sessions of a user" below.
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
//
// # Sessions of a user
//
// The Store implements session.UserIndex, which Session.Login,
// Manager.UserSessions and Manager.DestroyUserSessions use. Each user's index
// is one sorted set,
//
//	Prefix + "user:" + hex(SHA-256(user ID)) + ":"
//
// whose members are the user's session IDs, each scored with the time it
// was added in Unix milliseconds, by the clock of the application server
// that adds it (the Manager compares it with its own, allowing a minute). An
// operator finds a user's index with
//
//	redis-cli ZRANGE "session:user:$(printf %s "$USER_ID" | sha256sum | cut -c1-64):" 0 -1 WITHSCORES
//
// The hash keeps user IDs, which may hold any character, out of key names:
// no user ID can name another key, and two users never share an index. The
// final ':' is a character no session ID holds, so an index key is never
// taken for a session: not by List (and so sessionctl list, count and
// destroy --all), which skips it, nor by another store whose prefix starts
// it (to a store with prefix "session:user:" the hash alone would be a
// session ID). Since what follows the prefix has one length, two prefixes
// never share an index key.
//
// Adding an entry is one ZADD, which is atomic, so concurrent logins of one
// user all land; listing is one ZRANGE ... WITHSCORES; removing is one ZREM,
// and Redis deletes the key with its last entry. A user's key and the keys of
// the user's sessions hash to different slots of a Cluster, so they are
// written separately, the entry first (the Manager adds it before it stores
// the session as the user's): a failure between the two leaves an entry
// without a session, which the Manager removes once it is a minute old, never
// a session without its entry. Listing a user's N sessions costs one round
// trip for the index and one Load per session; a request that only reads a
// logged-in session still costs one round trip, and one that neither logs
// in nor lists never touches an index.
//
// An index key has no TTL. Sessions stay alive through touches, which do not
// pass through the index (the store does not know whose session it
// touches), so any TTL on the index could run out while a session it lists
// lives on, and "log out everywhere" would miss that session. Instead the
// Manager removes stale entries: every listing removes those whose session
// is gone, and a Login that finds 32 or more entries checks them all. What
// stays is the index of a user who never returns, with the entries of their
// last sessions: usually one or two (Login keeps the stale ones under 32). Redis 7 holds a small index in about 140 bytes plus 60
// per entry (MEMORY USAGE: 200 bytes with one entry, 328 with three, 1.9 KB
// with 31), so a million users who logged in once on one device and never
// came back leave about 200 MB. For the same reason, run a Redis that keeps
// sessions with maxmemory-policy noeviction or a volatile-* policy (which
// evicts only keys with a TTL: sessions, which at worst logs someone out),
// not allkeys-*: an evicted index would hide a live session from
// DestroyUserSessions.
package redisstore
