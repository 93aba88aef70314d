"""The 4.1 project's settings: release 4.1's setting names (``WEBSOCKETS`` with
``gateway_secret``, ``push_changes_to_aws``, ``allowed_integration_hosts``), 4.1's check ids in
``SILENCED_SYSTEM_CHECKS``. ``WS_MIGRATION_DB`` (a database URL) names the database."""

from __future__ import annotations

import os

from tests.legacy_settings import _database

SECRET_KEY = "tests-only-not-secret"  # the driver's (tests/support/legacy_db.py): same hashes
DEBUG = False
ALLOWED_HOSTS = ["www.example.com", "testserver"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.project41.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_aws_api_gateway_websockets",
    "tests.project41",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

AWS_REGION_NAME = "eu-west-1"
AWS_ACCESS_KEY_ID = "testing"
AWS_SECRET_ACCESS_KEY = "testing"

#: Release 4.1's settings dictionary.
GATEWAY_SECRET = "p41-gateway-secret-0123456789abcdefghij"
WEBSOCKETS = {
    "token_expiry_seconds": 60,
    "token_rate_limit_per_minute": 20,
    "rate_limit_max_attempts": 20,
    "rate_limit_window_minutes": 1,
    "gateway_secret": [GATEWAY_SECRET, "p41-previous-secret-0123456789abcdefgh"],
    "push_changes_to_aws": True,
    "allowed_integration_hosts": ["www.example.com", "*.example.com"],
}
# Release 4.1's ids: its deploy warnings about views, which this project has decided on.
SILENCED_SYSTEM_CHECKS = [
    "django_aws_api_gateway_websockets.W004",
    "django_aws_api_gateway_websockets.W005",
]

DATABASES = {"default": _database(os.environ["WS_MIGRATION_DB"])}
