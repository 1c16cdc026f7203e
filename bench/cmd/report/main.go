// Command report turns the raw output of the side-by-side benchmarks (the
// files bench/run.sh keeps in bench/results) into Markdown tables: per store
// pairing and case, each library's median time, bytes and allocations per
// request, its overhead above the floor (the same request to a handler with
// no session), and sessionkit's overhead as a fraction of each competitor's,
// checked against the targets of issue 6.
//
// Usage:
//
//	go run ./cmd/report [-md ../BENCHMARKS.md] [-info TEXT] results/seq.txt results/par.txt
//
// With -md it rewrites the part of that file between the lines
// "<!-- bench:begin -->" and "<!-- bench:end -->" (appending both markers
// when the file has none); without, it prints the section. Medians and their
// 95% confidence intervals are computed with golang.org/x/perf/benchmath, as
// benchstat computes them.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// Markers delimit the generated sections of the Markdown file: the
// side-by-side tables (bench:) and the concurrency tables (concurrency:).
const (
	beginMarker            = "<!-- bench:begin -->"
	endMarker              = "<!-- bench:end -->"
	concurrencyBeginMarker = "<!-- concurrency:begin -->"
	concurrencyEndMarker   = "<!-- concurrency:end -->"
)

func main() {
	md := flag.String("md", "", "Markdown file whose marked section to rewrite; print the section when empty")
	info := flag.String("info", "", "a line about the run (date, Go version, load, flags) to print above the tables")
	concurrency := flag.Bool("concurrency", false, "render BenchmarkConcurrentRead's tables into the concurrency section")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: report [-md FILE] [-info TEXT] [-concurrency] results.txt...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*md, *info, *concurrency, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(md, info string, concurrency bool, files []string) error {
	set := newResults()
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		err = set.read(f, name)
		f.Close()
		if err != nil {
			return err
		}
	}
	if len(set.order) == 0 {
		return errors.New("report: no benchmark results in " + strings.Join(files, ", "))
	}
	section, begin, end := render(set, info), beginMarker, endMarker
	if concurrency {
		section, begin, end = renderConcurrency(set, info), concurrencyBeginMarker, concurrencyEndMarker
	}
	if md == "" {
		_, err := io.WriteString(os.Stdout, section)
		return err
	}
	old, err := os.ReadFile(md)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return os.WriteFile(md, splice(old, section, begin, end), 0o644)
}

// splice replaces what lies between the markers beginMarker and endMarker
// in doc with section, or appends the markers and section when doc has no
// markers.
func splice(doc []byte, section, beginMarker, endMarker string) []byte {
	block := beginMarker + "\n" + section + endMarker
	s := string(doc)
	i := strings.Index(s, beginMarker)
	j := strings.Index(s, endMarker)
	if i < 0 || j < i {
		if s != "" && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		return []byte(s + "\n" + block + "\n")
	}
	return []byte(s[:i] + block + s[j+len(endMarker):])
}

// A key identifies one benchmark: its base name (Request or ParallelRead)
// and its sub-name keys.
type key struct {
	bench, store, cookie, kase, lib string
	clients                         int // ConcurrentRead's clients=N; 0 elsewhere
	procs                           int // GOMAXPROCS (the -N suffix); 1 without one
}

// samples are the values of one benchmark across its runs.
type samples struct {
	sec, bytes, allocs []float64
	// ConcurrentRead's own metrics: requests per second and the 50th and
	// 99th percentiles of latency, in seconds.
	reqs, p50, p99 []float64
	// cpu is the process's CPU time per operation, in seconds.
	cpu []float64
}

// results are the samples of every benchmark, in the order first seen, and
// the file configuration (goos, cpu, ...) of the first file.
type results struct {
	by     map[key]*samples
	order  []key
	config []string
}

func newResults() *results { return &results{by: map[key]*samples{}} }

