"""Pieces of the local gateway on their own: route selection, frame limits, ids, limits, and
the served configuration taken from routes.py."""

from __future__ import annotations

import re
import struct
from datetime import UTC

import pytest

from django_aws_api_gateway_websockets import routes
from django_aws_api_gateway_websockets.local_gateway import Limits, RouteSelector, spec_for_gateway
from django_aws_api_gateway_websockets.local_gateway.config import rewrite_origin
from django_aws_api_gateway_websockets.local_gateway.frames import FrameScanner
from django_aws_api_gateway_websockets.local_gateway.ids import new_api_id, new_trace_id
from django_aws_api_gateway_websockets.local_gateway.management_api import iso8601
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute
from django_aws_api_gateway_websockets.wire import new_connection_id

KEYS = {"$connect", "$disconnect", "$default", "echo", "chat/say", "1", "true", "a.b"}


@pytest.mark.parametrize(
    ("expression", "text", "expected"),
    [
        ("$request.body.action", '{"action": "echo"}', "echo"),
        ("$request.body.action", '{"action": "ECHO"}', "$default"),
        ("$request.body.action", '{"action": 1}', "1"),
        ("$request.body.action", '{"action": true}', "true"),
        ("$request.body.action", '{"action": null}', "$default"),
        ("$request.body.action", '{"other": "echo"}', "$default"),
        ("$request.body.action", "echo", "$default"),
        ("$request.body.action", '["echo"]', "$default"),
        ("$request.body.action", '"echo"', "$default"),
        ("$request.body.action", '{"action": "$connect"}', "$default"),
        ("$request.body.action", '{"action": "$disconnect"}', "$default"),
        ("$request.body.meta.route", '{"meta": {"route": "echo"}}', "echo"),
        ("$request.body['action']", '{"action": "echo"}', "echo"),
        ("$request.body.list.0", '{"list": ["echo"]}', "echo"),
        (
            "${request.body.service}/${request.body.action}",
            '{"service": "chat", "action": "say"}',
            "chat/say",
        ),
        ("${request.body.service}/${request.body.action}", '{"service": "chat"}', "$default"),
        ("${request.body.a}.${request.body.b}", '{"a": "a", "b": "b"}', "a.b"),
        ("$request.header.x-route", '{"action": "echo"}', "$default"),
        ("", '{"action": "echo"}', "$default"),
    ],
)
def test_route_selection(expression, text, expected):
    assert RouteSelector.parse(expression).select(text, KEYS) == expected


def test_no_default_route_selects_nothing():
    selector = RouteSelector.parse("$request.body.action")
    assert selector.select('{"action": "nope"}', {"echo"}) is None
    assert selector.select("garbage", {"echo"}) is None
    assert selector.select('{"action": "echo"}', {"echo"}) == "echo"


def frame(length: int, opcode: int = 1, masked: bool = True) -> bytes:
    first = 0x80 | opcode
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head = struct.pack("!BB", first, mask_bit | length)
    elif length < 65536:
        head = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, length)
    return head + (b"mask" if masked else b"") + b"x" * length


@pytest.mark.parametrize("size", [1, 125, 126, 1000, 65535, 65536, 70000])
@pytest.mark.parametrize("masked", [True, False])
def test_frame_scanner_sizes(size, masked):
    assert FrameScanner(limit=size).feed(frame(size, masked=masked)) is None
    assert FrameScanner(limit=size - 1).feed(frame(size, masked=masked)) == size
    assert FrameScanner(limit=0).feed(frame(0, masked=masked)) is None


def test_frame_scanner_follows_a_stream_fed_byte_by_byte():
    stream = frame(10) + frame(200, opcode=0) + frame(5, opcode=9) + frame(300)
    scanner = FrameScanner(limit=250)
    results = [scanner.feed(stream[i : i + 1]) for i in range(len(stream))]
    assert [r for r in results if r is not None] == [300]
    # control frames are not data: a limit below their size does not apply to them
    assert FrameScanner(limit=3).feed(frame(5, opcode=9) + frame(3)) is None


def test_ids_look_like_aws():
    assert re.fullmatch(r"[A-Za-z0-9_-]{15}=", new_connection_id())
    assert len({new_connection_id() for _ in range(1000)}) == 1000
    assert re.fullmatch(r"[a-z0-9]{10}", new_api_id())
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", new_trace_id())


def test_iso8601():
    from datetime import datetime

    moment = datetime(2024, 5, 1, 12, 0, 3, 45678, tzinfo=UTC)
    assert iso8601(moment) == "2024-05-01T12:00:03.045Z"


def test_limits_defaults_and_validation():
    limits = Limits()
    assert (limits.max_frame_bytes, limits.max_message_bytes) == (32 * 1024, 128 * 1024)
    assert (limits.idle_timeout, limits.max_connection_age) == (600, 7200)
    assert (limits.connections_per_second, limits.max_post_bytes) == (500, 131072)
    assert limits.replace(idle_timeout=1).idle_timeout == 1
    with pytest.raises(ValueError, match="must not be negative"):
        Limits(connections_per_second=-1)
    with pytest.raises(ValueError, match="must be positive"):
        Limits(idle_timeout=0)


def test_rewrite_origin():
    assert rewrite_origin("https://www.example.com/ws/connect?x=1", "http://localhost:8000") == (
        "http://localhost:8000/ws/connect?x=1"
    )
    assert rewrite_origin("https://a/b", None) == "https://a/b"


@pytest.mark.django_db
def test_spec_comes_from_routes_py():
    gateway = ApiGateway.objects.create(
        api_name="Spec",
        api_id="specapi001",
        target_base_endpoint="https://www.example.com/ws/",
        secret="top",
        stage_name="dev",
        route_selection_expression="${request.body.service}/${request.body.action}",
    )
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway,
        name="say",
        route_key="chat/say",
        integration_url="https://api.example/say",
    )
    spec = spec_for_gateway(gateway)
    described = {r.route_key: r for r in routes.gateway_routes(gateway)}
    assert set(spec.routes) == set(described) == {"$connect", "$disconnect", "$default", "chat/say"}
    for key, target in spec.routes.items():
        integration = described[key].integration
        assert target.uri == integration.uri
        assert dict(target.mapped_headers) == integration.mapped_headers()
        assert target.timeout == integration.timeout_ms / 1000
        assert target.two_way == described[key].two_way
    assert spec.routes["$default"].mapped_headers == {
        "connectionId": "context.connectionId",
        "X-Real-Ip": "context.identity.sourceIp",
        "X-Gateway-Secret": "'top'",
    }
    assert (spec.api_id, spec.stage, spec.prefix) == ("specapi001", "dev", "/specapi001")
    assert spec.warnings() == []
    backend = spec_for_gateway(gateway, "http://127.0.0.1:9999")
    assert backend.routes["chat/say"].uri == "http://127.0.0.1:9999/say"


def test_spec_without_base_endpoint_or_id():
    gateway = ApiGateway(api_name="Bare", api_id="bare000001")
    assert spec_for_gateway(gateway).routes == {}
    with pytest.raises(ValueError, match="no api_id"):
        spec_for_gateway(ApiGateway(api_name="No id"))
    odd = spec_for_gateway(
        ApiGateway(api_name="Odd", api_id="odd0000001", route_selection_expression="constant")
    )
    assert odd.warnings()
