"""The view's log lines and error mail show no token: a handler's exception that quotes a
``$connect``-style URL (``?ws_token=...``) is logged with its traceback, and mailed to the
admins, redacted by ``redaction.redact`` (the one redaction the local gateway and messaging
use). The admin's audit logger gets the same filter."""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from django.test import Client

from django_aws_api_gateway_websockets.admin.audit import AUDIT_LOGGER
from django_aws_api_gateway_websockets.redaction import REDACTED
from django_aws_api_gateway_websockets.testing import GatewayCallbacks
from tests.testapp.views import ChatView

pytestmark = pytest.mark.django_db

TOKEN = "9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a"


def test_a_handler_exception_quoting_a_token_is_logged_and_mailed_redacted(
    logged_in_client, gateway, caplog, monkeypatch
) -> None:
    def explode(self, request, *args, **kwargs):
        raise RuntimeError(f"GET https://api.example.com/ws/connect?ws_token={TOKEN} failed")

    monkeypatch.setattr(ChatView, "explode", explode)
    callbacks = GatewayCallbacks(logged_in_client, gateway)
    assert callbacks.connect("c1=", token=callbacks.token()).status_code == 200
    quiet = GatewayCallbacks(Client(raise_request_exception=False), gateway)
    with caplog.at_level(logging.ERROR, logger="django_aws_api_gateway_websockets.views"):
        response = quiet.message("c1=", {"handler": "explode"})
    assert response.status_code == 500
    (record,) = [r for r in caplog.records if r.name == "django_aws_api_gateway_websockets.views"]
    line = logging.Formatter().format(record)
    assert "Traceback" in line and f"ws_token={REDACTED}" in line
    assert TOKEN not in line
    # (Django's own 500 report, from django.request, is the project's logging: not checked.)
    (sent,) = [m for m in mail.outbox if "Unexpected Websocket Exception" in m.subject]
    assert f"ws_token={REDACTED}" in sent.body and TOKEN not in sent.body


def test_the_audit_logger_redacts_tracebacks(caplog) -> None:
    logger = logging.getLogger(AUDIT_LOGGER)
    try:
        raise ValueError(f"https://h/p?token={TOKEN}")
    except ValueError:
        with caplog.at_level(logging.ERROR, logger=AUDIT_LOGGER):
            logger.error("apply failed", exc_info=True)
    (record,) = caplog.records
    assert TOKEN not in logging.Formatter().format(record)