// read adds the results in r; a line that is not a result is skipped, as go
// test writes logs and PASS lines among them.
func (rs *results) read(r io.Reader, name string) error {
	rd := benchfmt.NewReader(r, name)
	for rd.Scan() {
		res, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		if rs.config == nil {
			for _, c := range res.Config {
				if c.File {
					rs.config = append(rs.config, c.Key+": "+strings.TrimSpace(string(c.Value)))
				}
			}
		}
		k, err := parseName(res.Name)
		if err != nil {
			file, line := res.Pos()
			return fmt.Errorf("report: %s:%d: %w", file, line, err)
		}
		s := rs.by[k]
		if s == nil {
			s = &samples{}
			rs.by[k] = s
			rs.order = append(rs.order, k)
		}
		for _, v := range res.Values {
			switch v.Unit {
			case "sec/op":
				s.sec = append(s.sec, v.Value)
			case "B/op":
				s.bytes = append(s.bytes, v.Value)
			case "allocs/op":
				s.allocs = append(s.allocs, v.Value)
			case "req/s":
				s.reqs = append(s.reqs, v.Value)
			case "p50-sec": // benchfmt's tidy form of the p50-ns that go test prints
				s.p50 = append(s.p50, v.Value)
			case "p99-sec":
				s.p99 = append(s.p99, v.Value)
			case "cpu-sec/op": // benchfmt's tidy form of cpu-ns/op
				s.cpu = append(s.cpu, v.Value)
			}
		}
	}
	if err := rd.Err(); err != nil {
		return fmt.Errorf("report: %s: %w", name, err)
	}
	return nil
}

// parseName reads the key of a benchmark name such as
// Request/store=memory/cookie=yes/case=read/lib=scs-2.
func parseName(n benchfmt.Name) (key, error) {
	base, parts := n.Parts()
	k := key{bench: string(base), procs: 1}
	for _, p := range parts {
		s := string(p)
		if strings.HasPrefix(s, "-") {
			procs, err := strconv.Atoi(s[1:])
			if err != nil {
				return k, fmt.Errorf("benchmark %s: bad GOMAXPROCS suffix %q", n, s)
			}
			k.procs = procs
			continue
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(s, "/"), "=")
		if !ok {
			return k, fmt.Errorf("benchmark %s: sub-name %q is not key=value", n, s)
		}
		switch name {
		case "store":
			k.store = value
		case "cookie":
			k.cookie = value
		case "case":
			k.kase = value
		case "lib":
			k.lib = value
		case "clients":
			c, err := strconv.Atoi(value)
			if err != nil || c <= 0 {
				return k, fmt.Errorf("benchmark %s: clients %q is not a positive number", n, value)
			}
			k.clients = c
		default:
			return k, fmt.Errorf("benchmark %s: unknown key %q", n, name)
		}
	}
	return k, nil
}

// A stat is the summary of one benchmark.
type stat struct {
	n                   int
	sec                 benchmath.Summary
	secCI               string // "± 3%", as benchstat prints it
	bytes, allocs       float64
	hasBytes, hasAllocs bool
	secOver, allocsOver float64 // above the floor
	hasFloor            bool
}

func median(v []float64) benchmath.Summary {
	return benchmath.AssumeNothing.Summary(benchmath.NewSample(v, &benchmath.DefaultThresholds), 0.95)
}

// summarize returns the stat of k, or false when k has no time samples.
func (rs *results) summarize(k key) (stat, bool) {
	return summarizeSamples(rs.by[k])
}

// floor returns the stat of the floor of bench at procs: every sample of
// store=none/lib=bare, with and without a cookie alike (the bare handler
// never reads it), so that one noisy sample weighs less.
func (rs *results) floor(bench string, procs int) (stat, bool) {
	return rs.floorOf(bench, "none", procs)
}

// floorOf returns the floor measured in store's pairing (lib=bare), as
// floor does for store=none.
func (rs *results) floorOf(bench, store string, procs int) (stat, bool) {
	merged := &samples{}
	for _, k := range rs.order {
		if k.bench == bench && k.store == store && k.lib == "bare" && k.procs == procs {
			s := rs.by[k]
			merged.sec = append(merged.sec, s.sec...)
			merged.bytes = append(merged.bytes, s.bytes...)
			merged.allocs = append(merged.allocs, s.allocs...)
		}
	}
	return summarizeSamples(merged)
}

func summarizeSamples(s *samples) (stat, bool) {
	if s == nil || len(s.sec) == 0 {
		return stat{}, false
	}
	st := stat{n: len(s.sec), sec: median(s.sec)}
	st.secCI = "± " + st.sec.PctRangeString()
	if len(s.bytes) > 0 {
		st.bytes, st.hasBytes = median(s.bytes).Center, true
	}
	if len(s.allocs) > 0 {
		st.allocs, st.hasAllocs = median(s.allocs).Center, true
	}
	return st, true
}

