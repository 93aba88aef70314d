"""The broadcast chunk as a Celery task (``pip install django-aws-api-gateway-websockets[celery]``).

Enable it with one setting::

    WEBSOCKETS = {
        "broadcast_dispatcher": "django_aws_api_gateway_websockets.messaging.celery.enqueue",
    }

and let your Celery app find the task (``app.autodiscover_tasks()`` does not look here: add
``"django_aws_api_gateway_websockets.messaging.celery"`` to ``include`` or import this module in
your ``celery.py``). ``send_message_later`` sends one :data:`deliver_broadcast_range` message per
chunk of ``broadcast_chunk_size`` primary keys (:mod:`.ranges`), when the transaction commits.

Retries: the message is acknowledged after the chunk ran (``acks_late``) and requeued when the
worker process running it dies (``reject_on_worker_lost``); a database error retries it with
backoff. A redelivered chunk is delivered at least once (see :mod:`.ranges`). Nothing in the
package imports this module.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from .ranges import RangeDispatcher, deliver_range

#: The task's name in Celery's registry (and in every message on the broker).
TASK_NAME = "django_aws_api_gateway_websockets.deliver_broadcast_range"

try:
    _celery = importlib.import_module("celery")
except ImportError as error:
    raise ImproperlyConfigured(
        f"Celery is missing: pip install django-aws-api-gateway-websockets[celery] ({error})"
    ) from None


@_celery.shared_task(  # type: ignore[untyped-decorator]  # Celery is imported by name
    name=TASK_NAME,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=5,
    ignore_result=True,
)
def deliver_broadcast_range(job: dict[str, Any]) -> dict[str, int]:
    """Deliver one chunk (a :class:`.ranges.RangeBroadcast` as a dict)."""
    sessions = apps.get_model("django_aws_api_gateway_websockets", "WebSocketSession")
    return deliver_range(sessions._default_manager.all(), job).summary()


def _enqueue(job: dict[str, Any]) -> Any:
    return deliver_broadcast_range.delay(job)


#: The ``broadcast_dispatcher``: each chunk's ``AsyncResult`` (``None`` until commit).
enqueue = RangeDispatcher(_enqueue)
