"""Property-based: publish/trim/recover sequences against a model of the stream, and fuzzed
subscribe payloads (``since`` of every shape): a clear 400 or a subscribed frame, never a 500."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_aws_api_gateway_websockets.channels import history
from django_aws_api_gateway_websockets.channels.names import namespace_of
from django_aws_api_gateway_websockets.models import ChannelStream
from django_aws_api_gateway_websockets.views import INVALID_SUBSCRIBE

pytestmark = pytest.mark.django_db

_channels = itertools.count()

operations = st.lists(
    st.one_of(
        st.tuples(st.just("publish"), st.integers(1, 12)),
        st.tuples(st.just("recover"), st.integers(-2, 40)),
        st.tuples(st.just("recreate"), st.just(0)),
    ),
    max_size=25,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations, size=st.integers(1, 8), recover_max=st.integers(1, 12))
def test_recovery_is_complete_or_refused(ops, size, recover_max, settings_fixture):
    settings_fixture.WEBSOCKETS = {
        "channel_namespaces": {"h": {"history_size": size, "recover_max": recover_max}}
    }
    channel = f"h:{next(_channels)}"
    namespace = namespace_of(channel)
    assert namespace is not None
    top, epoch, old_epochs = 0, None, []
    for op, value in ops:
        if op == "publish":
            for _ in range(value):
                position = history.publish(channel, {"o": top + 1})
                assert position is not None and position.offset == top + 1
                top, epoch = position.offset, position.epoch
        elif op == "recreate":
            ChannelStream.objects.filter(channel=channel).delete()
            old_epochs.append(epoch)
            top, epoch = 0, None
        else:
            [(stream_id, current)] = history.positions([channel]).values()
            if epoch is None:  # positions() created the stream
                epoch = current.epoch
            assert (current.offset, current.epoch) == (top, epoch)
            since = history.Position(max(0, top - value), epoch)  # value < 0: beyond the top
            ok, pubs = history.recover(stream_id, namespace, since, current)
            missing = top - since.offset
            expected = missing == 0 or (0 < missing <= recover_max and since.offset >= top - size)
            assert ok is expected
            if ok:
                assert [p["offset"] for p in pubs] == list(range(since.offset + 1, top + 1))
                assert [p["data"]["o"] for p in pubs] == [p["offset"] for p in pubs]
            else:
                assert pubs == []
            for stale in old_epochs:
                if stale is not None and stale != epoch:
                    assert history.recover(
                        stream_id, namespace, history.Position(0, stale), current
                    ) == (False, [])


@pytest.fixture
def settings_fixture(settings):
    return settings


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
sinces = st.one_of(
    json_values,
    st.fixed_dictionaries({"offset": json_values, "epoch": json_values}),
    st.fixed_dictionaries({"offset": st.integers(-(2**70), 2**70), "epoch": st.text(max_size=20)}),
)
items = st.one_of(
    json_values,
    st.sampled_from(["room-1", "chat:1", "news:1", "nope:1", "user#1", "a" * 129, "bad name"]),
    st.fixed_dictionaries({"channel": st.sampled_from(["news:1", "chat:1", "x"]), "since": sinces}),
    st.fixed_dictionaries({"channel": json_values}, optional={"since": sinces, "x": json_values}),
)
bodies = st.one_of(
    st.fixed_dictionaries({"channels": st.lists(items, max_size=6)}),
    st.fixed_dictionaries({"channels": json_values}),
    st.just({}),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, handler=st.sampled_from(["subscribe", "unsubscribe"]))
def test_fuzzed_payloads_get_a_frame_or_a_clear_400(body: dict[str, Any], handler, fuzz_connection):
    callbacks, connection_id = fuzz_connection
    response = callbacks.message(connection_id, json.dumps({"handler": handler, **body}))
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert response.content.decode() == INVALID_SUBSCRIBE
    else:
        frame = response.json()
        assert frame["type"] in ("subscribed", "unsubscribed")
        for entry in frame.get("channels", []):
            if isinstance(entry, dict) and "recovered" in entry:
                assert entry["recovered"] in (True, False)


@pytest.fixture
def fuzz_connection(connect):
    return connect("fuzzer")