// withFloor returns st with its overhead above floor.
func withFloor(st, floor stat) stat {
	st.secOver = st.sec.Center - floor.sec.Center
	st.allocsOver = st.allocs - floor.allocs
	st.hasFloor = true
	return st
}

// A target bounds sessionkit's overhead as a fraction of a competitor's.
type target struct {
	time, allocs float64 // 0: no bound
}

// A pairing describes one store pairing and its targets per competitor.
type pairing struct {
	store, what string
	targets     map[string]target
	// bounds are the pieces of work that some cases make in every library
	// (each the RoundTrip benchmark of its op); trips says which each case
	// makes, keyed by the case's label: the ones scs makes, which
	// sessionkit's drivers make too, as their request-cost tests count.
	bounds []boundOp
	trips  map[string][]string
	// idle names the competitors whose handler for an untouched case is
	// the floor's: gorilla has no middleware, so a handler that does not
	// touch the session does no session work at all.
	idle map[string]bool
}

var (
	third = target{time: 1.0 / 3, allocs: 1.0 / 3}
	half  = target{time: 0.5}
)

// A boundOp is a piece of work that no library can do without in some
// cases, measured by BenchmarkRoundTrip as store=<store>/lib=<op>.
type boundOp struct {
	op   string // the benchmark's lib= key
	unit string // one of it, for the verdict: "read round trip"
	what string // for the bounds table
}

// pairings are the stores of the harness, in its order; a store of the
// results that is not listed here is reported without targets.
var pairings = []pairing{
	{store: "memory", what: "sessionkit `memory` driver · scs `memstore` (gob codec)", targets: map[string]target{"scs": third}},
	{store: "cookie", what: "sessionkit `cookie` driver (always signed and AES-256-GCM encrypted) · gorilla `CookieStore` signed (HMAC-SHA256) · gorilla `CookieStore` signed and AES-256 encrypted",
		targets: map[string]target{"gorilla-signed": third, "gorilla-encrypted": third}, idle: map[string]bool{"gorilla-signed": true, "gorilla-encrypted": true}},
	{store: "file", what: "sessionkit `file` driver · gorilla `FilesystemStore` (signed)", targets: map[string]target{"gorilla": third},
		bounds: []boundOp{{"create", "file creation", "the creation of one new 300-byte file (`os.WriteFile`)"}},
		trips:  map[string][]string{"write · no cookie": {"create"}}, idle: map[string]bool{"gorilla": true}},
	{store: "sqlite", what: "sessionkit `database` driver · scs `sqlite3store`, both on modernc.org/sqlite (WAL, synchronous=NORMAL)", targets: map[string]target{"scs": half},
		bounds: []boundOp{
			{"get", "point query", "a 300-byte row read by its primary key, statement prepared once"},
			{"update", "row update", "a 300-byte row replaced by its primary key and its indexed expiry moved, statement prepared once"},
			{"insert", "row insert", "the insert of one new 300-byte row, statement prepared once"},
		},
		trips: map[string][]string{"read · cookie": {"get"}, "write · cookie": {"get", "update"}, "untouched · cookie": {"get"}, "write · no cookie": {"insert"}}},
	{store: "postgres", what: "sessionkit `database` driver (database/sql over pgx) · scs `pgxstore` (pgxpool)", targets: map[string]target{"scs": half},
		bounds: serverBounds("a 300-byte row read by its primary key through pgxpool", "a 300-byte row replaced by its primary key and its indexed expiry moved (one `UPDATE`) through pgxpool"), trips: serverTrips},
	{store: "mysql", what: "sessionkit `database` driver · scs `mysqlstore`, both go-sql-driver/mysql on MariaDB", targets: map[string]target{"scs": half},
		bounds: serverBounds("a 300-byte row read by its primary key through go-sql-driver/mysql", "a 300-byte row replaced by its primary key and its indexed expiry moved (one `UPDATE`) through go-sql-driver/mysql"), trips: serverTrips},
	{store: "redis", what: "sessionkit `redis` driver · scs `goredisstore`, both go-redis", targets: map[string]target{"scs": half},
		bounds: serverBounds("a `GET` of a 300-byte value through go-redis", "a `SET` of a 300-byte value with an expiry through go-redis"), trips: serverTrips},
}

