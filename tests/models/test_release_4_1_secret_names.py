"""Release 4.1's secret helpers in ``models``: ``GATEWAY_SECRET_PATTERN`` and
``get_gateway_secrets()`` (the same rule and values the view enforces)."""

from __future__ import annotations

import pytest

from django_aws_api_gateway_websockets import models

GOOD = "g" * 32


def test_pattern_is_the_settings_rule() -> None:
    assert models.GATEWAY_SECRET_PATTERN.fullmatch(GOOD)
    assert not models.GATEWAY_SECRET_PATTERN.fullmatch("g" * 31)
    assert not models.GATEWAY_SECRET_PATTERN.fullmatch(GOOD + "\n")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        (GOOD, [GOOD]),
        ([GOOD, "h" * 40], [GOOD, "h" * 40]),
        ("short", []),  # invalid: nothing accepted (every callback is refused)
    ],
)
def test_get_gateway_secrets(settings, value, expected) -> None:
    settings.WEBSOCKETS = {} if value is None else {"gateway_secret": value}
    assert models.get_gateway_secrets() == expected
