#!/usr/bin/env bash
# Starts, stops and reports the local services Sightline runs on: PostgreSQL,
# the Temporal dev server (with its Web UI) and MinIO, all on loopback, with
# their data under one git-ignored folder. Idempotent: `up` leaves running
# services alone and `down` ignores stopped ones.
#
#   scripts/services.sh up|down|status [postgres|temporal|minio]...
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
data=${SIGHTLINE_DATA:-$root/.data}
bin=${SIGHTLINE_TOOLS:-$root/.tools/bin}
pg_port=${SIGHTLINE_PG_PORT:-55432}
temporal_port=${SIGHTLINE_TEMPORAL_PORT:-7233}
temporal_ui_port=${SIGHTLINE_TEMPORAL_UI_PORT:-8233}
minio_port=${SIGHTLINE_MINIO_PORT:-9000}
minio_console_port=${SIGHTLINE_MINIO_CONSOLE_PORT:-9001}
export MINIO_ROOT_USER=${SIGHTLINE_MINIO_ACCESS_KEY:-sightline}
export MINIO_ROOT_PASSWORD=${SIGHTLINE_MINIO_SECRET_KEY:-sightline-secret}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# as_pg runs a PostgreSQL tool as the postgres user when we are root, since
# initdb and postgres refuse to run as root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # wait_for NAME SECONDS CMD...
  local name=$1 secs=$2; shift 2
  for _ in $(seq $((secs * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "$name did not become ready within ${secs}s (logs in $data/logs)"
}

pg_up() {
  [ -n "$pg_bin" ] || die "PostgreSQL is not installed (run scripts/install-deps.sh)"
  local dir=$data/postgres run=$data/run
  mkdir -p "$run" "$data/logs"
  if [ "$(id -u)" = 0 ]; then chown postgres "$run"; chmod 0777 "$data/logs"; fi
  if [ ! -s "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$pg_bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$data/logs/initdb.log" 2>&1 \
      || die "initdb failed: see $data/logs/initdb.log"
  fi
  if as_pg "$pg_bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    log "postgres already running on 127.0.0.1:$pg_port"
  else
    # Durable: fsync and synchronous_commit keep their defaults (on), so an
    # acknowledged row survives a power cut. They are left off the command
    # line, which would outrank ALTER SYSTEM, so `make bench` can measure
    # what durability costs. The rest suits the workload: bursts of small
    # commits (chunk rows, COPY batches) and rollups that rewrite tables.
    as_pg "$pg_bin/pg_ctl" -D "$dir" -l "$data/logs/postgres.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $run -c max_connections=200 -c wal_compression=on -c max_wal_size=2GB -c checkpoint_timeout=15min -c checkpoint_completion_target=0.9 -c wal_buffers=16MB" start >/dev/null \
      || die "postgres failed to start: see $data/logs/postgres.log"
    log "postgres started on 127.0.0.1:$pg_port"
  fi
  wait_for postgres 20 "$pg_bin/pg_isready" -h 127.0.0.1 -p "$pg_port"
  if ! "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='sightline'" | grep -q 1; then
    "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres sightline
  fi
}

pg_down() {
  local dir=$data/postgres
  [ -s "$dir/PG_VERSION" ] || return 0
  if as_pg "$pg_bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    as_pg "$pg_bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null && log "postgres stopped"
  fi
}

temporal_up() {
  [ -x "$bin/temporal" ] || die "temporal CLI missing in $bin (run scripts/install-deps.sh)"
  local pid=$data/run/temporal.pid
  mkdir -p "$data/temporal" "$data/run" "$data/logs"
  if alive "$pid"; then
    log "temporal already running on 127.0.0.1:$temporal_port"
  else
    nohup "$bin/temporal" server start-dev --ip 127.0.0.1 --port "$temporal_port" \
      --ui-port "$temporal_ui_port" --db-filename "$data/temporal/temporal.db" \
      --log-level warn >"$data/logs/temporal.log" 2>&1 &
    echo $! >"$pid"
    log "temporal started on 127.0.0.1:$temporal_port (UI http://127.0.0.1:$temporal_ui_port)"
  fi
  wait_for temporal 60 "$bin/temporal" operator cluster health --address "127.0.0.1:$temporal_port"
}

minio_up() {
  [ -x "$bin/minio" ] || die "minio missing in $bin (run scripts/install-deps.sh)"
  local pid=$data/run/minio.pid
  mkdir -p "$data/minio" "$data/run" "$data/logs"
  if alive "$pid"; then
    log "minio already running on 127.0.0.1:$minio_port"
  else
    nohup "$bin/minio" server --quiet --address "127.0.0.1:$minio_port" \
      --console-address "127.0.0.1:$minio_console_port" "$data/minio" >"$data/logs/minio.log" 2>&1 &
    echo $! >"$pid"
    log "minio started on 127.0.0.1:$minio_port (console http://127.0.0.1:$minio_console_port)"
  fi
  wait_for minio 60 curl -sf "http://127.0.0.1:$minio_port/minio/health/ready"
}

stop_pid() { # stop_pid NAME
  local pid=$data/run/$1.pid
  if alive "$pid"; then
    kill "$(cat "$pid")" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -9 "$(cat "$pid")" 2>/dev/null || true
    log "$1 stopped"
  fi
  rm -f "$pid"
}

status() {
  local s
  s=down; "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" 2>/dev/null && s=up
  printf '%-9s %-4s postgres://postgres@127.0.0.1:%s/sightline\n' postgres "$s" "$pg_port"
  s=down; alive "$data/run/temporal.pid" && s=up
  printf '%-9s %-4s 127.0.0.1:%s (UI http://127.0.0.1:%s)\n' temporal "$s" "$temporal_port" "$temporal_ui_port"
  s=down; curl -sf "http://127.0.0.1:$minio_port/minio/health/ready" >/dev/null 2>&1 && s=up
  printf '%-9s %-4s http://127.0.0.1:%s (console http://127.0.0.1:%s)\n' minio "$s" "$minio_port" "$minio_console_port"
}

cmd=${1:-status}; shift || true
services=("$@"); [ ${#services[@]} -gt 0 ] || services=(postgres temporal minio)
case $cmd in
  up)
    for s in "${services[@]}"; do
      case $s in postgres) pg_up ;; temporal) temporal_up ;; minio) minio_up ;; *) die "unknown service $s" ;; esac
    done ;;
  down)
    for s in "${services[@]}"; do
      case $s in postgres) pg_down ;; temporal) stop_pid temporal ;; minio) stop_pid minio ;; *) die "unknown service $s" ;; esac
    done ;;
  status) status ;;
  *) die "usage: $0 up|down|status [postgres|temporal|minio]..." ;;
esac
