package main

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Targets of the concurrency tables: sessionkit's throughput at least this
// fraction of the bound's, and its p99 at most this multiple of the bound's.
const (
	minThroughputRatio = 0.9
	maxP99Ratio        = 1.2
)

// concurrencyBench is the base name of the benchmark the concurrency
// tables are made of.
const concurrencyBench = "ConcurrentRead"

// A loadStat is the median of each metric of one ConcurrentRead benchmark.
type loadStat struct {
	reqs, p50, p99, allocs, cpu float64
	ok                          bool
}

func (rs *results) loadStat(k key) loadStat {
	s := rs.by[k]
	if s == nil || len(s.reqs) == 0 || len(s.p99) == 0 {
		return loadStat{}
	}
	st := loadStat{reqs: median(s.reqs).Center, p99: median(s.p99).Center, ok: true}
	if len(s.p50) > 0 {
		st.p50 = median(s.p50).Center
	}
	if len(s.allocs) > 0 {
		st.allocs = median(s.allocs).Center
	}
	if len(s.cpu) > 0 {
		st.cpu = median(s.cpu).Center
	}
	return st
}

// renderConcurrency returns the concurrency section: per store, a row per
// number of clients with the bound's, sessionkit's and each competitor's
// throughput and p99, sessionkit's and the competitors' as ratios to the
// bound's, and whether sessionkit meets the targets.
func renderConcurrency(rs *results, info string) string {
	var b bytes.Buffer
	writeHeader(&b, rs, info)
	fmt.Fprintf(&b, "Medians over the rounds. *req/s* is throughput (requests answered per second of wall time, all clients together); "+
		"*p99* the 99th percentile of one request's latency; *÷ bound* each as a fraction (throughput) or multiple (p99) of the bound's at the same number of clients. "+
		"*CPU* is this process's CPU time per request (clients, library and store client, not the store's server); *+CPU* sessionkit's or the competitor's above the bound's. "+
		"Target: throughput ≥ %.1f of the bound's and p99 ≤ %.1f× the bound's.\n\n", minThroughputRatio, maxP99Ratio)

	stores, procs := rs.stores(concurrencyBench)
	met, total := 0, 0
	var missed []string
	for _, store := range stores {
		libs, levels := rs.loadLibs(store, procs)
		fmt.Fprintf(&b, "### %s\n\n", store)
		b.WriteString("| clients | library | req/s | ÷ bound | p50 | p99 | ÷ bound | CPU | +CPU | allocs/op | target |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, n := range levels {
			bound := rs.loadStat(key{bench: concurrencyBench, store: store, lib: "bound", clients: n, procs: procs})
			for i, lib := range libs {
				st := rs.loadStat(key{bench: concurrencyBench, store: store, lib: lib, clients: n, procs: procs})
				if !st.ok {
					continue
				}
				first := ""
				if i == 0 {
					first = strconv.Itoa(n)
				}
				thr, lat, cpu, more, verdict := "", "", "—", "", ""
				if st.cpu > 0 {
					cpu = fmtDuration(st.cpu)
				}
				if lib != "bound" && bound.ok {
					tr, pr := st.reqs/bound.reqs, st.p99/bound.p99
					thr, lat = fmt.Sprintf("%.2f", tr), fmt.Sprintf("%.2f×", pr)
					if st.cpu > 0 && bound.cpu > 0 {
						more = fmtDuration(st.cpu - bound.cpu)
					}
					if lib == "sessionkit" {
						total++
						switch {
						case tr >= minThroughputRatio && pr <= maxP99Ratio:
							met++
							verdict = "✓"
						default:
							var what []string
							if tr < minThroughputRatio {
								what = append(what, "throughput")
							}
							if pr > maxP99Ratio {
								what = append(what, "p99")
							}
							verdict = "✗ " + strings.Join(what, ", ")
							missed = append(missed, fmt.Sprintf("%s at %d (%s)", store, n, strings.Join(what, ", ")))
						}
					}
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", first, lib,
					thousands(st.reqs), thr, fmtDuration(st.p50), fmtDuration(st.p99), lat, cpu, more,
					strconv.FormatFloat(st.allocs, 'f', 0, 64), verdict)
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "**Targets met: %d of %d.**", met, total)
	if len(missed) > 0 {
		fmt.Fprintf(&b, " Missed: %s.", strings.Join(missed, "; "))
	}
	b.WriteString("\n\n")
	return b.String()
}

// loadLibs returns the libraries measured on store, bound first and then
// in the order first seen, and the numbers of clients, ascending.
func (rs *results) loadLibs(store string, procs int) (libs []string, levels []int) {
	libs = []string{"bound"}
	for _, k := range rs.order {
		if k.bench != concurrencyBench || k.store != store || k.procs != procs {
			continue
		}
		if !slices.Contains(libs, k.lib) {
			libs = append(libs, k.lib)
		}
		if !slices.Contains(levels, k.clients) {
			levels = append(levels, k.clients)
		}
	}
	slices.Sort(levels)
	return libs, levels
}

// thousands formats v rounded to a whole number with commas between
// thousands: 41858.3 → "41,858".
func thousands(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
