// Package filestore is a session store that keeps each session in a file of
// its own, in one directory that any number of processes on the same machine
// may share.
//
// # Layout
//
//   - <dir> is the store's directory. New creates it (mode 0700) when it
//     is missing and, on Unix systems, refuses one that its group or others
//     may write, sticky or not, or that another user owns, and the same of
//     the store's subdirectories (an error wrapping ErrUnsafeDir, saying
//     what to run): whoever may write there could plant a session file.
//   - <dir>/<id> is the session's file, mode 0600, in the v2 format below.
//     A file is v2 exactly when it starts with the whole 8-byte magic
//     "\x00skf2\x00\r\n", which no payload of the Manager (JSON, or sealed
//     "sk1.") starts with; any other file is a v1 file (see "The v1
//     layout" below).
//   - Only IDs of 1 to 128 characters from [A-Za-z0-9_-] are stored (the
//     Manager's IDs are 43 characters of that alphabet). Load reports any
//     other ID as not found; Update, Delete, Touch and Swap reject it with an
//     error wrapping ErrInvalidID. No path is ever built from an unchecked ID.
//   - A file's name is its session's ID, so the errors the Store's methods
//     return name files under <dir> with each name shortened to its first
//     12 characters ("<dir>/Vx3kQ9_aB2cD...: directory not empty"); they
//     still wrap the operating system's errors, whole, for errors.Is and
//     errors.As. Update returns fn's own error as fn returned it.
//   - A v2 file is a 40-byte header and two slots of equal capacity, a
//     power of two of at least 512 bytes chosen when the file is written
//     whole (the smallest that holds the data). The header holds,
//     little-endian, after the magic: the write number (uint64; its parity
//     names the active slot), the expiry (int64, Unix nanoseconds), the
//     capacity, the length and the CRC-32C (Castagnoli) of the active
//     slot's data (uint32 each), and a CRC-32C of bytes 0 to 35. A reader
//     checks both checksums and the file's size (40 plus twice the
//     capacity). A v2 file's mtime means nothing.
//   - A write (Update, Swap) of a session whose v2 file has room for the
//     data is made in place: one pwrite of the data into the inactive slot,
//     followed by zeros to the slot's end (one pwrite up to 16 KiB), then
//     one pwrite of the whole header, naming that slot and giving the new
//     expiry, then one pwrite of zeros over the previous version's data.
//     The header is the commit: a crash before it leaves the previous
//     version whole, and a kill cannot split it (it is written from a
//     buffer within one memory page). The wipe comes after the commit, so a
//     crash during it or before it loses nothing; the previous data then
//     stays in the file until the next write fills that slot whole. So
//     after a write the file holds only its header, the session's data and
//     zeros (after two, whatever a crash left): a value the application
//     removed from the session (plain JSON, unless Config.Encrypt) does not
//     stay readable in it. Touch is one pwrite of the header with the new
//     expiry. Data that does not fit, or that would fit an eighth of slots
//     of 64 KiB or more, and the first write of a v1 or damaged file, make
//     a new file instead: it is written whole (the data and zeros) to a
//     temporary file <dir>/.tmp/<shard>-*, which is renamed over <dir>/<id>
//     (a reader sees the old file or the new one). A crash can leave a
//     temporary file behind; Sweep removes those once an hour old.
//   - A session with no file yet is created in place (O_EXCL), the whole
//     file in one write. Until the write, the file is empty: a v1 file
//     whose mtime, the time of its creation, has passed (Load takes the
//     current time after it reads the file's status); a file the write has
//     only partly filled has a size other than its header's. Either reads
//     as absent. A crash can leave such a file, which the next write of
//     that ID replaces and Sweep removes when its index entry's minute
//     comes.
//   - Load reads a file with open, fstat, read and close (on Linux as plain
//     system calls, which for small files costs half of what os.ReadFile
//     does; of a file over 16 KiB it reads the header, then the active
//     slot). It does not follow a symbolic link and does not block on a
//     FIFO: neither is a session, and a write replaces the link itself.
//     Load takes no lock, so it may read a v2 file while a write changes
//     it: a header that fails its check, a size other than the header's, or
//     data that fails its checksum (a slot wiped by the write that
//     followed the header read, or rewritten by a second one) make the read
//     torn. Load then reads again,
//     up to four times in all, and then once more under the ID's lock,
//     where no write is in progress: a session being written never reads
//     as absent, and a read returns the data and expiry of one header,
//     never a mix of two writes. A file that still reads torn under the
//     lock is no session (a crash's or damage's leftover): Load reports it
//     absent, the next write replaces it, Sweep removes it.
//   - <dir>/.expiry/ is an index of expiries, so that a sweep visits the
//     sessions that fell due and not the whole directory. It holds one
//     directory per minute in which some expiry falls, named by the minute's
//     start in Unix seconds, zero-padded to 12 digits
//     (".expiry/001764000000/"), and in it one append-only log per lock
//     shard, named by the shard as its lock file is, plus ".log"
//     ("3f.log"), that lists the sessions of the shard whose expiry was set
//     in that minute. An entry is a newline, the ID and a newline, appended
//     with one write (O_APPEND) under the ID's shard lock. A write (Update,
//     Touch, Swap) first appends the entry to the log of the new expiry's
//     minute, unless the session's current expiry falls in the same minute,
//     and only then writes the session, so a crash between the two leaves an
//     entry without its session (dropped by the next sweep of that minute),
//     never a session without an entry. An entry for an older expiry is left
//     behind (and so is a deleted session's): Sweep drops it when its minute
//     comes. A crash may cut an entry short: its leading newline keeps the
//     next entry whole, and a sweep ignores lines that are not IDs of the
//     log's shard and reads an ID listed twice once. A v1 marker in a
//     minute's directory is an entry too.
//   - Sweep (and SweepBatch, which stops after a given number of removals)
//     lists the minute directories of .expiry (about one per minute of the
//     sessions' lifetime, however many sessions there are), and visits only
//     those whose minute has ended. It holds a log's shard lock from its
//     read of the log to its unlink, so no entry is appended in between (a
//     write to that minute afterwards creates the log anew): for each ID in
//     the log, it removes the session if its expiry (a v2 file's header, a
//     v1 file's mtime) has passed, then it unlinks the log; a sweep that
//     stops within a log (its limit, its context, an error) leaves the log
//     to the next one. It sweeps a v1 marker alike, under its ID's lock. Then
//     it removes the minute's directory once empty. Its cost follows the
//     number of entries that fell due: the expired sessions plus the expiry
//     changes made a lifetime ago, not the number of stored sessions.
//   - <dir>/.locks/00 to <dir>/.locks/ff are lock files. Update, Delete,
//     Touch, Swap and Sweep lock the ID's shard (chosen by a hash of the ID)
//     with an in-process mutex plus flock(2) on the shard's lock file, which
//     the Store opens on first use and keeps open until Close, so an Update
//     is atomic across goroutines and across processes sharing the
//     directory. Load takes no lock, but for a file that keeps reading torn.
//   - <dir>/.users/ is the index of each user's sessions (see "The user
//     index" below): .users/<xx>/<hash>, where <hash> is the SHA-256 of the
//     user ID in 64 lower-case hex digits and <xx> its first two.
//
// # The user index
//
// The store implements session.UserIndex, which Manager.UserSessions,
// DestroyUserSessions, DestroyUserSession and Session.DestroyOtherSessions
// use, with one file per user: .users/<xx>/<hash>, mode 0600, in directories
// of mode 0700 (New checks .users as it checks the others; it makes <xx> on
// the first entry of a user whose hash starts with it). A user ID never
// names a path: whatever its bytes (slashes, dots, NUL, any length), its
// file is named by its hash, so two user IDs share a file only if SHA-256
// collides, and listing a user's sessions reads that one file, never the
// directory.
//
//   - Each line of the file is an entry, "<session ID> <added>\n", <added>
//     being Unix seconds zero-padded to 12 digits. AddUserSession appends
//     one line, with one write (O_APPEND), under the lock of shard <xx> (the
//     lock of the session shards, mutex and flock, so concurrent adds from
//     any goroutines and processes all land). When the file does not end in
//     a newline (a line a crash cut short), the append puts one first, so
//     the new entry stays whole; the cut line, closed so, fails the format
//     (its time is not 12 digits, or it has none) and is no entry, unless
//     only its newline was missing. Adding an ID again appends it again,
//     with the newer time.
//   - ListUserSessions reads the file with no lock: it sees each whole line
//     written before the read (an unfinished last line, being appended, is
//     skipped), and lists each ID once, with its newest time.
//   - RemoveUserSessions, under the same lock, writes the entries that
//     remain, each once, to a temporary file .tmp/<xx>-*, which it renames
//     over the user's file (a reader sees the file before or after), or
//     removes the file when none remain.
//   - The index is a hint that the Manager checks against each record, and
//     it adds a session's entry before it stores the session as the user's,
//     so an entry may name a session that is gone, expired, another user's
//     now, or about to exist. The Manager removes the stale entries it meets
//     when it lists a user's sessions, and when a Login finds the index
//     large; Sweep removes those of users who never come back, so that the
//     index does not grow for ever.
//   - After the expiry index, each Sweep (and SweepBatch) visits the user
//     files in turn, resuming where the previous sweep of the Store stopped,
//     with a budget of 1024 (each directory read, file read and entry
//     checked costs one), so its work stays bounded however many users there
//     are. It drops an entry whose session file is missing or expired (read
//     as Load reads it, the expiry only: a file that reads torn as a write
//     changes it is read again) and that was added over a minute ago, the
//     Manager's grace for a Login in flight, and removes a file left without
//     entries. It checks the sessions with no lock held, then rewrites the
//     file under the shard's lock as RemoveUserSessions does, dropping only
//     entries still a minute old then (an ID added again meanwhile stays).
//     Entries whose session lives on as another user's are the Manager's to
//     remove. Pruned entries are not counted in what Sweep reports.
//
// The index is kept in a file per user rather than a field of each session
// file, because a field could be found only by reading every session; and
// apart from the sessions' files, so that a request that loads or saves a
// session, logged in or not, reads and writes only its session's file: the
// index is written when a user's session is logged in, regenerated or
// destroyed, when stale entries are removed, and by Sweep. Index files of
// the shard <xx> share its lock with the sessions of that shard: each lock
// is held for one append or one rewrite of one user's file, and no lock is
// taken while another is held, so the two never wait on each other for long
// nor deadlock.
//
// # The v1 layout
//
// The store reads, and converts as it goes, what the v1 layout of this
// package leaves in a directory:
//
//   - A v1 file is a session file without the v2 magic: it holds exactly
//     the session's data, and its mtime is the session's expiry. It loads
//     and lists, Touch sets its mtime, a sweep removes it once its mtime has
//     passed, and its first write replaces it with a v2 file (by rename).
//   - A v1 marker is an index entry as an empty file named by the ID in a
//     minute's directory of .expiry. Sweep sweeps it, under the ID's lock,
//     as it sweeps a log's entry.
//   - A v1 temporary file is named .tmp-<shard>-* in the directory itself.
//     The scan of a v1 directory removes it once an hour old.
//   - A v1 directory has no complete index (no .expiry/.complete). Its
//     sessions load all the same; the first Sweep on it scans the whole
//     directory once, removing expired files and v1 temporary files and
//     appending the entry of each live session to its shard's log (under
//     the shard's lock, as a write does; not a marker, which would cost a
//     file per session), and then creates .expiry/.complete. Until then
//     writes always add entries. (New marks the index of a directory
//     without sessions, a new one, complete at once.)
//
// All processes sharing a directory must use this package's v2 layout: a
// v1 store writes no log entries (so its sessions would be swept only by a
// full scan, or not at all) and reads a v2 file as if it held only data.
//
// Names starting with "." are never sessions, and Sweep leaves alone any name
// that is not a valid ID, so the directory can hold other files.
//
// There is no fsync: after a power loss or kernel crash the most recent writes
// may be lost (or a file may read back empty, or fail its checks and read as
// absent), but a process crash never tears a session nor loses one written
// before (only a new one being created reads as absent).
//
// Cross-process locking uses flock(2) and is available on Linux, the BSDs and
// macOS; elsewhere the package builds but locks within the process only. IDs
// differing only in letter case name the same file on a case-insensitive file
// system (the default on macOS and Windows), which this package does not
// guard against; use a case-sensitive file system.
package filestore
