"""Who may join a channel: release 4.1's ``ChannelPermission`` and ``ChannelPermissionRule``.

A channel without a row is open unless the view sets ``ALLOW_UNLISTED_CHANNELS = False``. A row
admits by its ``access`` level; ``permissions`` admits a user who holds every permission of at
least one of its rules.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.validators import RegexValidator
from django.db import models

CHANNEL_NAME_PATTERN = r"^[a-zA-Z0-9_-]+$"


class ChannelAccess(models.TextChoices):
    ALLOW_ALL = "allow_all", "Everyone"
    SUPERUSER_ONLY = "superuser_only", "Superusers only"
    STAFF_ONLY = "staff_only", "Staff only"
    PERMISSIONS = "permissions", "Users with the permissions of a rule"


class ChannelPermission(models.Model):
    """The access rule of one channel (by exact name)."""

    Access = ChannelAccess

    channel_name = models.CharField(
        max_length=128,
        unique=True,
        validators=[RegexValidator(CHANNEL_NAME_PATTERN, "Letters, digits, '_' and '-' only.")],
        help_text="The channel this row governs (exact name).",
    )
    access = models.CharField(
        max_length=16,
        choices=ChannelAccess.choices,
        default=ChannelAccess.ALLOW_ALL,
        help_text="Who may join. Rules apply only to 'Users with the permissions of a rule'.",
    )
    description = models.CharField(max_length=255, blank=True, default="")
    created_on = models.DateTimeField(auto_now_add=True)
    updated_on = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel_name"]

    def __str__(self) -> str:
        return f"{self.channel_name} ({self.get_access_display()})"

    @classmethod
    def for_channel(cls, channel_name: str) -> ChannelPermission | None:
        """The row for ``channel_name``, or ``None`` when the channel has none."""
        return cls.objects.filter(channel_name=channel_name).first()

    def allows(self, user: Any) -> bool:
        """Whether ``user`` may join: ``allow_all`` admits anyone; every other level refuses
        anonymous and inactive users and admits superusers; ``staff_only`` admits staff;
        ``permissions`` admits a user who has all the permissions of any one rule (no rules:
        superusers only). An unknown ``access`` value admits no one."""
        if self.access == ChannelAccess.ALLOW_ALL:
            return True
        if self.access not in ChannelAccess.values:
            return False
        if user is None or not user.is_authenticated or not user.is_active:
            return False
        if user.is_superuser:
            return True
        if self.access == ChannelAccess.STAFF_ONLY:
            return bool(user.is_staff)
        if self.access == ChannelAccess.PERMISSIONS:
            return any(user.has_perms(labels) for labels in self.rule_permission_labels())
        return False

    def rule_permission_labels(self) -> list[list[str]]:
        """The ``app_label.codename`` lists of this channel's non-empty rules (one query, none
        for a row built by :meth:`batch`)."""
        labels: list[list[str]] | None = getattr(self, "_batch_labels", None)
        if labels is not None:
            return labels
        return _rule_labels([self.channel_name]).get(self.channel_name, [])

    @classmethod
    def batch(cls, access: dict[str, str]) -> dict[str, ChannelPermission]:
        """Rows for many channels at once, from their ``access`` values (read by the caller):
        unsaved rows whose :meth:`allows` needs no query of its own; the rules of every
        ``permissions`` channel among them are read in one query."""
        rows = {name: cls(channel_name=name, access=value) for name, value in access.items()}
        ruled = [name for name, value in access.items() if value == ChannelAccess.PERMISSIONS]
        labels = _rule_labels(ruled) if ruled else {}
        for name in ruled:
            rows[name]._batch_labels = labels.get(name, [])  # type: ignore[attr-defined]
        return rows


def _rule_labels(channel_names: list[str]) -> dict[str, list[list[str]]]:
    """Per channel, the ``app_label.codename`` lists of its non-empty rules (one query)."""
    through = ChannelPermissionRule.permissions.through
    found = (
        through.objects.filter(
            channelpermissionrule__channel_permission__channel_name__in=channel_names
        )
        .order_by("channelpermissionrule_id", "permission__codename")
        .values_list(
            "channelpermissionrule__channel_permission__channel_name",
            "channelpermissionrule_id",
            "permission__content_type__app_label",
            "permission__codename",
        )
    )
    by_rule: defaultdict[str, defaultdict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for name, rule_id, app_label, codename in found:
        by_rule[name][rule_id].append(f"{app_label}.{codename}")
    return {name: list(rules.values()) for name, rules in by_rule.items()}


class ChannelPermissionRule(models.Model):
    """One alternative for a ``permissions`` channel: the user needs all of its permissions."""

    channel_permission = models.ForeignKey(
        ChannelPermission, on_delete=models.CASCADE, related_name="rules"
    )
    permissions = models.ManyToManyField(
        "auth.Permission",
        blank=True,
        related_name="channel_permission_rules",
        help_text="All of these are required; add another rule for an alternative.",
    )

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        labels = [
            f"{permission.content_type.app_label}.{permission.codename}"
            for permission in self.permissions.select_related("content_type")
        ]
        return " AND ".join(labels) if labels else "(no permissions)"
