"""The callback view is exempt from CSRF protection (API Gateway's callbacks carry no CSRF token;
the gateway's secret authenticates them): through the test client enforcing CSRF checks, and
through ``CsrfViewMiddleware.process_view`` for ``WebSocketView`` and for a subclass that
overrides ``dispatch`` (``as_view`` marks the view function; no wrapper is built per callback).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.test import Client, RequestFactory

from django_aws_api_gateway_websockets.models import WebSocketSession
from django_aws_api_gateway_websockets.testing import GatewayCallbacks
from django_aws_api_gateway_websockets.views import WebSocketView

pytestmark = pytest.mark.django_db


def test_callbacks_pass_a_client_that_enforces_csrf(callbacks, gateway) -> None:
    assert callbacks.connect("c1=", token=callbacks.token()).status_code == 200
    strict = GatewayCallbacks(Client(enforce_csrf_checks=True), gateway)
    assert strict.message("c1=", {"handler": "echo", "text": "hi"}).json()["echo"] == "hi"
    assert strict.disconnect("c1=").status_code == 200
    row = WebSocketSession.objects.get()
    assert (row.request_count, row.connected) == (3, False)


class OwnDispatchView(WebSocketView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return super().dispatch(request, *args, **kwargs)


def plain_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@pytest.mark.parametrize(
    ("view", "exempt"),
    [
        (WebSocketView.as_view(), True),
        (OwnDispatchView.as_view(), True),
        (plain_view, False),  # the control: the middleware does refuse this POST
    ],
)
def test_the_middleware_lets_the_view_through(view, exempt) -> None:
    middleware = CsrfViewMiddleware(lambda request: HttpResponse())
    request = RequestFactory().post("/ws/default", data=b"{}", content_type="application/json")
    request._dont_enforce_csrf_checks = False
    refused = middleware.process_view(request, view, (), {})
    assert (refused is None) is exempt
    if not exempt:
        assert refused is not None and refused.status_code == 403
