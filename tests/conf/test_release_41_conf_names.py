"""Release 4.1's tables and helper in ``conf``: DEFAULTS, BOOLEAN_DEFAULTS, OPTIONAL_KEYS,
KNOWN_KEYS and get_allowed_integration_hosts(), with 4.1's values."""

from __future__ import annotations

from django_aws_api_gateway_websockets import conf


def test_tables_hold_release_41s_values() -> None:
    assert conf.DEFAULTS == {
        "token_rate_limit_per_minute": 20,
        "token_expiry_seconds": 60,
        "rate_limit_max_attempts": 20,
        "rate_limit_window_minutes": 1,
    }
    assert conf.BOOLEAN_DEFAULTS == {"push_changes_to_aws": True}
    assert sorted(conf.OPTIONAL_KEYS) == ["allowed_integration_hosts", "gateway_secret"]
    assert set(conf.DEFAULTS) | set(conf.BOOLEAN_DEFAULTS) | conf.OPTIONAL_KEYS <= conf.KNOWN_KEYS


def test_allowed_integration_hosts(settings) -> None:
    assert conf.get_allowed_integration_hosts() == []
    settings.WEBSOCKETS = {"allowed_integration_hosts": "WWW.Example.com"}
    assert conf.get_allowed_integration_hosts() == ["www.example.com"]
    settings.WEBSOCKETS = {"allowed_integration_hosts": ["a.example.com", "*.Example.org"]}
    assert conf.get_allowed_integration_hosts() == ["a.example.com", "*.example.org"]
    settings.WEBSOCKETS = {"allowed_integration_hosts": 42}  # invalid (check E002): any
    assert conf.get_allowed_integration_hosts() == []
