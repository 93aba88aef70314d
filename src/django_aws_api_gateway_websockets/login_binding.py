"""Connections bound to the login that opened them (release 4.1's login binding).

``$connect`` records two keyed hashes on the session row (:func:`login_hashes`): the browser
session's key and the user's session auth hash (it changes with the password). Then:

- logging out (``user_logged_out``) ends every connected session of that login
  (:func:`on_user_logged_out`);
- a message from a user who was deactivated, or whose password changed, since connecting ends
  that session (:func:`login_still_valid`, asked by the view on the row it already read).

Deleting a gateway marks its connected sessions disconnected too (:func:`on_gateway_deleted`).

Ending a session marks the row disconnected and, unlike 4.1, also closes the socket: a
``DeleteConnection`` through the Management API of the session's gateway
(:func:`end_sessions`), after the transaction commits. A failure to close is logged, never
raised: the row is already closed, and API Gateway's later ``$disconnect`` is answered 200.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.utils.crypto import constant_time_compare

from . import aws
from .models import ApiGateway, WebSocketSession, hash_session_key, hash_user_auth
from .models.aws_sync import run_aws_after_commit
from .models.sessions import management_client

logger = logging.getLogger(__name__)


def login_hashes(request: Any, user_id: Any) -> tuple[str, str]:
    """``(session_key_hash, auth_hash)`` for a connection of ``request``'s login; empty
    strings for what is unknown (no browser session, no logged-in user)."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    key_hash = hash_session_key(session_key) if isinstance(session_key, str) else ""
    auth_hash = ""
    if user_id is not None:
        user = getattr(request, "user", None)
        get_hash = getattr(user, "get_session_auth_hash", None)
        if callable(get_hash) and isinstance(get_hash(), str):
            auth_hash = hash_user_auth(user)
    return key_hash, auth_hash


def login_still_valid(session: WebSocketSession) -> bool:
    """The session's user (already loaded on the row) is active and has the password it had
    on ``$connect``. Rows without a user, or from before the hashes were recorded, pass."""
    if session.user_id is None:
        return True
    user = session.user
    if user is None:
        return True
    if getattr(user, "is_active", True) is False:
        return False
    if not session.auth_hash:
        return True
    return constant_time_compare(hash_user_auth(user), session.auth_hash)


def end_sessions(sessions: Iterable[WebSocketSession]) -> int:
    """Mark ``sessions`` disconnected, then close their sockets (``DeleteConnection``) after
    the transaction commits. Returns how many rows were marked."""
    by_gateway: defaultdict[Any, list[str]] = defaultdict(list)
    gateways: dict[Any, ApiGateway] = {}
    for session in sessions:
        by_gateway[session.api_gateway_id].append(session.connection_id)
        if session.api_gateway_id is not None and session.api_gateway is not None:
            gateways[session.api_gateway_id] = session.api_gateway
    ids = [cid for group in by_gateway.values() for cid in group]
    marked = WebSocketSession.mark_disconnected(ids) if ids else 0
    for gateway_id, connection_ids in by_gateway.items():
        gateway = gateways.get(gateway_id)
        if gateway is not None:
            run_aws_after_commit(_closer(gateway, connection_ids))
    return marked


def _closer(gateway: ApiGateway, connection_ids: list[str]) -> Callable[[], None]:
    def close() -> None:
        try:
            client = management_client(aws.management_endpoint(gateway))
        except Exception:
            logger.warning("Cannot close sockets of gateway %s", gateway.pk, exc_info=True)
            return
        for connection_id in connection_ids:
            try:
                client.delete_connection(ConnectionId=connection_id)
            except Exception as error:
                if aws.error_code(error) != "GoneException":
                    logger.warning(
                        "DeleteConnection failed for %s: %s",
                        connection_id,
                        aws.describe_error(error),
                    )

    return close


def on_user_logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """``user_logged_out``: end every connected session opened by this browser login."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if not isinstance(session_key, str) or not session_key:
        return
    rows = WebSocketSession.objects.filter(
        connected=True, session_key_hash=hash_session_key(session_key)
    ).select_related("api_gateway")
    end_sessions(list(rows))


def on_gateway_deleted(sender: Any, instance: ApiGateway, **kwargs: Any) -> None:
    """``pre_delete`` of a gateway (release 4.1): its connected sessions are marked
    disconnected first (the foreign key then becomes NULL). Their sockets are not closed here:
    the API is usually being torn down with the row."""
    WebSocketSession.objects.filter(api_gateway=instance, connected=True).update(connected=False)
