"""The one runner of admin actions: a step per selected object, its outcome as a message and
an audit line.

An action is a function ``step(obj) -> Outcome`` handed to :func:`run_action` (or made an admin
action by :func:`admin_action`), which runs it on
every selected object (any iterable; a queryset in ``pk`` order), shows one admin message per
object, writes one audit line per object (see :mod:`.audit`) and, when the object changed, an
entry in its admin history. A step ends in one of five ways (worded by :class:`Wording`; the
existing package's actions word them its own way):

- it returns an :class:`Outcome`: the message is ``<action>: “<object>” <text>.``;
- :class:`NothingToDoError`: an info message, ``<action>: “<object>” <reason>.``;
- :class:`ActionRefusedError` (a precondition failed): a warning, worded the same way;
- :class:`ActionStoppedError` (it stopped part way and says where): an error message,
  ``<action> stopped for “<object>” <text>.``;
- any other exception: an error message, ``<action> failed for “<object>”: <error>.``, where
  ``<error>`` is :func:`~django_aws_api_gateway_websockets.aws.describe_error`'s safe line (AWS
  error code and operation, or the exception's type name). An error that is not AWS's also
  goes to the server log with its traceback.

Messages never carry secrets, AWS error messages (which can echo request values) or tracebacks.
They go through ``django_aws_api_gateway_websockets.admin.messages`` (``django.contrib.messages``,
looked up at call time), which projects' tests patch to read them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Literal, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from ..aws import describe_error
from .audit import audit, logger

__all__ = [
    "AWS_ERRORS",
    "ActionRefusedError",
    "ActionStoppedError",
    "AdminAction",
    "NothingToDoError",
    "Outcome",
    "Step",
    "Wording",
    "admin_action",
    "describe_error",
    "run_action",
]

#: Errors from AWS (or from botocore before reaching it) that saving or an action reports.
AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Outcome:
    """How a step ended when it did its work (or checked that there was none to do)."""

    #: Shown after the object's quoted name (and :attr:`separator`).
    text: str
    #: The audit line's outcome.
    audit: str = "succeeded"
    #: The admin message's level.
    level: Literal["success", "info"] = "success"
    #: A change message for the object's admin history; empty writes none.
    history: str = ""
    #: Between the object's quoted name and :attr:`text`.
    separator: str = " "


class ActionRefusedError(Exception):
    """A precondition of an action failed. The message is ours and is shown to the admin user."""


class NothingToDoError(Exception):
    """The object is already in the state the action would bring it to."""


class ActionStoppedError(Exception):
    """The step stopped part way. Its texts are the step's own, safe to show and to log."""

    def __init__(self, text: str, audit: str, *, history: str = "", detail: str = "") -> None:
        super().__init__(text)
        #: Shown after ``<action> stopped for “<object>”``.
        self.text = text
        #: The audit line's outcome.
        self.audit = audit
        #: A change message for the object's admin history (what changed before it stopped).
        self.history = history
        #: A longer line for the server log (already free of secrets).
        self.detail = detail


class Wording:
    """How :func:`run_action` words an object's admin message, for each way a step ends."""

    #: The message level of a refusal (:class:`ActionRefusedError`).
    refused_level = "warning"

    def name(self, obj: Any) -> str:
        """How messages name ``obj``."""
        return str(obj)

    def done(self, action: str, name: str, outcome: Outcome) -> str:
        return f"{action}: “{name}”{outcome.separator}{outcome.text}."

    def nothing_to_do(self, action: str, name: str, reason: str) -> str:
        return f"{action}: “{name}” {reason}."

    def refused(self, action: str, name: str, reason: str) -> str:
        return f"{action}: “{name}” {reason}."

    def stopped(self, action: str, name: str, text: str) -> str:
        return f"{action} stopped for “{name}” {text}."

    def failed(self, action: str, name: str, error: BaseException) -> str:
        return f"{action} failed for “{name}”: {describe_error(error)}."


def _messages() -> Any:
    """``django.contrib.messages`` as the ``admin`` package holds it (the patch point)."""
    return import_module(__package__ or "django_aws_api_gateway_websockets.admin").messages


#: One step of an action, run on one object.
Step = Callable[[M], Outcome]
#: An admin action, as ``ModelAdmin.actions`` lists them.
AdminAction = Callable[["admin.ModelAdmin[Any] | None", HttpRequest | None, Iterable[Any]], Any]


def run_action(
    modeladmin: admin.ModelAdmin[Any] | None,
    request: HttpRequest | None,
    queryset: Iterable[M],
    action: str,
    step: Step[M],
    wording: Wording | None = None,
) -> None:
    """Run ``step`` on every selected object, reporting and auditing each outcome.

    ``queryset`` may be any iterable of objects (a queryset is taken in ``pk`` order);
    ``request`` is only used when there is an object to report on."""
    words = wording or Wording()
    objects = queryset.order_by("pk") if isinstance(queryset, QuerySet) else queryset
    for obj in objects:
        messages = _messages()
        name = words.name(obj)
        try:
            outcome = step(obj)
        except NothingToDoError as skipped:
            messages.info(request, words.nothing_to_do(action, name, str(skipped)))
            audit(request, action, obj, f"nothing to do ({skipped})")
        except ActionRefusedError as refused:
            show = getattr(messages, words.refused_level)
            show(request, words.refused(action, name, str(refused)))
            audit(request, action, obj, f"refused ({refused})", logging.WARNING)
        except ActionStoppedError as stopped:
            messages.error(request, words.stopped(action, name, stopped.text))
            audit(request, action, obj, stopped.audit, logging.ERROR)
            if stopped.detail:
                logger.warning(
                    "%s failed for %s pk=%s: %s", action, type(obj).__name__, obj.pk, stopped.detail
                )
            if stopped.history and modeladmin and request:
                modeladmin.log_change(request, obj, stopped.history)
        except Exception as error:
            described = describe_error(error)
            messages.error(request, words.failed(action, name, error))
            audit(request, action, obj, f"failed ({described})", logging.ERROR)
            if not isinstance(error, AWS_ERRORS):
                # The details (possibly including request values) go to the server log only.
                logger.error(
                    "%s failed for %s pk=%s", action, type(obj).__name__, obj.pk, exc_info=True
                )
        else:
            show = getattr(messages, outcome.level)
            show(request, words.done(action, name, outcome))
            if outcome.history and modeladmin and request:
                modeladmin.log_change(request, obj, outcome.history)
            audit(request, action, obj, outcome.audit)


def admin_action(
    name: str,
    label: str,
    step: Step[Any],
    *,
    description: str = "",
    permission: str = "change",
    wording: Wording | None = None,
) -> AdminAction:
    """The admin action ``name`` (the key its form posts): runs ``step`` on the selected objects
    through :func:`run_action`, reporting them as ``label`` (in ``wording``). The action list
    shows ``description`` (default: ``label``); users need the model's ``permission``."""

    def action(
        modeladmin: admin.ModelAdmin[Any] | None,
        request: HttpRequest | None,
        queryset: Iterable[Any],
    ) -> None:
        run_action(modeladmin, request, queryset, label, step, wording)

    action.__name__ = action.__qualname__ = name
    action.__module__ = step.__module__
    action.__doc__ = step.__doc__
    return admin.action(description=description or label, permissions=[permission])(action)
