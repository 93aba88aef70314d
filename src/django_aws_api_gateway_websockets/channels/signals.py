"""Presence signals, sent for channels of namespaces with ``presence`` on.

- ``channel_occupied(sender, channel)``: the first member joined.
- ``channel_vacated(sender, channel)``: the last member left.
- ``member_added(sender, channel, user_id, info)``: a user's first live connection subscribed.
- ``member_removed(sender, channel, user_id)``: a user's last one left (unsubscribed,
  disconnected, revoked, or pruned as silent).

``sender`` is the ``ChannelSubscription`` model.
"""

from django.dispatch import Signal

channel_occupied = Signal()
channel_vacated = Signal()
member_added = Signal()
member_removed = Signal()
