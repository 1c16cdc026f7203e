#!/usr/bin/env bash
# Runs the side-by-side benchmarks of sessionkit, scs and gorilla/sessions and
# writes their tables into ../BENCHMARKS.md (between <!-- bench:begin --> and
# <!-- bench:end -->).
#
#   bash bench/run.sh                          # the full run: every store, 6 samples
#   COUNT=2 STORES=memory,cookie bash bench/run.sh   # a shorter one
#
# Environment:
#   COUNT      samples per benchmark (default 6: benchstat needs 6 for a 95%
#              confidence interval)
#   STORES     comma-separated subset of memory,cookie,file,sqlite,postgres,
#              mysql,redis (default: all)
#   BENCHTIME  go test -benchtime (default 1s)
#   PARALLEL   0 skips the parallel-read pass (default 1)
#   CI         default true here: a store whose server cannot be started fails
#              the run instead of being skipped (CI=false skips it)
#
# Each of COUNT rounds runs BenchmarkRequest and BenchmarkRoundTrip (the
# bounds: a read and a write round trip to each server store, a read, a write
# and an insert of a SQLite row, one new file) at -cpu 1 (far less noisy on 2
# cores), then BenchmarkParallelRead at the default GOMAXPROCS. On the shared
# 2-core machines COUNT=2 took 8 minutes: the full run takes about 25. The raw
# output goes to bench/results/seq.txt and par.txt, benchstat's tables to
# bench/results/benchstat-seq.txt and benchstat-par.txt; commit them, so that
# readers can run benchstat on them themselves.
set -euo pipefail

cd "$(dirname "$0")"
COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-1s}
PARALLEL=${PARALLEL:-1}
STORES=${STORES:-memory,cookie,file,sqlite,postgres,mysql,redis}
export CI=${CI:-true}

source ./prepare.sh
prepare run.sh "memory cookie file sqlite postgres mysql redis"
stores="none|${STORES//,/|}"

echo "== checking that every handler does the work it claims (TestCorrect, TestBounds)"
"$bin/bench.test" -test.run "^(TestCorrect|TestBounds)\$/^(floor|${STORES//,/|})\$" -test.count 1

start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
procs=$(nproc)
# COUNT rounds of one sample each, rather than -count COUNT: go test takes the
# samples of one benchmark back to back, so a burst of load from elsewhere
# would fall on one library's samples only; rounds spread each library's
# samples over the whole run, and set every store up afresh each round.
: >results/seq.txt
files=(results/seq.txt)
if [[ $PARALLEL != 0 ]]; then
	: >results/par.txt
	files+=(results/par.txt)
else
	rm -f results/par.txt results/benchstat-par.txt
fi
for round in $(seq "$COUNT"); do
	echo "== round $round of $COUNT, pass 1: BenchmarkRequest and BenchmarkRoundTrip, -cpu 1, -benchtime $BENCHTIME, stores $STORES"
	"$bin/bench.test" -test.run '^$' -test.bench "^Benchmark(Request|RoundTrip)\$/^store=($stores)\$/" \
		-test.benchmem -test.count 1 -test.cpu 1 -test.benchtime "$BENCHTIME" -test.timeout 0 2>&1 |
		tee -a results/seq.txt
	if [[ $PARALLEL != 0 ]]; then
		echo "== round $round of $COUNT, pass 2: BenchmarkParallelRead, GOMAXPROCS=$procs"
		"$bin/bench.test" -test.run '^$' -test.bench "^BenchmarkParallelRead\$/^store=($stores)\$" \
			-test.benchmem -test.count 1 -test.benchtime "$BENCHTIME" -test.timeout 0 2>&1 |
			tee -a results/par.txt
	fi
done
go tool benchstat -table /store -row /case,/cookie -col /lib results/seq.txt >results/benchstat-seq.txt
if [[ $PARALLEL != 0 ]]; then
	go tool benchstat -table /store -row .name -col /lib results/par.txt >results/benchstat-par.txt
fi
elapsed=$(($(date +%s) - start))

load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
info="Run of $(date -u '+%Y-%m-%d %H:%M UTC')$dirty, $(go env GOVERSION), $procs CPUs, \
load average $load_start at the start and $load_end at the end (1, 5, 15 min): \
\`COUNT=$COUNT BENCHTIME=$BENCHTIME STORES=$STORES\`, benchmarks took $((elapsed / 60)) min $((elapsed % 60)) s. \
Raw output in \`bench/results/\`; \`go tool benchstat\` tables (with p-values) in \`bench/results/benchstat-*.txt\`."
"$bin/report" -md ../BENCHMARKS.md -info "$info" "${files[@]}"
echo "== wrote ../BENCHMARKS.md (section between <!-- bench:begin --> and <!-- bench:end -->) in $((elapsed / 60)) min $((elapsed % 60)) s"
