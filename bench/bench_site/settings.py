"""Settings of the benchmark site: PostgreSQL from BENCH_DATABASE_URL, nothing else enabled
beyond what the callbacks need (sessions and auth middleware, as a real site has)."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
# The host by name too: the existing package compares the Host header with the list literally.
ALLOWED_HOSTS = ["*", "bench.example.com"]
USE_TZ = True
ROOT_URLCONF = "bench_site.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django_aws_api_gateway_websockets",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
AWS_REGION_NAME = "us-east-1"
AWS_ACCESS_KEY_ID = "bench"
AWS_SECRET_ACCESS_KEY = "bench"
WEBSOCKETS = {
    "rate_limit_max_attempts": 1000,
    "gateway_cache_seconds": float(os.environ.get("BENCH_GATEWAY_CACHE_SECONDS", "5")),
}

_url = urlsplit(
    os.environ.get("BENCH_DATABASE_URL", "postgresql://wsuser:wspass@127.0.0.1:54329/wsbench")
)
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(_url.path.lstrip("/")),
        "USER": unquote(_url.username or ""),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": _url.hostname or "",
        "PORT": str(_url.port or ""),
        "CONN_MAX_AGE": 600,
        # BENCH_SERVER_SIDE_BINDING=1: psycopg binds parameters on the server (Django's
        # "server_side_binding" option) and prepares a statement a connection has run 5 times
        # ("prepare_threshold"; Django's default None never prepares).
        "OPTIONS": {
            "server_side_binding": os.environ.get("BENCH_SERVER_SIDE_BINDING") == "1",
            "prepare_threshold": 5 if os.environ.get("BENCH_SERVER_SIDE_BINDING") == "1" else None,
        },
    }
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
