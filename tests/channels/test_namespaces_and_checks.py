"""Namespaces come from WEBSOCKETS["channel_namespaces"], checked by the system checks driven by
conf.NAMESPACE_OPTIONS; a bad value falls back to its default and never crashes a request."""

from __future__ import annotations

from django_aws_api_gateway_websockets.channels.names import is_channel, namespace_of
from django_aws_api_gateway_websockets.checks import (
    check_channel_namespaces,
    check_websockets_setting,
)
from django_aws_api_gateway_websockets.conf import NAMESPACE_OPTIONS


def test_channel_names():
    for good in ("room-7", "chat:7", "user#42", "chat:dm#42", "a" * 128):
        assert is_channel(good), good
    for bad in ("", "a" * 129, "Chat:7", "chat:", ":7", "chat:7:8", "a b", "user#", None, 7, ["x"]):
        assert not is_channel(bad), bad


def test_namespaces_resolve_with_defaults(settings):
    settings.WEBSOCKETS = {"channel_namespaces": {"chat": {"presence": True, "history_size": "x"}}}
    chat = namespace_of("chat:1")
    assert chat is not None and chat.presence and chat.history_size == 0  # invalid -> default
    assert namespace_of("room-1") is not None  # "" always exists
    assert namespace_of("nope:1") is None
    assert set(NAMESPACE_OPTIONS) == set(chat.__dataclass_fields__) - {"name"}


def test_checks_name_the_wrong_key_and_value(settings):
    settings.WEBSOCKETS = {
        "channel_namespaces": {
            "chat": {"presense": True, "max_members": 0, "over_max_members": "drop"},
            "": {"history_size": 3},
        },
        "max_subscriptions_per_connection": 0,
    }
    messages = check_channel_namespaces()
    assert [m.id for m in messages] == [
        "aws_websockets.W006",
        "aws_websockets.E009",
        "aws_websockets.E009",
    ]
    assert "Did you mean 'presence'?" in messages[0].hint
    assert [m.id for m in check_websockets_setting()] == ["aws_websockets.E002"]
    settings.WEBSOCKETS = {"channel_namespaces": {"Bad Name": {}}}
    assert [m.id for m in check_websockets_setting()] == ["aws_websockets.E002"]
    assert check_channel_namespaces() == []
