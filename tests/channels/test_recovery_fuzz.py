"""Property-based, through the view: a subscribe with ``since`` against a stream with real
history (``since`` drawn around the stream's offsets, with its epoch or another) answers
exactly the missed publications in order with ``recovered: true``, or ``recovered: false``
and none; a ``since`` that is not a position is a clear 400. Never a 500, never a partial gap.
(test_properties.py fuzzes the shapes against empty streams and the history functions
directly.)"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_aws_api_gateway_websockets.channels.names import namespace_of
from django_aws_api_gateway_websockets.views import INVALID_SUBSCRIBE
from django_aws_api_gateway_websockets.views.channel_handlers import EPOCH_RE, MAX_OFFSET

pytestmark = pytest.mark.django_db

_streams = itertools.count()

sinces = st.fixed_dictionaries(
    {
        "offset": st.one_of(st.integers(-3, 15), st.sampled_from([2**63 - 1, 2**63, 1.5, "1"])),
        "epoch": st.one_of(st.just("<real>"), st.sampled_from(["", "x" * 17, "no way", "AAAA"])),
    }
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    namespace=st.sampled_from(["news", "chat", "state"]),
    published=st.integers(0, 12),
    since=sinces,
)
def test_recovery_through_the_view_is_complete_or_refused(
    namespace: str, published: int, since: dict[str, Any], recovering, pub
):
    callbacks, connection_id = recovering
    channel = f"{namespace}:f{next(_streams)}"
    options = namespace_of(channel)
    assert options is not None
    epoch = None
    for n in range(1, published + 1):
        epoch = pub(channel, {"n": n}).epoch
    if since["epoch"] == "<real>":
        since = {**since, "epoch": epoch or "AAAA"}
    body = {"handler": "subscribe", "channels": [{"channel": channel, "since": since}]}
    response = callbacks.message(connection_id, body)
    offset = since["offset"]
    valid = type(offset) is int and 0 <= offset <= MAX_OFFSET and EPOCH_RE.match(since["epoch"])
    if not valid:
        assert response.status_code == 400 and response.content.decode() == INVALID_SUBSCRIBE
        return
    assert response.status_code == 200, response.content
    [entry] = response.json()["channels"]
    top = entry["offset"]
    assert top == published
    missing = top - offset
    expected = since["epoch"] == entry["epoch"] and 0 <= missing <= min(
        options.recover_max, options.history_size
    )
    assert entry["recovered"] is expected, (since, entry)
    if expected:
        assert entry["publications"] == [
            {"offset": n, "data": {"n": n}} for n in range(offset + 1, top + 1)
        ]
    else:
        assert entry["publications"] == []


@pytest.fixture
def recovering(connect):
    return connect("recoverer")
