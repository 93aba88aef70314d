"""Route selection: which route key a client's message goes to.

API Gateway evaluates the API's route selection expression against the message body:
``$request.body.action`` or a template such as ``${request.body.service}/${request.body.action}``.
The value is stringified and must equal a route key exactly; anything else (no such key, a
missing field, a frame that is not a JSON object) goes to ``$default``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

_BODY_PREFIX = "$request.body"
_TEMPLATE_PART = re.compile(r"\$\{request\.body\.([^}]+)\}")
_BRACKET = re.compile(r"\[['\"]?([^\]'\"]+)['\"]?\]")

#: Routes a message can never be sent to.
_EVENT_ROUTES = frozenset({"$connect", "$disconnect"})

_MISSING = object()


def _path(expression: str) -> tuple[str, ...]:
    """``a.b['c']`` -> ``("a", "b", "c")``."""
    normalised = _BRACKET.sub(r".\1", expression)
    return tuple(part for part in normalised.split(".") if part)


def stringify(value: Any) -> str | None:
    """The route key a JSON value selects: strings as they are, other scalars as JSON text
    (``true``, ``1``), objects and arrays as compact JSON; ``null`` selects nothing."""
    if value is None or value is _MISSING:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _lookup(body: Any, path: Sequence[str]) -> Any:
    value = body
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


@dataclass(frozen=True)
class RouteSelector:
    """A parsed route selection expression."""

    expression: str
    #: Literal text and body paths, alternating (``literals[i]``, ``paths[i]``, ...).
    literals: tuple[str, ...]
    paths: tuple[tuple[str, ...], ...]

    @classmethod
    def parse(cls, expression: str) -> RouteSelector:
        expression = (expression or "").strip()
        if "${" in expression:
            literals: list[str] = []
            paths: list[tuple[str, ...]] = []
            position = 0
            for match in _TEMPLATE_PART.finditer(expression):
                literals.append(expression[position : match.start()])
                paths.append(_path(match.group(1)))
                position = match.end()
            literals.append(expression[position:])
            return cls(expression, tuple(literals), tuple(paths))
        rest = expression[len(_BODY_PREFIX) :]
        if expression.startswith(_BODY_PREFIX) and rest[:1] in (".", "[") and _path(rest):
            return cls(expression, ("", ""), (_path(rest),))
        # Not an expression over the body: every message goes to $default.
        return cls(expression, (), ())

    @property
    def supported(self) -> bool:
        return bool(self.paths)

    def evaluate(self, text: str) -> str | None:
        """The route key ``text`` selects, or ``None`` when it selects none."""
        if not self.paths:
            return None
        try:
            body = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if not isinstance(body, dict):
            return None
        pieces: list[str] = []
        for literal, path in zip(self.literals, self.paths, strict=False):
            value = stringify(_lookup(body, path))
            if value is None:
                return None
            pieces.append(literal)
            pieces.append(value)
        pieces.append(self.literals[-1])
        return "".join(pieces)

    def select(self, text: str, route_keys: Collection[str]) -> str | None:
        """The route ``text`` goes to: the selected key when it is a route, else ``$default``
        when the API has one, else ``None`` (API Gateway answers ``Forbidden``)."""
        key = self.evaluate(text)
        if key is not None and key in route_keys and key not in _EVENT_ROUTES:
            return key
        if "$default" in route_keys:
            return "$default"
        return None
