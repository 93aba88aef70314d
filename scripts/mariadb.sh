#!/usr/bin/env bash
# Start (installing it first if needed) a throwaway MariaDB server for the test suite.
#   scripts/mariadb.sh install  -> installs Debian's mariadb-server and the client headers that
#                                  the mysqlclient driver builds against (nothing is started)
#   scripts/mariadb.sh start    -> prints the DATABASE_URL to use
#   scripts/mariadb.sh stop
# The server lives in .cache/mariadb (data, socket, log) and listens on
# 127.0.0.1:${MARIADB_PORT:-33069}; it is tuned for tests (no binary log, lazy flushing).
set -euo pipefail
cd "$(dirname "$0")/.."
port="${MARIADB_PORT:-33069}"
base="$PWD/.cache/mariadb"
data="$base/data"
sock="$base/mysqld.sock"
pidfile="$base/mysqld.pid"
log="$base/server.log"
url="mysql://wsuser:wspass@127.0.0.1:${port}/wstest"

server_bin() {
  command -v mariadbd 2>/dev/null || { [ -x /usr/sbin/mariadbd ] && echo /usr/sbin/mariadbd; } || true
}

install_if_missing() {
  local need=()
  [ -n "$(server_bin)" ] || need+=(mariadb-server mariadb-client)
  # mysqlclient (the Django driver) compiles against these.
  if ! pkg-config --exists libmariadb 2>/dev/null && ! pkg-config --exists mysqlclient 2>/dev/null; then
    need+=(libmariadb-dev libmariadb-dev-compat pkg-config)
  fi
  command -v gcc >/dev/null 2>&1 || need+=(gcc)
  if [ ${#need[@]} -gt 0 ]; then
    echo "Installing ${need[*]} from Debian's packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # The package's own service is not wanted: policy-rc.d stops it from being started.
    if [ "$(id -u)" = "0" ] && [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  fi
}

owner() {
  if [ "$(id -u)" = "0" ]; then echo mysql; else id -un; fi
}

# The administrative account authenticates through the socket as the OS user running this:
# root@localhost for root, otherwise the account mariadb-install-db made for the owner.
admin_user() {
  if [ "$(id -u)" = "0" ]; then echo root; else id -un; fi
}

client() {
  mariadb --no-defaults --socket="$sock" -u "$(admin_user)" "$@"
}

running() {
  [ -S "$sock" ] && mariadb-admin --no-defaults --socket="$sock" -u "$(admin_user)" status \
    >/dev/null 2>&1
}

start() {
  install_if_missing
  local user; user="$(owner)"
  mkdir -p "$base"
  if [ "$(id -u)" = "0" ]; then chown -R mysql "$base"; fi
  if [ ! -d "$data/mysql" ]; then
    mariadb-install-db --no-defaults --datadir="$data" --user="$user" \
      --auth-root-authentication-method=socket --auth-root-socket-user="$user" \
      --skip-test-db >"$base/install.log" 2>&1
  fi
  if ! running; then
    rm -f "$sock"
    # setsid: the server outlives this script (and the test run's process group).
    setsid "$(server_bin)" --no-defaults --user="$user" --datadir="$data" --socket="$sock" \
      --pid-file="$pidfile" --port="$port" --bind-address=127.0.0.1 --log-error="$log" \
      --skip-log-bin --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
      --innodb-buffer-pool-size=256M --max-connections=300 \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
      </dev/null >/dev/null 2>&1 &
    for _ in $(seq 1 120); do
      running && break
      sleep 0.5
    done
    running || { echo "MariaDB did not start; see $log" >&2; tail -n 20 "$log" >&2 || true; exit 1; }
  fi
  client -e "CREATE USER IF NOT EXISTS 'wsuser'@'%' IDENTIFIED BY 'wspass';
             CREATE USER IF NOT EXISTS 'wsuser'@'localhost' IDENTIFIED BY 'wspass';
             GRANT ALL PRIVILEGES ON *.* TO 'wsuser'@'%' WITH GRANT OPTION;
             GRANT ALL PRIVILEGES ON *.* TO 'wsuser'@'localhost' WITH GRANT OPTION;
             CREATE DATABASE IF NOT EXISTS wstest CHARACTER SET utf8mb4;"
  echo "$url"
}

stop() {
  if [ -f "$pidfile" ]; then
    local pid; pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
  fi
}

case "${1:-start}" in
  install) install_if_missing ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
