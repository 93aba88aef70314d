"""``WebSocketTokenView``: the endpoint that issues one-time ``$connect`` tokens."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.generic import View

from ..conf import conf
from ..models import WebSocketToken
from .responses import forbidden


class WebSocketTokenView(View):
    """POST (with the session cookie and CSRF token) -> ``{"token": ..., "expires_in": ...}``.

    Only authenticated users get a token, at most ``token_rate_limit_per_minute`` a minute.
    Route it with the name ``websocket_token``.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return forbidden("Authentication required")
        if not request.session.session_key:
            request.session.create()
        if not WebSocketToken.check_rate_limit(
            request.user, max_tokens_per_minute=conf.token_rate_limit_per_minute
        ):
            return forbidden("Rate limit exceeded")
        session_key = request.session.session_key
        assert session_key is not None
        token = WebSocketToken.generate_token(user=request.user, session_key=session_key)
        return JsonResponse({"token": token.token, "expires_in": conf.token_expiry_seconds})
