"""The callback's wire contract, defined once.

What API Gateway (or the local gateway) sends Django on every ``$connect``, message and
``$disconnect``, and what a connection id looks like. The view reads these names, ``testing``
forges callbacks from them, ``routes`` tells provisioning which headers to map, and the local
gateway sends them: none of them spells a header name or a default on its own.
"""

from __future__ import annotations

import base64
import os
import re
from typing import Protocol

#: The header API Gateway is configured to send with the gateway's secret on every callback.
SECRET_HEADER = "X-Gateway-Secret"  # noqa: S105 - a header name
#: The header carrying the site-wide secret of ``WEBSOCKETS["gateway_secret"]`` (release 4.1's
#: name), sent by every gateway beside its own secret.
SETTINGS_SECRET_HEADER = "X-Ws-Gateway-Secret"  # noqa: S105 - a header name
#: The header carrying the connection id (mapped from ``context.connectionId``).
CONNECTION_ID_HEADER = "connectionId"
#: The header carrying the client's IP (mapped from ``context.identity.sourceIp``).
CLIENT_IP_HEADER = "X-Real-Ip"
#: API Gateway's own requests (messages, ``$disconnect``) carry ``User-Agent:
#: AmazonAPIGateway_<api id>``; ``$connect`` carries the browser's.
USER_AGENT_PREFIX = "AmazonAPIGateway_"
#: The stage a gateway row deploys to when its ``stage_name`` is blank.
DEFAULT_STAGE = "production"

#: Where each header's value comes from in API Gateway's request context (the integration's
#: ``requestParameters``; the secret is a static value added per gateway).
CONTEXT_HEADERS: dict[str, str] = {
    CONNECTION_ID_HEADER: "context.connectionId",
    CLIENT_IP_HEADER: "context.identity.sourceIp",
}

#: A connection id as API Gateway issues them: URL-safe base64 (``Llf4ceE2NjMCF7w=``). The
#: view refuses anything else before any query; the local gateway's Management API the same.
CONNECTION_ID_RE = re.compile(r"^[A-Za-z0-9_=-]{1,128}$")


class Staged(Protocol):
    """Anything with a ``stage_name`` (an ``ApiGateway`` row); this module imports no model."""

    @property
    def stage_name(self) -> str: ...


def stage_name(gateway: Staged) -> str:
    """The gateway's stage: its ``stage_name``, else :data:`DEFAULT_STAGE`."""
    return gateway.stage_name or DEFAULT_STAGE


def user_agent(api_id: str) -> str:
    """The ``User-Agent`` of API Gateway's own requests for the API ``api_id``."""
    return f"{USER_AGENT_PREFIX}{api_id}"


def new_connection_id() -> str:
    """A fresh connection id shaped like AWS's: 16 URL-safe base64 characters ending in ``=``."""
    return base64.urlsafe_b64encode(os.urandom(11)).decode("ascii")


def is_connection_id(value: str) -> bool:
    """Whether ``value`` is shaped like a connection id (see :data:`CONNECTION_ID_RE`)."""
    return CONNECTION_ID_RE.match(value) is not None
