"""Gateways and their additional routes: what is (or will be) deployed on API Gateway.

The AWS work of ``create_gateway``/``create_custom_domain``/``deploy_api`` and of saving a route
is provisioning's, and provisioning imports the models. So the :mod:`.provisioning` package
registers itself with :func:`use_provisioning` when it is imported (the app's ``ready()`` imports
it) and these methods call it at run time: no import circle, and a test that patches a function
of the provisioning package still sees it called.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models, router
from django.utils import timezone

from ..aws import connect_url, management_endpoint
from ..conf import conf
from .aws_sync import push_enabled, run_aws_after_commit

DOMAIN_NAME_RE = re.compile(
    r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
API_NAME_RE = re.compile(r"^[ a-zA-Z0-9_-]+$")

#: The ``ValueError`` texts of :meth:`ApiGateway.create_custom_domain` (the existing package's,
#: shown by the admin action as ``<api_name>: <text>``).
API_NOT_CREATED = "The API needs to be created before calling this method"
CERTIFICATE_REQUIRED = "A Certificate ARN is required"
DOMAIN_NAME_REQUIRED = "A domain name is required"


class ProvisioningStatus(models.TextChoices):
    """How far provisioning got (release 4.1's values, in the order a run passes them)."""

    PENDING = "pending", "Pending"
    CREATING = "creating", "Creating"
    API_CREATED = "api_created", "API created"
    ROUTES_CREATED = "routes_created", "Routes created"
    DEPLOYED = "deployed", "Deployed"
    DOMAIN_CREATED = "domain_created", "Custom domain created"
    MAPPED = "mapped", "Custom domain mapped"


#: The statuses of a gateway whose API, routes and stage deployment all exist.
DEPLOYED_STATUSES = frozenset(
    {ProvisioningStatus.DEPLOYED, ProvisioningStatus.DOMAIN_CREATED, ProvisioningStatus.MAPPED}
)
#: The gateway's fields AWS holds: saving a deployed gateway pushes a change to any of them.
SYNCED_GATEWAY_FIELDS = (
    "api_name",
    "api_description",
    "api_key_selection_expression",
    "route_selection_expression",
    "target_base_endpoint",
    "stage_name",
    "stage_description",
    "tags",
    "domain_name",
    "certificate_arn",
    "hosted_zone_id",
)


class ApiGateway(models.Model):
    """One API Gateway WebSocket API."""

    ProvisioningStatus = ProvisioningStatus  # release 4.1's name for the choices

    api_name = models.CharField(max_length=255, unique=True)
    api_description = models.CharField(max_length=255, blank=True, default="")
    default_channel_name = models.CharField(
        max_length=128,
        blank=True,
        default="",
        help_text="Automatically sets the 'channel' on the WebSocketSession record for the "
        "connection",
    )
    domain_name = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="The full domain you wish to use for the API endpoint. E.G ws.example.com",
    )
    target_base_endpoint = models.URLField(  # noqa: DJ001 - nullable in the existing schema
        null=True,
        blank=True,
        default=None,
        help_text=(
            "The URL on your website where the API Gateway routes will point, including the "
            "trailing /, but excluding the final route/slug portion of the URL. E.G. If your "
            "default route will point to https://www.example.com/ws/default then enter "
            "https://www.example.com/ws/"
        ),
    )
    certificate_arn = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="The ARN of the certificate to use from AWS Certificate Manager",
    )
    hosted_zone_id = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="The Hosted Zone ID from AWs Route 53 for the domain you wish to use",
    )
    api_key_selection_expression = models.CharField(
        max_length=255, default="$request.header.x-api-key"
    )
    route_selection_expression = models.CharField(max_length=255, default="$request.body.action")
    route_key = models.CharField(max_length=255, default="$default")
    stage_name = models.CharField(max_length=63, default="production", blank=True)
    stage_description = models.CharField(max_length=63, default="", blank=True)
    deployment_id = models.CharField(max_length=32, default="", blank=True, editable=False)
    tags = models.JSONField(
        blank=True, default=dict, help_text='In format {"tag-name": "tag-value"}'
    )
    # Returned values
    api_id = models.CharField(
        max_length=32, blank=True, default="", help_text="The ID of the Api Gateway returned by AWS"
    )
    api_endpoint = models.CharField(
        max_length=255, blank=True, default="", help_text="The Api Gateway endpoint"
    )
    api_gateway_domain_name = models.CharField(
        max_length=255, blank=True, default="", help_text="The value to point your CNAME record to"
    )
    api_mapping_id = models.CharField(
        max_length=128,
        blank=True,
        default="",
        help_text="The ApiMappingId to use with api_mapping calls",
    )
    api_created = models.BooleanField(default=False, editable=False)
    custom_domain_created = models.BooleanField(default=False, editable=False)
    created_on = models.DateTimeField(auto_now_add=True)
    updated_on = models.DateTimeField(auto_now=True)
    # Ours: the value API Gateway sends in the X-Gateway-Secret header of every callback.
    secret = models.CharField(
        max_length=128,
        blank=True,
        default="",
        editable=False,
        help_text="Sent by API Gateway on every callback and checked by WebSocketView. "
        "Generated by provisioning.",
    )
    # The secret before the last rotation: still accepted for WEBSOCKETS[
    # "secret_rotation_window_seconds"] after secret_rotated_at, while AWS deploys the new one.
    previous_secret = models.CharField(
        max_length=128,
        blank=True,
        default="",
        editable=False,
        help_text="The secret before the last rotation, accepted for a window after it.",
    )
    secret_rotated_at = models.DateTimeField(null=True, blank=True, default=None, editable=False)
    # Ours: written before the API is created and tagged on it, so that an API whose creation
    # was interrupted (a killed run, a retried request) is found and adopted by the next run.
    provisioning_token = models.CharField(
        max_length=64,
        blank=True,
        default="",
        editable=False,
        help_text="Identifies the API created for this row (provisioning tags it with it).",
    )
    # Release 4.1's columns (migrations 0012 and 0015), same names and database shape.
    provisioning_status = models.CharField(
        max_length=16,
        choices=ProvisioningStatus.choices,
        default=ProvisioningStatus.PENDING,
        help_text="The last provisioning step that completed. 'Creating' while a run holds the "
        "gateway; a run resumes from the recorded step.",
    )
    last_error = models.CharField(
        max_length=255,
        blank=True,
        default="",
        editable=False,
        help_text="What stopped the last provisioning run: error class and AWS error code.",
    )

    class Meta:
        indexes = [
            models.Index(fields=["api_id"], name="django_aws__api_id_0da7ec_idx"),
            models.Index(fields=["domain_name"], name="django_aws__domain__3b4423_idx"),
            models.Index(fields=["custom_domain_created"], name="django_aws__custom__5e8390_idx"),
            models.Index(fields=["api_created"], name="django_aws__api_cre_376add_idx"),
            models.Index(fields=["created_on"], name="django_aws__created_32cf2a_idx"),
        ]

    def __str__(self) -> str:
        return self.api_name

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._aws_snapshot = self._synced_values()

    def save(self, *args: Any, push_to_aws: bool | None = None, **kwargs: Any) -> None:
        """Validate, store ``target_base_endpoint`` with its trailing slash, and then, when the
        gateway is deployed and a field AWS holds changed, push it (after the transaction
        commits: see ``run_aws_after_commit``) unless ``push_to_aws`` is ``False`` (``None``:
        ``WEBSOCKETS["push_changes_to_aws"]``). A save with ``update_fields`` never pushes.
        When AWS fails the row keeps the change and ``ApiGatewaySyncError`` is raised."""
        self.full_clean(validate_unique=False)
        if self.target_base_endpoint and not self.target_base_endpoint.endswith("/"):
            self.target_base_endpoint = f"{self.target_base_endpoint}/"
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "updated_on"}
        super().save(*args, **kwargs)
        if update_fields is not None:
            return
        before, self._aws_snapshot = self._aws_snapshot, self._synced_values()
        changed = {name for name, value in self._aws_snapshot.items() if before[name] != value}
        if changed and self.is_deployed and push_enabled(push_to_aws):
            using = kwargs.get("using") or router.db_for_write(type(self))
            run_aws_after_commit(lambda: self.sync_to_aws(fields=changed), using)

    def _synced_values(self) -> dict[str, Any]:
        return {name: self.__dict__.get(name) for name in SYNCED_GATEWAY_FIELDS}

    @property
    def effective_provisioning_status(self) -> str:
        """The status, allowing for rows from before release 4.1: ``pending`` with
        ``api_created`` was provisioned by an older release and counts as deployed (mapped,
        with its custom domain created)."""
        if self.provisioning_status == ProvisioningStatus.PENDING and self.api_created:
            if self.custom_domain_created:
                return ProvisioningStatus.MAPPED
            return ProvisioningStatus.DEPLOYED
        return str(self.provisioning_status)

    @property
    def is_deployed(self) -> bool:
        """Whether the API exists in AWS with a deployment of every step (a row release 4.1
        left half built, ``api_created`` but not deployed, is not)."""
        return bool(
            self.api_created
            and self.api_id
            and self.deployment_id
            and self.effective_provisioning_status in DEPLOYED_STATUSES
        )

    def sync_to_aws(self, client: Any = None, fields: Iterable[str] | None = None) -> list[str]:
        """Make AWS match this deployed gateway (``apply``); one sentence per change.
        ``ValueError`` when not deployed; ``ApiGatewaySyncError`` when AWS fails or the API
        is gone (then nothing changes)."""
        return provisioner().push_gateway(self, client, fields)

    def sync_from_aws(self, client: Any = None) -> list[str]:
        """Read this deployed gateway from AWS into its rows; one sentence per change. Adds the
        routes only AWS has, deletes nothing. Errors as :meth:`sync_to_aws`."""
        return provisioner().pull_gateway(self, client)

    def clean(self) -> None:
        """Validate ``domain_name`` and ``api_name`` when they have values."""
        if self.domain_name and not DOMAIN_NAME_RE.match(self.domain_name):
            raise ValidationError({"domain_name": "Invalid domain name format"})
        if self.api_name and not API_NAME_RE.match(self.api_name):
            raise ValidationError(
                {
                    "api_name": "API name can only contain alphanumeric characters, spaces, "
                    "hyphens, and underscores"
                }
            )

    @staticmethod
    def generate_secret() -> str:
        """A new random value for :attr:`secret`."""
        return secrets.token_urlsafe(32)

    def accepted_secrets(self) -> list[str]:
        """The values a callback may carry: :attr:`secret`, and during the rotation window
        (``WEBSOCKETS["secret_rotation_window_seconds"]`` after :attr:`secret_rotated_at`) also
        :attr:`previous_secret`. Empty when the gateway has no secret."""
        if not self.secret:
            return []
        accepted = [self.secret]
        if self.previous_secret and self.secret_rotated_at is not None:
            window = timedelta(seconds=conf.secret_rotation_window_seconds)
            if timezone.now() < self.secret_rotated_at + window:
                accepted.append(self.previous_secret)
        return accepted

    @property
    def management_endpoint(self) -> str:
        """The Management API endpoint that ``send_message`` posts to for this gateway."""
        return management_endpoint(self)

    def websocket_url(self, channel_name: str = "") -> str | None:
        """The URL a browser connects to (``wss://`` on AWS, ``ws://`` for a local gateway)."""
        return connect_url(self, channel_name)

    # -- provisioning (kept for callers of the existing package) ---------------------------------

    def create_gateway(self) -> bool | None:
        """Create the API, its routes, stage and deployment on AWS, and return ``True``. A no-op
        returning ``None`` (as the existing package did) when ``api_created``; the flag is only
        set when every step succeeded."""
        if self.api_created and self.effective_provisioning_status in DEPLOYED_STATUSES:
            return None  # (a row release 4.1 left half built is finished)
        provisioner().create_gateway(self)
        return True

    def create_custom_domain(self) -> None:
        """Create the custom domain and map it to the stage (after :meth:`create_gateway`).
        ``ValueError`` when the API is not created, or there is no certificate ARN or domain."""
        if not self.api_created:
            raise ValueError(API_NOT_CREATED)
        if not self.certificate_arn:
            raise ValueError(CERTIFICATE_REQUIRED)
        if not self.domain_name:
            raise ValueError(DOMAIN_NAME_REQUIRED)
        provisioner().create_custom_domain(self)

    def deploy_api(self, client: Any) -> None:
        """Create a deployment of the stage and record its id (its description records what it
        serves, so that provisioning's plan can tell when the stage needs a new one)."""
        provisioner().deploy(self, client)


