#!/usr/bin/env bash
# The demo: a Django chat site whose WebSockets go through the local API Gateway. No AWS account.
#
#   scripts/demo.sh           set everything up, start Django and the local gateway, print the
#                             URL to open; Ctrl-C stops both (open sockets get $disconnect)
#   scripts/demo.sh --smoke   the same, then log in, connect, exchange messages, stop (for CI)
#
# On a fresh machine it creates .venv (when missing), installs this package with the [local]
# extra, migrates the demo's SQLite database, and creates the demo user and the gateway record.
# Environment: PYTHON (python3), DEMO_VENV (.venv), DEMO_HTTP_PORT (8000), DEMO_WS_PORT (8001),
# DEMO_DB (example/db.sqlite3), DEMO_INSTALL=1 to reinstall even when the venv has everything.
set -euo pipefail
set -m  # children in their own process groups: Ctrl-C reaches this script, which stops them in order

root=$(cd "$(dirname "$0")/.." && pwd)
host=127.0.0.1
http_port=${DEMO_HTTP_PORT:-8000}
ws_port=${DEMO_WS_PORT:-8001}
venv=${DEMO_VENV:-$root/.venv}
smoke=0
case "${1:-}" in
  --smoke) smoke=1 ;;
  "") ;;
  *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
esac

say() { printf '\033[1m%s\033[0m\n' "$*"; }

if [ ! -x "$venv/bin/python" ]; then
  say "Creating the virtual environment $venv"
  "${PYTHON:-python3}" -m venv "$venv"
fi
py="$venv/bin/python"
if [ "${DEMO_INSTALL:-0}" = 1 ] || ! "$py" -c "import django, django_aws_api_gateway_websockets.local_gateway" 2>/dev/null; then
  say "Installing django-aws-api-gateway-websockets[local] into $venv"
  "$py" -m pip install --quiet --disable-pip-version-check -e "$root[local]"
fi

port_open() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }
for port in "$http_port" "$ws_port"; do
  if port_open "$port"; then
    echo "Port $port is in use: stop what listens there, or set DEMO_HTTP_PORT / DEMO_WS_PORT." >&2
    exit 1
  fi
done

cd "$root/example"
say "Preparing the database"
"$py" manage.py migrate --noinput -v 0
"$py" manage.py setup_demo --backend "http://$host:$http_port"

django_pid=""
gateway_pid=""
stopping=0
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
  # The gateway first: it closes the sockets and sends their $disconnect while Django is up.
  if [ -n "$gateway_pid" ] && kill -0 "$gateway_pid" 2>/dev/null; then
    kill -TERM "$gateway_pid" 2>/dev/null || true
    wait "$gateway_pid" 2>/dev/null || true
  fi
  if [ -n "$django_pid" ] && kill -0 "$django_pid" 2>/dev/null; then
    kill -TERM "$django_pid" 2>/dev/null || true
    wait "$django_pid" 2>/dev/null || true
  fi
  say "Stopped."
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap 'stop' EXIT

say "Starting Django on http://$host:$http_port"
"$py" manage.py runserver "$host:$http_port" --noreload &
django_pid=$!
say "Starting the local API Gateway on ws://$host:$ws_port"
"$py" manage.py runwsgateway --api Demo --host "$host" --port "$ws_port" &
gateway_pid=$!

for _ in $(seq 1 150); do
  if port_open "$http_port" && port_open "$ws_port"; then break; fi
  if ! kill -0 "$django_pid" 2>/dev/null || ! kill -0 "$gateway_pid" 2>/dev/null; then
    echo "Django or the local gateway failed to start (see above)." >&2
    exit 1
  fi
  sleep 0.2
done
if ! port_open "$http_port" || ! port_open "$ws_port"; then
  echo "Django or the local gateway did not start in time." >&2
  exit 1
fi

if [ "$smoke" = 1 ]; then
  "$py" smoke.py --url "http://$host:$http_port"
  exit $?
fi

echo
say "Open http://$host:$http_port/ and log in as demo / demo (two windows make a chat)."
say "Press Ctrl-C to stop Django and the local gateway."
wait -n || true
