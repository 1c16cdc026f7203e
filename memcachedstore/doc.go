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
package memcachedstore
