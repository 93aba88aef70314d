"""A view offering subscribe/unsubscribe, mounted by :mod:`.urls` (tests mark ``urls``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from django_aws_api_gateway_websockets.channels import publish
from django_aws_api_gateway_websockets.views import WebSocketView
from tests.channels.namespaces import NAMESPACES

__all__ = ["NAMESPACES", "ChannelsView"]


class ChannelsView(WebSocketView):
    """Admits what the default ``authorize_channel`` admits (channel permissions; unlisted
    channels are open) but ``chat:secret``; ``chat:*`` members carry their username as presence
    info; ``?initial=`` names channels to subscribe at ``$connect``."""

    ADDITIONAL_ALLOWED_HANDLERS = ["subscribe", "unsubscribe"]

    def authorize_channel(self, request: HttpRequest, channel: str) -> Any:
        # Its own refusals first, then the default's rules (primary, personal, permissions).
        if channel == "chat:secret" or not super().authorize_channel(request, channel):
            return False
        if channel.startswith("chat:") and self.websocket_session.user_id is not None:
            return {"name": request.user.get_username()}
        return True

    def get_initial_channels(self, request: HttpRequest) -> list[str]:
        initial = request.GET.get("initial", "")
        return [c for c in initial.split(",") if c]

    def default(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"handled_by": "default"})

    def say(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        """Publish ``text`` to ``channel`` for everyone but the sender."""
        position = publish(
            self.body["channel"], {"text": self.body.get("text")}, exclude=self.websocket_session
        )
        return JsonResponse({"published": position.as_dict() if position else None})
