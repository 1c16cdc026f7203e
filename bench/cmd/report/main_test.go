package main

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

// input builds go test output: for each benchmark name, six runs at the
// given ns/op (varied by ±1, 2, 3 ns so the median is exact) and allocs/op.
func input(rows ...row) string {
	var b strings.Builder
	b.WriteString("goos: linux\ngoarch: amd64\npkg: github.com/sessionkit/session/bench\ncpu: Test CPU   \n")
	for _, r := range rows {
		for _, d := range []float64{-3, -2, -1, 1, 2, 3} {
			fmt.Fprintf(&b, "Benchmark%s \t 1000\t %.1f ns/op\t 100 B/op\t %d allocs/op\n", r.name, r.ns+d, r.allocs)
		}
	}
	b.WriteString("PASS\nok  \tgithub.com/sessionkit/session/bench\t1.0s\n")
	return b.String()
}

type row = struct {
	name   string
	ns     float64
	allocs int
}

func TestRender(t *testing.T) {
	in := input(
		row{"Request/store=none/cookie=yes/case=floor/lib=bare", 1000, 10},
		row{"Request/store=none/cookie=no/case=floor/lib=bare", 1000, 10},
		row{"Request/store=memory/cookie=yes/case=read/lib=sessionkit", 2000, 20},
		row{"Request/store=memory/cookie=yes/case=read/lib=scs", 5000, 70}, // sk: 1000/4000 = 0.25, 10/60
		row{"Request/store=memory/cookie=yes/case=write/lib=sessionkit", 3000, 30},
		row{"Request/store=memory/cookie=yes/case=write/lib=scs", 4000, 100}, // sk: 2000/3000 = 0.67 fails time
		row{"Request/store=redis/cookie=yes/case=read/lib=sessionkit", 3000, 50},
		row{"Request/store=redis/cookie=yes/case=read/lib=scs", 5000, 60}, // sk: 2000/4000 = 0.5 meets ½; allocs unbounded
		row{"ParallelRead/store=none/lib=bare-2", 500, 10},
		row{"ParallelRead/store=memory/lib=sessionkit-2", 1500, 20},
		row{"ParallelRead/store=memory/lib=scs-2", 2500, 70},
	)
	rs := newResults()
	if err := rs.read(strings.NewReader(in), "in.txt"); err != nil {
		t.Fatal(err)
	}
	out := render(rs, "run info")
	for _, want := range []string{
		"run info",
		"`cpu: Test CPU`",
		"Floor (bare handler, GOMAXPROCS=1, the samples with and without a cookie together): 1.00 µs ± 0%, 100 B, 10 allocs.",
		"**Targets met: 2 of 3.** Not met: 1, of which 0 are unattainable",
		"| memory | scs | 1 of 2 | write · cookie |  |",
		"| redis | scs | 1 of 1 |  |  |",
		"| read · cookie | sessionkit | 2.00 µs ± 0% | 100 B | 20 | 1.00 µs | 10 |  |  |  |",
		"|  | scs | 5.00 µs ± 0% | 100 B | 70 | 4.00 µs | 60 | 0.25 | 0.17 | ✓ time ≤ ⅓, allocs ≤ ⅓ |",
		"|  | scs | 4.00 µs ± 0% | 100 B | 100 | 3.00 µs | 90 | 0.67 | 0.22 | ✗ time (time ≤ ⅓, allocs ≤ ⅓) |",
		"|  | scs | 5.00 µs ± 0% | 100 B | 60 | 4.00 µs | 50 | 0.50 | 0.80 | ✓ time ≤ ½ |",
		"### Parallel reads (GOMAXPROCS=2)",
		"| memory | sessionkit | 1.50 µs ± 0% | 100 B | 20 | 1.00 µs | 10 |  |  |",
		"|  | scs | 2.50 µs ± 0% | 100 B | 70 | 2.00 µs | 60 | 0.50 | 0.17 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
}

func TestJudgeCompetitorAtFloor(t *testing.T) {
	sk := stat{secOver: 1e-6, allocsOver: 5}
	c := stat{secOver: -1e-8, allocsOver: 0}
	timeCell, allocCell, v, ok := judge(sk, c, third, limit{})
	if !ok || v.met || timeCell != "— (it ≈ floor)" || allocCell != "— (it ≈ floor)" {
		t.Errorf("judge = %q, %q, %+v, %v; want dashes and not met", timeCell, allocCell, v, ok)
	}
	if _, _, v, _ := judge(stat{secOver: -1e-9}, c, half, limit{}); !v.met {
		t.Errorf("no overhead against no overhead: %+v, want met", v)
	}
}

func TestParseName(t *testing.T) {
	rs := newResults()
	err := rs.read(strings.NewReader("BenchmarkRequest/store=memory/oops-2 \t 10\t 5 ns/op\n"), "bad.txt")
	if err == nil || !strings.Contains(err.Error(), "bad.txt:1") || !strings.Contains(err.Error(), "not key=value") {
		t.Errorf("read of a name without key=value: %v", err)
	}
	err = newResults().read(strings.NewReader("BenchmarkRequest/store=memory/size=3 \t 10\t 5 ns/op\n"), "bad.txt")
	if err == nil || !strings.Contains(err.Error(), `unknown key "size"`) {
		t.Errorf("read of an unknown key: %v", err)
	}
}

func TestSplice(t *testing.T) {
	doc := "# B\n\nintro\n\n" + beginMarker + "\nold\n" + endMarker + "\n\n## After\n"
	got := string(splice([]byte(doc), "\nnew\n", beginMarker, endMarker))
	want := "# B\n\nintro\n\n" + beginMarker + "\n\nnew\n" + endMarker + "\n\n## After\n"
	if got != want {
		t.Errorf("splice with markers:\n%s\nwant\n%s", got, want)
	}
	got = string(splice([]byte("# B"), "x\n", beginMarker, endMarker))
	want = "# B\n\n" + beginMarker + "\nx\n" + endMarker + "\n"
	if got != want {
		t.Errorf("splice without markers: %q, want %q", got, want)
	}
}

func TestFloorMergesCookieVariants(t *testing.T) {
	in := input(
		row{"Request/store=none/cookie=yes/case=floor/lib=bare", 1000, 10},
		row{"Request/store=none/cookie=no/case=floor/lib=bare", 3000, 10},
	)
	rs := newResults()
	if err := rs.read(strings.NewReader(in), "in.txt"); err != nil {
		t.Fatal(err)
	}
	st, ok := rs.floor("Request", 1)
	if !ok || st.n != 12 || math.Abs(st.sec.Center-2000e-9) > 1e-15 {
		t.Errorf("floor = %+v, %v; want the median of all 12 samples, 2 µs", st, ok)
	}
}

// A target below the round trips every library makes, or against a
// competitor that does no session work, is unattainable; one that sessionkit
// could meet is missed.
func TestUnattainable(t *testing.T) {
	in := input(
		row{"Request/store=none/cookie=yes/case=floor/lib=bare", 1000, 10},
		row{"Request/store=none/cookie=no/case=floor/lib=bare", 1000, 10},
		row{"RoundTrip/store=redis/lib=get", 61000, 20}, // a read round trip: 60 µs
		row{"RoundTrip/store=redis/lib=put", 81000, 20}, // a write round trip: 80 µs
		// read: a read; ½ of scs's 100 µs is 50 µs < 60 µs.
		row{"Request/store=redis/cookie=yes/case=read/lib=sessionkit", 71000, 40},
		row{"Request/store=redis/cookie=yes/case=read/lib=scs", 101000, 200},
		// write: a read and a write (140 µs); ½ of scs's 260 µs is 130 µs.
		row{"Request/store=redis/cookie=yes/case=write/lib=sessionkit", 201000, 40},
		row{"Request/store=redis/cookie=yes/case=write/lib=scs", 261000, 200},
		// a new visitor's write: one round trip, counted at a read's 60 µs; ½ of scs's 300 µs is
		// 150 µs: could be met.
		row{"Request/store=redis/cookie=no/case=write/lib=sessionkit", 171000, 40},
		row{"Request/store=redis/cookie=no/case=write/lib=scs", 301000, 200},
		// gorilla does nothing when the handler does not touch the session.
		row{"Request/store=cookie/cookie=yes/case=untouched/lib=sessionkit", 3000, 30},
		row{"Request/store=cookie/cookie=yes/case=untouched/lib=gorilla-signed", 1000, 10},
	)
	rs := newResults()
	if err := rs.read(strings.NewReader(in), "in.txt"); err != nil {
		t.Fatal(err)
	}
	out := render(rs, "")
	for _, want := range []string{
		"**Targets met: 0 of 4.** Not met: 4, of which 3 are unattainable",
		"| redis | scs | 0 of 3 | write · no cookie | read · cookie; write · cookie |",
		"| cookie | gorilla-signed | 0 of 1 |  | untouched · cookie |",
		"✗ time (time ≤ ½); unattainable: ½ of its overhead is 50.0 µs, less than one read round trip that any library makes here (60.0 µs) |",
		"0.77 | 0.16 | ✗ time (time ≤ ½); unattainable: ½ of its overhead is 130 µs, less than one read round trip and one write round trip that any library makes here (140 µs) |",
		"0.57 | 0.16 | ✗ time (time ≤ ½) |",
		"unattainable: its handler here is the floor's, it does no session work |",
		"| redis | one read round trip: a `GET` of a 300-byte value through go-redis | 61.0 µs ± 0% | 60.0 µs |",
		"| redis | one write round trip: a `SET` of a 300-byte value with an expiry through go-redis | 81.0 µs ± 0% | 80.0 µs |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
}

// A pairing's own floor, when measured, is what its overheads are taken
// above.
func TestPairingFloor(t *testing.T) {
	in := input(
		row{"Request/store=none/cookie=yes/case=floor/lib=bare", 1000, 10},
		row{"Request/store=none/cookie=no/case=floor/lib=bare", 1000, 10},
		row{"Request/store=memory/cookie=yes/case=floor/lib=bare", 1500, 10},
		row{"Request/store=memory/cookie=no/case=floor/lib=bare", 1500, 10},
		row{"Request/store=memory/cookie=yes/case=read/lib=sessionkit", 2000, 20},
		row{"Request/store=memory/cookie=yes/case=read/lib=scs", 3000, 70}, // above 1.5 µs: 500/1500 = ⅓
	)
	rs := newResults()
	if err := rs.read(strings.NewReader(in), "in.txt"); err != nil {
		t.Fatal(err)
	}
	out := render(rs, "")
	for _, want := range []string{
		"Floor in this pairing (the bare handler with these stores set up): 1.50 µs ± 0%, 100 B, 10 allocs.",
		"| read · cookie | sessionkit | 2.00 µs ± 0% | 100 B | 20 | 500 ns | 10 |  |  |  |",
		"|  | scs | 3.00 µs ± 0% | 100 B | 70 | 1.50 µs | 60 | 0.33 | 0.17 | ✓ time ≤ ⅓, allocs ≤ ⅓ |",
		"**Targets met: 1 of 1.**",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
}

func TestRenderConcurrency(t *testing.T) {
	var in strings.Builder
	in.WriteString("goos: linux\ncpu: Test CPU\n")
	for _, r := range []struct {
		name     string
		reqs     float64
		p99, all int
	}{
		{"store=redis/clients=1/lib=bound", 20000, 100000, 20},
		{"store=redis/clients=1/lib=sessionkit", 19000, 110000, 70}, // 0.95, 1.10×: met
		{"store=redis/clients=1/lib=scs", 10000, 300000, 250},
		{"store=redis/clients=8/lib=bound", 40000, 500000, 20},
		{"store=redis/clients=8/lib=sessionkit", 30000, 700000, 70}, // 0.75, 1.40×: missed
	} {
		for _, d := range []float64{-2, -1, 0, 1, 2} {
			fmt.Fprintf(&in, "BenchmarkConcurrentRead/%s-2 \t 1000\t %.0f ns/op\t %.0f p50-ns\t %d p99-ns\t %.0f req/s\t %d cpu-ns/op\t 100 B/op\t %d allocs/op\n",
				r.name, 1e9/r.reqs, float64(r.p99)/2, r.p99, r.reqs+d, r.all*1000, r.all)
		}
	}
	rs := newResults()
	if err := rs.read(strings.NewReader(in.String()), "conc.txt"); err != nil {
		t.Fatal(err)
	}
	out := renderConcurrency(rs, "run info")
	for _, want := range []string{
		"run info",
		"### redis",
		"| 1 | bound | 20,000 |  | 50.0 µs | 100 µs |  | 20.0 µs |  | 20 |  |",
		"|  | sessionkit | 19,000 | 0.95 | 55.0 µs | 110 µs | 1.10× | 70.0 µs | 50.0 µs | 70 | ✓ |",
		"|  | scs | 10,000 | 0.50 | 150 µs | 300 µs | 3.00× | 250 µs | 230 µs | 250 |  |",
		"|  | sessionkit | 30,000 | 0.75 | 350 µs | 700 µs | 1.40× | 70.0 µs | 50.0 µs | 70 | ✗ throughput, p99 |",
		"**Targets met: 1 of 2.** Missed: redis at 8 (throughput, p99).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	if _, err := parseName(benchfmt.Name("ConcurrentRead/store=redis/clients=0/lib=bound")); err == nil {
		t.Error("parseName accepted clients=0")
	}
}
