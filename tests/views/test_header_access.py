"""The views read headers from ``META`` by name (views/base.py) rather than through
``request.headers``; the answers must be the same as ``request.headers``' for every name."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from django_aws_api_gateway_websockets.views.base import (
    has_header,
    header,
    meta_key,
    optional_header,
)

SENT = {
    "X-Real-Ip": "10.1.2.3",
    "x-amzn-apigateway-api-id": "abc1234567",
    "X-Ws-Gateway-Secret": "",  # sent, but empty
    "Cookie": "a=1",
}
NAMES = [
    *SENT,
    "X-REAL-IP",
    "Content-Type",
    "Content-Length",
    "Origin",
    "X-Forwarded-For",
    "Connectionid",
]


@pytest.fixture
def request_():
    return RequestFactory().post(
        "/ws/default", data=b"{}", content_type="application/json", headers=SENT
    )


@pytest.mark.parametrize("name", NAMES)
def test_the_same_answers_as_request_headers(request_, name) -> None:
    assert header(request_, name) == request_.headers.get(name, "")
    assert header(request_, name, "absent") == request_.headers.get(name, "absent")
    assert optional_header(request_, name) == request_.headers.get(name)
    assert has_header(request_, name) is (name in request_.headers)


def test_meta_keys() -> None:
    assert meta_key("X-Real-Ip") == "HTTP_X_REAL_IP"
    assert meta_key("content-type") == "CONTENT_TYPE"  # WSGI keeps these two unprefixed
    assert meta_key("Content-Length") == "CONTENT_LENGTH"


def test_an_empty_header_is_sent_not_missing(request_) -> None:
    assert optional_header(request_, "X-Ws-Gateway-Secret") == ""
    assert optional_header(request_, "X-Gateway-Secret") is None
