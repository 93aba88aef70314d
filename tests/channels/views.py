"""A view offering subscribe/unsubscribe, mounted by :mod:`.urls` (tests mark ``urls``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from django_aws_api_gateway_websockets.channels import publish
from django_aws_api_gateway_websockets.views import WebSocketView


class ChannelsView(WebSocketView):
    """Admits ``room-*`` and ``chat:*``/``news:*``/``state:*``/``big:*`` channels to logged-in
    users (with their username as presence info), refuses ``chat:secret``; ``?initial=`` names
    channels to subscribe at ``$connect``."""

    ADDITIONAL_ALLOWED_HANDLERS = ["subscribe", "unsubscribe"]

    def authorize_channel(self, request: HttpRequest, channel: str) -> Any:
        if super().authorize_channel(request, channel):
            return True
        if channel == "chat:secret" or self.websocket_session.user_id is None:
            return False  # the session's user id: no query (the budget test counts them)
        if channel.startswith("chat:"):
            return {"name": request.user.get_username()}
        return channel.startswith(("room-", "news:", "state:", "big:", "count:"))

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


NAMESPACES = {
    "chat": {"presence": True, "history_size": 50, "history_ttl_seconds": 600},
    "news": {"history_size": 5, "history_ttl_seconds": 600, "recover_max": 3},
    "state": {"history_size": 1, "latest_value": True},
    "big": {"presence": True, "max_members": 2, "over_max_members": "count_only"},
    "count": {"presence": True, "count_only": True},
}
