# prepare.sh is sourced, from bench/, by run.sh and concurrency.sh. Its
# prepare checks COUNT, and STORES against the stores the script knows, then
# builds the benchmark binary and cmd/report into $bin (removed on exit) and
# sets $dirty when the library has uncommitted changes.
#
#   prepare NAME "STORE STORE..."

prepare() {
	local name=$1 known=" $2 " s
	case "$COUNT" in '' | *[!0-9]* | 0) echo "$name: COUNT must be a positive integer, not '$COUNT'" >&2; exit 2 ;; esac
	for s in ${STORES//,/ }; do
		if [[ $known != *" $s "* ]]; then
			echo "$name: unknown store '$s' in STORES (known:$known)" >&2
			exit 2
		fi
	done
	mkdir -p results
	bin=$(mktemp -d)
	trap 'rm -rf "$bin"' EXIT
	# Uncommitted changes to what the benchmark binary is built from (the
	# library, not its tests), noted in the report.
	dirty=
	if [[ -n $(git -C .. status --porcelain -- . ':!BENCHMARKS.md' ':!bench' ':!*_test.go' 2>/dev/null) ]]; then
		dirty=" (built with uncommitted changes)"
	fi
	echo "== building the benchmark binary"
	go test -c -o "$bin/bench.test" .
	go build -o "$bin/report" ./cmd/report
}
