#!/usr/bin/env bash
# Runs BenchmarkConcurrentRead (throughput and latency of a read request at
# 1, 8, 64 and 256 concurrent clients, per server store: the bound, sessionkit
# and scs where scs has the store) and writes its tables into ../BENCHMARKS.md
# (between <!-- concurrency:begin --> and <!-- concurrency:end -->).
#
#   bash bench/concurrency.sh                          # every store, 3 rounds of 4 s a level
#   COUNT=1 BENCHTIME=1s STORES=redis bash bench/concurrency.sh   # a quick look
#
# Environment:
#   COUNT      rounds (default 3); each round measures every store, level and
#              library once, the libraries of one level next to one another
#   STORES     comma-separated subset of postgres,mysql,redis,redis-cluster,
#              memcached (default: all)
#   BENCHTIME  go test -benchtime per level and library (default 4s)
#   CI         default true here: a store whose server cannot be started fails
#              the run instead of being skipped (CI=false skips it)
#
# The benchmark runs at the default GOMAXPROCS (the machine's CPUs), with the
# store's server on loopback sharing them. Raw output: results/conc.txt;
# benchstat's table: results/benchstat-conc.txt.
set -euo pipefail

cd "$(dirname "$0")"
COUNT=${COUNT:-3}
BENCHTIME=${BENCHTIME:-4s}
STORES=${STORES:-postgres,mysql,redis,redis-cluster,memcached}
export CI=${CI:-true}

source ./prepare.sh
prepare concurrency.sh "postgres mysql redis redis-cluster memcached"

start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
: >results/conc.txt
for round in $(seq "$COUNT"); do
	echo "== round $round of $COUNT: BenchmarkConcurrentRead, -benchtime $BENCHTIME, stores $STORES"
	"$bin/bench.test" -test.run '^$' -test.bench "^BenchmarkConcurrentRead\$/^store=(${STORES//,/|})\$" \
		-test.benchmem -test.count 1 -test.benchtime "$BENCHTIME" -test.timeout 0 2>&1 |
		tee -a results/conc.txt
done
go tool benchstat -table /store -row /clients -col /lib results/conc.txt >results/benchstat-conc.txt
elapsed=$(($(date +%s) - start))
load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
info="Run of $(date -u '+%Y-%m-%d %H:%M UTC')$dirty, $(go env GOVERSION), $(nproc) CPUs, \
load average $load_start at the start and $load_end at the end (1, 5, 15 min): \
\`COUNT=$COUNT BENCHTIME=$BENCHTIME STORES=$STORES\`, benchmarks took $((elapsed / 60)) min $((elapsed % 60)) s. \
Raw output in \`bench/results/conc.txt\`; \`go tool benchstat\` table in \`bench/results/benchstat-conc.txt\`."
"$bin/report" -concurrency -md ../BENCHMARKS.md -info "$info" results/conc.txt
echo "== wrote ../BENCHMARKS.md (section between <!-- concurrency:begin --> and <!-- concurrency:end -->) in $((elapsed / 60)) min $((elapsed % 60)) s"
