"""History through the view: offsets and epochs on frames, recovery with ``since`` (or an
explicit ``recovered: false``), latest-value channels, trimming."""

from __future__ import annotations

import pytest

from django_aws_api_gateway_websockets.channels import history, publish, trim_all
from django_aws_api_gateway_websockets.models import ChannelPublication, ChannelStream
from django_aws_api_gateway_websockets.reconcile import cleanup
from tests.channels.helpers import subscribe

pytestmark = pytest.mark.django_db


def test_frames_carry_channel_offset_epoch_and_recovery_replays_in_order(connect, outbox, pub):
    alice, a = connect("alice")
    [entry] = subscribe(alice, a, "news:1")["channels"]
    epoch = entry["epoch"]
    assert entry == {"channel": "news:1", "offset": 0, "epoch": epoch}
    assert pub("news:1", {"n": 1}).offset == 1
    assert outbox.data_for(a) == [
        {"type": "publication", "channel": "news:1", "offset": 1, "epoch": epoch, "data": {"n": 1}}
    ]
    # A second connection (the client reconnected) asks for what came after offset 1.
    pub("news:1", {"n": 2})
    pub("news:1", {"n": 3})
    alice2, a2 = connect("alice")
    [entry] = subscribe(alice2, a2, {"channel": "news:1", "since": {"offset": 1, "epoch": epoch}})[
        "channels"
    ]
    assert entry == {
        "channel": "news:1",
        "offset": 3,
        "epoch": epoch,
        "recovered": True,
        "publications": [{"offset": 2, "data": {"n": 2}}, {"offset": 3, "data": {"n": 3}}],
    }
    [entry] = subscribe(alice2, a2, {"channel": "news:1", "since": {"offset": 3, "epoch": epoch}})[
        "channels"
    ]
    assert entry["recovered"] is True and entry["publications"] == []


@pytest.mark.parametrize(
    "since, why",
    [
        ({"offset": 1, "epoch": "otherepoch"}, "another epoch"),
        ({"offset": 99, "epoch": None}, "an offset beyond the stream"),
        ({"offset": 0, "epoch": None}, "more missed than recover_max (3)"),
    ],
)
def test_recovered_false_never_a_partial_gap(connect, pub, since, why):
    for n in range(4):
        position = pub("news:2", n)
    alice, a = connect("alice")
    since = {**since, "epoch": since["epoch"] or position.epoch}
    [entry] = subscribe(alice, a, {"channel": "news:2", "since": since})["channels"]
    assert entry["recovered"] is False, why
    assert entry["publications"] == []
    assert (entry["offset"], entry["epoch"]) == (4, position.epoch)


def test_a_trimmed_gap_is_not_recovered(connect, pub, settings):
    settings.WEBSOCKETS = {"channel_namespaces": {"news": {"history_size": 2, "recover_max": 10}}}
    for n in range(5):
        position = pub("news:3", n)
    assert list(ChannelPublication.objects.values_list("offset", flat=True).order_by("offset")) == [
        4,
        5,
    ]
    alice, a = connect("alice")
    since = {"channel": "news:3", "since": {"offset": 2, "epoch": position.epoch}}
    [entry] = subscribe(alice, a, since)["channels"]
    assert entry["recovered"] is False
    since["since"]["offset"] = 3
    [entry] = subscribe(alice, a, since)["channels"]
    assert entry["recovered"] is True and [p["data"] for p in entry["publications"]] == [3, 4]


def test_age_trimming_inline_and_in_cleanup(pub, settings):
    settings.WEBSOCKETS = {
        "channel_namespaces": {"news": {"history_size": 100, "history_ttl_seconds": 60}}
    }
    for n in range(40):
        pub("news:4", n)
    ChannelPublication.objects.update(created_on="2000-01-01T00:00:00Z")
    pub("news:4", "fresh")  # inline: at most TRIM_BATCH of the expired rows go per publish
    assert ChannelPublication.objects.count() == 41 - history.TRIM_BATCH
    report = cleanup()
    assert report.publications == 40 - history.TRIM_BATCH
    assert "trimmed 8 publication(s)" in str(report)
    assert list(ChannelPublication.objects.values_list("data", flat=True)) == ["fresh"]
    # A namespace that no longer keeps history loses its streams.
    settings.WEBSOCKETS = {"channel_namespaces": {"news": {}}}
    assert trim_all() == 1 and not ChannelStream.objects.exists()


def test_a_recreated_stream_has_a_new_epoch(connect, pub):
    first = pub("news:5", 1)
    ChannelStream.objects.all().delete()
    second = pub("news:5", 2)
    assert second.offset == 1 and second.epoch != first.epoch
    alice, a = connect("alice")
    since = {"channel": "news:5", "since": {"offset": 1, "epoch": first.epoch}}
    [entry] = subscribe(alice, a, since)["channels"]
    assert entry["recovered"] is False


def test_latest_value_is_delivered_on_subscribe(connect, pub):
    alice, a = connect("alice")
    [entry] = subscribe(alice, a, "state:x")["channels"]
    assert entry["publications"] == []
    pub("state:x", {"v": 1})
    pub("state:x", {"v": 2})
    assert ChannelPublication.objects.count() == 1
    [entry] = subscribe(alice, a, "state:x")["channels"]
    assert entry["publications"] == [{"offset": 2, "data": {"v": 2}}]


def test_publish_refuses_what_it_cannot_do(db):
    with pytest.raises(ValueError, match="configured namespace"):
        publish("nope:1", 1)
    with pytest.raises(ValueError, match="configured namespace"):
        publish("bad name", 1)
    with pytest.raises(ValueError, match="keeps no history"):
        publish("room-1", 1, history=True)
    with pytest.raises(ValueError):
        publish("news:1", "x" * 200_000)  # above the frame limit: nothing written
    assert not ChannelStream.objects.exists()


def test_publish_writes_in_the_callers_transaction(db, outbox, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                publish("news:6", 1)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert callbacks == [] and not ChannelPublication.objects.exists()


def test_the_page_renders_the_positions_its_first_subscribe_asks_from(connect, pub):
    import json

    from django.template import Context, Template

    pub("news:8", "before the page")
    html = Template(
        '{% load aws_channels %}{% channel_positions "news:8" "news:9" "room-1" "bad name" as p %}'
        '{{ p|json_script:"channel-positions" }}'
    ).render(Context())
    rendered = json.loads(html.split(">", 1)[1].rsplit("<", 1)[0])
    assert set(rendered) == {"news:8", "news:9"}
    assert rendered["news:8"]["offset"] == 1 and rendered["news:9"]["offset"] == 0
    pub("news:8", "between the HTML and the socket")
    pub("news:9", "also")
    alice, a = connect("alice")
    frame = subscribe(
        alice,
        a,
        *({"channel": c, "since": since} for c, since in rendered.items()),
    )
    assert [
        (e["recovered"], [p["data"] for p in e["publications"]]) for e in frame["channels"]
    ] == [
        (True, ["between the HTML and the socket"]),
        (True, ["also"]),
    ]
