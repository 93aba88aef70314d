"""Sending to a local gateway needs no AWS credentials (it checks no signature): with no keys in
the settings, none in the environment and none in boto3's files, posts still arrive (signed with
placeholder keys), through both transports. Credentials that are found are used as before
(``tests/messaging/test_lean_transport.py`` signs with each source against an ``http://``
stand-in), and a gateway on AWS is unchanged: its client still looks for real credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from django.test import override_settings

from django_aws_api_gateway_websockets import aws, messaging
from django_aws_api_gateway_websockets.local_gateway.service import LocalGatewayService
from django_aws_api_gateway_websockets.messaging import lean
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from tests.messaging.test_transports_on_local_gateway import service

__all__ = ["service"]  # a local gateway on a free port, reused

pytestmark = pytest.mark.django_db

#: Every variable through which boto3's default chain could find credentials or a profile.
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


@pytest.fixture
def no_aws_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: object
) -> Iterator[None]:
    """No credentials anywhere: settings, environment, files, instance metadata."""
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        empty = tmp_path / name.lower()
        empty.write_text("")
        monkeypatch.setenv(name, str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_IAM_PROFILE"):
        if hasattr(settings, name):
            delattr(settings, name)
    messaging.clear_client_cache()
    # The test means something only if boto3's chain really finds nothing here.
    assert boto3.Session().get_credentials() is None
    yield
    lean.shutdown()
    messaging.clear_client_cache()


@pytest.mark.parametrize("transport", ["lean", "boto3"])
@pytest.mark.parametrize("region", ["us-east-1", None])
def test_posts_reach_a_local_gateway_without_credentials(
    no_aws_credentials: None, service: LocalGatewayService, transport: str, region: str | None
) -> None:
    gateway = ApiGateway.objects.create(api_name="local", default_channel_name="all")
    service.serve(gateway)
    service.add_virtual_connections(gateway, 3)
    with override_settings(AWS_REGION_NAME=region, WEBSOCKETS={"send_transport": transport}):
        result = WebSocketSession.objects.filter(channel_name="all").send_message({"n": 1})
    assert result.summary() == {"sent": 3, "gone": 0, "failed": 0}
    assert service.thread.call(lambda: service.gateway.virtual_frames) == 3


def test_a_gateway_on_aws_still_uses_the_credential_chain(no_aws_credentials: None) -> None:
    gateway = ApiGateway(api_name="aws", api_id="abcdef1234")
    endpoint = gateway.management_endpoint
    assert endpoint.startswith("https://abcdef1234.execute-api.")
    client = aws.get_boto3_client("apigatewaymanagementapi", endpoint_url=endpoint)
    assert client._request_signer._credentials is None  # boto3 found none: AWS would refuse


def test_placeholder_keys_only_when_nothing_is_found(
    no_aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = "http://127.0.0.1:8001/production"
    client = aws.get_boto3_client("apigatewaymanagementapi", endpoint_url=local)
    assert client._request_signer._credentials.access_key == aws.LOCAL_ACCESS_KEY_ID
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "also-from-env")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    client = aws.get_boto3_client("apigatewaymanagementapi", endpoint_url=local)
    assert client._request_signer._credentials.access_key == "from-env"


def test_keys_in_the_settings_are_used_for_a_local_gateway_too(no_aws_credentials: None) -> None:
    with override_settings(AWS_ACCESS_KEY_ID="mine", AWS_SECRET_ACCESS_KEY="also-mine"):
        client = aws.get_boto3_client(
            "apigatewaymanagementapi", endpoint_url="http://127.0.0.1:8001/production"
        )
    assert client._request_signer._credentials.access_key == "mine"
