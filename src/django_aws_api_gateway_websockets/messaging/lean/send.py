"""The lean transport's send: PostToConnection to many connections on the loop thread.

:func:`send_async` prepares, per route, a signer with the credentials frozen for this send and
the pool of the route's origin, hashes the body once, and runs up to ``lean_in_flight`` workers
over the targets on the loop thread (:mod:`.loop`). Each post is signed (:mod:`.signing`),
written on a kept-alive connection (:mod:`.http`) and its answer read as botocore would: a 2xx is
``sent`` with boto3's ``ResponseMetadata``, anything else becomes the ``ClientError`` botocore's
parser would raise and is classified by the shared rules (:mod:`..outcomes`), retried per the
same :class:`~..outcomes.RetryPolicy`. A kept-alive connection the server closed while idle is
replaced at once without counting as an attempt.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import http.client
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import botocore
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from ...wire import is_connection_id
from ..outcomes import Outcome, RetryPolicy, classify
from .botocore_view import OPERATION, percent_encode
from .http import BrokenError, Pool, Response
from .loop import Runner, runner
from .route import LeanRoute
from .signing import PostSigner

USER_AGENT = f"django-aws-api-gateway-websockets lean-transport botocore/{botocore.__version__}"


@dataclass
class _Prepared:
    """What one send needs per route: the signer (with credentials frozen for this send) and
    the pool."""

    route: LeanRoute
    signer: PostSigner
    pool: Pool
    fixed_headers: bytes
    length_header: bytes = b""
    url_prefix: str = ""
    path_prefix: str = ""
    head_prefix: bytes = b""

    def __post_init__(self) -> None:
        route = self.route
        self.path_prefix = f"{route.base_path}/@connections/"
        self.url_prefix = f"{route.scheme}://{route.host_header}{self.path_prefix}"
        self.head_prefix = f"Host: {route.host_header}\r\n".encode("latin-1")


def _encoded(connection_id: str) -> str:
    """``percent_encode(connection_id)``: for an id shaped as API Gateway issues them (letters,
    digits, ``_``, ``-`` and ``=``) only ``=`` is encoded, without urllib's quoting per post."""
    if is_connection_id(connection_id):
        return connection_id.replace("=", "%3D")
    return str(percent_encode(connection_id))


def _request_bytes(prepared: _Prepared, connection_id: str, body: bytes, body_sha: str) -> bytes:
    encoded = _encoded(connection_id)
    headers = prepared.signer.headers(encoded)
    head = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    return b"".join(
        (
            f"POST {prepared.path_prefix}{encoded} HTTP/1.1\r\n".encode("latin-1"),
            prepared.head_prefix,
            head.encode("latin-1"),
            prepared.length_header,
            prepared.fixed_headers,
            body,
        )
    )


def _client_error(response: Response) -> ClientError:
    """The ``ClientError`` botocore's rest-json parser raises for ``response``: the code from
    ``x-amzn-ErrorType``, else the body's ``code``/``__type``, else the status; a bare 5xx gets
    the status and its reason phrase."""
    status = response.status
    stripped = response.body.strip()
    if status >= 500 and (not stripped or stripped.startswith(b"<html>")):
        code, message = str(status), http.client.responses.get(status, "")
    else:
        body: Any
        try:
            body = json.loads(response.body) if response.body else {}
        except ValueError:
            body = {"message": response.body.decode("utf-8", "replace")}
        if not isinstance(body, dict):
            body = {}
        message = str(body.get("message", body.get("Message", "")))
        code = str(body.get("__type", str(status)))
        if "x-amzn-errortype" in response.headers:
            code = response.headers["x-amzn-errortype"]
        elif "code" in body or "Code" in body:
            code = str(body.get("code", body.get("Code", "")))
        code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    error: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": _metadata(response, 0),
    }
    return ClientError(error, OPERATION)


def _metadata(response: Response, retries: int) -> dict[str, Any]:
    return {
        "RequestId": response.headers.get("x-amzn-requestid", ""),
        "HTTPStatusCode": response.status,
        "HTTPHeaders": response.headers,
        "RetryAttempts": retries,
    }


