from __future__ import annotations

import os
from collections.abc import Iterator
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import settings as hypothesis_settings

from django_aws_api_gateway_websockets.models import ApiGateway
from django_aws_api_gateway_websockets.testing import GatewayCallbacks
from tests.support.fake_aws import APP, fake_client

# `make test` selects "ci": enough examples to mean something, derandomised so CI is repeatable.
hypothesis_settings.register_profile("ci", max_examples=10_000, derandomize=True, deadline=None)
hypothesis_settings.register_profile("dev", max_examples=200, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def gateway(db: None) -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="Test Gateway",
        api_id="abc123defg",
        target_base_endpoint="https://www.example.com/ws/",
        default_channel_name="lobby",
        secret="s3cret-value",
    )


@pytest.fixture
def user(db: None):
    return get_user_model().objects.create_user("alice", password="pw")


@pytest.fixture
def logged_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def callbacks(logged_in_client: Client, gateway: ApiGateway) -> GatewayCallbacks:
    return GatewayCallbacks(logged_in_client, gateway)


@pytest.fixture
def aws() -> Iterator[mock.MagicMock]:
    """AWS faked at ``models.get_boto3_client`` by :func:`tests.support.fake_aws.fake_client`."""
    client = fake_client()
    with mock.patch(f"{APP}.models.get_boto3_client", return_value=client) as factory:
        client.factory = factory
        yield client
