"""Channels tests: the view of :mod:`.views` at /ws/, namespaces of ``views.NAMESPACES``."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from django_aws_api_gateway_websockets.models import ApiGateway
from django_aws_api_gateway_websockets.testing import GatewayCallbacks, Outbox, capture_messages
from tests.channels.views import NAMESPACES

_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _channels(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.channels.urls"
    settings.WEBSOCKETS = {"channel_namespaces": NAMESPACES}


@pytest.fixture
def outbox() -> Iterator[Outbox]:
    with capture_messages() as captured:
        yield captured


@pytest.fixture
def connect(gateway: ApiGateway) -> Callable[..., tuple[GatewayCallbacks, str]]:
    """``connect(username, channel=..., initial=...)``: a logged-in user's new connection
    (through $connect with a real token); returns its callbacks and connection id."""
    users: dict[str, Any] = {}

    def open_one(username: str = "alice", **query: str) -> tuple[GatewayCallbacks, str]:
        if username not in users:
            users[username] = get_user_model().objects.create_user(username, password="pw")
        client = Client()
        client.force_login(users[username])
        callbacks = GatewayCallbacks(client, gateway)
        connection_id = f"conn{next(_ids):04d}="
        token = callbacks.token()
        response = callbacks._post(
            callbacks._builtin("connect"),
            connection_id,
            "connect",
            "",
            query={"ws_token": token, **query},
        )
        assert response.status_code == 200, response.content
        return callbacks, connection_id

    return open_one


@pytest.fixture
def pub(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """``publish`` whose fan-out (run when the transaction commits) runs when it returns, as
    it would in autocommit: the test's own transaction never commits."""
    from django_aws_api_gateway_websockets.channels import publish

    def publish_now(*args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return publish(*args, **kwargs)

    return publish_now


@pytest.fixture
def live_gateway(live_server: Any) -> ApiGateway:
    """A gateway row whose integrations go to the live server (for the ``local_gateway``
    fixture's real sockets)."""
    return ApiGateway.objects.create(
        api_name="Channels E2E",
        target_base_endpoint=f"{live_server.url}/ws/",
        default_channel_name="lobby",
        secret=ApiGateway.generate_secret(),
    )
