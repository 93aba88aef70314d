"""The gateway cache's expiry, on its own (``gateway_cache.get``/``put`` with a clock): an
entry answers until ``gateway_cache_seconds`` have passed, and not from that instant on. The
callbacks' view of the same expiry is in ``test_gateway_cache.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from django_aws_api_gateway_websockets import gateway_cache
from django_aws_api_gateway_websockets.models import ApiGateway


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    now = [1000.0]
    monkeypatch.setattr(gateway_cache.time, "monotonic", lambda: now[0])
    gateway_cache.clear()
    yield now
    gateway_cache.clear()


@override_settings(WEBSOCKETS={"gateway_cache_seconds": 2})
def test_an_entry_answers_until_its_expiry_and_never_after(clock: list[float]) -> None:
    row = ApiGateway(pk=7, api_name="unsaved", api_id="expiry1234", secret="s")
    gateway_cache.put(row)
    clock[0] += 1.999
    cached = gateway_cache.get("expiry1234")
    assert cached is not None and cached.secret == "s" and cached is not row
    clock[0] += 0.001  # exactly gateway_cache_seconds after put
    assert gateway_cache.get("expiry1234") is None
    clock[0] -= 1.0  # the expired entry was dropped, not just hidden
    assert gateway_cache.get("expiry1234") is None


@override_settings(WEBSOCKETS={"gateway_cache_seconds": 0})
def test_zero_seconds_caches_nothing(clock: list[float]) -> None:
    gateway_cache.put(ApiGateway(pk=8, api_name="unsaved", api_id="nocache123"))
    assert gateway_cache.get("nocache123") is None
