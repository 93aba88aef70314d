"""The pytest plugin's old path, kept for projects that name it (``-p``, ``pytest_plugins``).

The plugin is :mod:`django_aws_api_gateway_websockets.testing.pytest_plugin`.
"""

from .testing.pytest_plugin import local_gateway, ws_gateway, ws_outbox

__all__ = ["local_gateway", "ws_gateway", "ws_outbox"]
