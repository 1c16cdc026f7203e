package cputime

import (
	"runtime"
	"testing"
	"time"
)

// TestNowGrows checks that the CPU time read grows as the process works.
func TestNowGrows(t *testing.T) {
	start, ok := Now()
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("CPU time cannot be read (getrusage failed)")
		}
		t.Skip("CPU time cannot be read on this system")
	}
	var x uint64
	for {
		for i := range 1_000_000 {
			x += uint64(i) * x
		}
		end, _ := Now()
		if end < start {
			t.Fatalf("CPU time went back from %v to %v", start, end)
		}
		if end-start >= time.Millisecond {
			break
		}
	}
	_ = x
}

// BenchmarkReport shows the metric: a loop of a few nanoseconds of work.
func BenchmarkReport(b *testing.B) {
	var x uint64
	stop := Report(b)
	for b.Loop() {
		x = x*31 + 7
	}
	stop()
	_ = x
}
