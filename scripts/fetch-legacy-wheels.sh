#!/usr/bin/env bash
# Download the wheels of the existing public package that tests/migrations/test_migrations.py
# migrates from, into .cache/legacy-wheels/. Idempotent: versions already there are skipped.
#   scripts/fetch-legacy-wheels.sh            # the versions the tests need
#   scripts/fetch-legacy-wheels.sh 3.1.1 ...  # other versions, for reading their history
# Uses the project venv's pip when there is one (PIP overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
dest="$PWD/.cache/legacy-wheels"
# 3.0.3 is yanked on PyPI; pinning it with == still downloads it (the tests need its variant).
versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
  # Keep in step with LEGACY_VERSIONS in tests/support/legacy_db.py (a test compares them).
  versions=(4.1.0 4.0.0 3.0.3 3.0.0)
fi
if [ -n "${PIP:-}" ]; then
  read -r -a pip <<<"$PIP"
elif [ -x .venv/bin/python ]; then
  pip=(.venv/bin/python -m pip)
else
  pip=(python3 -m pip)
fi
mkdir -p "$dest"
for version in "${versions[@]}"; do
  if compgen -G "$dest/django_aws_api_gateway_websockets-${version}-*.whl" >/dev/null; then
    echo "have $version"
    continue
  fi
  echo "fetching $version"
  "${pip[@]}" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    "django-aws-api-gateway-websockets==${version}" -d "$dest"
done
