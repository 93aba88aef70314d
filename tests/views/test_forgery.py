"""Forged callbacks: whoever can reach the Django site can POST to the callback URLs. Every
variant below is refused, and none of them changes a single row of any table.

The world they run against: two gateways (each with its own secret), a victim's live
connection, another user's connection on the same gateway and one on the other gateway, an
unused token of the victim's browser session, and (for the rate-limiter variants) an IP that
has used up its attempts. Connect variants carry the victim's cookie and valid token, so the
forged part is the only thing wrong with them.

``test_variants_are_many`` keeps the count honest (the issue asks for at least 30).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client, override_settings

from django_aws_api_gateway_websockets import views
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ConnectionRateLimit,
    WebSocketSession,
    WebSocketToken,
)
from django_aws_api_gateway_websockets.testing import GatewayCallbacks, callback_headers

pytestmark = pytest.mark.django_db

SECRET = "s3cret-value"  # the conftest gateway's
OTHER_SECRET = "other-secret-value"
HOST = "www.example.com"
LIMITED_IP = "203.0.113.10"  # callback_headers' default client IP


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of ours, of auth and of sessions."""
    models = [
        *apps.get_app_config("django_aws_api_gateway_websockets").get_models(),
        get_user_model(),
        Session,
    ]
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in models}


@dataclass(frozen=True)
class Forgery:
    name: str
    event: str  # connect | message | disconnect
    connection_id: str = "new-conn="
    headers: dict[str, str | None] = field(default_factory=dict)
    query: str | None = None  # raw query string; None: the victim's valid token
    body: str = ""
    gateway: str = "main"  # whose api id/secret callback_headers starts from
    path: str = "/ws/"
    expect: tuple[int, str] = (403, views.GATEWAY_FORBIDDEN)
    limited: bool = False  # the client IP has used up its $connect attempts


FORBIDDEN = (403, views.GATEWAY_FORBIDDEN)
BAD_HEADERS = (400, views.INVALID_HEADERS)
BAD_ID = (400, views.INVALID_CONNECTION_ID)
TOO_MANY = (400, views.TOO_MANY_ATTEMPTS)
OTHER_API = {"X-Amzn-Apigateway-Api-Id": "other12345"}