// serverBounds are a server store's read and write round trips.
func serverBounds(read, write string) []boundOp {
	return []boundOp{{"get", "read round trip", "one read round trip: " + read}, {"put", "write round trip", "one write round trip: " + write}}
}

// serverTrips are the round trips of each case to a server store: a read
// and an untouched request load the session, a write loads it and writes
// it (a write at least replaces a row, as the put bound does), a new
// visitor's write creates it: an insert, which no bound measures, so it
// counts at the cost of a read, the cheapest round trip there is.
var serverTrips = map[string][]string{"read · cookie": {"get"}, "write · cookie": {"get", "put"}, "untouched · cookie": {"get"}, "write · no cookie": {"get"}}

func pairingOf(store string) pairing {
	for _, p := range pairings {
		if p.store == store {
			return p
		}
	}
	return pairing{store: store}
}

// cases are the sequential cases in the order they are reported.
var cases = []struct{ cookie, kase, label string }{
	{"yes", "read", "read · cookie"},
	{"yes", "write", "write · cookie"},
	{"yes", "untouched", "untouched · cookie"},
	{"no", "read", "read · no cookie"},
	{"no", "write", "write · no cookie"},
	{"no", "untouched", "untouched · no cookie"},
}

// verdict is the outcome of one target check.
type verdict struct {
	text         string // for the table cell
	met          bool
	unattainable bool // not met, and no library could meet it (see limit)
}

// A limit is what no library can go below in one case: lowest is the least
// overhead any library has there (the bound's overhead times the case's
// round trips; 0 when none is known), described by what; idle says that the
// competitor does no session work at all in this case.
type limit struct {
	lowest float64
	what   string
	idle   bool
}

// judge compares sessionkit's overhead sk with a competitor's c against t.
// It returns the ratio cells (time, allocs) and the verdict; ok is false
// when t sets no bound. A target that is missed is unattainable when the
// competitor does no session work (lim.idle), or when the only bound missed
// is time and the bound's share of the competitor's overhead is below
// lim.lowest.
func judge(sk, c stat, t target, lim limit) (timeCell, allocCell string, v verdict, ok bool) {
	timeCell = ratioCell(sk.secOver, c.secOver)
	allocCell = ratioCell(sk.allocsOver, c.allocsOver)
	if t.time == 0 && t.allocs == 0 {
		return timeCell, allocCell, verdict{}, false
	}
	met := true
	var why []string
	check := func(what string, skOver, cOver, bound float64) {
		if bound == 0 {
			return
		}
		if !within(skOver, cOver, bound) {
			met = false
			why = append(why, what)
		}
	}
	check("time", sk.secOver, c.secOver, t.time)
	check("allocs", sk.allocsOver, c.allocsOver, t.allocs)
	bound := fmtBound(t)
	if met {
		return timeCell, allocCell, verdict{text: "✓ " + bound, met: true}, true
	}
	text := "✗ " + strings.Join(why, ", ") + " (" + bound + ")"
	switch {
	case lim.idle:
		return timeCell, allocCell, verdict{text: text + "; unattainable: its handler here is the floor's, it does no session work", unattainable: true}, true
	case lim.lowest > 0 && len(why) == 1 && why[0] == "time" && t.time*c.secOver < lim.lowest:
		return timeCell, allocCell, verdict{text: fmt.Sprintf("%s; unattainable: %s of its overhead is %s, less than %s that any library makes here (%s)",
			text, fraction(t.time), fmtDuration(t.time*c.secOver), lim.what, fmtDuration(lim.lowest)), unattainable: true}, true
	}
	return timeCell, allocCell, verdict{text: text}, true
}

// within reports whether skOver <= bound*cOver; a competitor with no
// overhead at all (at or below the floor) can only be matched by none.
func within(skOver, cOver, bound float64) bool {
	if cOver <= 0 {
		return skOver <= 0
	}
	return skOver <= bound*cOver*(1+1e-9) // a ratio equal to the bound meets it, despite rounding
}

func fmtBound(t target) string {
	var parts []string
	if t.time != 0 {
		parts = append(parts, "time ≤ "+fraction(t.time))
	}
	if t.allocs != 0 {
		parts = append(parts, "allocs ≤ "+fraction(t.allocs))
	}
	return strings.Join(parts, ", ")
}

