"""Release 4.1's site-wide gateway secret, ``WEBSOCKETS["gateway_secret"]``: sent as
``X-Ws-Gateway-Secret``, the first of a list sent and all accepted, compared before any query,
alone or together with each gateway's own secret; an invalid setting is a system check error and
refuses every callback (never silently ignored)."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_aws_api_gateway_websockets.conf import conf
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from django_aws_api_gateway_websockets.routes import request_parameters
from django_aws_api_gateway_websockets.testing import GatewayCallbacks
from django_aws_api_gateway_websockets.views import GATEWAY_FORBIDDEN, WebSocketView
from django_aws_api_gateway_websockets.wire import SECRET_HEADER, SETTINGS_SECRET_HEADER

pytestmark = pytest.mark.django_db

OLD = "o" * 32
NEW = "N3w-secret.with~all+allowed/chars="


def forbidden(response) -> bool:
    return (response.status_code, response.content.decode()) == (403, GATEWAY_FORBIDDEN)


@pytest.fixture
def site_secret(settings):
    settings.WEBSOCKETS = {"gateway_secret": [NEW, OLD]}
    return settings


def test_header_name_is_four_ones() -> None:
    assert SETTINGS_SECRET_HEADER == "X-Ws-Gateway-Secret"


class TestView:
    def test_the_callbacks_helper_sends_the_first(self, site_secret, callbacks) -> None:
        assert callbacks.connect("c1=", token=callbacks.token()).status_code == 200

    @pytest.mark.parametrize("value", [OLD, NEW])
    def test_every_listed_secret_is_accepted(self, site_secret, callbacks, value) -> None:
        callbacks.connect("c1=", token=callbacks.token())
        response = callbacks.message(
            "c1=", {"handler": "default"}, headers={SETTINGS_SECRET_HEADER: value}
        )
        assert response.status_code == 200

    @pytest.mark.parametrize("value", [None, "", "x" * 32, OLD[:-1], NEW + "x"])
    def test_a_wrong_or_missing_secret_is_refused_before_any_query(
        self, site_secret, callbacks, value
    ) -> None:
        with CaptureQueriesContext(connection) as context:
            response = callbacks.connect(
                "c1=", token="t" * 64, headers={SETTINGS_SECRET_HEADER: value}
            )
        assert forbidden(response)
        assert len(context) == 0
        assert not WebSocketSession.objects.exists()

    def test_together_with_the_gateways_own_secret(self, site_secret, callbacks) -> None:
        callbacks.connect("c1=", token=callbacks.token())
        ok = callbacks.message("c1=", {"handler": "default"})
        assert ok.status_code == 200
        wrong_own = callbacks.message(
            "c1=", {"handler": "default"}, headers={SECRET_HEADER: "not-it"}
        )
        assert forbidden(wrong_own)

    def test_alone_a_gateway_without_its_own_secret(self, site_secret, client, user) -> None:
        client.force_login(user)
        gateway = ApiGateway.objects.create(
            api_name="bare", api_id="bare123456", target_base_endpoint="https://www.example.com/ws/"
        )
        callbacks = GatewayCallbacks(client, gateway)
        assert callbacks.connect("c1=", token=callbacks.token()).status_code == 200
        refused = callbacks.message(
            "c1=", {"handler": "default"}, headers={SETTINGS_SECRET_HEADER: None}
        )
        assert forbidden(refused)

    def test_unset_changes_nothing(self, callbacks) -> None:
        assert conf.gateway_secrets == ()
        assert callbacks.connect("c1=", token=callbacks.token()).status_code == 200

    def test_the_hook_can_answer_otherwise(self, site_secret, rf) -> None:
        class Quiet(WebSocketView):
            def invalid_gateway_secret(self, request, *args, **kwargs):
                from django.http import HttpResponse

                return HttpResponse("nope", status=401)

        request = rf.post("/ws/default", data="{}", content_type="application/json")
        view = Quiet()
        view.setup(request, route="default")
        assert view.check_site_secret(request).status_code == 401


@pytest.mark.parametrize(
    "value",
    ["short", "x" * 31, "has space" + "x" * 32, [], [OLD, "bad!" * 10], 42, {"a": OLD}],
)
def test_an_invalid_setting_is_a_check_error_and_refuses_everything(
    settings, callbacks, value
) -> None:
    settings.WEBSOCKETS = {"gateway_secret": value}
    errors = [m for m in run_checks() if m.id == "aws_websockets.E002"]
    assert errors and "gateway_secret" in errors[0].msg
    assert OLD not in errors[0].msg  # the message names no secret
    assert conf.gateway_secret_invalid
    response = callbacks.connect("c1=", token="t" * 64)
    assert forbidden(response)


def test_valid_settings_pass_the_checks(settings) -> None:
    for value in (OLD, [NEW], (NEW, OLD), None):
        settings.WEBSOCKETS = {"gateway_secret": value}
        assert not [m for m in run_checks() if m.id.startswith("aws_websockets.E00")], value


def test_integrations_map_the_first_secret(site_secret, gateway) -> None:
    params = request_parameters(gateway)
    assert params[f"integration.request.header.{SETTINGS_SECRET_HEADER}"] == f"'{NEW}'"
    assert params[f"integration.request.header.{SECRET_HEADER}"] == f"'{gateway.secret}'"
