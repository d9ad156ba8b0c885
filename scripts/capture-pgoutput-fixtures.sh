#!/usr/bin/env bash
# Captures pgoutput messages from a real PostgreSQL into Tests/PGOutputTests/Fixtures/pgoutput.txt.
#
# Starts a throwaway cluster (wal_level=logical), runs the SQL below, and reads the messages the
# server produced with pg_logical_slot_peek_binary_changes (the same bytes the walsender puts after
# the XLogData header). Each output line is "<name> <hex>"; the SQL that made them is in the header.
set -euo pipefail
cd "$(dirname "$0")/.."
out=Tests/PGOutputTests/Fixtures/pgoutput.txt
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=$(mktemp -d /tmp/tributary-capture.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir"; runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >/dev/null
port=$((20000 + RANDOM % 20000))
as_pg "$bin/pg_ctl" -D "$dir/data" -w -l "$dir/log" -o "-c wal_level=logical -c port=$port -c listen_addresses='' -c unix_socket_directories=$dir" start >/dev/null
trap 'as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null; rm -rf "$dir"' EXIT
psql_() { psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres "$@"; }

sql=$(cat <<'SQL'
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, balance numeric(12,2), mood mood, big text);
ALTER TABLE customers ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TABLE notes (body text, n int);
ALTER TABLE notes REPLICA IDENTITY FULL;
CREATE PUBLICATION pub FOR ALL TABLES;
SELECT 'init' FROM pg_create_logical_replication_slot('fixtures', 'pgoutput');
INSERT INTO customers VALUES (1, 'Ann', 12.50, 'happy', repeat('0123456789', 300));
UPDATE customers SET name = 'Ann B' WHERE id = 1;
UPDATE customers SET id = 2 WHERE id = 1;
DELETE FROM customers WHERE id = 2;
INSERT INTO notes VALUES ('hello', NULL);
UPDATE notes SET n = 2;
DELETE FROM notes;
TRUNCATE customers, notes RESTART IDENTITY CASCADE;
BEGIN; SELECT pg_logical_emit_message(true, 'audit', 'hi there'); INSERT INTO notes VALUES ('x', 1); COMMIT;
SELECT pg_logical_emit_message(false, 'ping', E'\\x00ff'::bytea);
SQL
)
printf "%s\n" "$sql" | psql_ >/dev/null
# A transaction from a replication origin gets an Origin message.
psql_ >/dev/null <<'SQL'
SELECT pg_replication_origin_create('upstream');
SELECT pg_replication_origin_session_setup('upstream');
BEGIN;
SELECT pg_replication_origin_xact_setup('0/1234', now());
INSERT INTO notes VALUES ('from upstream', 3);
COMMIT;
SQL

opts="'proto_version','1','publication_names','pub','messages','true'"
{
  echo "# pgoutput messages captured from PostgreSQL $("$bin/postgres" --version | awk '{print $3}') by scripts/capture-pgoutput-fixtures.sh"
  echo "# SQL:"
  printf '%s\n' "$sql" | sed 's/^/#   /'
  echo "#   (then an INSERT INTO notes inside a transaction from replication origin 'upstream')"
  echo "# Format: <name> <hex of one pgoutput message>; names number the messages in stream order."
  psql_ -At -F ' ' -c "SELECT row_number() OVER () || '_' || chr(get_byte(data, 0)), encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes('fixtures', NULL, NULL, $opts)"
  echo "# The same first insert with binary 'true' (tuple columns in binary format):"
  psql_ -At -F ' ' -c "SELECT 'binary_' || row_number() OVER () || '_' || chr(get_byte(data, 0)), encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes('fixtures', NULL, NULL, $opts, 'binary', 'true') LIMIT 4"
} > "$out"
echo "wrote $out ($(grep -vc '^#' "$out") messages)"