FORGERIES = [
    # -- the secret: missing, wrong, partial, moved, duplicated, injected ---------------------
    Forgery("connect without the secret header", "connect", headers={"X-Gateway-Secret": None}),
    Forgery("connect with an empty secret", "connect", headers={"X-Gateway-Secret": ""}),
    Forgery("connect with a guessed secret", "connect", headers={"X-Gateway-Secret": "guess"}),
    Forgery(
        "connect with a prefix of the secret", "connect", headers={"X-Gateway-Secret": SECRET[:-1]}
    ),
    Forgery(
        "connect with the secret plus one character",
        "connect",
        headers={"X-Gateway-Secret": SECRET + "0"},
    ),
    Forgery(
        "connect with the secret in upper case",
        "connect",
        headers={"X-Gateway-Secret": SECRET.upper()},
    ),
    Forgery(
        "connect with the secret padded with spaces",
        "connect",
        headers={"X-Gateway-Secret": f" {SECRET} "},
    ),
    Forgery(
        "connect with the secret in the query string",
        "connect",
        headers={"X-Gateway-Secret": None},
        query="x-gateway-secret=" + SECRET,
    ),
    Forgery(
        "connect with the secret in a cookie only",
        "connect",
        headers={"X-Gateway-Secret": None, "Cookie": f"X-Gateway-Secret={SECRET}"},
    ),
    Forgery(
        "connect with the secret under another header name",
        "connect",
        headers={"X-Gateway-Secret": None, "Gateway-Secret": SECRET, "X-Gateway-Secret-": SECRET},
    ),
    Forgery(
        "connect with duplicated secret headers joined by a proxy",
        "connect",
        headers={"X-Gateway-Secret": f"guess, {SECRET}"},
    ),
    Forgery(
        "connect with a CRLF-injected second secret header",
        "connect",
        headers={"X-Gateway-Secret": f"guess\r\nX-Gateway-Secret: {SECRET}"},
    ),
    # -- right headers, wrong gateway ------------------------------------------------------------
    Forgery(
        "connect with the other gateway's secret",
        "connect",
        headers={"X-Gateway-Secret": OTHER_SECRET},
    ),
    Forgery(
        "connect as the other gateway with this gateway's secret",
        "connect",
        headers={**OTHER_API, "X-Gateway-Secret": SECRET},
    ),
    Forgery(
        "connect from an unregistered api id",
        "connect",
        headers={"X-Amzn-Apigateway-Api-Id": "zzzz999999"},
        expect=BAD_HEADERS,
    ),
    Forgery(
        "connect with an injected api id header",
        "connect",
        headers={"X-Amzn-Apigateway-Api-Id": "abc123defg\r\nX-Gateway-Secret: x"},
        expect=BAD_HEADERS,
    ),
    Forgery(
        "connect to a pinned view from the other gateway",
        "connect",
        gateway="other",
        path="/ws-pinned/",
        expect=BAD_HEADERS,
    ),
    # -- spoofed user agents ---------------------------------------------------------------------
    Forgery(
        "connect with API Gateway's user agent and no secret",
        "connect",
        headers={"User-Agent": "AmazonAPIGateway_abc123defg", "X-Gateway-Secret": None},
    ),
    Forgery(
        "message with a browser user agent and no secret",
        "message",
        "victim=",
        headers={"User-Agent": "Mozilla/5.0", "X-Gateway-Secret": None},
        body='{"handler": "echo"}',
    ),
    Forgery(
        "disconnect with API Gateway's user agent and a wrong secret",
        "disconnect",
        "victim=",
        headers={"X-Gateway-Secret": "guess"},
    ),
    # -- replayed connection ids of other users ----------------------------------------------------
    Forgery(
        "connect replaying the victim's connection id without the secret",
        "connect",
        "victim=",
        headers={"X-Gateway-Secret": None},
    ),
    Forgery(
        "message on the victim's connection without the secret",
        "message",
        "victim=",
        headers={"X-Gateway-Secret": None},
        body='{"handler": "change_channel", "channel": "hijacked"}',
    ),
    Forgery(
        "message on the victim's connection with a wrong secret",
        "message",
        "victim=",
        headers={"X-Gateway-Secret": "guess"},
        body='{"handler": "change_channel", "channel": "hijacked"}',
    ),
    Forgery(
        "message on the victim's connection with a prefix of the secret",
        "message",
        "victim=",
        headers={"X-Gateway-Secret": SECRET[:8]},
        body='{"handler": "echo"}',
    ),
    Forgery(
        "message on another user's connection without the secret",
        "message",
        "bob-conn=",
        headers={"X-Gateway-Secret": None},
        body='{"handler": "change_channel", "channel": "hijacked"}',
    ),
    Forgery(
        "message on the victim's connection from the other gateway",
        "message",
        "victim=",
        gateway="other",
        body='{"handler": "change_channel", "channel": "hijacked"}',
        expect=(400, views.UNKNOWN_CONNECTION),
    ),
    Forgery(
        "message on the other gateway's connection from this gateway",
        "message",
        "g2-conn=",
        body='{"handler": "change_channel", "channel": "hijacked"}',
        expect=(400, views.UNKNOWN_CONNECTION),
    ),
    Forgery(
        "message with this api id and the other gateway's secret",
        "message",
        "victim=",
        headers={"X-Gateway-Secret": OTHER_SECRET},
        body='{"handler": "echo"}',
    ),
    Forgery(
        "message with a case-changed copy of the victim's id",
        "message",
        "VICTIM=",
        body='{"handler": "change_channel", "channel": "hijacked"}',
        expect=(400, views.UNKNOWN_CONNECTION),
    ),
    # -- disconnects for other users' connections -------------------------------------------------
    Forgery(
        "disconnect the victim without the secret",
        "disconnect",
        "victim=",
        headers={"X-Gateway-Secret": None},
    ),
    Forgery(
        "disconnect the victim with an empty secret",
        "disconnect",
        "victim=",
        headers={"X-Gateway-Secret": ""},
    ),
    Forgery(
        "disconnect another user without the secret",
        "disconnect",
        "bob-conn=",
        headers={"X-Gateway-Secret": None},
    ),
    Forgery(
        "disconnect the victim with the other gateway's secret",
        "disconnect",
        "victim=",
        headers={"X-Gateway-Secret": OTHER_SECRET},
    ),
    # -- oversize and malformed ids, header injection through the id ------------------------------
    Forgery("connect with a 129-character id", "connect", "a" * 129, expect=BAD_ID),
    Forgery("connect with a 100,000-character id", "connect", "a" * 100_000, expect=BAD_ID),
    Forgery("connect with an empty id", "connect", "", expect=BAD_ID),
    Forgery("connect with an id holding a NUL byte", "connect", "vic\x00tim=", expect=BAD_ID),
    Forgery("connect with an id holding SQL", "connect", "x' OR '1'='1", expect=BAD_ID),
    Forgery("connect with a non-ASCII id", "connect", "vïctim=", expect=BAD_ID),
    Forgery(
        "message with the victim's id plus a space",
        "message",
        "victim= ",
        body='{"handler": "echo"}',
        expect=BAD_ID,
    ),
    Forgery(
        "message with a CRLF-injected secret in the id",
        "message",
        f"victim=\r\nX-Gateway-Secret: {SECRET}",
        headers={"X-Gateway-Secret": None},
        body='{"handler": "echo"}',
        expect=BAD_ID,
    ),
    Forgery(
        "message with a 10,000-character id",
        "message",
        "v" * 10_000,
        body='{"handler": "echo"}',
        expect=BAD_ID,
    ),
    Forgery(
        "disconnect with a comma-joined list of ids",
        "disconnect",
        "victim=,bob-conn=",
        expect=BAD_ID,
    ),
    Forgery("disconnect with a wildcard id", "disconnect", "%", expect=BAD_ID),
    # -- X-Forwarded-For spoofing of the rate limiter (with the real secret: through the gateway) --
    Forgery(
        "connect over the limit with a spoofed X-Forwarded-For",
        "connect",
        headers={"X-Forwarded-For": "198.51.100.7"},
        limited=True,
        expect=TOO_MANY,
    ),
    Forgery(
        "connect over the limit with a prepended X-Forwarded-For entry",
        "connect",
        headers={"X-Forwarded-For": f"198.51.100.7, {LIMITED_IP}"},
        limited=True,
        expect=TOO_MANY,
    ),
    Forgery(
        "connect over the limit with an IPv6 X-Forwarded-For",
        "connect",
        headers={"X-Forwarded-For": "2001:db8::7"},
        limited=True,
        expect=TOO_MANY,
    ),
    Forgery(
        "connect over the limit with a garbage X-Forwarded-For",
        "connect",
        headers={"X-Forwarded-For": "unknown"},
        limited=True,
        expect=TOO_MANY,
    ),
    Forgery(
        "connect over the limit with X-Forwarded-For and Forwarded spoofed",
        "connect",
        headers={
            "X-Forwarded-For": "198.51.100.8",
            "Forwarded": "for=198.51.100.8",
            "X-Client-Ip": "198.51.100.8",
        },
        limited=True,
        expect=TOO_MANY,
    ),
    Forgery(
        "connect over the limit without X-Real-Ip, spoofing X-Forwarded-For",
        "connect",
        headers={"X-Real-Ip": None, "X-Forwarded-For": "198.51.100.9"},
        limited=True,
        expect=BAD_HEADERS,
    ),
]


