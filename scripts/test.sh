#!/usr/bin/env bash
# The whole test suite, as CI runs it. Sets up everything it needs on a fresh machine
# (virtualenvs for Django 5.2, 6.0 and 6.1, the packages, PostgreSQL, MariaDB, Chromium), then:
#   1. ruff, mypy --strict, the docs (mkdocs --strict), and the built sdist and wheel
#      (twine check; the wheel installed in a fresh venv runs `manage.py check` in a new project);
#   2. pytest passes, two at a time (the machine has 2 cores; passes that share a database server
#      never run at once):
#        Django 5.2 / Python 3.11 on SQLite (with coverage), PostgreSQL, and MariaDB (the
#        database-heavy tests), Django 6.0 / Python 3.12 on SQLite, Django 6.1 / Python 3.13 on
#        SQLite and PostgreSQL. The 5.2 passes also run the long property-based fuzzing
#        (10,000 examples) and the load tests; the 6.x passes run everything else.
# Every pass runs even when another failed; the summary at the end lists each pass's result and
# the script fails if any did. The database servers it started are stopped when it ends.
# Arguments are passed to every pytest run (e.g. `scripts/test.sh -k views`).
set -euo pipefail
cd "$(dirname "$0")/.."

logs=.cache/test-logs
rm -rf "$logs"
mkdir -p "$logs"

# -- setup -------------------------------------------------------------------------------------
python311="${PYTHON:-python3}"
python312="$(scripts/pythons.sh 3.12)"
python313="$(scripts/pythons.sh 3.13)"

