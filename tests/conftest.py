"""tests/<x>/ tests src/django_aws_api_gateway_websockets/<x>; tests/support/: fakes and harnesses.

Fixtures for every suite. Two stand-ins for AWS, named for what they are: ``aws_mock`` (a
``MagicMock`` client patched in at ``models.get_boto3_client``) and ``moto_aws`` (moto's
emulation, in-process).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import settings as hypothesis_settings
from moto import mock_aws

from django_aws_api_gateway_websockets.models import ApiGateway
from django_aws_api_gateway_websockets.testing import GatewayCallbacks
from tests.support.fake_aws import APP, fake_client
from tests.support.moto_aws import fill_moto_gaps, plain_client

# `make test` selects "ci": enough examples to mean something, derandomised so CI is repeatable.
hypothesis_settings.register_profile("ci", max_examples=10_000, derandomize=True, deadline=None)
hypothesis_settings.register_profile("dev", max_examples=200, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Each test starts with an empty default cache (the exception mail throttle,
    EXCEPTION_MAIL_INTERVAL, counts there)."""
    from django.core.cache import cache

    cache.clear()
    yield


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
def aws_mock() -> Iterator[mock.MagicMock]:
    """AWS faked at ``models.get_boto3_client`` by :func:`tests.support.fake_aws.fake_client`."""
    client = fake_client()
    with mock.patch(f"{APP}.models.get_boto3_client", return_value=client) as factory:
        client.factory = factory
        yield client


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """AWS emulated in-process by moto (``mock_aws``), with the gaps in moto's apigatewayv2
    filled by :func:`tests.support.moto_aws.fill_moto_gaps`; yields a plain apigatewayv2 client
    for the test to read what provisioning left in "AWS"."""
    fill_moto_gaps(monkeypatch)
    with mock_aws():
        yield plain_client()