def test_variants_are_many() -> None:
    assert len(FORGERIES) >= 30
    assert len({f.name for f in FORGERIES}) == len(FORGERIES)


@pytest.fixture
def world(gateway: ApiGateway, logged_in_client: Client, user: Any) -> dict[str, Any]:
    other = ApiGateway.objects.create(
        api_name="Other Gateway",
        api_id="other12345",
        target_base_endpoint=f"https://{HOST}/ws/",
        secret=OTHER_SECRET,
    )
    callbacks = GatewayCallbacks(logged_in_client, gateway)
    assert callbacks.connect("victim=", token=callbacks.token()).status_code == 200
    bob = get_user_model().objects.create_user("bob", password="pw")
    WebSocketSession.objects.create(connection_id="bob-conn=", user=bob, api_gateway=gateway)
    WebSocketSession.objects.create(connection_id="g2-conn=", user=bob, api_gateway=other)
    token = callbacks.token()  # unused: forged connects present it and must not consume it
    return {
        "gateways": {"main": gateway, "other": other},
        "client": logged_in_client,
        "token": token,
    }


def send(world: dict[str, Any], forgery: Forgery) -> Any:
    gateway = world["gateways"][forgery.gateway]
    event = forgery.event
    headers = callback_headers(
        gateway, forgery.connection_id, event=event, host=HOST, extra=forgery.headers
    )
    if not forgery.body:
        headers["Content-Length"] = "0"
    route = {"connect": "connect", "message": "default", "disconnect": "disconnect"}[event]
    query = forgery.query
    if query is None:
        query = urlencode({"ws_token": world["token"]}) if event == "connect" else ""
    client: Client = world["client"]
    client.raise_request_exception = False
    return client.post(
        f"{forgery.path}{route}" + (f"?{query}" if query else ""),
        data=forgery.body,
        content_type="application/json",
        headers=headers,
    )


