// Package memcachedstore keeps sessions in memcached through
// github.com/bradfitz/gomemcache. Importing it registers the "memcached"
// driver for session.Config.Driver, opened from Config.Connection with
// Open(ctx, url, opts), whose context bounds the resolution of the host
// names, the only setup it does (no server is needed to open a store):
//
//	import _ "github.com/sessionkit/session/memcachedstore" // or .../session/drivers
//
//	m, err := session.New(session.Config{
//		Secret:     secret,
//		Driver:     "memcached",
//		Connection: "memcached://10.0.0.1:11211,10.0.0.2:11211",
//	})
//
// or built in code with New from a client the application already has:
//
//	st, err := memcachedstore.New(memcache.New("10.0.0.1:11211"), memcachedstore.Options{})
//
// # Connection URL
//
//	memcached://host[:port][,host[:port]...][?prefix=P&timeout=D&max_idle_conns=N]
//
// The port defaults to 11211. With several servers each session lives on one
// of them, chosen by a hash of its key (gomemcache's ServerList): losing a
// server loses its sessions. timeout is the socket read/write and connect
// timeout (a Go duration, default 500ms); max_idle_conns the idle
// connections kept per server (default 100: keep it above the number of
// concurrent requests, or connections are opened and closed all the time);
// prefix sets Options.Prefix.
//
// memcached (through gomemcache) takes no user name or password: Open
// refuses a URL holding '@' (percent-encode an '@' in the prefix as %40), so
// that a credential written there by mistake is never used nor shown. Its
// errors show the server list and the known parameters only, and nothing of
// a URL too broken to tell a password from a server.
//
// # Layout and guarantees
//
// Each session is one item under Prefix + ID. memcached does not return an
// item's expiry, so the item's value starts with a 9-byte header — a format
// byte, then the expiry as big-endian Unix nanoseconds — followed by the
// payload. The header is the truth: an item whose header says it has expired
// is not found, whatever memcached still holds. The item's memcached
// expiration is set a second or two after it, so that memcached frees it
// soon after (relative seconds up to 30 days, an absolute Unix time beyond,
// as memcached requires; the absolute form depends on the server's clock).
// memcached expires items itself, so the store has no Sweep. Every decision
// on expiry reads the header, which the writing Manager set from its
// Lifetime: no process decides a session's expiry from its own
// configuration. memcached may also evict a live session when it runs out
// of memory: size it for the sessions it must keep.
//
//   - Load is one gets, which also reads the item's CAS token. The store
//     remembers the token with the data it returned, in one of 1024 slots
//     chosen by the session ID (payloads up to 16 KiB: at most 16 MiB, in
//     practice 1024 payloads of their real size), for the Swap or Touch
//     that follows in the same request.
//   - Swap (session.Swapper), with which the Manager saves: a new session is
//     one add; a changed session, from the data a Load returned, is one cas
//     with that Load's token, which memcached takes only when nobody wrote
//     the item since. So a read request is one round trip, a write the load
//     plus one cas, a new session one add. Without a remembered Load (or
//     when the cas finds the item changed, or an add finds an expired or
//     foreign item there) Swap reads the item (gets), compares, and cas-es.
//   - Update is optimistic, with CAS: gets the item with its CAS token, call
//     fn, then cas (or add, for a missing item). When another client wrote
//     or deleted the item in between, memcached refuses the write and Update
//     starts again with the newer record (calling fn again), after a short
//     random back-off, up to 100 attempts (ErrConflict after that) or until
//     the context ends. A deletion is a cas with a negative expiration, so
//     it too happens only when nobody wrote in between.
//   - Touch has to rewrite the header, so it is a cas of the same payload
//     with the new expiry: one round trip with a remembered Load's token,
//     otherwise a gets first, retried like Update (memcached's own touch
//     would move only memcached's expiration and leave the header stale). It
//     never creates an item nor revives an expired one.
//   - Delete is one delete.
//   - There is no Move (memcached has no multi-key transaction): the Manager
//     regenerates an ID by deleting the old record, then creating the new one.
//   - There is no List: memcached does not enumerate keys.
//
// memcached keys are at most 250 bytes of printable ASCII without spaces.
// The store accepts session IDs of 1 to 128 characters of the URL-safe
// base64 alphabet (the Manager's IDs are 43), as every store of this module
// does, that fit with the prefix; Load reports any other ID as not found,
// Update and Swap refuse it (ErrInvalidID), Delete and Touch ignore it.
// Items are limited to memcached's item size (1 MB by default, -I to
// change).
//
// A CAS token is a per-server counter, which restarts with the server: a
// token read before a restart could, in the moment between a Load and its
// Swap, match an item written after it. Every compare-and-swap store built
// on memcached has that window; Update has it between its gets and cas.
//
// gomemcache takes no context. The store checks the context before each call
// to memcached (and between attempts), so a canceled or expired context
// stops it at the next step, and each call is bounded by the client's
// Timeout; a call in progress is not interrupted.
//
// # The sessions of a user
//
// The store implements session.UserIndex, which Manager.UserSessions,
// DestroyUserSessions, DestroyUserSession and Session.DestroyOtherSessions
// use, with one item per user under Prefix + "user:" + the SHA-256 of the
// user ID in unpadded URL-safe base64 + ":" (at most 249 bytes, with the
// longest prefix). The user ID itself, up to session.MaxUserIDLen bytes of
// anything, never goes into a key, and the ':', which no session ID holds,
// keeps the key from being any session's. The value holds a line per entry,
// "<session ID> <Unix seconds>\n", 55 bytes for the Manager's IDs (about
// 19,000 entries fit in memcached's default 1 MB item; stale ones are
// dropped, see below).
//
//   - AddUserSession is one append of the entry's line. When the user has
//     no item yet, memcached answers NOT_STORED and an add creates it (two
//     round trips); when another client's add got there between the two,
//     the line is appended again. memcached applies each append and add
//     atomically, so concurrent logins of one user all land.
//   - ListUserSessions is one get; an ID added twice is listed once, with
//     its newest time. Listing a user's n sessions through the Manager is
//     1 + n round trips: the get, and one Load per session.
//   - RemoveUserSessions is a gets, then a cas of the value without those
//     lines (with a negative expiration, which drops the item, when no line
//     is left): an append in between makes the cas fail, and the removal
//     starts again from the newer value, as Update does (ErrConflict after
//     100 attempts). It writes nothing when none of the IDs is there.
//
// The index item never expires (memcached expiration 0): a session lives
// as long as it is used, and the index cannot follow it, since a Touch does
// not know the session's user and a logged-in session's read must stay one
// round trip. Entries whose session expired or was destroyed stay in the
// item until the Manager drops them: when it lists the user's sessions, and
// at a Login once the item holds 32 entries. The store has no Sweep.
//
// # Eviction and "log out everywhere"
//
// memcached is a cache: when it runs out of memory it evicts the least
// recently used items, and an index item is an item like any other. It is
// read and written only when its user logs in, lists or ends sessions,
// while the user's sessions are read at every request, so it may well be
// colder than the sessions it lists and be evicted first. What an eviction
// means:
//
//   - An evicted session is gone: its user is logged out on that device.
//   - An evicted index item hides every session its user logged in before
//     the eviction: UserSessions does not list them, and
//     DestroyUserSessions, DestroyOtherSessions and DestroyUserSession do
//     not end them. Each stays live until it expires (its idle or absolute
//     lifetime) or is logged out on its own device; in particular, "log out
//     everywhere" after a password change leaves it logged in. Sessions
//     logged in after the eviction go into a new item and are listed and
//     ended as usual.
//   - No eviction makes the Manager list or end a wrong session: every
//     entry is checked against its session, and one whose session is gone
//     is dropped.
//
// The store does what memcached allows: the index item has no expiration,
// so only memory pressure removes it, and it is small (55 bytes a session),
// so it costs little to keep. For "log out everywhere" to be complete the
// memcached that holds the sessions must not evict: give it memory for
// every session with room to spare and watch the evictions counter of its
// stats (it stays 0 while nothing was lost), or run it with -M
// (--disable-evictions), with which a full memcached answers a write that
// needs memory with an error (the request fails) instead of evicting. With
// several servers, a user's item lives on the server its key hashes to:
// losing that server loses those users' indexes, as it loses the sessions
// it held.
//
// A per-user "logged out before T" item that sessions were checked against
// when they load would close the gap, and it is out of a store's reach:
// the Manager loads a session through Store.Load by its ID, and the user is
// inside the payload, which is opaque to the store (and may be encrypted),
// so Load cannot tell which marker to check; checking one would also make
// every logged-in read two round trips instead of one. An application that
// needs "log out everywhere" to hold whatever memcached evicts can keep
// such a time itself: put the login time in the session at Login, keep a
// "sessions valid after" time with the user in its own database, and
// destroy a session that is older. Or it uses a driver whose server does
// not evict (database, or redis without an evicting maxmemory-policy).
package memcachedstore
