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

failed=()
for pair in "${targets[@]}"; do
  pkg=${pair%%:*} target=${pair#*:}
  echo "== $target ($pkg, $fuzztime)"
  if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"; then
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "scripts/fuzz.sh: findings in ${failed[*]}: see testdata/fuzz/<Target>/ in their packages" >&2
  exit 1
fi
echo "scripts/fuzz.sh: ${#targets[@]} targets, no findings"
