"""The local gateway's one logger, shared by its modules (one name to configure in ``LOGGING``)."""

from __future__ import annotations

import logging

logger = logging.getLogger("django_aws_api_gateway_websockets.local_gateway")