venv() {  # venv DIR PYTHON EXTRAS [PIP ARGS...]: create or update a virtualenv with the package
  local dir="$1" python="$2" extras="$3"
  shift 3
  [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$dir/bin/python" -m pip install -q --disable-pip-version-check -e ".[$extras]" "$@"
}

# Debian's MariaDB server and the headers the mysqlclient driver (in the test extra) builds on.
scripts/mariadb.sh install
venv .venv "$python311" dev "Django>=5.2,<5.3"
venv .venv-dj60 "$python312" test,docs "Django>=6.0,<6.1"
venv .venv-dj61 "$python313" test,docs "Django>=6.1,<6.2"
# Debian's Chromium for the browser tests (Playwright drives it; it downloads no browser).
scripts/chromium.sh
scripts/fetch-legacy-wheels.sh

pg_url="$(scripts/postgres.sh start)"
maria_url="$(scripts/mariadb.sh start)"
# Redis (Debian's redis-server): the broker of the Celery worker tests.
REDIS_URL="$(scripts/redis.sh start)"
export REDIS_URL
trap 'scripts/postgres.sh stop >/dev/null 2>&1 || true; scripts/mariadb.sh stop >/dev/null 2>&1 || true; scripts/redis.sh stop >/dev/null 2>&1 || true' EXIT

# Property-based tests run the "ci" profile (tests/conftest.py): 10,000 examples of the view
# fuzzing per database, derandomised so a run is repeatable.
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"

failed=()
step() {  # step NAME COMMAND...: run a check in the foreground, remember a failure
  local name="$1"
  shift
  echo "== $name"
  if ! "$@"; then failed+=("$name"); fi
}

step "ruff" .venv/bin/ruff check src tests bench example
step "mypy" .venv/bin/mypy
step "docs (mkdocs build --strict)" .venv/bin/mkdocs build --strict --quiet --site-dir .cache/site
step "sdist and wheel" scripts/check-dist.sh

# -- pytest passes -----------------------------------------------------------------------------
mariadb_tests=(
  tests/migrations/test_migrations.py tests/models/test_models.py tests/models/test_tokens.py
  tests/views/test_views.py tests/views/test_forgery.py tests/views/test_secrets.py
  tests/commands/test_reconcile.py tests/views/test_concurrency.py tests/views/test_hot_paths.py
  tests/views/test_login_binding.py tests/views/test_channel_access.py
  tests/views/test_contract_hooks.py tests/views/test_connect_without_token.py
  tests/channels/test_subscribe_permissions.py tests/channels/test_presence_race.py
)

# The measured pass starts coverage before pytest: pytest imports the package's pytest plugin (an
# entry point) before pytest-cov's --cov could start, so the package's own import would go
# unmeasured ("Module ... was previously imported, but not measured").
coverage_pytest=(-m coverage run -m pytest)

run_pass() {  # run_pass NAME VENV DATABASE_URL [PYTEST ARGS...] -> log in $logs/NAME.log
  # MEASURE=1: under coverage, with its report at the end of the log.
  # LIGHT=1: the "dev" property-based profile and no `load` tests (the Django 5.2 passes run
  # the 10,000-example fuzzing and the load tests; the newer Djangos run everything else).
  # PREPARED=1: PostgreSQL with server-side binding and prepared statements
  # (DATABASE_SERVER_SIDE_BINDING, tests/settings.py), as docs/scaling.md suggests.
  local name="$1" venv_dir="$2" url="$3"
  shift 3
  local started=$SECONDS status=0 runner=(-m pytest) light=() profile="$HYPOTHESIS_PROFILE"
  [ "${MEASURE:-}" = 1 ] && runner=("${coverage_pytest[@]}")
  if [ "${LIGHT:-}" = 1 ]; then
    light=(-m "not load")
    profile=dev
  fi
  DATABASE_URL="$url" DATABASE_SERVER_SIDE_BINDING="${PREPARED:-}" HYPOTHESIS_PROFILE="$profile" \
    "$venv_dir/bin/python" "${runner[@]}" \
    -p no:cacheprovider --durations=15 "${light[@]}" "$@" >"$logs/$name.log" 2>&1 || status=$?
  if [ "${MEASURE:-}" = 1 ]; then
    "$venv_dir/bin/python" -m coverage report >>"$logs/$name.log" 2>&1 || true
  fi
  echo "$status $((SECONDS - started))" >"$logs/$name.status"
  echo "== pytest $name: exit $status in $((SECONDS - started)) s (log: $logs/$name.log)"
  grep -E '^=+ .* in [0-9.]+s' "$logs/$name.log" | tail -n 1 || tail -n 1 "$logs/$name.log"
}

lane_one() {
  MEASURE=1 run_pass django52-sqlite .venv "" "$@"
  LIGHT=1 run_pass django60-sqlite .venv-dj60 "" "$@"
  run_pass django52-mariadb .venv "$maria_url" "${mariadb_tests[@]}" "$@"
}
lane_two() {
  run_pass django52-postgres .venv "$pg_url" "$@"
  LIGHT=1 run_pass django61-sqlite .venv-dj61 "" "$@"
  # after the 5.2 pass, same lane; this one with prepared statements
  PREPARED=1 LIGHT=1 run_pass django61-postgres .venv-dj61 "$pg_url" "$@"
}

echo "== pytest: six passes, two at a time (logs in $logs/)"
lane_one "$@" &
lane_one_pid=$!
lane_two "$@" &
lane_two_pid=$!
wait "$lane_one_pid" || true
wait "$lane_two_pid" || true

# -- report ------------------------------------------------------------------------------------
passed=0 failures=0 skipped=0
for status_file in "$logs"/*.status; do
  name="$(basename "$status_file" .status)"
  read -r status seconds <"$status_file"
  summary="$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$logs/$name.log" | tail -n 1 || true)"
  echo "-- $name (exit $status, $seconds s): ${summary:-no pytest summary}"
  if [ "$status" != 0 ]; then
    failed+=("pytest $name")
    echo "---- last 60 lines of $logs/$name.log"
    tail -n 60 "$logs/$name.log"
  fi
  for kind in passed failed errors? skipped; do
    count="$(echo "$summary" | grep -oE "[0-9]+ $kind\b" | grep -oE '^[0-9]+' || echo 0)"
    case $kind in
      passed) passed=$((passed + count)) ;;
      skipped) skipped=$((skipped + count)) ;;
      *) failures=$((failures + count)) ;;
    esac
  done
done
if [ -f "$logs/django52-sqlite.log" ]; then
  echo "== coverage (Django 5.2, SQLite)"
  grep -E '^TOTAL' "$logs/django52-sqlite.log" || true
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  echo "total: $passed passed, $failures failed, $skipped skipped"
  exit 1
fi
echo "total: $passed passed, $failures failed, $skipped skipped"
