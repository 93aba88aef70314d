"""Release 4.1's module-level names a project imports: from ``models`` (``GATEWAY_SECRET_HEADER``,
``hash_session_key``, ``hash_user_auth``, ``serialise_message``, ``run_aws_after_commit``,
``clear_boto3_client_cache``), ``conf`` (``get_setting``, ``get_boolean_setting``,
``get_websockets_config``) and ``send_message(data, max_workers=…)``."""

from __future__ import annotations

import json
from unittest import mock

import pytest

from django_aws_api_gateway_websockets import conf as conf_module
from django_aws_api_gateway_websockets import models
from django_aws_api_gateway_websockets.messaging import boto3_transport
from django_aws_api_gateway_websockets.models import WebSocketSession


def test_names_exist() -> None:
    assert models.GATEWAY_SECRET_HEADER == "X-Ws-Gateway-Secret"
    assert json.loads(models.serialise_message({"a": 1})) == {"a": 1}
    assert callable(models.hash_session_key) and callable(models.hash_user_auth)


def test_clear_boto3_client_cache() -> None:
    boto3_transport._clients[("x",)] = (object(), object())
    models.clear_boto3_client_cache()
    assert boto3_transport._clients == {}


@pytest.mark.django_db
def test_run_aws_after_commit(django_capture_on_commit_callbacks) -> None:
    calls: list[int] = []
    with django_capture_on_commit_callbacks(execute=True):
        models.run_aws_after_commit(lambda: calls.append(1))
        assert calls == []  # not before the commit
    assert calls == [1]


class TestConf:
    def test_get_websockets_config(self, settings) -> None:
        settings.WEBSOCKETS = {"token_expiry_seconds": 90}
        config = conf_module.get_websockets_config()
        config["token_expiry_seconds"] = 1  # a copy
        assert conf_module.get_websockets_config() == {"token_expiry_seconds": 90}
        settings.WEBSOCKETS = None
        assert conf_module.get_websockets_config() == {}

    def test_get_setting(self, settings) -> None:
        settings.WEBSOCKETS = {"token_expiry_seconds": 90, "send_concurrency": "lots", "x": 1}
        assert conf_module.get_setting("token_expiry_seconds") == 90
        assert conf_module.get_setting("send_concurrency") == 32  # invalid: the default
        assert conf_module.get_setting("rate_limit_max_attempts") == 20  # unset: the default
        assert conf_module.get_setting("x") == 1
        assert conf_module.get_setting("missing") is None
        assert conf_module.get_setting("missing", "d") == "d"

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (True, True),
            (False, False),
            ("yes", True),
            ("0", False),
            ("Off", False),
            (1, True),
            ("maybe", "default"),
            (None, "default"),
        ],
    )
    def test_get_boolean_setting(self, settings, value, expected) -> None:
        settings.WEBSOCKETS = {"flag": value}
        want = expected if expected != "default" else True
        assert conf_module.get_boolean_setting("flag", default=True) is want


@pytest.mark.django_db
class TestMaxWorkers:
    def test_accepted_and_bounds_the_posts(self, gateway, aws_mock) -> None:
        for n in range(5):
            WebSocketSession.objects.create(connection_id=f"c{n}=", api_gateway=gateway)
        with mock.patch(
            "django_aws_api_gateway_websockets.messaging.delivery.fan_out",
            wraps=__import__(
                "django_aws_api_gateway_websockets.messaging.delivery", fromlist=["fan_out"]
            ).fan_out,
        ) as fan_out:
            result = WebSocketSession.objects.send_message({"a": 1}, max_workers=2)
            WebSocketSession.objects.filter(connection_id="c1=").send_message({}, max_workers=1)
        assert len(result.sent) == 5
        assert [c.args[3] for c in fan_out.call_args_list] == [2, 1]

    @pytest.mark.parametrize("bad", [0, -1, "2", True, 1.5])
    def test_invalid_is_a_value_error(self, gateway, bad) -> None:
        with pytest.raises(ValueError, match="max_workers"):
            WebSocketSession.objects.send_message({}, max_workers=bad)
