#!/usr/bin/env bash
# Start (or reuse) a private PostgreSQL 15 and Redis on loopback for tests and benchmarks.
# Usage: source <(scripts/services.sh start)   → exports RA_TEST_DATABASE_URL, RA_TEST_REDIS_URL
#        scripts/services.sh stop
set -euo pipefail
RUN_DIR="${RA_SERVICES_DIR:-/tmp/ra-workbench-services}"
PG_PORT="${RA_PG_PORT:-55432}"
REDIS_PORT="${RA_REDIS_PORT:-56379}"
PG_BIN="/usr/lib/postgresql/15/bin"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start() {
  mkdir -p "$RUN_DIR"
  chmod 755 "$RUN_DIR"
  if ! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    if [ ! -f "$RUN_DIR/pg/PG_VERSION" ]; then
      mkdir -p "$RUN_DIR/pg"
      [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$RUN_DIR/pg"
      as_pg "$PG_BIN/initdb" -D "$RUN_DIR/pg" -U postgres --auth=trust -E UTF8 >"$RUN_DIR/initdb.log" 2>&1
    fi
    # A server killed with its session leaves postmaster.pid behind: PostgreSQL refuses to
    # start while the old processes linger, so retry a few times before giving up.
    for attempt in 1 2 3 4 5; do
      if as_pg "$PG_BIN/pg_ctl" -D "$RUN_DIR/pg" -l "$RUN_DIR/pg/server.log" -w \
        -o "-p $PG_PORT -k $RUN_DIR/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
        start >/dev/null 2>&1; then
        break
      fi
      [ "$attempt" -eq 5 ] && { echo "PostgreSQL did not start: see $RUN_DIR/pg/server.log" >&2; exit 1; }
      sleep 2
    done
  fi
  for db in ra_test ra_bench; do
    "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 ||
      "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db"
  done
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save "" \
      --appendonly no --dir "$RUN_DIR" --logfile "$RUN_DIR/redis.log" >/dev/null
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  echo "export RA_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/ra_test"
  echo "export RA_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/ra_bench"
  echo "export RA_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

stop() {
  [ -f "$RUN_DIR/pg/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$RUN_DIR/pg" -m fast stop >/dev/null || true
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
