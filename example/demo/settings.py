"""Settings of the demo: a chat site on SQLite whose WebSockets go through the local gateway."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DEMO_SECRET_KEY", "demo-only-not-a-secret")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_aws_api_gateway_websockets",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "demo.urls"
WSGI_APPLICATION = "demo.wsgi.application"

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

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DEMO_DB", str(BASE_DIR / "db.sqlite3")),
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "/static/"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# The Management API client needs a region and credentials; the local gateway accepts any
# signature, and explicit dummy keys stop boto3 from searching the machine for real ones.
AWS_REGION_NAME = "us-east-1"
AWS_ACCESS_KEY_ID = "local"
AWS_SECRET_ACCESS_KEY = "local"  # noqa: S105 - not a secret: the local gateway checks nothing

WEBSOCKETS = {
    # The demo's gateway has a secret (scripts/demo.sh creates it): refuse callbacks without it.
    "require_gateway_secret": True,
    # The page may be opened as localhost or 127.0.0.1.
    "allowed_origin_hosts": ["127.0.0.1", "localhost"],
    # "chat:<room>": who is online (presence), and the last 200 messages of a day (history),
    # which a page that was disconnected recovers when it reconnects.
    "channel_namespaces": {
        "chat": {"presence": True, "history_size": 200, "history_ttl_seconds": 86400},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_aws_api_gateway_websockets": {"handlers": ["console"], "level": "INFO"},
    },
}
