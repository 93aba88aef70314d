"""Release 4.1's module-level constants of ``models``, each given the value ours has in force.

4.1 kept its tuning numbers as constants of ``models``; a 4.1 project may import or read them.
Ours keeps each fact where it belongs (a ``WEBSOCKETS`` option's default, botocore's own
default, the rate-limit rows' model) and these names point at it, so nothing is defined twice.
Two of 4.1's have no counterpart in ours; their values say "not done" (0) and the comments why.
The upgrade notes (docs/upgrading.md, "From 4.1") list the same.
"""

from __future__ import annotations

from botocore.endpoint import DEFAULT_TIMEOUT as _BOTOCORE_TIMEOUT
from botocore.retries.standard import DEFAULT_MAX_ATTEMPTS as _BOTOCORE_MAX_ATTEMPTS

from ..conf import OPTIONS

# -- sending to a queryset (4.1: its thread pool and its boto3 client's configuration) -----------

#: Connections posted to at once by ``send_message`` when ``max_workers`` is not given: our
#: ``WEBSOCKETS["send_concurrency"]`` default (4.1: 10); the setting, when set, is what is used.
BROADCAST_MAX_WORKERS: int = OPTIONS["send_concurrency"].default

#: Seconds to connect / to read one post. Ours sets no timeout on the Management API client, so
#: botocore's default applies (4.1 set 5 and 10); the lean transport takes the same client's.
BROADCAST_CONNECT_TIMEOUT: int = _BOTOCORE_TIMEOUT
BROADCAST_READ_TIMEOUT: int = _BOTOCORE_TIMEOUT

#: Attempts per connection when a post is throttled or breaks: our
#: ``WEBSOCKETS["send_max_attempts"]`` default (4.1: 3, botocore's retries; ours retries itself).
BROADCAST_MAX_ATTEMPTS: int = OPTIONS["send_max_attempts"].default

# -- provisioning and sync (4.1: the configuration of its apigatewayv2 clients) ----------------

#: Ours gives the control-plane client no ``Config``: botocore's defaults apply (4.1: 5 s to
#: connect, 20 s to read), and botocore's standard retry mode, its default (3 attempts, as 4.1),
#: unless ``AWS_RETRY_MODE`` or the AWS config file says otherwise.
AWS_CONNECT_TIMEOUT: int = _BOTOCORE_TIMEOUT
AWS_READ_TIMEOUT: int = _BOTOCORE_TIMEOUT
AWS_MAX_ATTEMPTS: int = _BOTOCORE_MAX_ATTEMPTS

# -- $connect rate-limit rows -------------------------------------------------------------------

# (``RATE_LIMIT_RETENTION_DAYS`` is the rate-limit model's own, in :mod:`.tokens`: the cleanup
# commands' default age, 7 days as in 4.1.)

#: 4.1 purged old rows on one in this many recorded attempts. Ours never purges while recording
#: (the ``$connect`` path deletes nothing); ``cleanupWebSocketTokens`` or
#: ``reconcileWebSocketSessions`` delete them, so 0: never.
RATE_LIMIT_PURGE_ONE_IN = 0

#: 4.1 deleted at most this many rows per purge. Ours has no such purge and the commands delete
#: every expired row in one statement, so 0: no batch.
RATE_LIMIT_PURGE_BATCH = 0
