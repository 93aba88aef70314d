#!/usr/bin/env bash
# Start (installing Debian's redis-server first if needed) a throwaway Redis for the Celery tests.
#   scripts/redis.sh start   -> prints the REDIS_URL to use
#   scripts/redis.sh stop
# It keeps nothing on disk, lives in .cache/redis and listens on 127.0.0.1:${REDIS_PORT:-63799}.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${REDIS_PORT:-63799}"
dir="$PWD/.cache/redis"
url="redis://127.0.0.1:${port}/0"

install_if_missing() {
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "Installing redis-server from Debian's packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq redis-server >&2
  fi
}

running() {
  redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG
}

start() {
  install_if_missing
  mkdir -p "$dir"
  if ! running; then
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/server.log" >/dev/null
    for _ in $(seq 50); do running && break; sleep 0.1; done
    running || { echo "redis-server did not start (see $dir/server.log)" >&2; exit 1; }
  fi
  echo "$url"
}

stop() {
  if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
    kill "$(cat "$dir/redis.pid")"
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
