#!/usr/bin/env bash
# make bench: every benchmark on the release build, then docs/benchmarks.md regenerated from their output.
# N= rows (default 1,000,000), RUNS= streaming runs (default 3; medians are reported).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
RUNS=${RUNS:-3}
out=.build/bench
mkdir -p "$out"
log="$out/results.txt"
{
  echo "## per-event path without I/O (tributary-bench micro)"
  .build/release/tributary-bench micro 2>&1 | grep -v NOTICE
  echo
  echo "## per-event path, pgoutput binary mode (tributary-bench micro --binary --transform plain)"
  .build/release/tributary-bench micro --binary --transform plain --table narrow 2>&1 | grep -v NOTICE
  .build/release/tributary-bench micro --binary --transform plain --table wide 2>&1 | grep -v NOTICE
  echo
  echo "## streaming (tributary-bench stream --rows $N --runs $RUNS)"
  .build/release/tributary-bench stream --rows "$N" --runs "$RUNS" 2>&1 | grep -v NOTICE
  echo
  # Issue 19's rows: the 30-column table and the narrow one over TCP, next to a libpq client that discards
  # what it reads (text and binary pgoutput), Tributary in both modes over TCP; the wide table over the unix socket too.
  WIDE=${WIDE:-$((N / 5))}
  for run in "wide tcp $WIDE --binary" "wide unix $WIDE" "narrow tcp $N --binary"; do
    set -- $run
    echo "## streaming, $1 rows over $2 (tributary-bench stream --table $1 --transport $2 --rows $3 --runs $RUNS ${4:-})"
    .build/release/tributary-bench stream --table "$1" --transport "$2" --rows "$3" --runs "$RUNS" ${4:-} 2>&1 | grep -v NOTICE
    echo
  done
  echo "## latency (tributary-bench latency: 10,000 rows/s in 10-row transactions for 20 s)"
  .build/release/tributary-bench latency 2>&1 | grep -v NOTICE
  echo
  echo "## latency during an incremental snapshot (tributary-bench latency --rate 2000 --seconds 15 --incremental-rows $N)"
  .build/release/tributary-bench latency --rate 2000 --seconds 15 --incremental-rows "$N" 2>&1 | grep -v NOTICE
  echo
  echo "## exactly once (tributary-bench exactly-once)"
  .build/release/tributary-bench exactly-once 2>&1 | grep -v NOTICE
  echo
  echo "## snapshot (scripts/bench-snapshot.sh, N=$N)"
  N=$N ./scripts/bench-snapshot.sh 2>&1 | grep -v NOTICE
} | tee "$log"
./scripts/bench-report.sh "$log" > docs/benchmarks.md
echo "docs/benchmarks.md regenerated from $log"
