"""The Celery app of the broadcast worker tests (tests/messaging/test_broadcast_workers.py):
Redis at ``REDIS_URL`` as the broker, the package's broadcast task, Django's test settings."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

app = Celery(
    "tests",
    broker=os.environ.get("REDIS_URL", "redis://127.0.0.1:63799/0"),
    include=["django_aws_api_gateway_websockets.messaging.celery"],
)
app.conf.update(
    worker_prefetch_multiplier=1,  # a killed worker holds one chunk, not a batch of them
    task_ignore_result=True,
    worker_hijack_root_logger=False,
)
app.set_default()
