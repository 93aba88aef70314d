"""Release 4.1's smaller view names and behaviours: ``CHECK_CONNECT_USERAGENT``, the hooks
``session_not_found`` and ``invalid_gateway_secret``, ``EXCEPTION_MAIL_INTERVAL``, messages only
on connected rows, and both user agents tolerated on messages and ``$disconnect``."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.http import HttpResponse
from django.test import RequestFactory

from django_aws_api_gateway_websockets.models import WebSocketSession
from django_aws_api_gateway_websockets.testing import callback_headers
from django_aws_api_gateway_websockets.views import (
    UNEXPECTED_USERAGENT,
    UNKNOWN_CONNECTION,
    WebSocketView,
)

pytestmark = pytest.mark.django_db


def test_defaults() -> None:
    view = WebSocketView
    assert (view.CHECK_CONNECT_USERAGENT, view.EXCEPTION_MAIL_INTERVAL) == (False, 60)


def view_for(request: Any, cls: type[WebSocketView] = WebSocketView, **attrs: Any) -> Any:
    view = cls()
    for name, value in attrs.items():
        setattr(view, name, value)
    view.setup(request, route="connect")
    return view


class TestConnectUseragent:
    @pytest.mark.parametrize(
        ("agent", "refused"),
        [
            ("AmazonAPIGateway_abc123defg", False),  # release 4.1: API Gateway's, this API's
            ("Mozilla/5.0", True),
            ("", True),
            ("AmazonAPIGateway_otherapi12", True),
        ],
    )
    def test_on(self, gateway, agent, refused) -> None:
        headers = callback_headers(gateway, "c1=", event="connect", extra={"User-Agent": agent})
        request = RequestFactory().post("/ws/connect", headers=headers)
        response = view_for(request, CHECK_CONNECT_USERAGENT=True).check_connect_useragent(request)
        if refused:
            assert response.content.decode() == UNEXPECTED_USERAGENT
        else:
            assert response is None

    def test_the_pinned_id_wins(self, gateway) -> None:
        agent = "AmazonAPIGateway_abc123defg"
        headers = callback_headers(gateway, "c1=", event="connect", extra={"User-Agent": agent})
        request = RequestFactory().post("/ws/connect", headers=headers)
        view = view_for(request, CHECK_CONNECT_USERAGENT=True, aws_api_gateway_id="pinned1234")
        assert view.check_connect_useragent(request).content.decode() == UNEXPECTED_USERAGENT

    def test_off_by_default(self, gateway) -> None:
        headers = callback_headers(gateway, "c1=", event="connect", extra={"User-Agent": ""})
        request = RequestFactory().post("/ws/connect", headers=headers)
        assert view_for(request).check_connect_useragent(request) is None

    def test_listed_before_the_checks_that_write(self) -> None:
        checks = WebSocketView.connect_checks
        assert checks.index("check_connect_useragent") < checks.index("check_token")


class TestMessagesNeedAnOpenConnection:
    def test_a_disconnected_row_is_unknown(self, callbacks) -> None:
        assert callbacks.connect("c1=", token=callbacks.token()).status_code == 200
        assert callbacks.disconnect("c1=").status_code == 200
        response = callbacks.message("c1=", {"handler": "echo"})
        assert (response.status_code, response.content.decode()) == (400, UNKNOWN_CONNECTION)
        assert WebSocketSession.objects.get().request_count == 2  # the message was not counted

    def test_session_not_found_hook(self, callbacks, monkeypatch) -> None:
        from tests.testapp.views import ChatView

        monkeypatch.setattr(
            ChatView,
            "session_not_found",
            lambda self, request, *a, **k: HttpResponse("Invalid connection ID", status=400),
            raising=False,
        )
        response = callbacks.message("nobody=", {"handler": "echo"})
        assert (response.status_code, response.content) == (400, b"Invalid connection ID")


def ours() -> list[Any]:
    """The view's exception mails (Django's request logger may mail the admins too)."""
    return [m for m in mail.outbox if "Unexpected Websocket Exception" in m.subject]


class TestExceptionMailInterval:
    def test_one_mail_per_interval(self, callbacks) -> None:
        assert callbacks.connect("c1=", token=callbacks.token()).status_code == 200
        for _ in range(3):
            with pytest.raises(RuntimeError):
                callbacks.message("c1=", {"handler": "explode"})
        assert len(ours()) == 1

    def test_zero_mails_every_time(self, callbacks, monkeypatch) -> None:
        from tests.testapp.views import ChatView

        monkeypatch.setattr(ChatView, "EXCEPTION_MAIL_INTERVAL", 0)
        assert callbacks.connect("c1=", token=callbacks.token()).status_code == 200
        for _ in range(3):
            with pytest.raises(RuntimeError):
                callbacks.message("c1=", {"handler": "explode"})
        assert len(ours()) == 3
