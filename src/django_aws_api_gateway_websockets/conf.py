"""The package's settings, read in one place.

Every setting the package uses is read here, from ``django.conf.settings`` at the moment it is
needed, so ``override_settings`` and ``settings`` fixtures apply immediately. Values of the wrong
type never crash a request: the property falls back to the default and the system checks in
``checks.py`` report the mistake with a stable id. The table of keys, defaults and validators is
``options.py``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings

from .options import GATEWAY_SECRET_RE, NAMESPACE_OPTIONS, OPTIONS, Option

__all__ = [
    "BOOLEAN_DEFAULTS",
    "DEFAULTS",
    "GATEWAY_SECRET_RE",
    "KNOWN_KEYS",
    "NAMESPACE_OPTIONS",
    "OPTIONAL_KEYS",
    "OPTIONS",
    "Option",
    "Settings",
    "conf",
    "get_allowed_integration_hosts",
    "get_boolean_setting",
    "get_setting",
    "get_websockets_config",
]


class Settings:
    """Typed access to ``settings.WEBSOCKETS`` and the ``AWS_*`` settings."""

    # -- the WEBSOCKETS dictionary -------------------------------------------------------------

    @property
    def websockets(self) -> dict[str, Any]:
        """The ``WEBSOCKETS`` dictionary, or an empty one when it is missing or not a dict."""
        value = getattr(django_settings, "WEBSOCKETS", {})
        return value if isinstance(value, dict) else {}

    def option(self, name: str) -> Any:
        """The value of ``WEBSOCKETS[name]``, or its default when unset or invalid."""
        option = OPTIONS[name]
        value = self.websockets.get(name, option.default)
        return value if option.valid(value) else option.default

    @property
    def token_rate_limit_per_minute(self) -> int:
        return int(self.option("token_rate_limit_per_minute"))

    @property
    def token_expiry_seconds(self) -> int:
        return int(self.option("token_expiry_seconds"))

    @property
    def rate_limit_max_attempts(self) -> int:
        return int(self.option("rate_limit_max_attempts"))

    @property
    def rate_limit_window_minutes(self) -> int:
        return int(self.option("rate_limit_window_minutes"))

    @property
    def require_gateway_secret(self) -> bool:
        return bool(self.option("require_gateway_secret"))

    @property
    def gateway_secrets(self) -> tuple[str, ...]:
        """The accepted site-wide secrets, the one sent first; empty when none is set."""
        value = self.option("gateway_secret")
        if value is None:
            return ()
        return (value,) if isinstance(value, str) else tuple(value)

    @property
    def gateway_secret_invalid(self) -> bool:
        """``WEBSOCKETS["gateway_secret"]`` is set to something invalid (callbacks are refused)."""
        value = self.websockets.get("gateway_secret")
        return value is not None and not OPTIONS["gateway_secret"].valid(value)

    @property
    def secret_rotation_window_seconds(self) -> int:
        return int(self.option("secret_rotation_window_seconds"))

    @property
    def gateway_cache_seconds(self) -> float:
        return float(self.option("gateway_cache_seconds"))

    @property
    def allowed_origin_hosts(self) -> tuple[str, ...]:
        return tuple(h.lower() for h in self.option("allowed_origin_hosts"))

    @property
    def allowed_integration_hosts(self) -> tuple[str, ...]:
        value = self.option("allowed_integration_hosts")
        values = [value] if isinstance(value, str) else value
        return tuple(h.strip().lower().rstrip(".") for h in values)

    @property
    def legacy_origin_substring_match(self) -> bool:
        return bool(self.option("legacy_origin_substring_match"))

    @property
    def send_concurrency(self) -> int:
        return int(self.option("send_concurrency"))

    @property
    def send_transport(self) -> str:
        return str(self.option("send_transport"))

    @property
    def lean_in_flight(self) -> int:
        return int(self.option("lean_in_flight"))

    @property
    def send_max_attempts(self) -> int:
        return int(self.option("send_max_attempts"))

    @property
    def send_retry_base_delay(self) -> float:
        return float(self.option("send_retry_base_delay"))

    @property
    def send_retry_max_delay(self) -> float:
        return float(self.option("send_retry_max_delay"))

    @property
    def broadcast_dispatcher(self) -> str | None:
        value = self.option("broadcast_dispatcher")
        return str(value) if value else None

    @property
    def broadcast_chunk_size(self) -> int:
        return int(self.option("broadcast_chunk_size"))

    @property
    def broadcast_on_commit(self) -> bool:
        return bool(self.option("broadcast_on_commit"))

    @property
    def push_changes_to_aws(self) -> bool:
        return bool(self.option("push_changes_to_aws"))

    @property
    def max_subscriptions_per_connection(self) -> int:
        return int(self.option("max_subscriptions_per_connection"))

    @property
    def presence_max_age_seconds(self) -> int:
        return int(self.option("presence_max_age_seconds"))

    def namespace_options(self, name: str) -> dict[str, Any] | None:
        """The options of namespace ``name``, each invalid or missing one replaced by its
        default; ``None`` when the namespace is not configured (``""`` always is)."""
        namespaces = self.option("channel_namespaces")
        given = namespaces.get(name)
        if given is None:
            if name != "":
                return None
            given = {}
        resolved = {}
        for key, option in NAMESPACE_OPTIONS.items():
            value = given.get(key, option.default)
            resolved[key] = value if option.valid(value) else option.default
        return resolved

    # -- AWS -------------------------------------------------------------------------------------

    @staticmethod
    def _str_setting(name: str) -> str | None:
        value = getattr(django_settings, name, None)
        return value if isinstance(value, str) and value else None

    @property
    def region_name(self) -> str | None:
        """``AWS_GATEWAY_REGION_NAME``, falling back to ``AWS_REGION_NAME``."""
        return self._str_setting("AWS_GATEWAY_REGION_NAME") or self._str_setting("AWS_REGION_NAME")

    @property
    def iam_profile(self) -> str | None:
        return self._str_setting("AWS_IAM_PROFILE")

    @property
    def access_key_id(self) -> str | None:
        return self._str_setting("AWS_ACCESS_KEY_ID")

    @property
    def secret_access_key(self) -> str | None:
        return self._str_setting("AWS_SECRET_ACCESS_KEY")


conf = Settings()


# -- release 4.1's module-level functions ---------------------------------------------------------

_UNSET: Any = object()
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


#: Release 4.1's tables of its keys, derived from :data:`OPTIONS` (``KNOWN_KEYS``: ours, all).
DEFAULTS = {name: OPTIONS[name].default for name in list(OPTIONS)[:4]}
BOOLEAN_DEFAULTS = {"push_changes_to_aws": OPTIONS["push_changes_to_aws"].default}
OPTIONAL_KEYS = frozenset({"gateway_secret", "allowed_integration_hosts"})
KNOWN_KEYS = frozenset(OPTIONS)


def get_allowed_integration_hosts() -> list[str]:
    """``WEBSOCKETS["allowed_integration_hosts"]`` as a list of lower-case hosts (``[]``: any)."""
    return list(conf.allowed_integration_hosts)


def get_websockets_config() -> dict[str, Any]:
    """A copy of ``settings.WEBSOCKETS`` (empty when it is missing or not a dict)."""
    return dict(conf.websockets)


def get_setting(name: str, default: Any = _UNSET) -> Any:
    """``WEBSOCKETS[name]``: a known key's value as the package uses it (its default when unset
    or invalid); an unknown key's value, else ``default`` (``None`` when not given)."""
    if name in OPTIONS and default is _UNSET:
        return conf.option(name)
    value = conf.websockets.get(name, _UNSET)
    if value is _UNSET:
        return None if default is _UNSET else default
    option = OPTIONS.get(name)
    if option is not None and not option.valid(value):
        return option.default if default is _UNSET else default
    return value


def get_boolean_setting(name: str, default: bool = _UNSET) -> bool:
    """``WEBSOCKETS[name]`` as a boolean: ``True``/``False``, or a string such as ``"true"``,
    ``"0"``, ``"yes"``, ``"off"``; anything else is ``default`` (when not given: a known
    boolean key's default, as in 4.1, e.g. ``True`` for ``push_changes_to_aws``; else False)."""
    if default is _UNSET:
        option = OPTIONS.get(name)
        default = (
            option.default if option is not None and isinstance(option.default, bool) else False
        )
    value = conf.websockets.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return default
