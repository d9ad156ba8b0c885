#!/usr/bin/env bash
# Fuzzes the pgoutput decoder with libFuzzer for SECONDS (default 300), seeded from the captured fixtures.
# Prints libFuzzer's summary; exits non-zero on a crash, a hang (-timeout) or an allocation over -malloc_limit_mb.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
out=.build/fuzz
mkdir -p "$out/corpus" "$out/findings"

# The decoder's sources and the entry point, built as one module with the fuzzer and address sanitizers.
swiftc -O -sanitize=fuzzer,address -parse-as-library -swift-version 6 \
    -enable-upcoming-feature ExistentialAny -enable-upcoming-feature InternalImportsByDefault \
    -module-name PGOutputFuzz Sources/PGOutput/*.swift Fuzz/PGOutputFuzz.swift -o "$out/pgoutput-fuzz" \
    2> >(grep -v "Cannot export local symbol" >&2)

# Seeds: every captured message, bare and inside an XLogData frame ('w', start, end, clock).
while read -r name hex; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    echo -n "$hex" | xxd -r -p > "$out/corpus/$name"
    { printf 'w'; head -c 24 /dev/zero; echo -n "$hex" | xxd -r -p; } > "$out/corpus/$name.frame"
done < Tests/PGOutputTests/Fixtures/pgoutput.txt

log="$out/last-run.log"
set +e
"$out/pgoutput-fuzz" "$out/corpus" -max_total_time="$seconds" -timeout=5 -malloc_limit_mb=256 -rss_limit_mb=1024 \
    -max_len=4096 -print_final_stats=1 -artifact_prefix="$out/findings/" > "$log" 2>&1
status=$?
set -e
runs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || true)
if [[ $status -ne 0 ]]; then
    tail -40 "$log"
    echo "fuzz: FAILED after ${runs:-?} executions; the input is in $out/findings/"
    exit 1
fi
grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$log" || true
echo "fuzz: ${runs:-?} executions in ${seconds} s, no crash, hang or oversized allocation"
