"""The lean transport on real sockets: wire compatibility with boto3 (same path, body, signed
headers, credential scope; signatures verified by botocore's stock signer), credentials from the
same sources as the boto3 path, TLS verification, keep-alive, HTTP/1.1 framing, retries,
timeouts, bounded in-flight requests, and when it must not be used."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import ssl
import threading
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from asgiref.sync import sync_to_async
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from django.test import override_settings

from django_aws_api_gateway_websockets import aws, messaging, models
from django_aws_api_gateway_websockets.messaging import RetryPolicy, lean
from django_aws_api_gateway_websockets.messaging.lean import signing
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from tests.support.budget import query_budget
from tests.support.fake_management_api import GONE, THROTTLED, FakeManagementAPI, Reply, running

pytestmark = pytest.mark.django_db

FAST_RETRIES = {"send_retry_base_delay": 0.001, "send_retry_max_delay": 0.005}
LEAN_UA = "django-aws-api-gateway-websockets lean-transport"


@pytest.fixture(autouse=True)
def _fresh_transport():
    messaging.clear_client_cache()
    yield
    lean.shutdown()
    messaging.clear_client_cache()


@pytest.fixture
def api():
    keys = {"testing": "testing", "PROFKEY": "profsecret", "ENVKEY": "envsecret"}
    with running(secrets=keys) as server:
        yield server


@pytest.fixture
def fake_gateway(api: FakeManagementAPI) -> ApiGateway:
    root = api.endpoint("").replace("http://", "ws://")
    return ApiGateway.objects.create(
        api_name="fake", api_id="fake123456", api_endpoint=f"{root}/fake", stage_name="prod"
    )


def sessions(gateway: ApiGateway, count: int, prefix: str = "c") -> list[WebSocketSession]:
    return WebSocketSession.objects.bulk_create(
        WebSocketSession(connection_id=f"{prefix}{i}=", api_gateway=gateway) for i in range(count)
    )


def user_agents(api: FakeManagementAPI) -> set[str]:
    return {
        "lean" if r.headers["User-Agent"].startswith(LEAN_UA) else r.headers["User-Agent"][:5]
        for r in api.requests
    }


# -- choosing the transport ---------------------------------------------------------------


def test_the_real_factory_gets_the_lean_transport(api, fake_gateway) -> None:
    [s] = sessions(fake_gateway, 1)
    response = s.send_message({"hello": "lean"})
    [received] = api.requests
    assert received.headers["User-Agent"].startswith(LEAN_UA)
    assert received.signature_ok
    assert received.path == "/fake/prod/@connections/c0%3D"
    assert received.body == b'{"hello": "lean"}'
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["ResponseMetadata"]["RequestId"] == received_request_id(api, 0)
    assert messaging.transport_for(fake_gateway.management_endpoint, models.get_boto3_client) == (
        "lean"
    )


def received_request_id(api: FakeManagementAPI, index: int) -> str:
    return f"req-{index + 1}"


@override_settings(WEBSOCKETS={"send_transport": "boto3"})
def test_boto3_setting(api, fake_gateway) -> None:
    sessions(fake_gateway, 3)
    result = WebSocketSession.objects.send_message({"n": 1})
    assert sorted(result.sent) == ["c0=", "c1=", "c2="]
    assert user_agents(api) == {"Boto3"}


@override_settings(WEBSOCKETS={"send_transport": "lean"})
def test_never_lean_when_get_boto3_client_is_replaced(api, fake_gateway) -> None:
    """Even a patch that returns a real client keeps every post on the boto3 path."""
    sessions(fake_gateway, 3)
    seen: list[str] = []

    def wrapper(service: str = "apigatewayv2", **kwargs: Any) -> Any:
        seen.append(service)
        return aws.get_boto3_client(service, **kwargs)

    with mock.patch.object(models, "get_boto3_client", wrapper):
        result = WebSocketSession.objects.send_message({"n": 1})
        WebSocketSession.objects.first().send_message({"n": 2})
        assert messaging.transport_for(fake_gateway.management_endpoint, wrapper) == "boto3"
    assert len(result.sent) == 3
    assert seen == ["apigatewaymanagementapi", "apigatewaymanagementapi"]
    assert user_agents(api) == {"Boto3"}


def test_moto_interception_keeps_the_boto3_path(fake_gateway) -> None:
    from moto import mock_aws

    endpoint = "https://abc.execute-api.us-east-1.amazonaws.com/prod"
    assert messaging.transport_for(endpoint, models.get_boto3_client) == "lean"
    with mock_aws():
        assert messaging.transport_for(endpoint, models.get_boto3_client) == "boto3"
    assert messaging.transport_for(endpoint, models.get_boto3_client) == "lean"


def test_green_threads_keep_the_boto3_path(monkeypatch) -> None:
    import sys
    import types

    endpoint = "https://abc.execute-api.us-east-1.amazonaws.com/prod"
    fake = types.SimpleNamespace(is_module_patched=lambda name: name == "threading")
    monkeypatch.setitem(sys.modules, "gevent.monkey", fake)
    assert messaging.transport_for(endpoint, models.get_boto3_client) == "boto3"
    fake.is_module_patched = lambda name: False
    assert messaging.transport_for(endpoint, models.get_boto3_client) == "lean"
    monkeypatch.delitem(sys.modules, "gevent.monkey")
    monkeypatch.setitem(
        sys.modules,
        "eventlet.patcher",
        types.SimpleNamespace(is_monkey_patched=lambda name: name == "thread"),
    )
    assert messaging.transport_for(endpoint, models.get_boto3_client) == "boto3"


def test_a_proxy_for_the_endpoint_keeps_the_boto3_path(monkeypatch) -> None:
    endpoint = "https://abc.execute-api.us-east-1.amazonaws.com/prod"
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert messaging.transport_for(endpoint, models.get_boto3_client) == "boto3"
    monkeypatch.setenv("NO_PROXY", "amazonaws.com")
    messaging.clear_client_cache()
    assert messaging.transport_for(endpoint, models.get_boto3_client) == "lean"


def client(**kwargs: Any) -> Any:
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=kwargs.pop(
            "endpoint_url", "https://abc.execute-api.eu-west-1.amazonaws.com/p"
        ),
        region_name="eu-west-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        **kwargs,
    )


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: mock.Mock(), "not a botocore client"),
        (
            lambda: boto3.client(
                "s3", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b"
            ),
            "not a Management API client",
        ),
        (lambda: client(config=Config(client_cert="/tmp/cert.pem")), "client certificate"),
        (lambda: client(config=Config(signature_version="v4a")), "signature version"),
        (lambda: client(config=Config(proxies={"https": "http://p:1"})), "proxy"),
        (lambda: client(endpoint_url="https://h/p?x=1"), "query"),
    ],
)
def test_configurations_the_lean_transport_does_not_reproduce(make, reason, caplog) -> None:
    with caplog.at_level("INFO", logger="django_aws_api_gateway_websockets.messaging.lean.route"):
        assert lean.LeanRoute.from_client(make(), explain=True) is None
    assert reason in caplog.text


def test_no_credentials_keeps_the_boto3_path(monkeypatch) -> None:
    from botocore.credentials import Credentials

    real = client()
    monkeypatch.setattr(real, "_get_credentials", lambda: None)
    assert lean.LeanRoute.from_client(real) is None
    monkeypatch.setattr(real, "_get_credentials", lambda: Credentials("a", "b"))
    route = lean.LeanRoute.from_client(real)
    assert route is not None and route.region == "eu-west-1"
    assert (route.host_header, route.port, route.base_path) == (
        "abc.execute-api.eu-west-1.amazonaws.com",
        443,
        "/p",
    )


# -- wire compatibility and credentials -------------------------------------------------


@pytest.fixture
def aws_profile(tmp_path: Path, monkeypatch) -> str:
    (tmp_path / "credentials").write_text(
        "[bench]\naws_access_key_id = PROFKEY\naws_secret_access_key = profsecret\n"
        "aws_session_token = PROFTOKEN\n"
    )
    (tmp_path / "config").write_text("[profile bench]\nregion = eu-west-3\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    return "bench"


@pytest.mark.parametrize("source", ["settings keys", "profile", "default chain"])
def test_same_request_as_boto3_from_every_credential_source(
    source, api, fake_gateway, aws_profile, monkeypatch
) -> None:
    overrides: dict[str, Any] = {}
    expected_key, expected_region, token = "testing", "us-east-1", None
    if source == "profile":
        overrides["AWS_IAM_PROFILE"] = aws_profile
        expected_key, expected_region, token = "PROFKEY", "eu-west-3", "PROFTOKEN"
    elif source == "default chain":
        overrides.update(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ENVKEY")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
        monkeypatch.setenv("AWS_SESSION_TOKEN", "ENVTOKEN")
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        expected_key, token = "ENVKEY", "ENVTOKEN"
    [s] = sessions(fake_gateway, 1, prefix="a/b+c")
    with override_settings(**overrides):
        s.send_message({"é": "ü"})
        with override_settings(WEBSOCKETS={"send_transport": "boto3"}):
            s.send_message({"é": "ü"})
    lean, boto = api.requests
    assert lean.headers["User-Agent"].startswith(LEAN_UA)
    assert boto.headers["User-Agent"].startswith("Boto3")
    for received in (lean, boto):
        assert received.signature_ok, received.headers["Authorization"]
        assert received.scope.split("/")[0] == expected_key
        assert received.scope.split("/")[2:] == [expected_region, "execute-api"]
        assert received.headers.get("X-Amz-Security-Token") == token
    assert lean.path == boto.path == "/fake/prod/@connections/a%2Fb%2Bc0%3D"
    assert lean.body == boto.body == b'{"\\u00e9": "\\u00fc"}'
    assert lean.signed_headers == boto.signed_headers
    assert lean.method == boto.method == "POST"
    assert lean.headers["Host"] == boto.headers["Host"]
    assert lean.headers["Content-Length"] == boto.headers["Content-Length"]


def test_signing_key_is_derived_once(api, fake_gateway) -> None:
    sessions(fake_gateway, 20)
    signing._signing_keys.clear()
    derive = signing._derive_signing_key
    with mock.patch.object(signing, "_derive_signing_key", wraps=derive) as derived:
        result = WebSocketSession.objects.send_message({})
        WebSocketSession.objects.send_message({})
    assert len(result.sent) == 20 and all(r.signature_ok for r in api.requests)
    assert len(api.requests) == 40
    derived.assert_called_once_with("testing", mock.ANY, "us-east-1", "execute-api")
    assert len(signing._signing_keys) == 1


@pytest.mark.parametrize(
    "reply",
    [
        Reply(403, "ForbiddenException", b'{"message": "Forbidden"}'),
        Reply(413, "PayloadTooLargeException", b'{"message": "too big"}'),
        Reply(400, "BadRequestException", b'{"message": "bad"}', header_type=False),
        Reply(500, "", b""),
        GONE,
        Reply(410, "", b""),
    ],
    ids=["403", "413", "400-body-only", "500-bare", "410", "410-bare"],
)
def test_errors_classified_as_boto3_does(reply, api, fake_gateway) -> None:
    [s] = sessions(fake_gateway, 1)
    outcomes = {}
    for name in ("lean", "boto3"):
        api.script("c0=", reply)
        with override_settings(WEBSOCKETS={"send_transport": name, "send_max_attempts": 1}):
            [outcomes[name]] = WebSocketSession.objects.send_message({}).outcomes
        WebSocketSession.objects.update(connected=True)
    assert (outcomes["lean"].status, outcomes["lean"].error) == (
        outcomes["boto3"].status,
        outcomes["boto3"].error,
    )
    assert outcomes["lean"].status == ("gone" if reply.status == 410 else "failed")
    if reply.status != 410:
        lean_error, boto_error = outcomes["lean"].exception, outcomes["boto3"].exception
        assert isinstance(lean_error, ClientError) and isinstance(boto_error, ClientError)
        assert lean_error.response["Error"] == boto_error.response["Error"]
        assert s.send_message is not None


def test_single_send_raises_like_boto3(api, fake_gateway) -> None:
    [s] = sessions(fake_gateway, 1)
    api.script("c0=", Reply(403, "ForbiddenException", b'{"message": "Forbidden"}'))
    with pytest.raises(ClientError) as caught:
        s.send_message({})
    assert caught.value.response["Error"] == {"Code": "ForbiddenException", "Message": "Forbidden"}
    assert str(caught.value) == (
        "An error occurred (ForbiddenException) when calling the PostToConnection operation: "
        "Forbidden"
    )
    api.script("c0=", GONE)
    assert s.send_message({}) is None
    assert not WebSocketSession.objects.get().connected


# -- outcomes, retries, Gone ---------------------------------------------------------------


@override_settings(WEBSOCKETS={**FAST_RETRIES, "send_max_attempts": 3})
def test_outcome_report(api, fake_gateway) -> None:
    sessions(fake_gateway, 6)
    api.script("c1=", GONE)
    api.script("c2=", THROTTLED, THROTTLED, Reply())
    api.script("c3=", THROTTLED, THROTTLED, THROTTLED)
    api.script("c4=", Reply(403, "ForbiddenException", b'{"message": "no"}'))
    with query_budget(2) as ctx:  # the rows with their gateways, one UPDATE for the gone
        result = WebSocketSession.objects.send_message({"n": 1})
    assert sum("UPDATE" in q["sql"] for q in ctx.captured_queries) == 1
    assert result.summary() == {"sent": 3, "gone": 1, "failed": 2}
    assert sorted(result.sent) == ["c0=", "c2=", "c5="]
    assert len(result) == 3 and all(r["ResponseMetadata"]["HTTPStatusCode"] == 200 for r in result)
    by_id = {o.connection_id: o for o in result.outcomes}
    assert by_id["c2="].attempts == 3
    assert by_id["c2="].response["ResponseMetadata"]["RetryAttempts"] == 2
    assert (by_id["c3="].error, by_id["c3="].attempts) == ("LimitExceededException", 3)
    assert (by_id["c4="].error, by_id["c4="].detail) == ("ForbiddenException", mock.ANY)
    assert "no" in by_id["c4="].detail
    assert result.retried == 2 + 2
    assert len(api.bodies("c3=")) == 3
    assert list(
        WebSocketSession.objects.filter(connected=False).values_list("connection_id", flat=True)
    ) == ["c1="]


@override_settings(WEBSOCKETS={**FAST_RETRIES, "send_max_attempts": 3})
def test_broken_and_refused_connections(api, fake_gateway) -> None:
    sessions(fake_gateway, 3)
    api.script("c0=", Reply(drop=True), Reply())
    api.script("c1=", Reply(drop=True), Reply(drop=True), Reply(drop=True), Reply(drop=True))
    result = WebSocketSession.objects.send_message({})
    by_id = {o.connection_id: o for o in result.outcomes}
    assert by_id["c0="].status == "sent"
    assert by_id["c1="].status == "failed"
    assert by_id["c1="].error == "ConnectionClosedError"
    assert by_id["c2="].status == "sent"
    # A port nobody listens on: refused, retried, reported; a single send raises.
    api.stop()
    result = WebSocketSession.objects.send_message({})
    assert {(o.error, o.attempts) for o in result.outcomes} == {("EndpointConnectionError", 3)}
    with pytest.raises(EndpointConnectionError):
        WebSocketSession.objects.first().send_message({})


def test_read_timeout_is_not_retried(api, fake_gateway) -> None:
    real = messaging.shared_client(fake_gateway.management_endpoint, 4)
    route = dataclasses.replace(lean.LeanRoute.from_client(real), read_timeout=0.3)
    api.script("slow=", Reply(delay=1.5))
    [outcome] = lean.send([("slow=", route)], "{}", 4, RetryPolicy(3, 0.001, 0.001))
    assert (outcome.status, outcome.error, outcome.attempts) == ("failed", "ReadTimeoutError", 1)


def test_http_framing(api, fake_gateway) -> None:
    sessions(fake_gateway, 5)
    api.script("c0=", Reply(200, body=b'{"chunked": "body"}', chunked=True))
    api.script("c1=", Reply(200, body=b"until eof", http10=True))
    api.script("c2=", Reply(200, close=True))
    api.script("c3=", Reply(410, "GoneException", b'{"message": "Gone"}', chunked=True))
    result = WebSocketSession.objects.send_message({})
    assert sorted(result.sent) == ["c0=", "c1=", "c2=", "c4="]
    assert result.gone == ["c3="]
    # The connections that were closed are not reused; the others are.
    result = WebSocketSession.objects.send_message({})
    assert sorted(result.sent) == ["c0=", "c1=", "c2=", "c4="]


def test_keep_alive_reuses_connections(api, fake_gateway) -> None:
    [s] = sessions(fake_gateway, 1)
    for n in range(20):
        s.send_message({"n": n})
    assert api.tcp_connections == 1
    assert [r.body for r in api.requests] == [f'{{"n": {n}}}'.encode() for n in range(20)]
    assert lean.runner().connections() == 1


def test_server_closing_idle_connections(api, fake_gateway) -> None:
    """A server that closes kept-alive sockets after each answer (without saying so) costs
    reconnections, never a failure."""
    api.close_after_each = False
    sessions(fake_gateway, 10)
    for _ in range(3):
        api.default = Reply()
        result = WebSocketSession.objects.send_message({})
        assert len(result.sent) == 10
        for pool in lean.runner().pools.values():
            for conn in pool._idle:
                assert conn.transport is not None
                conn.transport.abort()  # the server side closing: the client finds out later
    assert all(o.attempts == 1 for o in result.outcomes)


@override_settings(WEBSOCKETS={"lean_in_flight": 8})
def test_in_flight_requests_are_bounded(api, fake_gateway) -> None:
    sessions(fake_gateway, 40)
    api.barrier = threading.Barrier(8, timeout=10)
    api.barrier_ids = {f"c{i}=" for i in range(8)}  # passes only if 8 are in flight together
    result = WebSocketSession.objects.send_message({})
    assert len(result.sent) == 40
    assert api.peak == 8
    assert api.tcp_connections <= 8


def test_sending_from_async_code_and_threads(api, fake_gateway) -> None:
    """No running loop is assumed: the transport has its own loop thread."""
    [s] = sessions(fake_gateway, 1)

    async def from_a_coroutine() -> Any:
        return await sync_to_async(s.send_message)({"from": "async"})

    assert asyncio.run(from_a_coroutine())["ResponseMetadata"]["HTTPStatusCode"] == 200
    route = lean.LeanRoute.from_client(messaging.shared_client(fake_gateway.management_endpoint, 4))

    async def blocking_inside_a_loop() -> Any:
        return lean.send([("c0=", route)], '{"blocking": 1}', 4, RetryPolicy())

    [outcome] = asyncio.run(blocking_inside_a_loop())
    assert outcome.status == "sent"
    outcomes: list[Any] = []

    def send_from_a_thread() -> None:
        outcomes.extend(lean.send([("c0=", route)], "{}", 4, RetryPolicy()))

    threads = [threading.Thread(target=send_from_a_thread) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [o.status for o in outcomes] == ["sent"] * 5


def test_shutdown_closes_everything_and_the_next_send_restarts(api, fake_gateway) -> None:
    [s] = sessions(fake_gateway, 1)
    s.send_message({})
    first = lean.runner()
    assert first.connections() == 1
    lean.shutdown()
    assert not first.thread.is_alive() and first.loop.is_closed()
    s.send_message({})
    assert lean.runner() is not first
    assert api.tcp_connections == 2


def test_the_documented_shutdown_path_still_works() -> None:
    from django_aws_api_gateway_websockets import transport

    assert transport.shutdown is lean.shutdown


def test_retry_policy_backoff_and_jitter() -> None:
    policy = RetryPolicy(max_attempts=6, base_delay=0.1, max_delay=0.5)
    for retry, cap in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.5), (5, 0.5)]:
        delays = {policy.delay(retry) for _ in range(200)}
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap / 2 and len(delays) > 100  # jittered, not fixed


def test_gone_without_the_error_header_on_the_boto3_path() -> None:
    response: Any = {"Error": {"Code": "410"}, "ResponseMetadata": {"HTTPStatusCode": 410}}
    error = ClientError(response, "PostToConnection")
    assert messaging.is_gone(error)


# -- TLS ------------------------------------------------------------------------------------


@pytest.fixture
def tls_api(tmp_path: Path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = tmp_path / "cert.pem"
    key_path = tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    api = FakeManagementAPI().start()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    assert api._server is not None
    api._server.socket = context.wrap_socket(api._server.socket, server_side=True)
    yield api, cert_path
    api.stop()


def test_tls_verification_follows_the_ca_bundle(tls_api, monkeypatch) -> None:
    api, cert_path = tls_api
    port = api._server.server_address[1]
    gateway = ApiGateway.objects.create(
        api_name="tls", api_id="tls1234567", api_endpoint=f"wss://localhost:{port}", stage_name="p"
    )
    sessions(gateway, 2)
    # Not trusted: both transports refuse the certificate.
    with override_settings(WEBSOCKETS={"send_max_attempts": 1}):
        for name in ("lean", "boto3"):
            with override_settings(WEBSOCKETS={"send_transport": name, "send_max_attempts": 1}):
                result = WebSocketSession.objects.send_message({})
            assert result.summary()["failed"] == 2, name
    assert api.requests == []
    # AWS_CA_BUNDLE trusts it, for boto3 and so for the lean transport.
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert_path))
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    messaging.clear_client_cache()
    assert messaging.transport_for(gateway.management_endpoint, models.get_boto3_client) == "lean"
    result = WebSocketSession.objects.send_message({"tls": True})
    assert len(result.sent) == 2
    assert user_agents(api) == {"lean"}
    assert all(r.signature_ok for r in api.requests)
    assert api.requests[0].headers["Host"] == f"localhost:{port}"


# -- moto's server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("name", ["lean", "boto3"])
def test_wire_compatible_with_moto_server(name, moto_server) -> None:
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    host, port = moto_server.get_host_and_port()
    endpoint = f"http://{host}:{port}"  # moto serves @connections at the root only
    with override_settings(WEBSOCKETS={"send_transport": name}):
        assert messaging.transport_for(endpoint, models.get_boto3_client) == name
        outcomes = messaging.deliver(
            [(f"{name}-{i}=", endpoint) for i in range(5)], '{"via": "moto"}', aws.get_boto3_client
        )
    assert [o.status for o in outcomes] == ["sent"] * 5
    backend = apigatewaymanagementapi_backends["123456789012"]["us-east-1"]
    stored = {cid: c.data for cid, c in backend.connections.items() if cid.startswith(name)}
    assert stored == {f"{name}-{i}%3D": b'{"via": "moto"}' for i in range(5)}


@pytest.mark.parametrize(
    "url",
    [
        "https://abc.execute-api.eu-west-1.amazonaws.com/prod",
        "https://ABC.Execute-Api.eu-west-1.amazonaws.com:443/prod",
        "https://abc.example.com:8443/prod",
        "http://127.0.0.1:8001/local/production",
        "http://localhost:80/x",
        "http://[::1]:9000/x",
        "https://[::1]/x",
    ],
)
def test_host_header_is_the_one_botocore_signs(url) -> None:
    from botocore.auth import _host_from_url

    route = lean.LeanRoute.from_client(client(endpoint_url=url))
    assert route is not None
    assert route.host_header == _host_from_url(url)
