#!/usr/bin/env bash
# What the exporters cost per request: BenchmarkRequest of promsession and
# otelsession (a request through a Manager on the memory driver, without
# Hooks and with the exporter's), each leaf run alone with a fixed number of
# iterations, the variants interleaved, ROUNDS rounds. Besides go test's
# ns/op, B/op and allocs/op it records the process's CPU time per request
# (cpu-ns/op, from bash's time: user + system), which other load on the
# machine disturbs far less than the elapsed time.
#
#   bash scripts/bench-hooks.sh [ROUNDS [ITERATIONS]]    # default 10 rounds of 50000x
#   benchstat -col /hooks /tmp/bench-hooks/prom.txt      # then compare
#   benchstat -col /hooks /tmp/bench-hooks/otel.txt
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10} n=${2:-50000} out=/tmp/bench-hooks
mkdir -p "$out"
(cd promsession && go test -c -o "$out/prom.test" .)
(cd otelsession && go test -c -o "$out/otel.test" .)
for f in prom otel; do printf 'goos: linux\npkg: %s\n' "$f" > "$out/$f.txt"; done
TIMEFORMAT='%3U %3S'
run() { # binary, file, hooks, leaf
  local t
  t=$( { time "$out/$1" -test.run '^$' -test.bench "BenchmarkRequest/^hooks=${3//+/\\+}\$/^$4\$" \
          -test.benchtime "${n}x" -test.benchmem | grep '^Benchmark' >> "$out/$2.txt"; } 2>&1 )
  awk -v t="$t" -v n="$n" -v h="$3" -v l="$4" 'BEGIN { split(t, a, " ");
    printf "BenchmarkRequest/hooks=%s/%s-2 %d %.0f cpu-ns/op\n", h, l, n, (a[1] + a[2]) * 1e9 / n }' >> "$out/$2.txt"
}
for r in $(seq "$rounds"); do
  for leaf in new read write untouched; do
    for h in none prometheus; do run prom.test prom "$h" "$leaf"; done
    for h in none otel-metrics otel-metrics+spans; do run otel.test otel "$h" "$leaf"; done
  done
  echo "round $r of $rounds done" >&2
done
echo "benchstat -col /hooks $out/prom.txt; benchstat -col /hooks $out/otel.txt" >&2
