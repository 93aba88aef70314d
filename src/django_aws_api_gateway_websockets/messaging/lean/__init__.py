"""The lean transport: PostToConnection without boto3's per-call machinery.

boto3 spends about a millisecond of CPU on every ``post_to_connection`` (parameter validation,
serialisation, endpoint rules, event hooks, signing, urllib3, response parsing). For a broadcast
to thousands of connections that CPU is the wall. This transport does only what the wire needs,
one module per part:

* :mod:`.route`: *where* and *as whom*, read off a client of the real factory (endpoint,
  region, credentials, TLS verification, timeouts), or why the lean transport cannot honour it;
* :mod:`.botocore_view`: every read of botocore internals that needs, in one file, tested
  against the installed botocore;
* :mod:`.signing`: SigV4 from a per-broadcast template of the canonical request (held to
  botocore's signer byte for byte by the tests; botocore's own signer for the ids its path
  normalisation would change), the signing key derived once per secret, region and day, the
  payload hash once per broadcast;
* :mod:`.http`: HTTP/1.1 keep-alive connections, pooled per origin and reused across
  broadcasts, at most ``lean_in_flight`` in use per origin (why it is hand-written, with the
  figures, is in its docstring);
* :mod:`.loop`: asyncio on one event loop in a daemon thread, restarted after a fork, so the
  caller can be any synchronous code and never needs a running loop of its own;
* :mod:`.send`: the send itself (:func:`send_async` / :func:`send`).

Which transport a send uses is decided in one place, ``messaging.delivery``.
"""

from .botocore_view import intercepted
from .loop import green_threads, runner, shutdown
from .route import LeanRoute, route_of
from .send import USER_AGENT, send, send_async

__all__ = [
    "USER_AGENT",
    "LeanRoute",
    "green_threads",
    "intercepted",
    "route_of",
    "runner",
    "send",
    "send_async",
    "shutdown",
]
