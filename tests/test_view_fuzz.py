"""Property-based fuzzing of WebSocketView: whatever a client or a forger sends, the answer is a
200 or one of the documented 4xx bodies, never a 500, and nothing leaks into the body.

The example count comes from the hypothesis profile: ``HYPOTHESIS_PROFILE=ci`` (used by
``make test``) runs thousands of examples; the default profile runs a few hundred.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from django_aws_api_gateway_websockets.testing import callback_headers, capture_messages
from tests.test_views import DOCUMENTED_BODIES

pytestmark = pytest.mark.django_db

HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=0, max_size=80
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
]


@st.composite
def callbacks(draw: st.DrawFn) -> dict[str, Any]:
    route = draw(st.sampled_from(["connect", "disconnect", "default", "other-route"]))
    connection_id = draw(st.sampled_from(["known-conn=", "unknown=", ""]) | HEADER_TEXT)
    replaced = draw(st.dictionaries(st.sampled_from(HEADER_NAMES), HEADER_TEXT, max_size=4))
    removed = draw(st.lists(st.sampled_from(HEADER_NAMES), max_size=3))
    query = draw(
        st.dictionaries(
            st.sampled_from(["channel", "ws_token", "deny", "x"]), HEADER_TEXT, max_size=3
        )
    )
    return {
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


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(call=callbacks())
def test_no_input_reaches_a_500(known_session: ApiGateway, call: dict[str, Any]) -> None:
    event = call["route"] if call["route"] in ("connect", "disconnect") else "message"
    extra: dict[str, str | None] = {name: None for name in call["removed"]}
    extra.update(call["replaced"])
    headers = callback_headers(
        known_session, call["connection_id"], event=event, host="www.example.com", extra=extra
    )
    client = Client(raise_request_exception=False)
    with capture_messages():
        response = client.post(
            f"/ws/{call['route']}",
            data=call["body"],
            content_type="application/json",
            QUERY_STRING="&".join(f"{k}={v}" for k, v in call["query"].items()),
            headers=headers,
        )
    body = response.content.decode(errors="replace")
    assert response.status_code < 500, (response.status_code, body)
    if response.status_code >= 400 and "<h1>Bad Request (400)</h1>" in body:
        # Django itself refuses a Host outside ALLOWED_HOSTS before any view runs.
        assert "Host" in call["replaced"]
    elif response.status_code >= 400:
        assert body in DOCUMENTED_BODIES or (
            body.startswith("Missing ") and body.endswith(" headers")
        ), body
        assert "s3cret-value" not in body
