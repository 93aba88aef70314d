"""The view of ``bench/channels.py``: logged-in users (the session cookie, no token) may
subscribe to any ``feed:`` or ``room:`` channel."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import path

from django_aws_api_gateway_websockets.views import WebSocketView


class ChannelsBenchView(WebSocketView):
    USE_WS_TOKEN = False
    ADDITIONAL_ALLOWED_HANDLERS = ["subscribe", "unsubscribe"]

    def authorize_channel(self, request: HttpRequest, channel: str) -> Any:
        return channel.startswith(("feed:", "room:"))


urlpatterns = [path("ws/<slug:route>", ChannelsBenchView.as_view())]
