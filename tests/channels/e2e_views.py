"""The view of the real-socket tests (:mod:`.e2e_urls`): :class:`~.views.ChannelsView` with a
``publish`` handler, so that publications are made by Django serving a client's message (the
live server's requests are the only users of the in-memory test database)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from django_aws_api_gateway_websockets.channels import publish
from tests.channels.views import ChannelsView


class PublishingView(ChannelsView):
    ADDITIONAL_ALLOWED_HANDLERS = ["subscribe", "unsubscribe", "publish"]

    def authorize_channel(self, request: HttpRequest, channel: str) -> Any:
        """Also admits ``stream:*`` (presence, with the username as info)."""
        if channel.startswith("stream:") and self.websocket_session.user_id is not None:
            return {"name": request.user.get_username()}
        return super().authorize_channel(request, channel)

    def publish(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        """``{"handler": "publish", "channel": c, "data": d}``: publishes ``d`` to ``c`` (for
        everyone but the sender) and answers ``{"published": offset}``."""
        channel, data = self.body["channel"], self.body.get("data")
        position = publish(channel, data, exclude=self.websocket_session)
        return JsonResponse({"published": position.offset if position else None})
