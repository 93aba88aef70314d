"""What the management commands share: finding the gateway a command is about (``--pk`` /
``--name``), argument types, and turning an AWS failure into a ``CommandError``.

Commands import these from here, never from one another.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from django.core.management.base import CommandError, CommandParser

from ..aws import describe_error
from ..models import ApiGateway

#: Upper bounds that keep ``now - age`` inside the range of a datetime.
MAX_TOKEN_AGE_SECONDS = 100 * 365 * 24 * 3600
MAX_RATE_LIMIT_AGE_DAYS = 100 * 365


def add_gateway_arguments(
    parser: CommandParser,
    *,
    required: bool = True,
    pk_help: str = "Primary key of the ApiGateway row.",
    name_help: str | None = "api_name of the ApiGateway row.",
) -> None:
    """``--pk`` and ``--name`` (one of them, exclusively); only ``--pk`` when ``name_help`` is
    ``None``."""
    if name_help is None:
        parser.add_argument("--pk", required=required, type=int, help=pk_help)
        return
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--pk", type=int, help=pk_help)
    group.add_argument("--name", help=name_help)


def find_gateway(pk: int | None, name: str | None = None) -> ApiGateway:
    """The ApiGateway row by pk or api_name, or a ``CommandError`` listing the rows there are."""
    lookup: dict[str, Any] = {"pk": pk} if pk is not None else {"api_name": name}
    try:
        return ApiGateway.objects.get(**lookup)
    except ApiGateway.DoesNotExist:
        rows = list(ApiGateway.objects.order_by("pk").values_list("pk", "api_name")[:20])
        known = ", ".join(f"{row_pk} ({row_name})" for row_pk, row_name in rows) or "none yet"
        wanted = f"pk={pk}" if pk is not None else f"api_name={name!r}"
        raise CommandError(
            f"There is no ApiGateway with {wanted}. Existing ApiGateway rows: {known}."
        ) from None


def gateway_changed(pk: int) -> CommandError:
    """The row a command looked up changed between two reads (another process acted on it)."""
    return CommandError(f"ApiGateway pk={pk} changed while it was read: run the command again.")


def aws_failure(doing: str, gateway: ApiGateway, error: Exception) -> CommandError:
    """A ``CommandError`` naming the step that failed and the AWS error code (never the error's
    message, which can echo request values such as the gateway secret)."""
    if isinstance(error, ClientError):
        cause = describe_error(error)
    else:
        cause = f"botocore raised {describe_error(error)} before reaching AWS"
    return CommandError(
        f"{doing} for ApiGateway {gateway.api_name!r} (pk={gateway.pk}) failed: {cause}. "
        "Nothing was marked as created, so the command can be run again once the cause is fixed."
    )


def age(unit: str, maximum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of ``unit`` between 0 and ``maximum``."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of {unit}, got {value!r}"
            ) from None
        if not 0 <= number <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be a number of {unit} between 0 and {maximum}, got {number}"
            )
        return number

    return parse
