#!/usr/bin/env bash
# Start (installing it first if needed) a throwaway PostgreSQL cluster for the test suite.
#   scripts/postgres.sh start   -> prints the DATABASE_URL to use
#   scripts/postgres.sh stop
# The cluster lives in .cache/pg and listens on 127.0.0.1:${PGPORT:-54329}.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${PGPORT:-54329}"
data="$PWD/.cache/pg/data"
log="$PWD/.cache/pg/server.log"
url="postgresql://wsuser:wspass@127.0.0.1:${port}/wstest"

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  echo "$d"
}

install_if_missing() {
  if [ -z "$(bindir)" ]; then
    echo "Installing PostgreSQL from Debian's packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
  fi
}

as_owner() {
  if [ "$(id -u)" = "0" ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  install_if_missing
  local bin; bin="$(bindir)"
  mkdir -p "$(dirname "$data")"
  if [ "$(id -u)" = "0" ]; then chown -R postgres "$(dirname "$data")"; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$data" -U postgres -A trust >/dev/null
  fi
  if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$data" -l "$log" -w \
      -o "-h 127.0.0.1 -p ${port} -k /tmp -c fsync=off -c synchronous_commit=off -c max_connections=300" start >/dev/null
  fi
  as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qtAc \
    "SELECT 1 FROM pg_roles WHERE rolname='wsuser'" | grep -q 1 || \
    as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc \
      "CREATE ROLE wsuser LOGIN SUPERUSER PASSWORD 'wspass'" >/dev/null
  as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname='wstest'" | grep -q 1 || \
    as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE wstest OWNER wsuser" >/dev/null
  echo "$url"
}

stop() {
  local bin; bin="$(bindir)"
  [ -n "$bin" ] && [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$data" -m fast stop >/dev/null || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
