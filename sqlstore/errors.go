package sqlstore

import (
	"fmt"
	"strings"
)

// prefix starts every error text of the package, once.
const prefix = "sqlstore: "

// errorf is fmt.Errorf for the package's errors: the text starts with
// "sqlstore: ", and the errors among a (this package's sentinels, errors of
// its own helpers, a connector's) lose their own "sqlstore: " in it, so that
// no text says it twice. The errors are still wrapped as given, for
// errors.Is and errors.As.
func errorf(format string, a ...any) error {
	for i, v := range a {
		if err, ok := v.(error); ok {
			a[i] = unprefixed{err}
		}
	}
	return fmt.Errorf(prefix+format, a...)
}

// unprefixed is err with the package's prefix removed from its text.
type unprefixed struct{ err error }

func (u unprefixed) Error() string { return strings.TrimPrefix(u.err.Error(), prefix) }
func (u unprefixed) Unwrap() error { return u.err }