func fraction(f float64) string {
	switch {
	case math.Abs(f-1.0/3) < 1e-9:
		return "⅓"
	case f == 0.5:
		return "½"
	}
	return strconv.FormatFloat(f, 'g', 3, 64)
}

// ratioCell is skOver/cOver, or a dash when the competitor has no overhead.
func ratioCell(skOver, cOver float64) string {
	if cOver <= 0 {
		return "— (it ≈ floor)"
	}
	return strconv.FormatFloat(math.Max(skOver, 0)/cOver, 'f', 2, 64)
}

// writeHeader writes what a generated section starts with: a blank line,
// info, and the files' configuration (goos, cpu, ...).
func writeHeader(b *bytes.Buffer, rs *results, info string) {
	b.WriteString("\n")
	if info != "" {
		fmt.Fprintf(b, "%s\n\n", info)
	}
	if len(rs.config) > 0 {
		fmt.Fprintf(b, "`%s`\n\n", strings.Join(rs.config, "` · `"))
	}
}

// render returns the generated Markdown section.
func render(rs *results, info string) string {
	var b bytes.Buffer
	writeHeader(&b, rs, info)
	b.WriteString("Medians with their 95% confidence interval (benchmath, as benchstat computes it; `± ∞` with fewer than 6 samples, `± ?` when the interval crosses zero). " +
		"*Over floor* is the median minus the floor's median (the same request to a handler with no session). " +
		"*sessionkit ÷ it* is sessionkit's overhead divided by that library's (time, allocations); the target column checks it against issue 6.\n\n")

	stores, procsOf := rs.stores("Request")
	floor, hasFloor := rs.floor("Request", procsOf)
	// tally counts the targets per store and competitor, in table order.
	type tally struct {
		store, lib                string
		met, unattainable, total  int
		missed, unattainableCases []string
	}
	var tallies []*tally
	var tables bytes.Buffer
	for _, store := range stores {
		if store == "none" {
			continue
		}
		p := pairingOf(store)
		fmt.Fprintf(&tables, "### %s\n\n", store)
		if p.what != "" {
			fmt.Fprintf(&tables, "%s\n\n", p.what)
		}
		// The pairing's own floor, measured with its stores set up, when
		// the run has one.
		sfloor, hasSFloor := floor, hasFloor
		if f, ok := rs.floorOf("Request", store, procsOf); ok {
			sfloor, hasSFloor = f, true
			fmt.Fprintf(&tables, "Floor in this pairing (the bare handler with these stores set up): %s, %s, %s allocs.\n\n", fmtTime(f), fmtBytes(f), fmtAllocs(f))
		}
		tables.WriteString("| case | library | time/op | B/op | allocs/op | over floor: time | over floor: allocs | sessionkit ÷ it: time | sessionkit ÷ it: allocs | target |\n")
		tables.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
		for _, c := range cases {
			libs := rs.libs("Request", store, c.cookie, c.kase, procsOf)
			if len(libs) == 0 {
				continue
			}
			var sk stat
			var hasSK bool
			first := true
			for _, lib := range libs {
				st, _ := rs.summarize(key{bench: "Request", store: store, cookie: c.cookie, kase: c.kase, lib: lib, procs: procsOf})
				if hasSFloor {
					st = withFloor(st, sfloor)
				}
				if lib == "sessionkit" {
					sk, hasSK = st, true
				}
				label := ""
				if first {
					label = c.label
					first = false
				}
				timeCell, allocCell, targetCell := "", "", ""
				if lib != "sessionkit" && hasSK && hasSFloor {
					var v verdict
					var ok bool
					timeCell, allocCell, v, ok = judge(sk, st, p.targets[lib], rs.limitOf(p, c.label, c.kase, lib, floor, procsOf))
					if ok {
						targetCell = v.text
						var t *tally
						for _, x := range tallies {
							if x.store == store && x.lib == lib {
								t = x
							}
						}
						if t == nil {
							t = &tally{store: store, lib: lib}
							tallies = append(tallies, t)
						}
						t.total++
						switch {
						case v.met:
							t.met++
						case v.unattainable:
							t.unattainable++
							t.unattainableCases = append(t.unattainableCases, c.label)
						default:
							t.missed = append(t.missed, c.label)
						}
					}
				}
				fmt.Fprintf(&tables, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
					label, lib, fmtTime(st), fmtBytes(st), fmtAllocs(st),
					overTime(st), overAllocs(st), timeCell, allocCell, targetCell)
			}
		}
		tables.WriteString("\n")
	}

	if hasFloor {
		floorLine(&b, floor, procsOf)
	}
	if len(tallies) > 0 {
		var met, unattainable, total int
		for _, t := range tallies {
			met += t.met
			unattainable += t.unattainable
			total += t.total
		}
		fmt.Fprintf(&b, "**Targets met: %d of %d.** Not met: %d, of which %d are unattainable by any library as written "+
			"(the competitor does no session work in that case, or the target is below the round trips, SQLite row reads and writes or file creations every library makes there; "+
			"see the bounds below) and %d are missed.\n\n", met, total, total-met, unattainable, total-met-unattainable)
		b.WriteString("| store | sessionkit against | targets met | missed | unattainable |\n|---|---|---|---|---|\n")
		for _, t := range tallies {
			fmt.Fprintf(&b, "| %s | %s | %d of %d | %s | %s |\n", t.store, t.lib, t.met, t.total,
				strings.Join(t.missed, "; "), strings.Join(t.unattainableCases, "; "))
		}
		b.WriteString("\n")
	}
	renderBounds(&b, rs, floor, hasFloor, procsOf)
	b.Write(tables.Bytes())
	renderParallel(&b, rs)
	return b.String()
}

