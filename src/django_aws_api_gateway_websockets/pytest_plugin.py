"""pytest plugin (registered as an entry point): fixtures for projects that use this package.

- ``ws_outbox``: records what ``send_message`` posts instead of sending it
  (see :func:`django_aws_api_gateway_websockets.testing.capture_messages`).

Imports of Django code happen inside the fixtures: the plugin loads before Django is set up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .testing import Outbox


@pytest.fixture
def ws_outbox() -> Iterator[Outbox]:
    """An :class:`~django_aws_api_gateway_websockets.testing.Outbox` capturing every post."""
    from .testing import capture_messages

    with capture_messages() as outbox:
        yield outbox