# -- the provisioning hook -----------------------------------------------------------------------


class ProvisioningHook(Protocol):
    """What the provisioning methods above delegate to: the :mod:`.provisioning` package, which
    registers itself with :func:`use_provisioning` when imported (the app's ``ready()`` imports
    it). Models never import provisioning, which imports models. ``route`` is an
    ``ApiGatewayAdditionalRoute`` (its module imports this one)."""

    def create_gateway(self, gateway: ApiGateway) -> None: ...
    def create_custom_domain(self, gateway: ApiGateway) -> None: ...
    def deploy(self, gateway: ApiGateway, client: Any) -> str: ...
    def sync_additional_route(self, route: Any) -> None: ...
    def push_gateway(
        self, gateway: ApiGateway, client: Any = ..., fields: Iterable[str] | None = ...
    ) -> list[str]: ...
    def pull_gateway(self, gateway: ApiGateway, client: Any = ...) -> list[str]: ...
    def push_route(self, route: Any) -> None: ...
    def remove_route(self, route: Any, client: Any = ...) -> list[str]: ...
    def upsert_additional_route(
        self, route: Any, client: Any, *, and_deploy: bool = ...
    ) -> None: ...


_provisioner: ProvisioningHook | None = None


def use_provisioning(provisioning: ProvisioningHook) -> None:
    """Register what the provisioning methods of the models delegate to."""
    global _provisioner
    _provisioner = provisioning


def provisioner() -> ProvisioningHook:
    """The registered provisioning package."""
    if _provisioner is None:
        raise ImproperlyConfigured(
            "django_aws_api_gateway_websockets.provisioning is not loaded: add "
            "'django_aws_api_gateway_websockets' to INSTALLED_APPS"
        )
    return _provisioner
