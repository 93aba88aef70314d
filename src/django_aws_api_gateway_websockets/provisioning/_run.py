"""The machinery of one provisioning run: changes, progress, errors, records.

A :class:`Run` walks a gateway's resources step by step. Every mutation is a :class:`Change`;
in a dry run (``plan``) changes are only collected, otherwise each is reported to the progress
callback, carried out, and the ids it returns are written to the gateway's row at once, so a
run that stops part way leaves the row true to what exists and the next run resumes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from django.utils import timezone

from .. import aws
from ..conf import conf
from ..redaction import REDACTED, redact

if TYPE_CHECKING:
    from ..models import ApiGateway


Action = Literal["create", "update", "delete"]
#: What a progress callback is told: a change is about to start, is done, or failed.
Event = Literal["start", "done", "failed"]
Progress = Callable[[Event, "Change"], None]

#: The longest AWS error message repeated in our own messages.
_MAX_REASON = 300

_SYMBOLS = {"create": "+", "update": "~", "delete": "-"}


@dataclass(frozen=True)
class Change:
    """One change to one AWS resource (or to the gateway's row, for the secret)."""

    action: Action
    resource: str
    name: str
    details: tuple[str, ...] = ()

    @property
    def step(self) -> str:
        """The step's name, as used in progress lines and error messages."""
        return f"{self.action} {self.resource} {self.name}".strip()

    def __str__(self) -> str:
        text = f"{_SYMBOLS[self.action]} {self.step}"
        if self.details:
            text += f" ({'; '.join(self.details)})"
        return text


@dataclass
class Result:
    """What a plan, apply or teardown found or did for one gateway."""

    operation: str
    gateway: ApiGateway
    changes: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes

    def summary(self) -> str:
        """One line: how many changes of each kind."""
        if not self.changes:
            return "no changes"
        counts = {
            action: sum(1 for c in self.changes if c.action == action)
            for action in ("create", "update", "delete")
        }
        parts = [f"{n} to {action}" for action, n in counts.items() if n]
        if self.operation != "plan":
            parts = [p.replace(" to ", " ").replace("create", "created") for p in parts]
            parts = [p.replace("update", "updated").replace("delete", "deleted") for p in parts]
        return ", ".join(parts)

    def __str__(self) -> str:
        lines = [f"{self.operation} {self.gateway.api_name}: {self.summary()}"]
        lines.extend(f"  {change}" for change in self.changes)
        return "\n".join(lines)


class ProvisioningError(Exception):
    """A step failed. ``step`` names it; ``reason`` says why (never the gateway secret);
    ``done`` lists the changes made before it."""

    def __init__(self, step: str, reason: str, done: list[Change] | None = None) -> None:
        self.step = step
        self.reason = reason
        self.done = list(done or [])
        super().__init__(f"{step} failed: {reason}")


def as_dict(value: Any) -> dict[str, Any] | None:
    """A boto3 response as a dict; ``None`` for anything else."""
    return dict(value) if isinstance(value, dict) else None


class NotAResponse(dict[str, Any]):
    """What :meth:`Run.change` returns when the client answered with something that is not a
    response (a ``MagicMock`` client in a project's tests): empty, and known to be so, so the
    step counts as done while no id is recorded (the row keeps the ids it has)."""


#: The one :class:`NotAResponse`.
NOT_A_RESPONSE = NotAResponse()


def text(response: dict[str, Any] | None, key: str) -> str:
    """``response[key]`` when it is a string, else ``""``."""
    value = (response or {}).get(key)
    return value if isinstance(value, str) else ""


def is_not_found(error: BaseException) -> bool:
    """Whether AWS said the resource does not exist."""
    return isinstance(error, ClientError) and aws.error_code(error) in {
        "NotFoundException",
        "NoSuchHostedZone",
    }


def paginate(fetch: Callable[[dict[str, Any]], dict[str, Any] | None]) -> Iterator[dict[str, Any]]:
    """Every item of a paginated apigatewayv2 ``Get*`` call: ``fetch(extra)`` answers one page
    (``extra`` carries the ``NextToken``); an answer that is not a page ends the listing."""
    token: str | None = None
    while True:
        page = fetch({"NextToken": token} if token else {}) or {}
        found = page.get("Items")
        if isinstance(found, list):
            yield from (dict(item) for item in found if isinstance(item, dict))
        next_token = page.get("NextToken")
        if not isinstance(next_token, str) or not next_token or next_token == token:
            return
        token = next_token


#: How a route's ``Target`` names its integration.
INTEGRATION_TARGET_PREFIX = "integrations/"


def integration_target(integration_id: str) -> str:
    """The ``Target`` of a route that sends to ``integration_id``."""
    return f"{INTEGRATION_TARGET_PREFIX}{integration_id}"


def integration_id_of(route: dict[str, Any] | None) -> str:
    """The id of the integration a route (an AWS answer) sends to; ``""`` when none."""
    target = text(route, "Target")
    return (
        target[len(INTEGRATION_TARGET_PREFIX) :]
        if target.startswith(INTEGRATION_TARGET_PREFIX)
        else ""
    )


class Run:
    """One pass over a gateway's resources (see the module docstring)."""

    def __init__(
        self,
        gateway: ApiGateway,
        *,
        operation: str,
        dry_run: bool,
        progress: Progress | None = None,
        client: Any = None,
    ) -> None:
        self.gateway = gateway
        self.dry_run = dry_run
        self.progress = progress
        self.result = Result(operation, gateway)
        #: Whether this run claimed the row to create its API (see ``_status.claim``).
        self.claimed = False
        # Both clients come from the factory in force (see ``aws.client``).
        self.api = client if client is not None else aws.client("apigatewayv2")
        self._route53: Any = None

    @property
    def route53(self) -> Any:
        if self._route53 is None:
            self._route53 = aws.client("route53")
        return self._route53

    @property
    def changes(self) -> list[Change]:
        return self.result.changes

    # -- messages ------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        text = redact(text)
        for secret in (self.gateway.secret, self.gateway.previous_secret, *conf.gateway_secrets):
            if secret:
                text = text.replace(secret, REDACTED)
        return text

    def reason(self, error: BaseException) -> str:
        """Why ``error`` happened, in one line without the secret (AWS's message can echo
        request values, such as the secret header of an integration)."""
        text = self.redact(" ".join(aws.describe_error(error, detail=True).split()))
        return text if len(text) <= _MAX_REASON else f"{text[: _MAX_REASON - 1]}…"

    def fail(self, step: str, reason: str) -> ProvisioningError:
        return ProvisioningError(step, self.redact(reason), self.changes[:-1])

    # -- reading and changing ------------------------------------------------------------------

    def read(
        self,
        step: str,
        call: Callable[[], Any],
        *,
        missing_ok: bool = False,
        not_a_response: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Run a read-only call; ``None`` when ``missing_ok`` and AWS says it does not exist.
        When the answer is not a response at all (an unconfigured test double), return
        ``not_a_response`` (``None``: as if nothing was found)."""
        try:
            answer = call()
            response = as_dict(answer)
            return not_a_response if response is None and answer is not None else response
        except (ClientError, BotoCoreError) as error:
            if missing_ok and is_not_found(error):
                return None
            raise ProvisioningError(step, self.reason(error), list(self.changes)) from error

    def items(self, step: str, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated apigatewayv2 ``Get*`` call."""
        call = getattr(self.api, operation)
        return paginate(lambda extra: self.read(step, partial(call, **kwargs, **extra)))

    def change(self, change: Change, call: Callable[[], Any]) -> dict[str, Any] | None:
        """Record ``change``; unless this is a dry run, report it, carry it out and return the
        response (``None`` in a dry run)."""
        self.changes.append(change)
        if self.dry_run:
            return None
        self._report("start", change)
        try:
            result = call()
        except (ClientError, BotoCoreError) as error:
            self._report("failed", change)
            raise ProvisioningError(change.step, self.reason(error), self.changes[:-1]) from error
        except ProvisioningError:
            self._report("failed", change)
            raise
        self._report("done", change)
        response = as_dict(result)
        return NOT_A_RESPONSE if response is None and result is not None else response or {}

    def _report(self, event: Event, change: Change) -> None:
        if self.progress is not None:
            self.progress(event, change)

    def created_id(self, response: dict[str, Any], key: str, change: Change) -> str | None:
        """The id AWS returned for a created resource; ``None`` when the client answered with no
        response at all (:data:`NOT_A_RESPONSE`: record nothing); a failed step when a response
        has no id."""
        if response is NOT_A_RESPONSE:
            return None
        value = text(response, key)
        if not value:
            raise ProvisioningError(
                change.step, f"AWS answered without {key}", self.changes[:-1]
            ) from KeyError(key)
        return value

    def record(self, **fields: Any) -> None:
        """Write ``fields`` to the gateway's row now (without validating or touching the other
        columns), and to the instance. Nothing is written in a dry run."""
        if self.dry_run:
            return
        for name, value in fields.items():
            setattr(self.gateway, name, value)
        now = timezone.now()
        self.gateway.updated_on = now
        type(self.gateway).objects.filter(pk=self.gateway.pk).update(updated_on=now, **fields)

    # -- ARNs ----------------------------------------------------------------------------------

    def apigateway_arn(self, path: str) -> str:
        partition = getattr(self.api.meta, "partition", "aws") or "aws"
        return f"arn:{partition}:apigateway:{self.api.meta.region_name}::{path}"
