// Package cputime measures the CPU time a process spends, for benchmarks that
// report it per operation (cpu-ns/op) beside wall time: on a busy machine,
// where other processes take the cores, a benchmark's CPU time per operation
// varies far less than its wall time.
package cputime

import (
	"testing"
	"time"
)

// Now returns the CPU time the process has used so far, all threads, user
// and system (the garbage collector's included), and whether it could be
// read on this system.
func Now() (time.Duration, bool) { return now() }

// Report starts measuring the process's CPU time; the function it returns
// reports what was spent since, divided by b.N, as cpu-ns/op. Call it just
// before the measured loop and the function just after:
//
//	stop := cputime.Report(b)
//	for b.Loop() {
//		...
//	}
//	stop()
//
// Where the CPU time cannot be read, nothing is reported.
func Report(b *testing.B) func() {
	start, ok := now()
	return func() {
		if end, _ := now(); ok && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