@pytest.mark.parametrize("forgery", FORGERIES, ids=[f.name for f in FORGERIES])
def test_forgery_is_refused_and_changes_nothing(world: dict[str, Any], forgery: Forgery) -> None:
    with override_settings(WEBSOCKETS={"rate_limit_max_attempts": 2 if forgery.limited else 20}):
        if forgery.limited:
            # The victim's earlier connect is one attempt from this IP; one more fills it.
            ConnectionRateLimit.record_attempt(LIMITED_IP, successful=True)
        before = snapshot()
        response = send(world, forgery)
        after = snapshot()
    assert (response.status_code, response.content.decode()) == forgery.expect
    assert after == before
    assert not WebSocketToken.objects.get(token=world["token"]).used


def test_disconnect_of_another_gateways_connection_is_a_no_op(world: dict[str, Any]) -> None:
    """Unknown connections on ``$disconnect`` answer an idempotent ``200 {}`` (the contract);
    another gateway's connection is unknown to the caller, so nothing changes."""
    before = snapshot()
    for connection_id, gateway in [("victim=", "other"), ("g2-conn=", "main")]:
        response = send(world, Forgery("x", "disconnect", connection_id, gateway=gateway))
        assert (response.status_code, response.json()) == (200, {})
    assert snapshot() == before


def test_the_world_accepts_the_real_thing(world: dict[str, Any]) -> None:
    """Control: the same requests with nothing forged are accepted (so the refusals above are
    due to the forged part alone)."""
    ok = send(world, Forgery("real connect", "connect"))
    assert (ok.status_code, ok.json()) == (200, {})
    message = send(world, Forgery("real message", "message", "victim=", body='{"handler": "echo"}'))
    assert message.json() == {"echo": None, "user": "alice"}
    assert send(world, Forgery("real disconnect", "disconnect", "victim=")).status_code == 200
    assert not WebSocketSession.objects.get(connection_id="victim=").connected
