#!/usr/bin/env bash
# Runs every fuzz target, one at a time, for a bounded time each.
#
#   bash scripts/fuzz.sh            # 20 s per target
#   bash scripts/fuzz.sh 10m        # longer: any go test -fuzztime value (10m, 1h, 5000x)
#   bash scripts/fuzz.sh 30s FuzzSealed FuzzPaths   # only these targets
#
# A target that finds an input breaking one of its properties fails the run;
# Go writes the input to testdata/fuzz/<Target>/ in the target's package,
# where plain `go test` runs it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${1:-20}
shift || true
case $fuzztime in *[0-9]) [[ $fuzztime == *x ]] || fuzztime=${fuzztime}s ;; esac

# package:target pairs, read from the fuzz_test.go files.
targets=()
# (Nested modules such as e2e/ are not this module's packages.)
for file in $(find . -name fuzz_test.go -not -path './e2e/*' -not -path './mongostore/ferrettest/*' | sort); do
  pkg=$(dirname "$file")
  for t in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p' "$file"); do
    targets+=("$pkg:$t")
  done
done
if [ $# -gt 0 ]; then
  wanted=" $* "
  selected=()
  for pair in "${targets[@]}"; do
    [[ $wanted == *" ${pair#*:} "* ]] && selected+=("$pair")
  done
  targets=("${selected[@]}")
fi
[ ${#targets[@]} -gt 0 ] || { echo "scripts/fuzz.sh: no fuzz targets found" >&2; exit 1; }

# run_target fuzzes one target. Go 1.26's fuzz coordinator can fail a target
# that found nothing, at the end of a -fuzztime given as a duration, with a bare
# "context deadline exceeded" (golang/go#75804, fixed in Go 1.27). That failure,
# and only that one (no input written to testdata/fuzz/), is retried once; a
# second failure of any kind fails the run.
run_target() {
  local pkg=$1 target=$2 log corpus before after try
  log=$(mktemp)
  corpus="$pkg/testdata/fuzz/$target"
  for try in 1 2; do
    before=$(ls "$corpus" 2>/dev/null | wc -l || true)
    if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"; then
      rm -f "$log"; return 0
    fi
    after=$(ls "$corpus" 2>/dev/null | wc -l || true)
    if [ "$try" = 1 ] && [ "$before" = "$after" ] &&
      grep -A1 -- "^--- FAIL: $target " "$log" | tail -1 | grep -qx '[[:space:]]*context deadline exceeded'; then
      echo "scripts/fuzz.sh: $target: Go's coordinator race at the deadline (golang/go#75804), no input found; once more"
      continue
    fi
    break
  done
  rm -f "$log"; return 1
}

failed=()
for pair in "${targets[@]}"; do
  pkg=${pair%%:*} target=${pair#*:}
  echo "== $target ($pkg, $fuzztime)"
  if ! run_target "$pkg" "$target"; then
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "scripts/fuzz.sh: findings in ${failed[*]}: see testdata/fuzz/<Target>/ in their packages" >&2
  exit 1
fi
echo "scripts/fuzz.sh: ${#targets[@]} targets, no findings"
