"""The benchmark site with django-tasks-db's database backend: the task fleet of bench/fleet.py."""

from __future__ import annotations

import django

from bench_site.settings import *  # noqa: F403
from bench_site.settings import INSTALLED_APPS

INSTALLED_APPS = [
    *INSTALLED_APPS,
    *(["django_tasks"] if django.VERSION < (6, 0) else []),
    "django_tasks_db",
]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
