"""The settings object and the boto3 client factory."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

from django_aws_api_gateway_websockets import models
from django_aws_api_gateway_websockets.conf import conf


def test_defaults() -> None:
    with override_settings(WEBSOCKETS={}):
        assert conf.token_rate_limit_per_minute == 20
        assert conf.token_expiry_seconds == 60
        assert conf.rate_limit_max_attempts == 20
        assert conf.rate_limit_window_minutes == 1
        assert conf.require_gateway_secret is False
        assert conf.allowed_origin_hosts == ()
        assert conf.legacy_origin_substring_match is False
        assert conf.send_concurrency == 32


def test_follows_override_settings() -> None:
    with override_settings(WEBSOCKETS={"token_expiry_seconds": 5}):
        assert conf.token_expiry_seconds == 5
    assert conf.token_expiry_seconds == 60


@pytest.mark.parametrize("value", [None, "nope", ["x"]])
def test_not_a_dict_falls_back_to_defaults(value) -> None:
    with override_settings(WEBSOCKETS=value):
        assert conf.websockets == {} and conf.token_expiry_seconds == 60


def test_invalid_values_fall_back_to_defaults() -> None:
    with override_settings(WEBSOCKETS={"token_expiry_seconds": "5", "allowed_origin_hosts": "x"}):
        assert conf.token_expiry_seconds == 60
        assert conf.allowed_origin_hosts == ()


def test_allowed_origin_hosts_lower_cased() -> None:
    with override_settings(WEBSOCKETS={"allowed_origin_hosts": ["App.Example.COM"]}):
        assert conf.allowed_origin_hosts == ("app.example.com",)


@override_settings(AWS_GATEWAY_REGION_NAME="eu-west-2", AWS_REGION_NAME="us-east-1")
def test_gateway_region_wins() -> None:
    assert models.get_region_name() == "eu-west-2"


@override_settings(AWS_GATEWAY_REGION_NAME="", AWS_REGION_NAME=None)
def test_no_region_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="AWS_GATEWAY_REGION_NAME or AWS_REGION_NAME"):
        models.get_region_name()


@override_settings(AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="sekrit")
def test_explicit_keys() -> None:
    client = models.get_boto3_client("apigatewaymanagementapi", endpoint_url="http://127.0.0.1:9")
    credentials = client._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key) == ("AKIDEXAMPLE", "sekrit")
    assert client.meta.region_name == "us-east-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"


@override_settings(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
def test_default_chain(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "FROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
    client = models.get_boto3_client()
    assert client._request_signer._credentials.access_key == "FROMENV"
    assert client.meta.service_model.service_name == "apigatewayv2"


def test_profile_wins_over_keys(tmp_path: Path, monkeypatch) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text("[deploy]\naws_access_key_id = FROMPROFILE\naws_secret_access_key = p\n")
    config = tmp_path / "config"
    config.write_text("[profile deploy]\nregion = ap-southeast-2\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    with override_settings(AWS_IAM_PROFILE="deploy"):
        client = models.get_boto3_client()
        assert client._request_signer._credentials.access_key == "FROMPROFILE"
        assert client.meta.region_name == "ap-southeast-2"  # the profile's region wins
    config.write_text("[profile deploy]\n")
    with override_settings(AWS_IAM_PROFILE="deploy"):
        assert models.get_boto3_client().meta.region_name == "us-east-1"  # else the setting
