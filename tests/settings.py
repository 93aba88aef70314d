"""Settings for the test suite: SQLite by default; PostgreSQL or MariaDB per DATABASE_URL."""

from __future__ import annotations

import importlib.util
import os
from urllib.parse import unquote, urlsplit

import django

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", "www.example.com"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_aws_api_gateway_websockets",
    "tests.testapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

STATIC_URL = "/static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Mail goes to the test runner's locmem outbox. Django 6.1 replaces EMAIL_BACKEND with MAILERS
# (and warns about either one missing); earlier releases need no mail setting for the tests.
# ADMINS as plain addresses from 6.0 on (pairs are deprecated there, required before).
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
if django.VERSION >= (6, 0):
    ADMINS: list[str] | list[tuple[str, str]] = ["admin@example.com"]
else:
    ADMINS = [("Admin", "admin@example.com")]

# Broadcast chunks as tasks (tests/messaging/test_broadcast_ranges.py): django-tasks-db's
# database backend, on django.tasks (Django 6.0+) or the django-tasks backport (5.2), when
# installed (the test extra installs them).
if importlib.util.find_spec("django_tasks_db"):
    INSTALLED_APPS += [*(["django_tasks"] if django.VERSION < (6, 0) else []), "django_tasks_db"]
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

AWS_REGION_NAME = "us-east-1"
AWS_ACCESS_KEY_ID = "testing"
AWS_SECRET_ACCESS_KEY = "testing"

WEBSOCKETS: dict[str, object] = {}


def _database_from_url(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    mysql = parts.scheme in ("mysql", "mariadb")
    database: dict[str, object] = {
        "ENGINE": "django.db.backends.mysql" if mysql else "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }
    if not mysql and os.environ.get("DATABASE_SERVER_SIDE_BINDING") == "1":
        # psycopg binds on the server and prepares a statement a connection has run 5 times
        # (Django's options; its default never prepares).
        database["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
    if mysql:
        database["OPTIONS"] = {"charset": "utf8mb4"}
        database["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    return database


_url = os.environ.get("DATABASE_URL", "")
if _url.startswith(("postgres://", "postgresql://", "mysql://", "mariadb://")):
    DATABASES = {"default": _database_from_url(_url)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
        }
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "root": {"handlers": ["null"]},
}
