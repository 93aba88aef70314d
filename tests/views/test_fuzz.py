"""Property-based fuzzing of WebSocketView: whatever a client or a forger sends, the answer is a
200 or one of the documented 4xx bodies, never a 500, and nothing leaks into the body; and
whatever a forger (no or a wrong secret) sends changes no row.

The example count comes from the hypothesis profile: ``HYPOTHESIS_PROFILE=ci`` (selected by
``scripts/test.sh``, i.e. ``make test`` and CI) runs 10,000 examples of the main property on
each database; the default profile runs a few hundred. Each example runs in its own rolled-back
transaction, so every one starts from the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import pytest
from django.apps import apps
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from django_aws_api_gateway_websockets.testing import callback_headers, capture_messages
from tests.views.test_views import DOCUMENTED_BODIES

pytestmark = pytest.mark.django_db

HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=0, max_size=80
)
# What a WSGI server can hand over in a header value: any byte, decoded as Latin-1.
HEADER_BYTES = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=255), min_size=0, max_size=80
)
QUERY_TEXT = st.one_of(
    HEADER_TEXT,
    st.text(max_size=40).map(lambda t: quote(t, safe="")),
    st.binary(max_size=40).map(lambda b: "".join(f"%{byte:02X}" for byte in b)),
)
HANDLERS = ["echo", "broadcast", "change_channel", "default", "connect", "dispatch", "_debug", ""]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | HEADER_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(HEADER_TEXT, children, max_size=3)
    ),
    max_leaves=8,
)
BODIES = st.one_of(
    st.binary(max_size=200),
    HEADER_TEXT.map(str.encode),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"handler": st.sampled_from(HANDLERS) | JSON_VALUES},
        optional={"channel": JSON_VALUES, "text": JSON_VALUES, "action": JSON_VALUES},
    ).map(lambda v: json.dumps(v).encode()),
)
HEADER_NAMES = [
    "Host",
    "X-Forwarded-For",
    "X-Real-Ip",
    "X-Amzn-Apigateway-Api-Id",
    "Connectionid",
    "User-Agent",
    "X-Gateway-Secret",
    "Origin",
    "Sec-Websocket-Key",
    "X-Amzn-Trace-Id",
    "Cookie",
    "X-Forwarded-Proto",
]
METHODS = ["POST"] * 6 + ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


@st.composite
def callbacks(draw: st.DrawFn) -> dict[str, Any]:
    route = draw(st.sampled_from(["connect", "disconnect", "default", "other-route"]))
    connection_id = draw(st.sampled_from(["known-conn=", "unknown=", ""]) | HEADER_TEXT)
    replaced = draw(
        st.dictionaries(st.sampled_from(HEADER_NAMES), HEADER_TEXT | HEADER_BYTES, max_size=4)
    )
    removed = draw(st.lists(st.sampled_from(HEADER_NAMES), max_size=3))
    query = draw(
        st.dictionaries(
            st.sampled_from(["channel", "ws_token", "deny", "x", ""]), QUERY_TEXT, max_size=3
        )
    )
    return {
        "method": draw(st.sampled_from(METHODS)),
        "route": route,
        "connection_id": connection_id,
        "replaced": replaced,
        "removed": removed,
        "query": query,
        "body": draw(BODIES),
    }


@pytest.fixture
def known_session(db: None) -> ApiGateway:
    gateway = ApiGateway.objects.create(
        api_name="fuzz",
        api_id="abc123defg",
        target_base_endpoint="https://www.example.com/ws/",
        secret="s3cret-value",
    )
    WebSocketSession.objects.create(connection_id="known-conn=", api_gateway=gateway)
    return gateway


def snapshot() -> dict[str, list[dict[str, Any]]]:
    models = apps.get_app_config("django_aws_api_gateway_websockets").get_models()
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in models}


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run one example in a transaction that is rolled back afterwards."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def send(gateway: ApiGateway, call: dict[str, Any]) -> Any:
    event = call["route"] if call["route"] in ("connect", "disconnect") else "message"
    extra: dict[str, str | None] = {name: None for name in call["removed"]}
    extra.update(call["replaced"])
    headers = callback_headers(
        gateway, call["connection_id"], event=event, host="www.example.com", extra=extra
    )
    client = Client(raise_request_exception=False)
    with capture_messages():
        return client.generic(
            call["method"],
            f"/ws/{call['route']}",
            data=call["body"],
            content_type="application/json",
            QUERY_STRING="&".join(f"{k}={v}" for k, v in call["query"].items()),
            headers=headers,
        )


def assert_documented(response: Any, call: dict[str, Any]) -> None:
    body = response.content.decode(errors="replace")
    assert response.status_code < 500, (response.status_code, body)
    if response.status_code >= 400 and "<h1>Bad Request (400)</h1>" in body:
        # Django itself refuses a Host outside ALLOWED_HOSTS before any view runs.
        assert "Host" in call["replaced"]
    elif response.status_code >= 400 and call["method"] != "HEAD":
        assert body in DOCUMENTED_BODIES or (
            body.startswith("Missing ") and body.endswith(" headers")
        ), body
    assert "s3cret-value" not in body


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(call=callbacks())
def test_no_input_reaches_a_500(known_session: ApiGateway, call: dict[str, Any]) -> None:
    with rolled_back():
        assert_documented(send(known_session, call), call)


FORGED_SECRETS = st.one_of(
    st.none(),
    st.just(""),
    HEADER_BYTES.filter(lambda v: v != "s3cret-value"),
    st.sampled_from(["s3cret-valu", "S3CRET-VALUE", "s3cret-value ", "s3cret-value\r\n"]),
)


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    max_examples=max(settings.default.max_examples // 5, 100),
)
@given(call=callbacks(), secret=FORGED_SECRETS)
def test_forged_input_changes_nothing(
    known_session: ApiGateway, call: dict[str, Any], secret: str | None
) -> None:
    """Without the gateway's secret, no request of any shape changes a row."""
    call = {**call, "replaced": {**call["replaced"], "X-Gateway-Secret": secret}}
    call["removed"] = [h for h in call["removed"] if h != "X-Gateway-Secret"]
    with rolled_back():
        before = snapshot()
        response = send(known_session, call)
        assert_documented(response, call)
        assert 400 <= response.status_code < 500
        assert snapshot() == before
