#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, types, then pytest on SQLite and on PostgreSQL, and
# the database-heavy tests on MariaDB. Sets up everything it needs on a fresh machine
# (virtualenv, packages, PostgreSQL, MariaDB).
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# Debian's MariaDB server and the headers the mysqlclient driver (in the test extra) builds on.
scripts/mariadb.sh install
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
# Debian's Chromium for the browser tests (Playwright drives it; it downloads no browser).
scripts/chromium.sh

# Property-based tests run the "ci" profile (tests/conftest.py): 10,000 examples of the view
# fuzzing per database, derandomised so a run is repeatable.
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"

if [ -x scripts/fetch-legacy-wheels.sh ]; then
  scripts/fetch-legacy-wheels.sh
fi

echo "== ruff"
.venv/bin/ruff check src tests
echo "== mypy"
.venv/bin/mypy
echo "== docs (mkdocs build --strict)"
.venv/bin/mkdocs build --strict --quiet --site-dir .cache/site

echo "== pytest on SQLite"
.venv/bin/pytest -p no:cacheprovider --cov --cov-report=term "$@"

echo "== pytest on PostgreSQL"
DATABASE_URL="$(scripts/postgres.sh start)" .venv/bin/pytest -p no:cacheprovider "$@"

# MariaDB: the migrations from existing-package databases, and the database paths of the
# models, views and forged callbacks (the fuzzing and the local gateway ran on the two above).
echo "== pytest on MariaDB"
DATABASE_URL="$(scripts/mariadb.sh start)" .venv/bin/pytest -p no:cacheprovider \
  tests/test_migrations.py tests/test_models.py tests/test_tokens.py tests/test_views.py \
  tests/test_forgery.py tests/test_secrets.py tests/test_reconcile.py "$@"
