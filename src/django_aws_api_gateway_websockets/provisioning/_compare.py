"""Comparing what AWS reports with the description, and converging tags.

Every resource module words its differences the same way (``label: live -> desired``) and lists
request parameters by name only (their values can hold the gateway secret). Tags are shared by
the API and the custom domain, so converging them lives here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._run import Change, Run

#: The tag that marks an API as created for one gateway row: its value is
#: ``"<pk>:<provisioning_token>"``. Provisioning finds an API whose creation answer it never got
#: by this tag (never by name); tag convergence leaves it alone.
ROW_MARKER_TAG = "django-aws-api-gateway-websockets:row"


def _managed(key: str) -> bool:
    return not key.startswith("aws:") and key != ROW_MARKER_TAG


def diff(label: str, live: Any, desired: Any) -> list[str]:
    """``["label: live -> desired"]``, or ``[]`` when they are equal."""
    return [] if live == desired else [f"{label}: {live!r} -> {desired!r}"]


def _header(key: str) -> str:
    return key.rsplit(".", 1)[-1] if key.startswith("integration.request.header.") else key


def params_diff(live: Mapping[str, str] | None, desired: Mapping[str, str]) -> list[str]:
    """Which request parameters change, by name only (values can hold the secret)."""
    live = dict(live or {})
    added = sorted(_header(k) for k in desired.keys() - live.keys())
    removed = sorted(_header(k) for k in live.keys() - desired.keys())
    changed = sorted(_header(k) for k in desired.keys() & live.keys() if desired[k] != live[k])
    if not (added or removed or changed):
        return []
    parts = [f"+{k}" for k in added] + [f"-{k}" for k in removed] + [f"~{k}" for k in changed]
    return [f"request parameters: {', '.join(parts)}"]


def _tags_diff(
    live: Mapping[str, str], desired: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """(tags to set, tag keys to remove), ignoring keys AWS reserves and the row marker."""
    live = {k: v for k, v in live.items() if _managed(k)}
    to_set = {k: v for k, v in desired.items() if _managed(k) and live.get(k) != v}
    to_remove = sorted(live.keys() - desired.keys())
    return to_set, to_remove


def _tag_details(
    to_set: Mapping[str, str], to_remove: list[str], live: Mapping[str, str]
) -> tuple[str, ...]:
    details = [f"{'~' if k in live else '+'}{k}={v}" for k, v in sorted(to_set.items())]
    details += [f"-{k}" for k in to_remove]
    return tuple(details)


def converge_tags(
    run: Run,
    resource: str,
    name: str,
    arn: str,
    live: Mapping[str, str],
    desired: Mapping[str, str],
) -> None:
    to_set, to_remove = _tags_diff(live, desired)
    if not (to_set or to_remove):
        return

    def call() -> None:
        if to_set:
            run.api.tag_resource(ResourceArn=arn, Tags=to_set)
        if to_remove:
            run.api.untag_resource(ResourceArn=arn, TagKeys=to_remove)

    run.change(
        Change("update", f"{resource} tags", name, _tag_details(to_set, to_remove, live)), call
    )
