#!/usr/bin/env bash
# Snapshot throughput next to the server's own COPY speed, in the same run (release build).
# N rows (default 1,000,000) of a 6-column table: int8 key, text, int4, numeric(12,2), timestamptz, bool.
# Prints rows/s for `COPY … TO '/dev/null'` (the server alone) and for a Tributary initial_only
# snapshot into a separate embedded-Kafka process (first row read to last row acknowledged); then an
# incremental snapshot of the same table (a signal over HTTP) while a writer commits 2,000 rows/s to another
# table, next to the initial snapshot's rate. Between the two, the producing floor: librdkafka alone sending as many
# records of the snapshot's shape into the same broker (tributary-bench produce-floor).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
bin=.build/release/tributary
[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }
work=$(mktemp -d /tmp/tributary-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; stop_postgres; rm -rf "$work"; }
source scripts/lib/throwaway-postgres.sh
trap cleanup EXIT

psql_ -c "CREATE DATABASE bench"
psql_ -d bench -c "CREATE TABLE t (id int8 PRIMARY KEY, name text, qty int4, price numeric(12,2), at timestamptz, ok bool)"
psql_ -d bench -c "INSERT INTO t SELECT g, 'name ' || g, g % 1000, (g % 100000) / 100.0, now() - g * interval '1 second', g % 2 = 0 FROM generate_series(1, $N) g"
psql_ -d bench -c "VACUUM ANALYZE t"

copy_start=$(date +%s.%N)
psql_ -d bench -c "COPY t TO '/dev/null'"
copy_end=$(date +%s.%N)

"$bin" kafka-dev --brokers 1 >"$work/kafka" 2>/dev/null &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/kafka" ] && break; sleep 0.1; done
cat > "$work/bench.yaml" <<YAML
name: bench
postgres: {url: "postgresql://postgres@127.0.0.1:$PG_PORT/bench"}
kafka:
  bootstrap_servers: $(head -n 1 "$work/kafka")
  topic_prefix: bench
  properties: {linger.ms: 20, batch.num.messages: 10000}
snapshot: {mode: initial_only, state_directory: $work/state}
YAML
snap_start=$(date +%s.%N)
/usr/bin/time -f "%M %U %S" -o "$work/time" "$bin" run "$work/bench.yaml" --health-port 0 2>"$work/log"
snap_end=$(date +%s.%N)

python3 - "$N" "$copy_start" "$copy_end" "$snap_start" "$snap_end" "$work/time" <<'PY'
import sys
n = int(sys.argv[1]); copy = float(sys.argv[3]) - float(sys.argv[2]); snap = float(sys.argv[5]) - float(sys.argv[4])
rss_kb, user, system = open(sys.argv[6]).read().split()[-3:]
print(f"rows={n}")
print(f"COPY TO /dev/null      {n / copy:12,.0f} rows/s  ({copy:.2f} s)")
print(f"tributary snapshot     {n / snap:12,.0f} rows/s  ({snap:.2f} s, start to last row acknowledged)")
print(f"ratio                  {copy / snap:12.2f}")
print(f"peak RSS {int(rss_kb) / 1024:.1f} MB, CPU {float(user) + float(system):.2f} s")
PY
grep -E "snapshot (complete|starting)" "$work/log" | sed 's/^/    /'
# The floor under it: librdkafka alone producing N records shaped like the snapshot's (size, headers, settings) into
# the same broker. No snapshot into this broker on this machine can be faster.
if floor=$(.build/release/tributary-bench produce-floor --bootstrap "$(head -n 1 "$work/kafka")" --like bench.public.t \
  --records "$N" --property linger.ms=20 --property batch.num.messages=10000 2>"$work/floor.err"); then
  echo "$floor"
  python3 - "$N" "$copy_start" "$copy_end" "$snap_start" "$snap_end" "$floor" <<'PY'
import re, sys
n = int(sys.argv[1]); copy = float(sys.argv[3]) - float(sys.argv[2]); snap = float(sys.argv[5]) - float(sys.argv[4])
floor = float(re.search(r"\(([0-9.]+) s", sys.argv[6]).group(1))
print(f"floor / COPY           {copy / floor:12.2f}   (the most a snapshot into this broker can reach here)")
print(f"snapshot / floor       {floor / snap:12.2f}")
PY
else
  echo "bench-snapshot: produce-floor failed: $(tail -n 3 "$work/floor.err")" >&2
fi

# Incremental: the same table read again while streaming, asked for over HTTP; a writer commits 200 rows every
# 100 ms to another captured table meanwhile.
psql_ -d bench -c "CREATE TABLE w (id bigserial PRIMARY KEY, v text)"
# $1: connector name, $2: read_only (true/false). Prints the seconds from the signal to the last chunk sent.
incremental_run() {
  local name=$1 read_only=$2 port connector writer start
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat > "$work/$name.yaml" <<YAML
name: $name
postgres: {url: "postgresql://postgres@127.0.0.1:$PG_PORT/bench", tables: [public.t, public.w]}
kafka:
  bootstrap_servers: $(head -n 1 "$work/kafka")
  topic_prefix: $name
  properties: {linger.ms: 20, batch.num.messages: 10000}
snapshot: {mode: no_data, state_directory: $work/state-$name}
signals: {http: true}
incremental_snapshot: {read_only: $read_only}
YAML
  "$bin" run "$work/$name.yaml" --health-port "$port" 2>"$work/$name.log" &
  connector=$!
  pids+=($connector)
  for _ in $(seq 100); do grep -q "streaming" "$work/$name.log" && break; sleep 0.1; done
  ( while kill -0 "$connector" 2>/dev/null; do
      psql_ -d bench -c "INSERT INTO w (v) SELECT 'w' || g FROM generate_series(1, 200) g" >/dev/null 2>&1 || true
      sleep 0.1
    done ) &
  writer=$!
  pids+=($writer)
  start=$(date +%s.%N)
  if ! "$bin" signal "$name" execute-snapshot --tables public.t --port "$port" >/dev/null; then
    tail -n 20 "$work/$name.log" >&2
  fi
  for _ in $(seq 1200); do grep -q "incremental snapshot of public.t complete" "$work/$name.log" && break; sleep 0.1; done
  if ! grep -q "incremental snapshot of public.t complete" "$work/$name.log"; then
    echo "bench-snapshot: the incremental snapshot ($name) did not complete within 120 s" >&2
    exit 1
  fi
  python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)"
  kill -TERM "$connector" 2>/dev/null || true
  wait "$connector" 2>/dev/null || true
  wait "$writer" 2>/dev/null || true
}
incremental=$(incremental_run bench-incremental false) || exit 1
read_only=$(incremental_run bench-read-only true) || exit 1
python3 - "$N" "$snap_start" "$snap_end" "$incremental" "$read_only" <<'PY'
import sys
n = int(sys.argv[1]); snap = float(sys.argv[3]) - float(sys.argv[2]); inc = float(sys.argv[4]); ro = float(sys.argv[5])
print(f"incremental snapshot   {n / inc:12,.0f} rows/s  ({inc:.2f} s, signal to last chunk sent, writer at 2,000 rows/s)")
print(f"incremental / initial  {snap / inc:12.2f}   (target >= 0.5)")
print(f"  read-only variant    {n / ro:12,.0f} rows/s  ({ro:.2f} s, the same with incremental_snapshot.read_only)")
PY
for name in bench-incremental bench-read-only; do
  grep -E "incremental snapshot of public.t (starting|complete)" "$work/$name.log" | sed 's/^/    /'
done
