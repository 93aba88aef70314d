"""Release 4.1's sync in the admin: the actions "Sync to AWS" and "Sync from AWS", and how an
AWS failure of a save or delete reaches the admin user.

Both actions run through :func:`.actions.run_action`: a gateway that is not deployed is refused
(a warning), a failure (AWS refused, or the API was deleted in AWS) stops with the
:class:`ApiGatewaySyncError`'s text (the step and the AWS error code, never AWS's message); the
rows are kept either way. Saving or deleting a route of a deployed gateway in the admin pushes
to AWS when the admin's transaction commits; :class:`SyncErrorMessages` collects those failures
and shows them as messages instead of an error page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from ..models import ApiGateway, ApiGatewaySyncError, collect_deferred_sync_errors
from .actions import ActionRefusedError, ActionStoppedError, Outcome, _messages, admin_action

logger = logging.getLogger(__name__)


def _sync_step(direction: str, sync: Callable[[ApiGateway], list[str]]) -> Callable[..., Outcome]:
    def step(gateway: ApiGateway) -> Outcome:
        try:
            sentences = sync(gateway)
        except ValueError as error:
            raise ActionRefusedError(f"is not deployed ({error})") from error
        except ApiGatewaySyncError as error:
            raise ActionStoppedError(
                f"({error}); the rows are kept", f"failed ({error})", detail=str(error)
            ) from error
        if not sentences:
            return Outcome(f"already in sync {direction} AWS", "succeeded (no changes)", "info")
        text = "; ".join(sentences)
        return Outcome(
            f"synced {direction} AWS: {text}",
            f"succeeded ({len(sentences)} changes)",
            history=f"Synced {direction} AWS: {text}",
        )

    step.__doc__ = f"Sync the gateway {direction} AWS."
    step.__module__ = __name__
    return step


sync_to_aws = admin_action(
    "sync_to_aws", "Sync to AWS", _sync_step("to", lambda g: g.sync_to_aws())
)
sync_from_aws = admin_action(
    "sync_from_aws", "Sync from AWS", _sync_step("from", lambda g: g.sync_from_aws())
)
SYNC_ACTIONS = (sync_to_aws, sync_from_aws)


def report(request: HttpRequest, error: ApiGatewaySyncError) -> None:
    """Tell the admin user that a save or delete did not fully reach AWS."""
    _messages().warning(
        request,
        f"Saved, but AWS was not fully updated: {error}. Save again, or use the “Sync to AWS” "
        "action on the gateway, to retry.",
    )
    logger.warning("AWS was not fully updated: %s", error)


class SyncErrorMessages:
    """Mixin for a ``ModelAdmin`` whose saves and deletes push to AWS: the failures of pushes
    made at once and of those run when the admin's transaction commits become messages."""

    def _collecting(self, request: HttpRequest, view: Callable[[], Any]) -> Any:
        with collect_deferred_sync_errors() as errors:
            response = view()
        for error in errors:
            report(request, error)
        return response

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        parent = super().changeform_view  # type: ignore[misc]
        return self._collecting(request, lambda: parent(request, *args, **kwargs))

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        parent = super().delete_view  # type: ignore[misc]
        return self._collecting(request, lambda: parent(request, *args, **kwargs))

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        parent = super().changelist_view  # type: ignore[misc]
        return self._collecting(request, lambda: parent(request, *args, **kwargs))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            super().save_model(request, obj, form, change)  # type: ignore[misc]
        except ApiGatewaySyncError as error:
            report(request, error)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        try:
            super().delete_model(request, obj)  # type: ignore[misc]
        except ApiGatewaySyncError as error:
            report(request, error)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        try:
            super().delete_queryset(request, queryset)  # type: ignore[misc]
        except ApiGatewaySyncError as error:
            report(request, error)
