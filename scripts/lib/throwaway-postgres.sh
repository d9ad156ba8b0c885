# Sourced by scripts: starts a throwaway PostgreSQL cluster with wal_level=logical.
# Sets PG_DIR, PG_PORT, PG_BIN (Debian's newest unless PG_BIN is set) and defines psql_ and stop_postgres. initdb and postgres refuse
# to run as root, so as root they run as the postgres OS user in a directory it owns.
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL server binaries not found; run make setup" >&2; exit 1; }
PG_DIR=$(mktemp -d /tmp/tributary-pg.XXXXXX)
chmod 755 "$PG_DIR"
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 ||
  { cat "$PG_DIR/initdb.log" >&2; exit 1; }
as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -l "$PG_DIR/server.log" \
  -o "-c wal_level=logical -c port=$PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DIR -c max_wal_senders=10 -c max_replication_slots=10" \
  start >/dev/null || { cat "$PG_DIR/server.log" >&2; exit 1; }
psql_() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }
stop_postgres() { as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$PG_DIR"; }
