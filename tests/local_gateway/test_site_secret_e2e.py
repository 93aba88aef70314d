"""Release 4.1's site-wide secret through the local gateway: the gateway sends the first of
``WEBSOCKETS["gateway_secret"]`` as ``X-Ws-Gateway-Secret`` on every callback (as API Gateway
does once ``updateApiGatewayIntegrations`` mapped it), and Django refuses callbacks without it."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from django_aws_api_gateway_websockets.wire import SETTINGS_SECRET_HEADER

from .test_e2e import open_socket, recv_json

pytestmark = pytest.mark.django_db(transaction=True)

SENT = "sent-first-" + "a" * 32
ALSO = "accepted-too-" + "b" * 32
OTHER = "another-one-" + "c" * 32


@pytest.fixture
def bare_gateway(live_server) -> ApiGateway:
    """A gateway with no secret of its own: only the site-wide one authenticates it."""
    return ApiGateway.objects.create(
        api_name="SiteSecret",
        target_base_endpoint=f"{live_server.url}/ws/",
        default_channel_name="lobby",
    )


def test_the_gateway_sends_the_site_secret_and_django_enforces_it(
    local_gateway, bare_gateway, browser, settings
):
    settings.WEBSOCKETS = {"gateway_secret": [SENT, ALSO], "require_gateway_secret": False}
    local_gateway.serve(bare_gateway)
    with open_socket(local_gateway, bare_gateway, browser) as ws:
        ws.send(json.dumps({"handler": "echo", "text": "authenticated"}))
        assert recv_json(ws)["echo"] == "authenticated"
        # Django now accepts only OTHER; the gateway still sends SENT (as an integration
        # not yet updated would): the message is refused.
        settings.WEBSOCKETS = {"gateway_secret": OTHER}
        ws.send(json.dumps({"handler": "echo", "text": "stale"}))
        assert ws.recv(timeout=5) == "Gateway authentication failed"
    with pytest.raises(InvalidStatus) as refused, open_socket(local_gateway, bare_gateway, browser):
        pass
    assert refused.value.response.status_code == 403
    assert WebSocketSession.objects.count() == 1


def test_a_client_cannot_supply_the_site_secret(local_gateway, bare_gateway, browser, settings):
    """The header is the gateway's: one sent by the browser is dropped, not forwarded."""
    settings.WEBSOCKETS = {"gateway_secret": SENT}
    local_gateway.serve(bare_gateway)
    settings.WEBSOCKETS = {"gateway_secret": OTHER}  # the gateway keeps sending SENT
    with (
        pytest.raises(InvalidStatus) as refused,
        connect(
            local_gateway.url(bare_gateway, ws_token=browser.quick_token()),
            additional_headers={"Cookie": browser.cookie, SETTINGS_SECRET_HEADER: OTHER},
            origin=local_gateway.origin,
            open_timeout=10,
        ),
    ):
        pass
    assert refused.value.response.status_code == 403
    assert not WebSocketSession.objects.exists()
