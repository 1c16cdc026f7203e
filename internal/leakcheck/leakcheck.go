// Package leakcheck finds goroutines that a test started and left running: a
// small equivalent of go.uber.org/goleak for this module's fault tests, which
// compares the goroutines alive after a test (and a settle period) with those
// alive before it.
package leakcheck

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Settle is how long Check waits, at most, for goroutines that are winding
// down (a closed pool's connections, a cancelled timer's callback) to end.
const Settle = 5 * time.Second

// ignored are frames of goroutines that outlive a test on purpose: the
// private servers of package testserver (started on first use, once per test
// binary, and their process reapers), the test framework's own, and the
// runtime's.
var ignored = []string{
	"github.com/sessionkit/session/internal/testserver.",
	"testing.(*T).Run",
	"testing.(*T).Parallel",
	"testing.tRunner",
	"testing.runTests",
	"testing.(*M).",
	"os/signal.signal_recv",
	"runtime.ensureSigM",
	"runtime/trace.",
}

// Goroutine is one goroutine of a stack dump.
type Goroutine struct {
	ID    int64
	Stack string // its full trace, first line included
}

// Snapshot returns the goroutines alive now, but the caller's.
func Snapshot() []Goroutine {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []Goroutine
	for i, block := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue // the caller's own goroutine comes first
		}
		s := string(bytes.TrimSpace(block))
		id, ok := parseID(s)
		if !ok {
			continue
		}
		gs = append(gs, Goroutine{ID: id, Stack: s})
	}
	return gs
}

// parseID reads N from a trace starting "goroutine N [state]:".
func parseID(s string) (int64, bool) {
	rest, ok := strings.CutPrefix(s, "goroutine ")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, " ")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(num, 10, 64)
	return id, err == nil
}

func isIgnored(stack string) bool {
	for _, f := range ignored {
		if strings.Contains(stack, f) {
			return true
		}
	}
	return false
}

// Leaked returns the goroutines alive now that were not in before and are not
// ignored, waiting up to settle for them to end.
func Leaked(before []Goroutine, settle time.Duration) []Goroutine {
	old := make(map[int64]bool, len(before))
	for _, g := range before {
		old[g.ID] = true
	}
	deadline := time.Now().Add(settle)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		var leaked []Goroutine
		for _, g := range Snapshot() {
			if !old[g.ID] && !isIgnored(g.Stack) {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(delay)
	}
}

// Check records the goroutines alive now and, when t ends, fails t with the
// stacks of the goroutines started since that are still alive after Settle.
// Call it first in a test, so that its check runs after every other cleanup
// (cleanups run last registered first). The test must not be parallel with
// others, whose goroutines it would count.
func Check(t testing.TB) {
	t.Helper()
	before := Snapshot()
	t.Cleanup(func() {
		leaked := Leaked(before, Settle)
		if len(leaked) == 0 {
			return
		}
		var b strings.Builder
		for _, g := range leaked {
			fmt.Fprintf(&b, "\n%s\n", g.Stack)
		}
		t.Errorf("leakcheck: %d goroutines started by the test are still running after %v:%s", len(leaked), Settle, b.String())
	})
}
