"""The existing package's view hooks as projects use them: permission checks through
``user.has_perms``, ``as_view(debug=True)`` and ``debug_log``, the deprecated
``route_selection_key_missing``, ``post_save`` from ``change_channel``, and the admins' mail."""

from __future__ import annotations

import warnings
from typing import Any
from unittest.mock import MagicMock, patch

import django
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.db import connection
from django.db.models.signals import post_save
from django.test import RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext

from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession, hot
from django_aws_api_gateway_websockets.testing import GatewayCallbacks, callback_headers
from django_aws_api_gateway_websockets.views import WebSocketView
from tests.testapp.views import ChatView, GuardedView

pytestmark = pytest.mark.django_db


class OnlyHasPerms(AnonymousUser):
    """A user class whose ``has_perms`` answers differently from ``has_perm`` (as a project's
    custom user model may): the view must ask ``has_perms``."""

    def __init__(self, granted: set[str]) -> None:
        self.granted = granted
        self.asked: list[list[str]] = []

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        raise AssertionError("the view must ask has_perms, not has_perm")

    def has_perms(self, perm_list: Any, obj: Any = None) -> bool:
        perms = list(perm_list)
        self.asked.append(perms)
        return set(perms) <= self.granted


def request_with(user: Any) -> Any:
    request = RequestFactory().post("/ws/default")
    request.user = user
    return request


def test_permission_hooks_ask_has_perms_once_per_permission() -> None:
    view = GuardedView()
    user = OnlyHasPerms({"auth.add_user", "auth.change_user"})
    assert view.has_any_permission(request_with(user)) is True
    assert user.asked == [["auth.view_user"], ["auth.add_user"]]
    user.asked.clear()
    assert view.has_all_permission(request_with(user)) is True
    assert user.asked == [["auth.change_user"]]
    assert GuardedView().has_all_permission(request_with(OnlyHasPerms(set()))) is False


def test_a_magicmock_user_is_not_granted_everything() -> None:
    view = GuardedView()
    user = MagicMock()
    assert view.has_any_permission(request_with(user)) is False
    assert view.has_all_permission(request_with(user)) is False
    user.has_perms.assert_called_with(["auth.change_user"])
    user.has_perms.return_value = True  # a project's test that grants explicitly
    assert view.has_any_permission(request_with(user)) is True
    assert view.has_all_permission(request_with(user)) is True


def test_a_user_model_overriding_has_perms_through_the_pipeline(logged_in_client, user) -> None:
    """A real user row from the database whose model overrides ``has_perms`` (and grants
    nothing through ``has_perm``): the message is allowed by what ``has_perms`` says."""
    gateway = ApiGateway.objects.create(
        api_name="guarded",
        api_id="abc123defg",
        target_base_endpoint="https://www.example.com/ws-guarded/",
        secret="s3cret-value",
    )
    callbacks = GatewayCallbacks(logged_in_client, gateway)
    assert callbacks.connect("conn-1=", token=callbacks.token()).status_code == 200
    granted = {"auth.add_user", "auth.change_user"}

    def has_perms(self: Any, perm_list: Any, obj: Any = None) -> bool:
        return set(perm_list) <= granted

    model = get_user_model()
    assert not user.has_perm("auth.change_user")
    with patch.object(model, "has_perms", has_perms):
        assert callbacks.message("conn-1=", {"handler": "echo"}).status_code == 200
        granted.clear()
        response = callbacks.message("conn-1=", {"handler": "echo"})
    assert (response.status_code, response.content) == (403, b"Permission Denied")


# -- debug_log --------------------------------------------------------------------------------


def set_up(view: WebSocketView, body: bytes, **headers: str) -> Any:
    request = RequestFactory().generic(
        "POST", "/ws/default", data=body, content_type="application/json", headers=headers
    )
    view.setup(request, route="default")
    return request


def test_debug_log_traces_setup() -> None:
    view = ChatView(debug=True)
    set_up(view, b'{"handler": "echo"}')
    assert view.debug_log == ["Within setup", "Setup completed"]
    view = ChatView(debug=True)
    set_up(view, b"{not json")
    assert view.debug_log == ["Within setup", "Body is invalid JSON", "Setup completed"]
    view = ChatView(debug=True)
    set_up(view, b"x" * (ChatView.MAX_BODY_SIZE + 1))
    assert view.debug_log == ["Within setup", "Request body too large"]
    quiet = ChatView()
    set_up(quiet, b"{}")
    assert quiet.debug_log == []


def test_as_view_debug_is_accepted() -> None:
    handler = ChatView.as_view(debug=True)
    request = RequestFactory().post("/ws/default", data=b"{}", content_type="application/json")
    response = handler(request, route="default")
    assert (response.status_code, response.content) == (400, b"Invalid request headers")


