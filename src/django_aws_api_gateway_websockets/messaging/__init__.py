"""Sending: one payload posted to many connections through the Management API.

A send starts at a model (``WebSocketSession.objects.send_message``, a queryset's
``send_message`` or ``send_message_later``, a session's ``send_message``), which delegates to
:mod:`.recipients`: the connected rows and their Management API endpoints, read in one query.
:func:`deliver` (:mod:`.delivery`, the one place that picks a transport) posts to each
``(connection_id, endpoint)`` pair and returns an :class:`Outcome` per connection; one failure
never stops delivery to the others. Connections API Gateway reports gone are then marked
disconnected.

The parts:

* :mod:`.outcomes`: the message (:func:`encode`), :class:`Outcome`, :class:`SendResult`,
  :class:`Broadcast`, which errors are retried and the :class:`RetryPolicy` (capped exponential
  backoff with full jitter, on both transports), shared by both transports;
* :mod:`.boto3_transport`: ``post_to_connection`` on boto3 clients from a pool of
  ``send_concurrency`` threads, and the shared clients of the real factory;
* :mod:`.lean`: the lean transport, requests signed by botocore's SigV4 signer on kept-alive
  HTTP/1.1 connections, up to ``lean_in_flight`` in flight on one event loop;
* :mod:`.delivery`: which of the two a post takes, and why (the rule is written there once);
* :mod:`.recipients`: the glue between session rows and posts.

Every name this module exported when it was a single file is importable from here.
"""

from ..aws import error_code
from .boto3_transport import ClientFactory, clear_client_cache, fan_out, post_one, shared_client
from .delivery import deliver, transport_for
from .outcomes import (
    MAX_MESSAGE_SIZE,
    RETRIED_CONNECTION_ERRORS,
    THROTTLING_CODES,
    Broadcast,
    Outcome,
    RetryPolicy,
    SendResult,
    Status,
    Tried,
    call_with_retries,
    classify,
    encode,
    is_gone,
    is_retryable,
)

__all__ = [
    "MAX_MESSAGE_SIZE",
    "RETRIED_CONNECTION_ERRORS",
    "THROTTLING_CODES",
    "Broadcast",
    "ClientFactory",
    "Outcome",
    "RetryPolicy",
    "SendResult",
    "Status",
    "Tried",
    "call_with_retries",
    "classify",
    "clear_client_cache",
    "deliver",
    "encode",
    "error_code",
    "fan_out",
    "is_gone",
    "is_retryable",
    "post_one",
    "shared_client",
    "transport_for",
]
