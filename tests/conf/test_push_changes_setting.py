"""WEBSOCKETS["push_changes_to_aws"] (release 4.1's): known, checked, defaulted."""

from __future__ import annotations

from django.test import override_settings

from django_aws_api_gateway_websockets import checks
from django_aws_api_gateway_websockets.conf import conf
from django_aws_api_gateway_websockets.models import push_enabled


def test_default_on_and_known() -> None:
    with override_settings(WEBSOCKETS={}):
        assert conf.push_changes_to_aws is True and push_enabled(None) is True
    with override_settings(WEBSOCKETS={"push_changes_to_aws": False}):
        assert checks.check_websockets_setting() == []
        assert push_enabled(None) is False and push_enabled(True) is True


def test_a_wrong_type_is_an_error_and_the_default_is_used() -> None:
    with override_settings(WEBSOCKETS={"push_changes_to_aws": "no"}):
        [message] = checks.check_websockets_setting()
        assert message.id == "aws_websockets.E002" and "push_changes_to_aws" in message.msg
        assert conf.push_changes_to_aws is True
