"""The HTTP side of the Management API after its CPU cuts (aiohttp's low-level server, the
shared latency timer, counter-based request ids): what aiohttp's Application used to do for us
still happens, through real sockets."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid

import pytest

from django_aws_api_gateway_websockets.local_gateway.ids import new_amzn_request_id
from django_aws_api_gateway_websockets.local_gateway.limits import LatencyTimer

from .conftest import RunningGateway
from .test_management_api import client_for
from .test_server import API, http, ws_connect


def raw_post(running: RunningGateway, path: str, rest: str, later: bytes = b"") -> list[bytes]:
    """``POST path`` with ``rest`` (header lines, blank line and any body) sent at once; the
    first answer, and with ``later`` (a body sent after it) the next one too."""
    with socket.create_connection(("127.0.0.1", running.gateway.port), timeout=5) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\n{rest}".encode())
        answers = [sock.recv(65536)]
        if later:
            sock.sendall(later)
            answers.append(b"")
            while b"\r\n\r\n" not in answers[1]:
                answers[1] += sock.recv(65536)
        return answers


def test_expect_100_continue_gets_its_interim_answer(stub_gateway, stub_backend):
    """A client that waits for ``100 Continue`` before the body (curl does for big bodies)
    gets it at once, then the post is delivered."""
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        interim, final = raw_post(
            stub_gateway,
            f"/{API}/production/@connections/{connection_id}",
            "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n",
            later=b"hello",
        )
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        assert final.startswith(b"HTTP/1.1 200 ")
        assert ws.recv(timeout=5) == "hello"


def test_an_unknown_expectation_gets_417(stub_gateway):
    [answer] = raw_post(stub_gateway, "/@connections/abc", "Expect: teapot\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 417 ")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"message": "Expectation Failed"}


@pytest.mark.parametrize("path", ["/a%0Ab", "/%0A", f"/{API}/production/x%0A"])
def test_paths_with_newlines_get_the_gateways_404(stub_gateway, path):
    status, _headers, body = http("GET", stub_gateway.management_url + path)
    assert status == 404
    assert json.loads(body) == {"message": "Not Found"}


def test_a_connection_id_with_a_newline_gets_400(stub_gateway):
    status, headers, body = http(
        "POST", f"{stub_gateway.management_url}/@connections/ab%0Acd", b"x"
    )
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "BadRequestException"
    assert json.loads(body) == {"message": "Invalid connectionId: ab\ncd"}


def test_every_answer_has_its_own_uuid_shaped_request_id(stub_gateway, stub_backend):
    boto = client_for(stub_gateway)
    try:
        with ws_connect(stub_gateway):
            (connection_id,) = stub_gateway.connection_ids()
            ids = [
                boto.post_to_connection(ConnectionId=connection_id, Data=b"x")["ResponseMetadata"][
                    "RequestId"
                ]
                for _ in range(5)
            ]
        _status, headers, _body = http(
            "POST", f"{stub_gateway.management_url}/@connections/{connection_id}", b"x"
        )
        ids.append(headers["x-amzn-RequestId"])  # a 410's
    finally:
        boto.close()
    assert len(set(ids)) == 6
    for value in ids:
        assert str(uuid.UUID(value)) == value


def test_request_ids_never_repeat_in_a_process():
    values = [new_amzn_request_id() for _ in range(10000)]
    assert len(set(values)) == 10000
    assert all(str(uuid.UUID(v)) == v for v in values)


def test_concurrent_posts_each_wait_the_injected_latency(stub_gateway, stub_backend):
    """Many calls in flight share the latency timer; none answers early, all answer."""
    stub_gateway.set_limits(management_latency_ms=120)
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        durations: list[float] = []
        statuses: list[int] = []

        def post(n: int) -> None:
            started = time.monotonic()
            status, _h, _b = http(
                "POST",
                f"{stub_gateway.management_url}/{API}/production/@connections/{connection_id}",
                str(n).encode(),
            )
            durations.append(time.monotonic() - started)
            statuses.append(status)

        threads = [threading.Thread(target=post, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        received = sorted(int(ws.recv(timeout=5)) for _ in range(20))
    assert statuses == [200] * 20
    assert min(durations) >= 0.12
    assert received == list(range(20))


async def _timer_scenario() -> tuple[list[float], bool, bool]:
    loop = asyncio.get_running_loop()
    timer = LatencyTimer()
    started = loop.time()
    waits = [timer.wait(0.05) for _ in range(3)]
    waits[1].cancel()
    ends: list[float] = []
    for index in (0, 2):
        await waits[index]
        ends.append(loop.time() - started)
    later = timer.wait(0.01)
    await later
    return ends, waits[1].cancelled(), later.done()


def test_latency_timer_never_ends_a_wait_early_and_a_cancel_stays_local():
    ends, cancelled, later_done = asyncio.run(_timer_scenario())
    assert all(end >= 0.05 for end in ends)
    assert cancelled and later_done


@pytest.mark.parametrize(("limit", "status", "frame"), [(131072, 200, "hello world"), (8, 413, "")])
def test_a_body_in_several_chunks_is_one_frame_within_the_limit(
    stub_gateway, stub_backend, limit, status, frame
):
    stub_gateway.set_limits(max_post_bytes=limit)
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        chunks = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        [answer] = raw_post(
            stub_gateway,
            f"/@connections/{connection_id}",
            f"Transfer-Encoding: chunked\r\n\r\n{chunks}",
        )
        assert answer.startswith(f"HTTP/1.1 {status} ".encode())
        if frame:
            assert ws.recv(timeout=5) == frame


def test_any_percent_escape_of_the_id_is_decoded(stub_gateway, stub_backend):
    """botocore escapes only ``=``; another client may escape more (``%41`` is ``A``,
    lower-case ``%3d`` is ``=``)."""
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        escaped = "".join(f"%{ord(c):02x}" for c in connection_id)
        for path_id in (connection_id.replace("=", "%3D"), escaped):
            status, _h, _b = http(
                "POST", f"{stub_gateway.management_url}/@connections/{path_id}", b"x"
            )
            assert status == 200
            assert ws.recv(timeout=5) == "x"
        status, headers, _b = http(
            "POST", f"{stub_gateway.management_url}/@connections/%2541{connection_id}", b"x"
        )
        assert (status, headers["x-amzn-ErrorType"]) == (400, "BadRequestException")
