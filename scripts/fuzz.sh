#!/usr/bin/env bash
# Runs every Go fuzz target of the module for a while each (default 60s), one after the other,
# and says which found something. The seed corpora under each package's testdata/fuzz run in
# plain `go test`; this is for the longer hunt, by hand or in a nightly job.
#   scripts/fuzz.sh            # 60s per target
#   scripts/fuzz.sh 5m         # 5 minutes per target
#   scripts/fuzz.sh 30s ./state  # only the targets of one package
set -uo pipefail
cd "$(dirname "$0")/.."
time=${1:-60s}
pkgs=${2:-./...}
failed=0
for pkg in $(go list "$pkgs"); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
    echo "== $pkg $target ($time)"
    if ! go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$time" -parallel 2; then
      echo "!! $pkg $target found a failure: its input is under $(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$target"
      failed=1
    fi
  done
done
exit $failed