def test_debug_log_of_missing_headers_names_headers_only() -> None:
    view = ChatView(debug=True)
    request = set_up(view, b"{}", Cookie="sessionid=SECRETCOOKIE", X_Custom="VALUE123")
    response = view.dispatch(request, route="default")
    assert (response.status_code, response.content) == (400, b"Invalid request headers")
    line = view.debug_log[-1]
    assert line.startswith("Expected [&#x27;Host&#x27;, &#x27;X-Forwarded-For&#x27;")
    assert "Received [" in line and "Cookie" in line and "X-Custom" in line
    assert "SECRETCOOKIE" not in line and "VALUE123" not in line


# -- the deprecated hook ------------------------------------------------------------------------


def test_route_selection_key_missing_is_deprecated_and_answers_400() -> None:
    view = ChatView(debug=True)
    with pytest.warns(DeprecationWarning) as caught:
        response = view.route_selection_key_missing(RequestFactory().post("/ws/default"))
    assert str(caught[0].message) == (
        "Deprecated: Use handler_selection_key_missing instead. Will be removed in version 3"
    )
    assert response.status_code == 400
    assert response.content == b"route_select_key action missing from request body."


# -- change_channel ---------------------------------------------------------------------------


def test_change_channel_fires_post_save_in_one_update(callbacks) -> None:
    assert callbacks.connect("conn-1=", token=callbacks.token()).status_code == 200
    seen: list[tuple[str, frozenset[str] | None]] = []

    def receiver(sender: Any, instance: WebSocketSession, **kwargs: Any) -> None:
        seen.append((instance.channel_name, kwargs["update_fields"]))

    post_save.connect(receiver, sender=WebSocketSession)
    try:
        with CaptureQueriesContext(connection) as queries:
            response = callbacks.message("conn-1=", {"handler": "change_channel", "channel": "r2"})
    finally:
        post_save.disconnect(receiver, sender=WebSocketSession)
    assert response.status_code == 200
    assert seen == [("r2", frozenset({"channel_name", "updated_on"}))]
    # the SET clause (quoted as the database quotes); the message's UPDATE only RETURNS it
    sets_channel = f"{connection.ops.quote_name('channel_name')} = "
    channel_updates = [
        q for q in queries if q["sql"].startswith("UPDATE") and sets_channel in q["sql"]
    ]
    assert len(channel_updates) == 1
    # the session read, the request count, the channel; MariaDB/MySQL read the row back after
    # the UPDATE (no UPDATE … RETURNING there)
    assert len(queries) <= (3 if hot.update_returning(connection) else 4)
    assert WebSocketSession.objects.get().channel_name == "r2"


def test_change_channel_of_a_row_deleted_meanwhile(callbacks) -> None:
    assert callbacks.connect("conn-1=", token=callbacks.token()).status_code == 200
    view = ChatView()
    view.websocket_session = WebSocketSession.objects.get()
    view.body = {"channel": "r3"}
    WebSocketSession.objects.all().delete()
    response = view.change_channel(RequestFactory().post("/"))
    assert (response.status_code, response.content) == (400, b"Unknown connection")


# -- mail to the admins ---------------------------------------------------------------------


# Django 6.0 takes addresses; 5.2 only (name, address) pairs.
ADMINS: Any = ["ops@example.com"] if django.VERSION >= (6,) else [("Ops", "ops@example.com")]


class Exploding(ChatView):
    def echo(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")


def echo_request(gateway: ApiGateway) -> Any:
    return RequestFactory().post(
        "/ws/default",
        data=b'{"handler": "echo"}',
        content_type="application/json",
        headers=callback_headers(gateway, "conn-1=", event="message", host="www.example.com"),
    )


@override_settings(ADMINS=ADMINS)
def test_exception_mail_without_deprecated_arguments(callbacks, gateway) -> None:
    assert callbacks.connect("conn-1=", token=callbacks.token()).status_code == 200
    request = echo_request(gateway)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Django 6.1 deprecates fail_silently
        with pytest.raises(RuntimeError, match="boom"):
            Exploding.as_view()(request, route="default")
    assert [m.subject for m in mail.outbox] == ["[Django] Unexpected Websocket Exception"]


@override_settings(ADMINS=ADMINS)
def test_a_failing_mail_is_logged_not_raised(callbacks, gateway, caplog) -> None:
    assert callbacks.connect("conn-1=", token=callbacks.token()).status_code == 200
    request = echo_request(gateway)
    with patch("django_aws_api_gateway_websockets.views.exception_mail.mail_admins") as mail_admins:
        mail_admins.side_effect = OSError("smtp down")
        with pytest.raises(RuntimeError, match="boom"):
            Exploding.as_view()(request, route="default")
    assert "Mailing the admins about a WebSocket exception failed" in caplog.text
