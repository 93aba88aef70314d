"""``make_gateway()``: an ``ApiGateway`` row for a project's tests."""

from __future__ import annotations

import secrets
import string
from typing import Any

from ..models import ApiGateway

_API_ID_CHARS = string.ascii_lowercase + string.digits


def make_gateway(**fields: Any) -> ApiGateway:
    """Create an ``ApiGateway`` row for tests and return it.

    Defaults: ``api_name="Test"``, a random 10-character ``api_id`` (as AWS makes them), a
    ``secret``, and ``target_base_endpoint="http://localhost:8000/ws/"``: callbacks go to your
    ``ws/<route>`` URLs. Any field may be given instead
    (``target_base_endpoint="https://www.example.com/sockets/"``...).
    """
    values: dict[str, Any] = {
        "api_name": "Test",
        "api_id": "".join(secrets.choice(_API_ID_CHARS) for _ in range(10)),
        "target_base_endpoint": "http://localhost:8000/ws/",
        "secret": ApiGateway.generate_secret(),
    }
    values.update(fields)
    return ApiGateway.objects.create(**values)
