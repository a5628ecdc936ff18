#!/usr/bin/env bash
# Brings newsflow's local stack up or down on a machine without Docker:
#   scripts/stack.sh up      install the broker if missing, start it, start Postgres if needed,
#                            create the database, topics and schema (idempotent)
#   scripts/stack.sh down    stop the broker (Postgres is the machine's and stays up)
#   scripts/stack.sh status
# The broker is Tansu 0.6.0 with its SQLite engine on 127.0.0.1:9092; its data and log live in
# .local/tansu/. Settings: NEWSFLOW_PARTITIONS (default 4), DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/newsflow), NEWSFLOW_BROKER_ADDR and NEWSFLOW_BROKER_DIR
# (a second, private broker, as the benchmark runs).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.local"
tansu_dir=${NEWSFLOW_BROKER_DIR:-$state/tansu}
broker_addr=${NEWSFLOW_BROKER_ADDR:-127.0.0.1:9092}
partitions=${NEWSFLOW_PARTITIONS:-4}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/newsflow}
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '[stack] %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; }

install_broker() {
  if command -v tansu >/dev/null 2>&1 && tansu --version 2>/dev/null | grep -q '0\.6\.0'; then
    return
  fi
  log "installing the Tansu 0.6.0 broker from crates.io (a cold build takes ~20 minutes)"
  cargo install tansu --version 0.6.0 --locked --no-default-features --features libsql,dynostore \
    >"$state/tansu-install.log" 2>&1 || { tail -n 40 "$state/tansu-install.log" >&2; exit 1; }
}

start_broker() {
  if port_open "$broker_addr"; then
    log "broker already listening on $broker_addr"
    [ -f "$tansu_dir/tansu.db" ] && python3 "$root/scripts/tansu-index.py" "$tansu_dir/tansu.db"
    return
  fi
  mkdir -p "$tansu_dir"
  log "starting the broker on $broker_addr (log: $tansu_dir/broker.log)"
  # Tansu resolves the sqlite path relative to its working directory. setsid detaches it from
  # this script's process group and terminal, so it outlives the script.
  # `exec`: the background subshell becomes the broker, so nothing in this script waits on it.
  # The broker logs at its own level (NEWSFLOW_TANSU_LOG, default warn, as in the test kit),
  # not the caller's RUST_LOG: a bench run with RUST_LOG=info for the services had Tansu log
  # every request (4.6 GB in 90 s) and spend five times its usual CPU doing it.
  (cd "$tansu_dir" && RUST_LOG=${NEWSFLOW_TANSU_LOG:-warn} exec setsid nohup tansu broker \
      --listener-url "tcp://$broker_addr" \
      --advertised-listener-url "tcp://$broker_addr" \
      --storage-engine "sqlite://tansu.db" \
      </dev/null >>broker.log 2>&1) &
  echo $! >"$tansu_dir/broker.pid"
  for _ in $(seq 1 150); do
    if port_open "$broker_addr"; then
      python3 "$root/scripts/tansu-index.py" "$tansu_dir/tansu.db"
      return
    fi
    sleep 0.2
  done
  log "the broker did not start; last lines of its log:"
  tail -n 30 "$tansu_dir/broker.log" >&2
  exit 1
}

start_postgres() {
  if port_open 127.0.0.1:5432; then return; fi
  log "starting Postgres"
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  fi
  for _ in $(seq 1 50); do port_open 127.0.0.1:5432 && return; sleep 0.2; done
  log "Postgres is not reachable on 127.0.0.1:5432"; exit 1
}

ensure_database() {
  local db=${DATABASE_URL##*/}; db=${db%%\?*}
  local admin=${DATABASE_URL%/*}/postgres
  if ! psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    log "creating database $db"
    psql "$admin" -qc "CREATE DATABASE \"$db\""
  fi
}

# NEWSFLOW_PROFILE=dev builds the debug binaries the tests build anyway (no second compile).
profile=${NEWSFLOW_PROFILE:-release}
case "$profile" in
  release) build_flags=(--release); bin="${CARGO_TARGET_DIR:-$root/target}/release" ;;
  dev) build_flags=(); bin="${CARGO_TARGET_DIR:-$root/target}/debug" ;;
  *) log "NEWSFLOW_PROFILE must be release or dev, got $profile"; exit 2 ;;
esac

build_tools() {
  (cd "$root" && cargo build "${build_flags[@]}" -q --workspace --bins)
}

case "${1:-up}" in
  up)
    mkdir -p "$state"
    install_broker
    start_broker
    start_postgres
    ensure_database
    build_tools
    "$bin/newsflow-feed" topics --brokers "$broker_addr" --partitions "$partitions" >&2
    "$bin/newsflow-dedup" migrate --database-url "$DATABASE_URL" >&2
    log "up: broker $broker_addr, database $DATABASE_URL"
    ;;
  down)
    # Tansu 0.6.0 does not always exit on SIGTERM (seen under load, and after a panic in its
    # signal handling): give it 10 s, then SIGKILL, so a stale broker never keeps the port.
    pids=$( { [ -f "$tansu_dir/broker.pid" ] && cat "$tansu_dir/broker.pid"; pgrep -f "tansu broker --listener-url tcp://$broker_addr"; } 2>/dev/null | sort -u || true)
    if [ -n "$pids" ]; then
      # shellcheck disable=SC2086 # one pid per word
      kill $pids 2>/dev/null || true
      for _ in $(seq 1 50); do
        alive=
        for p in $pids; do
          if kill -0 "$p" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null; then alive="$alive $p"; fi
        done
        [ -z "$alive" ] && break
        sleep 0.2
      done
      # shellcheck disable=SC2086
      [ -n "${alive:-}" ] && kill -9 $alive 2>/dev/null || true
      log "broker stopped"
    else
      log "broker was not running"
    fi
    rm -f "$tansu_dir/broker.pid"
    ;;
  status)
    port_open "$broker_addr" && log "broker: up ($broker_addr)" || log "broker: down"
    port_open 127.0.0.1:5432 && log "postgres: up" || log "postgres: down"
    ;;
  *)
    echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
