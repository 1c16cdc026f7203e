// Command loadtest runs a bounded load test of sessionkit on loopback: many
// clients, each with its own session, mixing reads and writes, plus bursts of
// concurrent writes to one shared session, against one driver. It prints
// throughput, latency percentiles, errors, lost updates, and the process's
// memory and goroutine count over time, and exits 1 when a request failed or
// an update was lost.
//
//	go run ./cmd/loadtest -driver file -duration 1m -clients 50
//	go run ./cmd/loadtest -driver database -connection sqlite:///tmp/load.db
//	go run ./cmd/loadtest -driver database -connection 'postgres://postgres@127.0.0.1:5432/app?sslmode=disable'
//	go run ./cmd/loadtest -driver redis -connection redis://127.0.0.1:6379/0
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	_ "github.com/sessionkit/session/drivers" // every driver name for -driver
	"github.com/sessionkit/session/internal/loadtest"
)

func main() {
	var o loadtest.Options
	flag.StringVar(&o.Driver, "driver", "file", "session driver: file, database, redis, memcached, mongodb, memory")
	flag.StringVar(&o.Connection, "connection", "", "Config.Connection of the driver (a URL)")
	flag.StringVar(&o.Files, "files", "", "directory of the file driver (default: a new temporary directory, removed at the end)")
	flag.IntVar(&o.Clients, "clients", 50, "concurrent clients, each with its own session")
	flag.DurationVar(&o.Duration, "duration", 60_000_000_000, "how long the clients run")
	flag.Float64Var(&o.Writes, "writes", 0.2, "share of a client's requests that write (increment a counter)")
	flag.DurationVar(&o.BurstEvery, "burst-every", 1_000_000_000, "pause between bursts of concurrent pushes on one shared session")
	flag.IntVar(&o.BurstSize, "burst", 20, "concurrent pushes per burst")
	flag.DurationVar(&o.Sample, "sample", 5_000_000_000, "memory and goroutine sampling period")
	flag.Parse()
	os.Exit(run(o))
}

func run(o loadtest.Options) int {
	if o.Driver == "file" && o.Files == "" {
		dir, err := os.MkdirTemp("", "sessionkit-loadtest-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
			return 2
		}
		defer os.RemoveAll(dir)
		o.Files = dir
	}
	o.Log = os.Stderr // progress; the report goes to standard output
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := loadtest.Run(ctx, o)
	if rep != nil {
		fmt.Print(rep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if rep.Errors > 0 || rep.LostUpdates > 0 || rep.Phantoms > 0 {
		return 1
	}
	return 0
}
