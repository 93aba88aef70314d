"""The broadcast chunk as a task of Django's tasks framework: ``django.tasks`` on Django 6.0+,
the ``django-tasks`` package (``pip install django-aws-api-gateway-websockets[tasks]``) on 5.2.

Enable it with one setting::

    WEBSOCKETS = {
        "broadcast_dispatcher": "django_aws_api_gateway_websockets.messaging.tasks.enqueue",
    }

``send_message_later`` then enqueues one :func:`deliver_broadcast_range` task per chunk of
``broadcast_chunk_size`` primary keys (:mod:`.ranges`) on the default task backend, when the
transaction commits. Nothing in the package imports this module: importing it needs one of the
two frameworks, and a missing one is an ``ImproperlyConfigured`` naming the extra.

The tasks framework does not retry. A worker killed mid-chunk (``django-tasks-db``'s
``db_worker``) leaves its task ``RUNNING``; :func:`requeue_stalled` (run it periodically)
enqueues such chunks again, at least once each.
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from .ranges import RangeDispatcher, deliver_range

EXTRA = "django-aws-api-gateway-websockets[tasks]"


def _framework() -> Any:
    """``django.tasks`` (Django 6.0+), else the ``django_tasks`` backport."""
    for name in ("django.tasks", "django_tasks"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImproperlyConfigured(f"Django's tasks framework is missing: pip install {EXTRA}")


_tasks = _framework()


@_tasks.task()  # type: ignore[untyped-decorator]  # the framework is imported by name
def deliver_broadcast_range(job: dict[str, Any]) -> dict[str, int]:
    """Deliver one chunk (a :class:`.ranges.RangeBroadcast` as a dict); its counts per
    status are the task's result."""
    sessions = apps.get_model("django_aws_api_gateway_websockets", "WebSocketSession")
    return deliver_range(sessions._default_manager.all(), job).summary()


def _enqueue(job: dict[str, Any]) -> Any:
    return deliver_broadcast_range.enqueue(job)


#: The ``broadcast_dispatcher``: each chunk's task result handle (``None`` until commit).
enqueue = RangeDispatcher(_enqueue)


def requeue_stalled(older_than: timedelta = timedelta(minutes=10)) -> int:
    """Enqueue again every broadcast chunk a ``django-tasks-db`` worker started more than
    ``older_than`` ago and never finished (the worker died); each stalled task is marked failed
    first, in one conditional update, so two callers never requeue the same chunk. Returns the
    number requeued. Pick ``older_than`` well above the longest chunk's run time."""
    try:
        results = importlib.import_module("django_tasks_db.models").DBTaskResult.objects
    except ImportError as error:
        raise ImproperlyConfigured(f"requeue_stalled needs django-tasks-db: {error}") from None
    cutoff = timezone.now() - older_than
    stalled = results.filter(
        status="RUNNING", task_path=deliver_broadcast_range.module_path, started_at__lt=cutoff
    )
    requeued = 0
    for row in stalled:
        claimed = results.filter(pk=row.pk, status="RUNNING").update(
            status="FAILED",
            finished_at=timezone.now(),
            exception_class_path="django_aws_api_gateway_websockets.WorkerLost",
        )
        if claimed:
            deliver_broadcast_range.enqueue(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
            requeued += 1
    return requeued
