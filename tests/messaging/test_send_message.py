"""send_message on a session and on querysets: endpoints, size limit, Gone handling, per-connection
failures, concurrency, and the patch point users rely on (models.get_boto3_client)."""

from __future__ import annotations

import threading
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from django.contrib.auth import get_user_model
from django.test import override_settings
from moto import mock_aws

from django_aws_api_gateway_websockets import models
from django_aws_api_gateway_websockets.messaging import MAX_MESSAGE_SIZE, SendResult
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from django_aws_api_gateway_websockets.testing import capture_messages
from tests.support.budget import query_budget

pytestmark = pytest.mark.django_db

FAST_RETRIES = {"send_retry_base_delay": 0.001, "send_retry_max_delay": 0.002}


@pytest.fixture
def aws_gateway() -> ApiGateway:
    return ApiGateway.objects.create(api_name="aws", api_id="awsid12345", stage_name="prod")


@pytest.fixture
def local_gateway() -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="local", api_id="local12345", api_endpoint="ws://127.0.0.1:8001/local12345"
    )


def session(connection_id: str, gateway: ApiGateway | None, **kw: Any) -> WebSocketSession:
    return WebSocketSession.objects.create(connection_id=connection_id, api_gateway=gateway, **kw)


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PostToConnection",
    )


class TestEndpoints:
    def test_aws_endpoint_from_api_id_region_and_stage(self, aws_gateway) -> None:
        assert aws_gateway.management_endpoint == (
            "https://awsid12345.execute-api.us-east-1.amazonaws.com/prod"
        )

    @override_settings(AWS_GATEWAY_REGION_NAME="eu-west-2")
    def test_gateway_region_wins(self, aws_gateway) -> None:
        assert ".eu-west-2." in aws_gateway.management_endpoint

    def test_stored_endpoint_keeps_host_and_path(self, local_gateway) -> None:
        assert local_gateway.management_endpoint == "http://127.0.0.1:8001/local12345/production"

    def test_aws_style_stored_endpoint(self) -> None:
        gw = ApiGateway(
            api_name="x", api_id="a1", api_endpoint="wss://a1.execute-api.eu-west-1.amazonaws.com"
        )
        assert gw.management_endpoint == "https://a1.execute-api.eu-west-1.amazonaws.com/production"

    def test_never_created_gateway(self) -> None:
        with pytest.raises(ValueError, match="never created"):
            ApiGateway(api_name="x").management_endpoint  # noqa: B018


class TestSessionSendMessage:
    def test_posts_json_to_its_gateway(self, aws_gateway) -> None:
        s = session("c1=", aws_gateway)
        with capture_messages() as outbox:
            response = s.send_message({"a": 1})
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
        [sent] = outbox.messages
        assert (sent.endpoint, sent.connection_id, sent.json()) == (
            aws_gateway.management_endpoint,
            "c1=",
            {"a": 1},
        )

    def test_gone_marks_disconnected_and_returns_none(self, aws_gateway) -> None:
        s = session("c1=", aws_gateway)
        with capture_messages() as outbox:
            outbox.make_gone("c1=")
            assert s.send_message({"a": 1}) is None
        assert s.connected is False
        assert WebSocketSession.objects.get().connected is False

    def test_other_client_errors_raise(self, aws_gateway) -> None:
        s = session("c1=", aws_gateway)
        fake = mock.Mock()
        fake.return_value.post_to_connection.side_effect = client_error("ForbiddenException", 403)
        with mock.patch.object(models, "get_boto3_client", fake), pytest.raises(ClientError):
            s.send_message({"a": 1})
        assert WebSocketSession.objects.get().connected

    def test_size_limit(self, aws_gateway) -> None:
        s = session("c1=", aws_gateway)
        with capture_messages() as outbox:
            with pytest.raises(ValueError, match="exceeds AWS limit"):
                s.send_message({"x": "y" * MAX_MESSAGE_SIZE})
            s.send_message({"x": "y" * (MAX_MESSAGE_SIZE - len('{"x": ""}'))})
        assert len(outbox.messages) == 1
        assert len(outbox.messages[0].data) == MAX_MESSAGE_SIZE

    def test_users_patch_of_get_boto3_client_sees_the_call(self, local_gateway) -> None:
        s = session("c1=", local_gateway)
        with mock.patch.object(models, "get_boto3_client") as factory:
            s.send_message({"hi": True})
        factory.assert_called_once_with(
            "apigatewaymanagementapi", endpoint_url="http://127.0.0.1:8001/local12345/production"
        )
        factory.return_value.post_to_connection.assert_called_once_with(
            Data='{"hi": true}', ConnectionId="c1="
        )

    def test_session_without_gateway(self) -> None:
        with pytest.raises(ValueError, match="no API Gateway"):
            session("c1=", None).send_message({})

    def test_dates_and_decimals_encode(self, aws_gateway) -> None:
        import datetime
        import decimal

        with capture_messages() as outbox:
            session("c1=", aws_gateway).send_message(
                {"when": datetime.date(2026, 1, 2), "amount": decimal.Decimal("1.50")}
            )
        assert outbox.messages[0].json() == {"when": "2026-01-02", "amount": "1.50"}


