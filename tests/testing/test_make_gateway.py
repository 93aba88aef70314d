"""``testing.make_gateway()``, the ``ws_gateway`` fixture and ``GatewayCallbacks`` work with any
``ALLOWED_HOSTS`` (a fresh project's allows only the test client's ``testserver``); a host
Django would refuse, given explicitly, fails at once naming the setting (not as a 400
``DisallowedHost`` on every callback)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from django_aws_api_gateway_websockets.testing import GatewayCallbacks, make_gateway

pytestmark = pytest.mark.django_db


def test_make_gateway_defaults() -> None:
    gateway = make_gateway()
    assert gateway.pk and gateway.api_name == "Test" and len(gateway.api_id) == 10
    assert gateway.secret and gateway.target_base_endpoint == "http://localhost:8000/ws/"
    assert make_gateway(api_name="Other").api_id != gateway.api_id


@override_settings(ALLOWED_HOSTS=["testserver"])  # what Django's test set-up leaves of []
def test_the_fixture_connects_with_a_fresh_projects_allowed_hosts(
    client: Client, django_user_model: type, ws_gateway: ApiGateway
) -> None:
    client.force_login(django_user_model.objects.create_user("ann"))
    callbacks = GatewayCallbacks(client, ws_gateway)
    response = callbacks.connect("conn-1=", token=callbacks.token(), channel="room")
    assert response.status_code == 200, response.content
    assert WebSocketSession.objects.get(connection_id="conn-1=").channel_name == "room"


@override_settings(ALLOWED_HOSTS=["testserver"])
@pytest.mark.parametrize("target", ["https://www.example.com/ws/", "http://localhost:8000/ws/"])
def test_a_target_host_not_allowed_falls_back_to_the_test_clients(
    client: Client, django_user_model: type, target: str
) -> None:
    """The README's snippet as a fresh project runs it: a gateway on www.example.com."""
    gateway = make_gateway(target_base_endpoint=target)
    client.force_login(django_user_model.objects.create_user("ann"))
    callbacks = GatewayCallbacks(client, gateway)
    assert callbacks.host == "testserver"
    assert callbacks.connect("c-1=", token=callbacks.token()).status_code == 200


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_a_refused_host_names_the_setting(client: Client) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        GatewayCallbacks(client, make_gateway(), host="elsewhere.test")
    message = str(raised.value)
    assert "Host: elsewhere.test (the host given as host=)" in message
    assert "settings.ALLOWED_HOSTS (['testserver'])" in message


@override_settings(ALLOWED_HOSTS=["app.test"])  # outside Django's test set-up
def test_no_allowed_host_at_all_names_the_setting(client: Client) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"Host: localhost:8000 .*ALLOWED_HOSTS"):
        GatewayCallbacks(client, make_gateway())


@override_settings(ALLOWED_HOSTS=[".example.com"])
def test_a_wildcard_allows_the_host(client: Client) -> None:
    gateway = make_gateway(target_base_endpoint="https://www.example.com:8443/ws/")
    assert GatewayCallbacks(client, gateway).host == "www.example.com:8443"
