//go:build !unix

package session

import "time"

// cpuTime is not measured here: BenchmarkCodec reports wall time only.
func cpuTime() (time.Duration, bool) { return 0, false }
