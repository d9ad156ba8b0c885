#!/usr/bin/env bash
# make demo: a throwaway PostgreSQL, the embedded Kafka and the connector of connectors/demo.yaml;
# writes a few changes and shows the events as read back from Kafka. Cleans up after itself.
# make demo AVRO=1: the same in Avro (connectors/demo-avro.yaml) through a minimal registry
# (scripts/lib/demo-registry.py), the records read back with the registry's schemas.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/tributary
[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }
work=$(mktemp -d /tmp/tributary-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  stop_postgres
  rm -rf "$work"
}
source scripts/lib/throwaway-postgres.sh
trap cleanup EXIT

echo "==> PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $PG_PORT (wal_level=logical)"
psql_ -c "CREATE DATABASE inventory"
psql_ -d inventory <<'SQL'
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers, total numeric(10,2), placed_at timestamptz DEFAULT now());
INSERT INTO customers VALUES (10, 'Edsger', 'edsger@example.com');
SQL

"$bin" kafka-dev >"$work/kafka" 2>"$work/kafka.log" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/kafka" ] && break; sleep 0.1; done
[ -s "$work/kafka" ] || { echo "embedded Kafka did not start:" >&2; cat "$work/kafka.log" >&2; exit 1; }
export TRIBUTARY_DEMO_KAFKA=$(head -n 1 "$work/kafka")
export TRIBUTARY_DEMO_POSTGRES_URL="postgresql://postgres@127.0.0.1:$PG_PORT/inventory"
export TRIBUTARY_DEMO_STATE="$work/state"
echo "==> embedded Kafka at $TRIBUTARY_DEMO_KAFKA"

file=connectors/demo.yaml
if [ -n "${AVRO:-}" ]; then
  python3 scripts/lib/demo-registry.py >"$work/registry" 2>"$work/registry.log" &
  pids+=($!)
  for _ in $(seq 50); do [ -s "$work/registry" ] && break; sleep 0.1; done
  export TRIBUTARY_DEMO_REGISTRY=$(head -n 1 "$work/registry")
  echo "==> schema registry (demo stand-in) at $TRIBUTARY_DEMO_REGISTRY"
  file=connectors/demo-avro.yaml
fi

echo "==> tributary run $file"
"$bin" run "$file" --health-port 0 2>"$work/connector.log" &
connector=$!
pids+=($connector)
for _ in $(seq 100); do grep -q "streaming" "$work/connector.log" && break; sleep 0.1; done
sed 's/^/    /' "$work/connector.log"
grep -q "streaming" "$work/connector.log" || { echo "the connector did not start streaming" >&2; exit 1; }

echo "==> writing changes"
psql_ -d inventory -e <<'SQL'
INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com'), (2, 'Grace', 'grace@example.com');
INSERT INTO orders (id, customer_id, total) VALUES (100, 1, 42.50);
UPDATE customers SET email = 'ada@lovelace.dev' WHERE id = 1;
UPDATE customers SET id = 3 WHERE id = 2;
DELETE FROM orders WHERE id = 100;
SELECT pg_logical_emit_message(true, 'audit', 'demo finished') IS NOT NULL AS message_sent;
SQL
sleep 2

echo "==> events in Kafka (topic | key | op | after), in order per topic; op r = a row that existed before the connector started"
if [ -n "${AVRO:-}" ]; then
  for topic in inventory.public.customers inventory.public.orders inventory.message; do
    kcat -b "$TRIBUTARY_DEMO_KAFKA" -C -o beginning -e -q -f '%t\n%K\n%k%S\n%s\n' -t "$topic" 2>/dev/null
  done | python3 scripts/lib/avro-read.py "$TRIBUTARY_DEMO_REGISTRY" | python3 -c '
import json, sys
for line in sys.stdin:
    record = json.loads(line)
    topic, key, event = record["topic"], json.dumps(record["key"]), record["value"]
    if event is None:
        print(f"{topic:28} {key:20} tombstone"); continue
    body = event.get("after") or event.get("before") or event.get("message")
    op = event["op"]
    print(f"{topic:28} {key:20} {op}  {json.dumps(body)}")
'
  echo "==> schemas registered:"
  python3 -c '
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/subjects/inventory.public.orders-value/versions/latest") as answer:
    latest = json.load(answer)
version, number = latest["version"], latest["id"]
print(f"    inventory.public.orders-value v{version} (id {number}):", latest["schema"][:150], "…")' "$TRIBUTARY_DEMO_REGISTRY"
  kill -TERM "$connector"
  wait "$connector" || true
  exit 0
fi
for topic in inventory.public.customers inventory.public.orders inventory.message; do
  kcat -b "$TRIBUTARY_DEMO_KAFKA" -C -o beginning -e -q -f '%t\t%k\t%s\n' -t "$topic" 2>/dev/null
done | python3 -c '
import json, sys
for line in sys.stdin:
    topic, key, value = line.rstrip("\n").split("\t", 2)
    if not value:
        print(f"{topic:28} {key:20} tombstone"); continue
    event = json.loads(value)
    body = event.get("after") or event.get("before") or event.get("message")
    op = event["op"]
    print(f"{topic:28} {key:20} {op}  {json.dumps(body)}")
'
echo "==> one full event:"
kcat -b "$TRIBUTARY_DEMO_KAFKA" -C -o beginning -c 1 -q -t inventory.public.orders 2>/dev/null | python3 -m json.tool | sed 's/^/    /'

kill -TERM "$connector"
wait "$connector" || true
echo "==> connector stopped; slot confirmed at $(psql_ -d inventory -At -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'tributary_demo'") (server at $(psql_ -d inventory -At -c "SELECT pg_current_wal_lsn()"))"