// boundStat returns the RoundTrip benchmark of op for p's store, with its
// overhead above floor.
func (rs *results) boundStat(p pairing, op string, floor stat, procs int) (stat, bool) {
	st, ok := rs.summarize(key{bench: "RoundTrip", store: p.store, lib: op, procs: procs})
	if !ok {
		return stat{}, false
	}
	return withFloor(st, floor), true
}

// limitOf returns what no library can go below in case label (kase) of p,
// against competitor lib: the sum of the bounds the case makes, when every
// one of them was measured above the floor.
func (rs *results) limitOf(p pairing, label, kase, lib string, floor stat, procs int) limit {
	lim := limit{idle: kase == "untouched" && p.idle[lib]}
	ops := p.trips[label]
	if len(ops) == 0 {
		return lim
	}
	var (
		sum   float64
		units []string
	)
	for _, op := range ops {
		i := slices.IndexFunc(p.bounds, func(b boundOp) bool { return b.op == op })
		if i < 0 {
			return lim
		}
		bd, ok := rs.boundStat(p, op, floor, procs)
		if !ok || bd.secOver <= 0 {
			return lim
		}
		sum += bd.secOver
		units = append(units, "one "+p.bounds[i].unit)
	}
	lim.lowest, lim.what = sum, strings.Join(units, " and ")
	return lim
}

// renderBounds writes the table of the bounds measured, if any.
func renderBounds(b *bytes.Buffer, rs *results, floor stat, hasFloor bool, procs int) {
	var rows []string
	for _, p := range pairings {
		if !hasFloor {
			break
		}
		for _, op := range p.bounds {
			if bd, ok := rs.boundStat(p, op.op, floor, procs); ok {
				rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |", p.store, op.what, fmtTime(bd), overTime(bd)))
			}
		}
	}
	if len(rows) == 0 {
		return
	}
	b.WriteString("**Bounds.** The least work that a read or a write round trip to a server store (one 300-byte value read or replaced by its key), a read or a write of a SQLite row, one new session file or one new SQLite row costs any library, measured through the same request loop by a handler that does only that (`BenchmarkRoundTrip`). " +
		"A session write moves the expiry too, which the SQL tables of both libraries index for sweeping. A read or untouched request with a cookie makes one read (a round trip to a server store, a point query on SQLite), a write with a cookie a read and a write, a new visitor's write one new row (counted at the cost of a read round trip on the server stores, the cheapest round trip there is) or one new file, in scs as in sessionkit. " +
		"A time target below the sum of the bounds its case makes is marked unattainable.\n\n")
	b.WriteString("| store | bound | time/op | over floor |\n|---|---|---|---|\n")
	for _, r := range rows {
		b.WriteString(r + "\n")
	}
	b.WriteString("\n")
}

// floorLine writes the floor of the sequential benchmarks.
func floorLine(b *bytes.Buffer, floor stat, procs int) {
	fmt.Fprintf(b, "Floor (bare handler, GOMAXPROCS=%d, the samples with and without a cookie together): %s, %s, %s allocs.\n\n",
		procs, fmtTime(floor), fmtBytes(floor), fmtAllocs(floor))
}

