//go:build unix

package sqlstore_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used, all threads, user and
// system: on a busy machine a benchmark's CPU time per operation varies far
// less than its wall time.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
