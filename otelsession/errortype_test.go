package otelsession

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"testing"
)

// annotated is an unexported wrapper, as the stores' own are.
type annotated struct{ err error }

func (a annotated) Error() string { return "store: " + a.err.Error() }
func (a annotated) Unwrap() error { return a.err }

func TestErrorType(t *testing.T) {
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	pathErr := &fs.PathError{Op: "open", Path: "/x", Err: errors.New("permission denied")}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("redisstore: load: %w", opErr), "*net.OpError"},
		{fmt.Errorf("sqlstore: load: %w", annotated{opErr}), "*net.OpError"},
		{annotated{fmt.Errorf("wrapped: %w", pathErr)}, "*fs.PathError"},
		{errors.New("plain"), "*errors.errorString"},
		{fmt.Errorf("load: %w", annotated{errors.New("plain")}), "*errors.errorString"},
		{fmt.Errorf("load: %w", fmt.Errorf("deadline: %w", errDeadline{})), "timeout"},
	} {
		if got := errorType(tc.err); got != tc.want {
			t.Errorf("errorType(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// errDeadline is a net.Error that timed out.
type errDeadline struct{}

func (errDeadline) Error() string   { return "i/o timeout" }
func (errDeadline) Timeout() bool   { return true }
func (errDeadline) Temporary() bool { return true }