// renderParallel writes the table of the parallel reads, if any.
func renderParallel(b *bytes.Buffer, rs *results) {
	stores, procs := rs.stores("ParallelRead")
	if len(stores) == 0 {
		return
	}
	floor, hasFloor := rs.floor("ParallelRead", procs)
	fmt.Fprintf(b, "### Parallel reads (GOMAXPROCS=%d)\n\n", procs)
	b.WriteString("The read handler under `b.RunParallel`, the goroutines spread over 16 seeded sessions; time is wall time per request")
	if hasFloor {
		fmt.Fprintf(b, "; floor %s, %s, %s allocs", fmtTime(floor), fmtBytes(floor), fmtAllocs(floor))
	}
	b.WriteString(". No target is set for this case.\n\n")
	b.WriteString("| store | library | time/op | B/op | allocs/op | over floor: time | over floor: allocs | sessionkit ÷ it: time | sessionkit ÷ it: allocs |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, store := range stores {
		if store == "none" {
			continue
		}
		var sk stat
		var hasSK bool
		for i, lib := range rs.libs("ParallelRead", store, "", "", procs) {
			st, _ := rs.summarize(key{bench: "ParallelRead", store: store, lib: lib, procs: procs})
			if hasFloor {
				st = withFloor(st, floor)
			}
			if lib == "sessionkit" {
				sk, hasSK = st, true
			}
			label := ""
			if i == 0 {
				label = store
			}
			timeCell, allocCell := "", ""
			if lib != "sessionkit" && hasSK && hasFloor {
				timeCell, allocCell, _, _ = judge(sk, st, target{}, limit{})
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				label, lib, fmtTime(st), fmtBytes(st), fmtAllocs(st), overTime(st), overAllocs(st), timeCell, allocCell)
		}
	}
	b.WriteString("\n")
}

// stores returns the stores of bench in the order first seen, and the
// GOMAXPROCS of its results (the most common one, should a file mix them).
func (rs *results) stores(bench string) ([]string, int) {
	var out []string
	seen := map[string]bool{}
	count := map[int]int{}
	for _, k := range rs.order {
		if k.bench != bench {
			continue
		}
		count[k.procs]++
		if !seen[k.store] {
			seen[k.store] = true
			out = append(out, k.store)
		}
	}
	procs, most := 1, 0
	for p, n := range count {
		if n > most || (n == most && p < procs) {
			procs, most = p, n
		}
	}
	return out, procs
}

// libs returns the libraries measured for one store and case, in the order
// first seen (sessionkit first, as the harness runs it).
func (rs *results) libs(bench, store, cookie, kase string, procs int) []string {
	var out []string
	for _, k := range rs.order {
		if k.bench == bench && k.store == store && k.cookie == cookie && k.kase == kase && k.procs == procs {
			out = append(out, k.lib)
		}
	}
	return out
}

func fmtTime(st stat) string {
	if st.n == 0 {
		return "—"
	}
	return fmtDuration(st.sec.Center) + " " + st.secCI
}

// fmtDuration formats seconds with three significant digits.
func fmtDuration(sec float64) string {
	abs := math.Abs(sec)
	switch {
	case abs >= 1e-3:
		return sig3(sec*1e3) + " ms"
	case abs >= 1e-6:
		return sig3(sec*1e6) + " µs"
	default:
		return sig3(sec*1e9) + " ns"
	}
}

func sig3(v float64) string {
	abs := math.Abs(v)
	switch {
	case abs >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case abs >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func fmtBytes(st stat) string {
	if !st.hasBytes {
		return "—"
	}
	if st.bytes >= 1024 {
		return sig3(st.bytes/1024) + " KiB"
	}
	return strconv.FormatFloat(st.bytes, 'f', 0, 64) + " B"
}

func fmtAllocs(st stat) string {
	if !st.hasAllocs {
		return "—"
	}
	return strconv.FormatFloat(st.allocs, 'f', 0, 64)
}

func overTime(st stat) string {
	if !st.hasFloor || st.n == 0 {
		return "—"
	}
	return fmtDuration(st.secOver)
}

func overAllocs(st stat) string {
	if !st.hasFloor || !st.hasAllocs {
		return "—"
	}
	return strconv.FormatFloat(st.allocsOver, 'f', 0, 64)
}
