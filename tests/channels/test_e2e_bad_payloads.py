"""Bad subscribe payloads through a real socket: each is answered with the clear error frame
(Django's 400 text, which the gateway passes on), never API Gateway's ``Internal server error``
(a 500), and the connection goes on working."""

from __future__ import annotations

import json

import pytest

from django_aws_api_gateway_websockets.models import ApiGateway, ChannelSubscription
from django_aws_api_gateway_websockets.views import INVALID_SUBSCRIBE
from tests.channels.sockets import Browser, ask

pytestmark = pytest.mark.django_db(transaction=True)

BAD_SINCE = [
    "1",
    0,
    [1, "abc"],
    {"offset": -1, "epoch": "abc"},
    {"offset": 2**63, "epoch": "abc"},
    {"offset": 1.0, "epoch": "abc"},
    {"offset": True, "epoch": "abc"},
    {"offset": 1, "epoch": ""},
    {"offset": 1, "epoch": "a" * 17},
    {"offset": 1, "epoch": "white space"},
    {"offset": 1, "epoch": 7},
    {"offset": 1},
    {"offset": 1, "epoch": "abc", "extra": 1},
]


@pytest.fixture
def gateway(live_gateway) -> ApiGateway:
    return live_gateway


def test_bad_subscribe_payloads_get_a_clear_error_frame(local_gateway, gateway):
    local_gateway.serve(gateway)
    bodies = [
        {"handler": "subscribe"},
        {"handler": "subscribe", "channels": []},
        {"handler": "subscribe", "channels": "news:1"},
        {"handler": "subscribe", "channels": [{"channel": "bad name"}]},
        {"handler": "unsubscribe", "channels": [{"channel": "news:1"}]},
        *(
            {"handler": "subscribe", "channels": [{"channel": "news:1", "since": since}]}
            for since in BAD_SINCE
        ),
    ]
    with Browser("alice").open(local_gateway, gateway) as ws:
        for body in bodies:
            ws.send(json.dumps(body))
            assert ws.recv(timeout=30) == INVALID_SUBSCRIBE, body
        assert not ChannelSubscription.objects.exists()  # nothing half-done
        # A valid one with a position the stream never had: an explicit recovered: false.
        since = {"offset": 5, "epoch": "abc"}
        [entry] = ask(
            ws, {"handler": "subscribe", "channels": [{"channel": "news:1", "since": since}]}
        )["channels"]
        assert (entry["recovered"], entry["publications"]) == (False, [])
    assert [e for e in local_gateway.events() if e.kind == "message" and e.status >= 500] == []
