#!/usr/bin/env bash
# Runs the whole test suite, race detector on, as CI does.
#
#   bash scripts/test.sh            # every package
#   bash scripts/test.sh ./filestore/...   # some packages
#
# The tests of the core and of the file, memory and null stores need no
# server. Drivers that need one (database, redis, ...) install it from
# Debian's packages here and start a private instance on loopback in their
# tests.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v go >/dev/null || { echo "scripts/test.sh: Go is not installed (https://go.dev/doc/install)" >&2; exit 1; }

pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)
go test -race -count=1 "${pkgs[@]}"
