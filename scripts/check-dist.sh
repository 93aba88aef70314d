#!/usr/bin/env bash
# Build the sdist and the wheel, check them with twine, and install the wheel in a fresh
# virtualenv where a brand-new Django project with the app installed passes `manage.py check`.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
out=.cache/dist
rm -rf "$out" .cache/dist-venv .cache/dist-project
mkdir -p "$out"
"$python" -m build --outdir "$out" . >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 1; }
"$python" -m twine check --strict "$out"/*.whl "$out"/*.tar.gz
wheel="$(ls "$out"/*.whl)"
contents="$(unzip -l "$wheel")"
for needed in py.typed static/django_aws_api_gateway_websockets/client.js \
  static/django_aws_api_gateway_websockets/channels.js \
  templatetags/aws_websockets.py migrations/0001_initial.py; do
  grep -q "django_aws_api_gateway_websockets/$needed" <<<"$contents" \
    || { echo "the wheel lacks $needed" >&2; exit 1; }
done
"$python" -m venv .cache/dist-venv
.cache/dist-venv/bin/python -m pip install -q --disable-pip-version-check "$wheel"
mkdir -p .cache/dist-project
(
  cd .cache/dist-project
  ../dist-venv/bin/django-admin startproject tiny .
  sed -i 's/^INSTALLED_APPS = \[/INSTALLED_APPS = [\n    "django_aws_api_gateway_websockets",/' tiny/settings.py
  echo 'AWS_GATEWAY_REGION_NAME = "eu-west-1"' >>tiny/settings.py
  cat >>tiny/urls.py <<'PY'
from django_aws_api_gateway_websockets.views import WebSocketTokenView  # noqa: E402

urlpatterns.append(path("ws-token/", WebSocketTokenView.as_view(), name="websocket_token"))
PY
  ../dist-venv/bin/python -W error manage.py check --fail-level WARNING
  ../dist-venv/bin/python manage.py migrate --verbosity 0
  DJANGO_SETTINGS_MODULE=tiny.settings ../dist-venv/bin/python -W error -c "
import django; django.setup()
from django_aws_api_gateway_websockets import admin, messaging, mixins, models, provisioning, views
print('the installed wheel imports with Django', django.get_version())"
)
echo "sdist and wheel OK: $(ls "$out")"
