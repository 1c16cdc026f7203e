package filestore

import (
	"path/filepath"
	"strings"

	"github.com/sessionkit/session/internal/sessionid"
)

// A session file's name is its session's ID, which is as good as the
// session to whoever reads it. The operating system's errors name the file
// they failed on (an *fs.PathError's Path), and the Manager logs a store's
// errors; so every error a Store's method returns has the names under the
// store's directory shortened as sessionid.Abbrev shortens an ID ("open
// /var/lib/app/sessions/Vx3kQ9_aB2cD...: permission denied"). The error
// still wraps the original, so that errors.Is and errors.As see what they
// would have seen; only its message changes.

// redacted is an error whose message is that of err with the names of
// files under a store's directory shortened.
type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

// redact returns err with every name in a path under the store's directory
// that is longer than sessionid.ShortLen characters of the IDs' alphabet
// shortened as sessionid.Abbrev does, or err itself when its message names
// none.
func (s *Store) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red, ok := redactPaths(msg, s.dir+string(filepath.Separator)); ok {
		return &redacted{msg: red, err: err}
	}
	return err
}

// redactPaths returns msg with, after every occurrence of dir (a directory
// ending in a separator), the names of the path that follows shortened, and
// whether it shortened any.
func redactPaths(msg, dir string) (string, bool) {
	i := strings.Index(msg, dir)
	if i < 0 {
		return msg, false
	}
	var b strings.Builder
	changed := false
	for i >= 0 {
		b.WriteString(msg[:i+len(dir)])
		msg = msg[i+len(dir):]
		// The path goes on while it has names, dots and separators.
		for len(msg) > 0 {
			n := 0
			for n < len(msg) && sessionid.InAlphabet(msg[n]) {
				n++
			}
			if n > 0 {
				name := msg[:n]
				if short := sessionid.Abbrev(name); short != name {
					changed = true
					name = short
				}
				b.WriteString(name)
				msg = msg[n:]
				continue
			}
			if msg[0] != '.' && msg[0] != filepath.Separator {
				break
			}
			b.WriteByte(msg[0])
			msg = msg[1:]
		}
		i = strings.Index(msg, dir)
	}
	b.WriteString(msg)
	return b.String(), changed
}
