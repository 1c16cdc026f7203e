#!/usr/bin/env bash
# Runs the whole test suite, race detector on, as CI does.
#
#   bash scripts/test.sh                   # every package
#   bash scripts/test.sh ./filestore/...   # some packages
#
# First it installs, from Debian's packages, the servers that the drivers'
# tests start privately on loopback (PostgreSQL, MariaDB, Redis, memcached)
# and Chromium for the end-to-end tests
# when they are missing; the tests start and stop their own instances, so
# nothing is left running. Installing needs root (or sudo) and apt.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v go >/dev/null || { echo "scripts/test.sh: Go is not installed (https://go.dev/doc/install)" >&2; exit 1; }

# package:program pairs: a package is installed when its program is missing.
need=()
have() { command -v "$1" >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/"$1" >/dev/null 2>&1; }
for pair in postgresql:initdb mariadb-server:mariadbd redis-server:redis-server redis-tools:redis-cli memcached:memcached chromium:chromium; do
  have "${pair#*:}" || need+=("${pair%%:*}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing ${need[*]} (apt-get)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ $# -gt 0 ]; then
  go test -race -count=1 "$@"
  exit
fi
go test -race -count=1 ./...
# The MongoDB driver's tests run against FerretDB embedded in the test
# process; they live in their own module so that FerretDB's large dependency
# tree stays out of the library's go.mod.
(cd mongostore/ferrettest && go test -race -count=1 ./...)
# The exporters, promsession (Prometheus) and otelsession (OpenTelemetry):
# own modules, so that client_golang and OpenTelemetry stay out of the
# library's go.mod. Their tests drive real Managers (a Redis outage through
# the fault proxy among them).
(cd promsession && go test -race -count=1 ./...)
(cd otelsession && go test -race -count=1 ./...)
# End-to-end tests: headless Chromium drives the demo as a person would. Own
# module, so that chromedp stays out of the library's go.mod.
(cd e2e && go test -race -count=1 ./...)
# The side-by-side benchmark harness (own module, so that scs and
# gorilla/sessions stay out of the library's go.mod): its tests check that
# every library's handlers do the work they are measured doing.
(cd bench && go test -race -count=1 ./...)
# The framework adapters and the chi and gRPC examples (own modules, so that
# gin, echo, chi and grpc stay out of the library's go.mod).
for mod in ginsession echosession examples/chi examples/grpc; do
  (cd "$mod" && go test -race -count=1 ./...)
done
