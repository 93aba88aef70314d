"""``{% channel_positions %}``: each history channel's position when the page is rendered, so the
page's first ``subscribe`` asks (``since``) for exactly what happened between the HTML and the
socket::

    {% load aws_channels %}
    {% channel_positions "chat:7" "news:1" as positions %}
    {{ positions|json_script:"channel-positions" }}

``positions`` is ``{channel: {"offset": n, "epoch": e}}`` for the channels that keep history
(others, and names that are not channels, are left out). A stream that does not exist yet is
created, so its epoch is the one the socket will see. Two statements, for all the channels.
"""

from __future__ import annotations

from typing import Any

from django import template

from ..channels.history import page_positions

register = template.Library()


@register.simple_tag
def channel_positions(*channels: Any) -> dict[str, dict[str, Any]]:
    return page_positions(channels)
