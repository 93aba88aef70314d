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

from django.conf import settings
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


_SESSIONS = '"django_aws_api_gateway_websockets_websocketsession"'
_ATTEMPTS = '"django_aws_api_gateway_websockets_connectionratelimit"'
_RECENT = f'(SELECT COUNT(*) FROM {_ATTEMPTS} WHERE "ip_address" = %s AND "attempt_time" >= %s)'
_FLOOR_ATTEMPT = (
    f'INSERT INTO {_ATTEMPTS} ("ip_address", "user_id", "attempt_time", "successful") '
    f'SELECT %s, NULL, %s, true WHERE {_RECENT} <= %s RETURNING "id"'
)
_FLOOR_SESSION = (
    f'INSERT INTO {_SESSIONS} ("connection_id", "channel_name", "user_id", "connected", '
    '"api_gateway_id", "request_count", "created_on", "updated_on", "session_key_hash", '
    "\"auth_hash\") SELECT %s, %s, NULL, true, %s, 1, %s, %s, '', '' "
    f"WHERE {_RECENT} <= %s AND NOT EXISTS (SELECT 1 FROM "
    '"django_aws_api_gateway_websockets_channelpermission" WHERE "channel_name" = %s AND '
    '"access" <> \'allow_all\') RETURNING "id"'
)
_FLOOR_SQL = (
    f'UPDATE {_SESSIONS} SET "request_count" = "request_count" + 1 '
    'WHERE "connection_id" = %s RETURNING "id"'
)
_gateway_ids: dict[str, int] = {}


@csrf_exempt
def floor_sql(request: HttpRequest, route: str) -> HttpResponse:
    """The floor with one statement: a bare view running one raw ``UPDATE … RETURNING``."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_FLOOR_SQL, [request.headers["Connectionid"]])
        cursor.fetchone()
    return JsonResponse({})


@csrf_exempt
def floor_connect(request: HttpRequest, route: str) -> HttpResponse:
    """The ``$connect`` floor: a bare view running the package's two statements for a
    rate-limited ``$connect`` (the attempt's guarded ``INSERT``, then the session's), as raw
    SQL with the same parameters; the gateway's id looked up once per process."""
    from django.db import connection

    api_id = request.headers["X-Amzn-Apigateway-Api-Id"]
    if api_id not in _gateway_ids:
        _gateway_ids[api_id] = ApiGateway.objects.get(api_id=api_id).pk
    ip, now = request.headers["X-Real-Ip"], timezone.now()
    since = now - timedelta(minutes=1)  # the default rate_limit_window_minutes
    limit = settings.WEBSOCKETS["rate_limit_max_attempts"]
    with connection.cursor() as cursor:
        cursor.execute(_FLOOR_ATTEMPT, [ip, now, ip, since, limit - 1])
        cursor.fetchone()
        channel, gateway_id = "lobby", _gateway_ids[api_id]
        row = [request.headers["Connectionid"], channel, gateway_id, now, now]
        cursor.execute(_FLOOR_SESSION, [*row, ip, since, limit, channel])
        if cursor.fetchone() is None:
            return HttpResponse("Too many connection attempts", status=400)
    return JsonResponse({})


@csrf_exempt
def floor_none(request: HttpRequest, route: str) -> HttpResponse:
    """The floor with no query: a bare view answering ``{}``."""
    return JsonResponse({})
