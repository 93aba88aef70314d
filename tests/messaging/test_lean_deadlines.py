"""The lean transport's read deadlines, kept per tick rather than one loop timer per request
(``lean.http.Deadlines``): a slow answer times out, never early; an answered request's
deadline is gone, so its kept-alive connection outlives it; and fast and slow posts of one
broadcast each end the right way. Real sockets, against the fake Management API."""

from __future__ import annotations

import dataclasses
import time

import pytest

from django_aws_api_gateway_websockets import messaging
from django_aws_api_gateway_websockets.messaging import RetryPolicy, lean
from django_aws_api_gateway_websockets.models import ApiGateway
from tests.support.fake_management_api import Reply

from . import test_lean_transport

# Its fixtures: the fake Management API, its gateway row, a fresh transport around each test.
_fresh_transport = test_lean_transport._fresh_transport
api = test_lean_transport.api
fake_gateway = test_lean_transport.fake_gateway

pytestmark = pytest.mark.django_db

NO_RETRIES = RetryPolicy(1, 0.001, 0.001)


def route_for(gateway: ApiGateway, read_timeout: float) -> lean.LeanRoute:
    route = lean.LeanRoute.from_client(messaging.shared_client(gateway.management_endpoint, 4))
    assert route is not None
    return dataclasses.replace(route, read_timeout=read_timeout)


def test_a_slow_answer_times_out_not_before_the_read_timeout(api, fake_gateway):
    route = route_for(fake_gateway, 0.25)
    api.script("slow=", Reply(delay=1.0))
    started = time.monotonic()
    [outcome] = lean.send([("slow=", route)], "{}", 4, NO_RETRIES)
    elapsed = time.monotonic() - started
    assert (outcome.status, outcome.error) == ("failed", "ReadTimeoutError")
    assert elapsed >= 0.25


def test_an_answered_request_leaves_no_deadline_on_its_connection(api, fake_gateway):
    """The connection sits idle past the read timeout of the request it carried, and is
    still the one the next post uses."""
    route = route_for(fake_gateway, 0.2)
    [first] = lean.send([("a=", route)], "{}", 1, NO_RETRIES)
    time.sleep(0.5)
    [second] = lean.send([("b=", route)], "{}", 1, NO_RETRIES)
    assert (first.status, second.status) == ("sent", "sent")
    assert api.tcp_connections == 1


def test_fast_and_slow_posts_of_one_send_each_end_their_own_way(api, fake_gateway):
    route = route_for(fake_gateway, 0.4)
    for n in range(4):
        api.script(f"slow{n}=", Reply(delay=1.2))
    ids = [f"fast{n}=" for n in range(12)] + [f"slow{n}=" for n in range(4)]
    outcomes = lean.send([(i, route) for i in ids], "{}", 16, NO_RETRIES)
    by_id = {o.connection_id: (o.status, o.error) for o in outcomes}
    assert by_id == {
        **{f"fast{n}=": ("sent", "") for n in range(12)},
        **{f"slow{n}=": ("failed", "ReadTimeoutError") for n in range(4)},
    }
