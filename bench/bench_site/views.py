"""The two backends measured by ``bench/events.py``.

``BenchView`` is the package's ``WebSocketView`` as a site would use it without the token flow.
``naive`` does the minimal work the contract requires, written the obvious way: look the gateway
up and compare its secret, rate-limit ``$connect`` by IP, create the session; on a message load
the session, count the request with ``save()`` and dispatch; on ``$disconnect`` load the session
and ``save()`` it disconnected.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt

from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ConnectionRateLimit,
    WebSocketSession,
)
from django_aws_api_gateway_websockets.views import WebSocketView


class BenchView(WebSocketView):
    USE_WS_TOKEN = False

    def echo(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        return None


@csrf_exempt
def naive(request: HttpRequest, route: str) -> HttpResponse:
    connection_id = request.headers["Connectionid"]
    gateway = ApiGateway.objects.filter(api_id=request.headers["X-Amzn-Apigateway-Api-Id"]).first()
    if gateway is None or not constant_time_compare(
        request.headers.get("X-Gateway-Secret", ""), gateway.secret
    ):
        return HttpResponse("Forbidden", status=403)
    if route == "connect":
        ip = request.headers["X-Real-Ip"]
        since = timezone.now() - timedelta(minutes=1)
        if (
            ConnectionRateLimit.objects.filter(ip_address=ip, attempt_time__gte=since).count()
            > 1000
        ):
            return HttpResponse("Too many connection attempts", status=400)
        if WebSocketSession.objects.filter(connection_id=connection_id).exists():
            return HttpResponse("Duplicate", status=400)
        WebSocketSession.objects.create(
            connection_id=connection_id,
            channel_name=request.GET.get("channel", gateway.default_channel_name),
            api_gateway=gateway,
        )
        ConnectionRateLimit.objects.create(ip_address=ip, successful=True)
    elif route == "disconnect":
        session = WebSocketSession.objects.filter(connection_id=connection_id).first()
        if session is not None:
            session.connected = False
            session.save()
    else:
        session = WebSocketSession.objects.filter(connection_id=connection_id).first()
        if session is None:
            return HttpResponse("Unknown connection", status=400)
        body = json.loads(request.body)
        session.request_count += 1
        session.save()
        if body.get("handler") != "echo":
            return HttpResponse("Unknown handler", status=400)
    return JsonResponse({})


_FLOOR_SQL = (
    'UPDATE "django_aws_api_gateway_websockets_websocketsession" '
    'SET "request_count" = "request_count" + 1 WHERE "connection_id" = %s RETURNING "id"'
)


@csrf_exempt
def floor_sql(request: HttpRequest, route: str) -> HttpResponse:
    """The floor with one statement: a bare view running one raw ``UPDATE … RETURNING``."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_FLOOR_SQL, [request.headers["Connectionid"]])
        cursor.fetchone()
    return JsonResponse({})


@csrf_exempt
def floor_none(request: HttpRequest, route: str) -> HttpResponse:
    """The floor with no query: a bare view answering ``{}``."""
    return JsonResponse({})
