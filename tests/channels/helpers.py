"""What the channels tests share: a subscribe message through GatewayCallbacks."""

from __future__ import annotations

from typing import Any

from django_aws_api_gateway_websockets.testing import GatewayCallbacks


def subscribe(callbacks: GatewayCallbacks, connection_id: str, *channels: Any) -> Any:
    """Send ``subscribe`` for ``channels`` (names or ``{channel, since}`` objects); the
    ``subscribed`` frame (the answer must be a 200)."""
    body = {"handler": "subscribe", "channels": list(channels)}
    response = callbacks.message(connection_id, body)
    assert response.status_code == 200, response.content
    return response.json()
