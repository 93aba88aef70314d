"""Helpers for your own tests: callbacks as API Gateway sends them, and an outbox for pushes.

Part of the public API, like Channels' ``channels.testing``:

- :func:`make_gateway` (:mod:`.gateways`): an ``ApiGateway`` row for tests (what the
  ``ws_gateway`` fixture returns).
- :class:`GatewayCallbacks`, :func:`callback_headers` (:mod:`.callbacks`): ``$connect``,
  messages and ``$disconnect`` through Django's test client, with exactly the headers, secret and
  body API Gateway sends; :func:`new_connection_id` an id shaped like AWS's.
- :func:`capture_messages`, :class:`Outbox`, :class:`SentMessage` (:mod:`.outbox`): record what
  ``send_message`` posts instead of sending it.
- :mod:`.local_gateway`: :class:`~.local_gateway.LocalGatewayFixture`, what the ``local_gateway``
  fixture returns (needs the ``[local]`` extra, so it is not imported here).
- :mod:`.pytest_plugin`: the pytest plugin (registered as an entry point) with the
  ``ws_gateway``, ``ws_outbox`` and ``local_gateway`` fixtures.

::

    callbacks = GatewayCallbacks(client, gateway)
    callbacks.connect("conn-1", token=callbacks.token(), channel="room")
    with capture_messages() as outbox:
        WebSocketSession.objects.get(connection_id="conn-1").send_message({"hello": "world"})
    assert outbox.data_for("conn-1") == [{"hello": "world"}]
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ..wire import new_connection_id

if TYPE_CHECKING:
    from .callbacks import GatewayCallbacks, callback_headers
    from .gateways import make_gateway
    from .outbox import Outbox, SentMessage, capture_messages

__all__ = [
    "GatewayCallbacks",
    "Outbox",
    "SentMessage",
    "callback_headers",
    "capture_messages",
    "make_gateway",
    "new_connection_id",
]

#: The module of each helper that needs Django. They are imported on first use: pytest imports
#: this package (for :mod:`.pytest_plugin`) before Django is set up.
_MODULES = {
    "GatewayCallbacks": "callbacks",
    "callback_headers": "callbacks",
    "Outbox": "outbox",
    "SentMessage": "outbox",
    "capture_messages": "outbox",
    "make_gateway": "gateways",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
