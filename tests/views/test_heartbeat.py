"""The server side of the JS client's heartbeat: every ``WebSocketView`` answers
``{"handler": "heartbeat"}`` with an empty 204 (no frame back on a two-way route)."""

from __future__ import annotations

import pytest

from django_aws_api_gateway_websockets.models import WebSocketSession
from django_aws_api_gateway_websockets.testing import GatewayCallbacks
from django_aws_api_gateway_websockets.views import WebSocketView
from tests.testapp.views import BareView, ChatView

pytestmark = pytest.mark.django_db


def test_heartbeat_answers_nothing_and_counts_as_activity(callbacks: GatewayCallbacks) -> None:
    callbacks.connect("beat-1=", token=callbacks.token(), channel="room")
    before = WebSocketSession.objects.get(connection_id="beat-1=")
    response = callbacks.message("beat-1=", {"handler": "heartbeat"})
    assert (response.status_code, response.content) == (204, b"")
    after = WebSocketSession.objects.get(connection_id="beat-1=")
    assert after.request_count == before.request_count + 1
    assert after.updated_on >= before.updated_on and after.channel_name == "room"


def test_heartbeat_with_a_route_key_as_the_client_sends_it(callbacks: GatewayCallbacks) -> None:
    callbacks.connect("beat-2=", token=callbacks.token())
    response = callbacks.message("beat-2=", {"action": "chat", "handler": "heartbeat"})
    assert response.status_code == 204


class Explicit(ChatView):
    ALLOWED_HANDLERS = {"echo"}


@pytest.mark.parametrize("view", [ChatView, BareView, Explicit])
def test_every_view_allows_heartbeat(view: type[WebSocketView]) -> None:
    assert "heartbeat" in view().ALLOWED_HANDLERS


def test_a_view_may_define_its_own_heartbeat() -> None:
    class Own(ChatView):
        def heartbeat(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
            return None

    view = Own()
    view.body = {"handler": "heartbeat"}
    assert view._select_handler() == view.heartbeat