class TestQuerySetSendMessage:
    def test_sends_to_connected_rows_each_at_its_own_gateway(
        self, aws_gateway, local_gateway
    ) -> None:
        """Fix: the old code posted every row to the first row's gateway."""
        session("a=", aws_gateway)
        session("b=", local_gateway)
        session("c=", local_gateway, connected=False)
        with capture_messages() as outbox:
            result = WebSocketSession.objects.all().send_message({"n": 1})
        assert isinstance(result, SendResult) and len(result) == 2
        assert sorted((m.connection_id, m.endpoint) for m in outbox.messages) == [
            ("a=", aws_gateway.management_endpoint),
            ("b=", local_gateway.management_endpoint),
        ]
        assert sorted(result.sent) == ["a=", "b="]

    def test_gone_rows_are_marked_in_one_update(self, aws_gateway) -> None:
        for i in range(5):
            session(f"c{i}=", aws_gateway)
        with capture_messages() as outbox:
            outbox.make_gone("c1=", "c3=")
            with query_budget(2) as ctx:  # the rows with their gateways, one UPDATE
                result = WebSocketSession.objects.send_message({"n": 1})
        assert sorted(result.gone) == ["c1=", "c3="]
        assert sum("UPDATE" in q["sql"] for q in ctx.captured_queries) == 1
        assert set(
            WebSocketSession.objects.filter(connected=False).values_list("connection_id", flat=True)
        ) == {"c1=", "c3="}

    @override_settings(WEBSOCKETS=FAST_RETRIES)
    def test_one_failure_does_not_stop_the_others(self, aws_gateway) -> None:
        """Fix: the old loop raised on the first non-Gone error, skipping everyone after it.
        Throttling and connection errors are retried first (every attempt reaches the mock)."""
        for i in range(6):
            session(f"c{i}=", aws_gateway)
        errors = {
            "c1=": client_error("LimitExceededException", 429),
            "c2=": EndpointConnectionError(endpoint_url="https://x"),
            "c4=": client_error("GoneException", 410),
        }

        def post(*, Data: str, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
            if ConnectionId in errors:
                raise errors[ConnectionId]
            return {"ok": ConnectionId}

        fake = mock.Mock()
        fake.return_value.post_to_connection.side_effect = post
        with mock.patch.object(models, "get_boto3_client", fake):
            result = WebSocketSession.objects.send_message({"n": 1})
        assert sorted(result.sent) == ["c0=", "c3=", "c5="]
        assert sorted(r["ok"] for r in result) == ["c0=", "c3=", "c5="]
        assert result.gone == ["c4="]
        assert sorted((o.connection_id, o.error, o.attempts) for o in result.failed) == [
            ("c1=", "LimitExceededException", 4),
            ("c2=", "EndpointConnectionError", 4),
        ]
        calls = [c.kwargs["ConnectionId"] for c in fake.return_value.post_to_connection.mock_calls]
        assert sorted(calls) == ["c0=", *["c1="] * 4, *["c2="] * 4, "c3=", "c4=", "c5="]
        assert not WebSocketSession.objects.get(connection_id="c4=").connected
        assert WebSocketSession.objects.get(connection_id="c1=").connected

    def test_rows_without_a_usable_gateway_are_reported(self, aws_gateway) -> None:
        session("orphan=", None)
        session("nevercreated=", ApiGateway.objects.create(api_name="draft"))
        session("ok=", aws_gateway)
        with capture_messages():
            result = WebSocketSession.objects.send_message({})
        assert result.sent == ["ok="]
        assert sorted(o.connection_id for o in result.failed) == ["nevercreated=", "orphan="]

    def test_size_limit_before_any_query(self, aws_gateway) -> None:
        session("c1=", aws_gateway)
        with query_budget(0), pytest.raises(ValueError):
            WebSocketSession.objects.send_message({"x": "y" * MAX_MESSAGE_SIZE})

    def test_related_managers(self, aws_gateway) -> None:
        user = get_user_model().objects.create_user("bob")
        session("mine=", aws_gateway, user=user)
        session("other=", aws_gateway)
        with capture_messages() as outbox:
            user.websocket_sessions.send_message({"to": "bob"})
            aws_gateway.sessions.filter(connection_id="other=").send_message({"to": "other"})
        assert outbox.data_for("mine=") == [{"to": "bob"}]
        assert outbox.data_for("other=") == [{"to": "other"}]

    @override_settings(WEBSOCKETS={"send_concurrency": 8})
    def test_posts_are_concurrent_and_bounded(self, aws_gateway) -> None:
        for i in range(40):
            session(f"c{i}=", aws_gateway)
        lock = threading.Lock()
        in_flight = 0
        peak = 0
        eight_at_once = threading.Barrier(8, timeout=10)

        def post(*, Data: str, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
            nonlocal in_flight, peak
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            try:
                if int(ConnectionId[1:-1]) < 8:
                    eight_at_once.wait()  # only passes if 8 posts really are in flight together
                return {}
            finally:
                with lock:
                    in_flight -= 1

        fake = mock.Mock()
        fake.return_value.post_to_connection.side_effect = post
        with mock.patch.object(models, "get_boto3_client", fake):
            result = WebSocketSession.objects.send_message({})
        assert len(result.sent) == 40
        assert peak == 8
        assert fake.call_count == 1  # one shared client for the endpoint


class TestRetriesAndClients:
    @override_settings(WEBSOCKETS={**FAST_RETRIES, "send_max_attempts": 5})
    def test_throttled_posts_are_retried_until_they_pass(self, aws_gateway) -> None:
        s = session("c1=", aws_gateway)
        fake = mock.Mock()
        fake.return_value.post_to_connection.side_effect = [
            client_error("LimitExceededException", 429),
            client_error("LimitExceededException", 429),
            {"ok": 1},
            client_error("LimitExceededException", 429),
            {"ok": 2},
        ]
        with mock.patch.object(models, "get_boto3_client", fake):
            result = WebSocketSession.objects.send_message({})
            assert s.send_message({}) == {"ok": 2}
        [outcome] = result.outcomes
        assert (outcome.status, outcome.attempts, outcome.response) == ("sent", 3, {"ok": 1})
        assert result.retried == 2
        assert fake.return_value.post_to_connection.call_count == 5

    @override_settings(WEBSOCKETS={**FAST_RETRIES, "send_max_attempts": 5})
    def test_other_errors_are_not_retried(self, aws_gateway) -> None:
        session("c1=", aws_gateway)
        fake = mock.Mock()
        fake.return_value.post_to_connection.side_effect = client_error("ForbiddenException", 403)
        with mock.patch.object(models, "get_boto3_client", fake):
            [outcome] = WebSocketSession.objects.send_message({}).outcomes
        assert (outcome.error, outcome.attempts) == ("ForbiddenException", 1)
        assert isinstance(outcome.exception, ClientError)
        assert fake.return_value.post_to_connection.call_count == 1

    def test_any_exception_is_one_connections_failure(self, aws_gateway) -> None:
        session("c1=", aws_gateway)
        s2 = session("c2=", aws_gateway)

        def post(*, Data: str, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
            if ConnectionId == "c2=":
                raise RuntimeError("bug in a fake")
            return {"ok": ConnectionId}

        fake = mock.Mock()
        fake.return_value.post_to_connection.side_effect = post
        with mock.patch.object(models, "get_boto3_client", fake):
            result = WebSocketSession.objects.send_message({})
            with pytest.raises(RuntimeError, match="bug in a fake"):
                s2.send_message({})
        assert result.sent == ["c1="]
        assert [(o.connection_id, o.error) for o in result.failed] == [("c2=", "RuntimeError")]

    def test_a_failing_factory(self, aws_gateway) -> None:
        s = session("c1=", aws_gateway)
        boom = mock.Mock(side_effect=RuntimeError("no credentials here"))
        with mock.patch.object(models, "get_boto3_client", boom):
            [outcome] = WebSocketSession.objects.send_message({}).outcomes
            with pytest.raises(RuntimeError, match="no credentials here"):
                s.send_message({})
        assert (outcome.status, outcome.error, outcome.detail) == (
            "failed",
            "NoClient",
            "no credentials here",
        )

    @override_settings(WEBSOCKETS={"send_transport": "boto3", "send_concurrency": 12})
    def test_the_real_factory_makes_one_shared_client_per_endpoint(
        self, aws_gateway, local_gateway
    ) -> None:
        from django_aws_api_gateway_websockets import messaging

        messaging.clear_client_cache()
        with mock.patch("boto3.client", wraps=__import__("boto3").client) as made:
            a = messaging.shared_client(aws_gateway.management_endpoint, 12)
            assert messaging.shared_client(aws_gateway.management_endpoint, 12) is a
            b = messaging.shared_client(local_gateway.management_endpoint, 12)
            assert made.call_count == 2
        assert a is not b
        assert a.meta.config.max_pool_connections == 12
        assert a.meta.config.retries["total_max_attempts"] == 1
        with override_settings(AWS_ACCESS_KEY_ID="other", AWS_SECRET_ACCESS_KEY="other"):
            assert messaging.shared_client(aws_gateway.management_endpoint, 12) is not a
        messaging.clear_client_cache()


@mock_aws
def test_real_boto3_client_against_moto(aws_gateway) -> None:
    """The unpatched path builds a real boto3 client; moto stands in for AWS here."""
    session("c1=", aws_gateway)
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    result = WebSocketSession.objects.send_message({"hello": "moto"})
    assert result.sent == ["c1="]
    aws_gateway.sessions.get().send_message({"again": 2})
    backend = apigatewaymanagementapi_backends["123456789012"]["us-east-1"]
    # moto keys the connection by the id as botocore percent-encoded it in the URL.
    assert backend.connections["c1%3D"].data == b'{"hello": "moto"}{"again": 2}'