async def _exchange(prepared: _Prepared, data: bytes) -> Response:
    pool = prepared.pool
    conn = await pool.acquire()
    reused = conn.requests > 0
    try:
        response = await conn.request(data, prepared.route.read_timeout)
    except BrokenError as error:
        pool.release(conn, reuse=False)
        if error.fresh and reused:
            raise  # a stale keep-alive connection: the caller retries at once
        raise ConnectionClosedError(endpoint_url=prepared.route.endpoint_url) from error
    except TimeoutError as error:
        pool.release(conn, reuse=False)
        raise ReadTimeoutError(endpoint_url=prepared.route.endpoint_url) from error
    except BaseException:
        pool.release(conn, reuse=False)
        raise
    pool.release(conn, reuse=response.keep_alive)
    return response


async def _post(
    prepared: _Prepared,
    connection_id: str,
    body: bytes,
    body_sha: str,
    policy: RetryPolicy,
) -> Outcome:
    attempt = 0
    stale_retried = False
    while True:
        attempt += 1
        error: BaseException
        try:
            data = _request_bytes(prepared, connection_id, body, body_sha)
            response = await _exchange(prepared, data)
        except BrokenError:
            if not stale_retried:
                stale_retried = True
                attempt -= 1
                continue
            error = ConnectionClosedError(endpoint_url=prepared.route.endpoint_url)
        except Exception as caught:  # one connection's failure never stops the others
            error = caught
        else:
            if 200 <= response.status < 300:
                return Outcome(
                    connection_id,
                    "sent",
                    response={"ResponseMetadata": _metadata(response, attempt - 1)},
                    attempts=attempt,
                )
            error = _client_error(response)
        if policy.retries(error, attempt):
            await asyncio.sleep(policy.delay(attempt))
            continue
        return classify(connection_id, error, attempt)


async def _send_all(
    targets: Sequence[tuple[str, LeanRoute]],
    message: str,
    in_flight: int,
    policy: RetryPolicy,
    run: Runner,
) -> list[Outcome]:
    body = message.encode("utf-8")
    body_sha = hashlib.sha256(body).hexdigest()
    fixed = f"User-Agent: {USER_AGENT}\r\nAccept-Encoding: identity\r\n\r\n".encode("latin-1")
    prepared: dict[int, _Prepared] = {}
    for _, route in targets:
        if id(route) not in prepared:
            credentials = route.credentials
            frozen = credentials.get_frozen_credentials()
            path_prefix = f"{route.base_path}/@connections/"
            signer = PostSigner(
                frozen, route.signing_name, route.region, route.host_header, path_prefix, body_sha
            )
            pool = run.pool(route, in_flight)
            length = f"Content-Length: {len(body)}\r\n".encode("latin-1")
            prepared[id(route)] = _Prepared(route, signer, pool, fixed, length)
    outcomes: list[Outcome] = []
    work = iter(targets)

    async def worker() -> None:
        for connection_id, route in work:
            outcomes.append(await _post(prepared[id(route)], connection_id, body, body_sha, policy))

    await asyncio.gather(*(worker() for _ in range(max(1, min(in_flight, len(targets))))))
    return outcomes


def send_async(
    targets: Sequence[tuple[str, LeanRoute]],
    message: str,
    in_flight: int,
    retry: RetryPolicy,
) -> concurrent.futures.Future[list[Outcome]]:
    """Start posting ``message`` to every ``(connection_id, route)`` on the loop thread, with
    at most ``in_flight`` requests in flight per origin; the future's result is one
    :class:`~..outcomes.Outcome` per target."""
    run = runner()
    return run.submit(_send_all(list(targets), message, in_flight, retry, run))


def send(
    targets: Sequence[tuple[str, LeanRoute]],
    message: str,
    in_flight: int,
    retry: RetryPolicy,
) -> list[Outcome]:
    """:func:`send_async`, waited for."""
    return send_async(targets, message, in_flight, retry).result()
