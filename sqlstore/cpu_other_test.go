//go:build !unix

package sqlstore_test

import "time"

// cpuTime is not measured here: BenchmarkLoad reports wall time only.
func cpuTime() (time.Duration, bool) { return 0, false }
