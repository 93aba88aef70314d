"""Release 4.1's system check ids, honoured in ``SILENCED_SYSTEM_CHECKS``.

Release 4.1 numbers its checks under the app's full name, with other meanings than ours. A
project written for it silences them by those ids, so each of our checks asks here whether the
4.1 id that means the same thing is silenced, and then stays quiet too. The table below is the
mapping; docs/settings.md shows it to users.

Every 4.1 id has a counterpart. Django never warns about a silenced id that no check uses, so
no 4.1 id is ever reported as unknown.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.checks import CheckMessage

#: The prefix of release 4.1's check ids.
RELEASE_41_PREFIX = "django_aws_api_gateway_websockets"

#: Our check id → the 4.1 id with the same meaning.
RELEASE_41_IDS: dict[str, str] = {
    "aws_websockets.E001": f"{RELEASE_41_PREFIX}.E002",  # WEBSOCKETS is not a dict
    "aws_websockets.E002": f"{RELEASE_41_PREFIX}.E002",  # a WEBSOCKETS value is invalid
    "aws_websockets.W001": f"{RELEASE_41_PREFIX}.W002",  # an unknown WEBSOCKETS key
    "aws_websockets.E003": f"{RELEASE_41_PREFIX}.W003",  # no AWS region (--deploy)
    "aws_websockets.W005": f"{RELEASE_41_PREFIX}.W001",  # callbacks without a secret
    "aws_websockets.W007": f"{RELEASE_41_PREFIX}.W005",  # a view without ALLOWED_HANDLERS
    "aws_websockets.W008": f"{RELEASE_41_PREFIX}.W004",  # a view admitting unlisted channels
}

#: A ``WEBSOCKETS`` key whose invalid value 4.1 reports under an id of its own.
RELEASE_41_KEY_IDS: dict[str, str] = {"gateway_secret": f"{RELEASE_41_PREFIX}.E001"}


def release_41_id(check_id: str, key: str | None = None) -> str | None:
    """The 4.1 id meaning the same as our ``check_id`` (about ``WEBSOCKETS[key]``, if given)."""
    if check_id == "aws_websockets.E002" and key in RELEASE_41_KEY_IDS:
        return RELEASE_41_KEY_IDS[key]
    return RELEASE_41_IDS.get(check_id)


def _silenced() -> set[str]:
    value = getattr(settings, "SILENCED_SYSTEM_CHECKS", None) or ()
    return {v for v in value if isinstance(v, str)}


def unsilenced(messages: Iterable[CheckMessage], key: str | None = None) -> list[CheckMessage]:
    """``messages`` without those whose 4.1 equivalent is silenced."""
    silenced = _silenced()
    return [m for m in messages if release_41_id(str(m.id), key) not in silenced]
