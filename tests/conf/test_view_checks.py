"""``check --deploy`` warnings about routed views (release 4.1's W005/W004 as our W007/W008):
found through nested ``include()``s, each view once; a view that lists its handlers and closes
unlisted channels passes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.test import override_settings
from django.urls import include, path

from django_aws_api_gateway_websockets import view_checks
from django_aws_api_gateway_websockets.views import WebSocketView


class Loose(WebSocketView):
    def default(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({})

    def chat(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({})

    def helper(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({})


class Tight(Loose):
    ALLOWED_HANDLERS = {"default", "chat"}
    ALLOW_UNLISTED_CHANNELS = False


class OnlyDefault(WebSocketView):
    """No ALLOWED_HANDLERS, but nothing beyond what every view answers: no W007."""

    ALLOW_UNLISTED_CHANNELS = False

    def default(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({})


nested = [path("deeper/", include([path("ws/<slug:route>", Loose.as_view())]))]
urlpatterns = [
    path("a/<slug:route>", Loose.as_view()),
    path("b/", include(nested)),  # the same view again: reported once
    path("t/<slug:route>", Tight.as_view()),
    path("d/<slug:route>", OnlyDefault.as_view()),
]


@override_settings(ROOT_URLCONF=__name__)
def test_loose_view_warned_once_tight_and_default_only_pass() -> None:
    messages = view_checks.check_routed_views()
    assert [(m.id, m.msg) for m in messages] == [
        (
            "aws_websockets.W007",
            f"{__name__}.Loose has no ALLOWED_HANDLERS, so clients can call chat, helper.",
        ),
        (
            "aws_websockets.W008",
            f"{__name__}.Loose admits channels that have no ChannelPermission row.",
        ),
    ]


@override_settings(
    ROOT_URLCONF=__name__, SILENCED_SYSTEM_CHECKS=["django_aws_api_gateway_websockets.W005"]
)
def test_release_41_id_silences_w007_only() -> None:
    assert [m.id for m in view_checks.check_routed_views()] == ["aws_websockets.W008"]


@override_settings(ROOT_URLCONF="tests.conf.no_such_urlconf")
def test_a_broken_urlconf_is_left_to_django() -> None:
    assert view_checks.check_routed_views() == []
