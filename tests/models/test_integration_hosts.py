"""Release 4.1's ``WEBSOCKETS["allowed_integration_hosts"]``: a gateway's or route's integration
URL must name an allowed host, checked on save (nothing written) and in the admin's form."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
    validate_integration_host,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("setting", "url", "ok"),
    [
        ((), "https://anything.example.org/ws/", True),
        ("www.example.com", "https://www.example.com/ws/", True),
        ("www.example.com", "https://evil.com/ws/", False),
        (["*.example.com"], "https://api.example.com/ws/", True),
        (["*.example.com"], "https://a.b.example.com/ws/", True),
        (["*.example.com"], "https://example.com/ws/", False),
        (["*.example.com"], "https://notexample.com/ws/", False),
        (["*.example.com"], "https://example.com.evil.net/ws/", False),
        (["WWW.Example.com"], "https://www.example.COM/ws/", True),
        ("www.example.com", "not a url", False),
        (42, "https://www.example.com/ws/", False),  # invalid setting: allows nothing
    ],
)
def test_validator(settings, setting, url, ok) -> None:
    settings.WEBSOCKETS = {"allowed_integration_hosts": setting}
    if ok:
        validate_integration_host(url)
    else:
        with pytest.raises(ValidationError):
            validate_integration_host(url)


def test_save_refuses_and_writes_nothing(settings) -> None:
    settings.WEBSOCKETS = {"allowed_integration_hosts": ["*.example.com"]}
    with pytest.raises(ValidationError):
        ApiGateway.objects.create(api_name="x", target_base_endpoint="https://evil.com/ws/")
    assert not ApiGateway.objects.exists()
    gateway = ApiGateway.objects.create(api_name="y", target_base_endpoint="https://w.example.com/")
    with pytest.raises(ValidationError):
        ApiGatewayAdditionalRoute.objects.create(
            api_gateway=gateway, name="r", route_key="r", integration_url="https://evil.com/r"
        )
    assert not ApiGatewayAdditionalRoute.objects.exists()


def test_admin_form_shows_a_field_error(settings) -> None:
    settings.WEBSOCKETS = {"allowed_integration_hosts": "www.example.com"}
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    response = client.post(
        reverse("admin:django_aws_api_gateway_websockets_apigateway_add"),
        {
            "api_name": "Chat",
            "target_base_endpoint": "https://evil.com/ws/",
            "route_selection_expression": "$request.body.action",
            "route_key": "$default",
            "stage_name": "production",
            "tags": "{}",
            "routes-TOTAL_FORMS": "0",
            "routes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "allowed_integration_hosts" in response.content.decode()
    assert not ApiGateway.objects.exists()
