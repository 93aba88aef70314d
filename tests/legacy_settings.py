"""Settings for the subprocesses of tests/migrations/test_migrations.py (see
tests/support/legacy_db.py).

The same module serves the old package (when its unpacked wheel comes first on PYTHONPATH) and
ours, so it only names things both have. ``WS_MIGRATION_DB`` names the database:
``sqlite:///abs/path.sqlite3``, ``postgresql://user:pass@host:port/name`` or
``mysql://user:pass@host:port/name`` (MariaDB).
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from django.urls import URLPattern

from tests.support.legacy_db import SECRET_KEY  # noqa: F401 - also used to check hashed tokens

USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = __name__
urlpatterns: list[URLPattern] = []

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django_aws_api_gateway_websockets",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
AWS_REGION_NAME = "us-east-1"
WEBSOCKETS: dict[str, object] = {}
# No token URL in this URLconf; the gateway-secret warning is expected before 0011 has run.
SILENCED_SYSTEM_CHECKS = ["aws_websockets.W003", "aws_websockets.W005"]


def _database(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path)}
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
        }
    if parts.scheme in ("mysql", "mariadb"):
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": {"charset": "utf8mb4"},
        }
    raise ValueError(
        f"WS_MIGRATION_DB must be a sqlite://, postgresql:// or mysql:// URL, not {url!r}"
    )


DATABASES = {"default": _database(os.environ["WS_MIGRATION_DB"])}
