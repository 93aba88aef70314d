"""Additional routes: a custom route key of a gateway, sent to its own integration URL.

Saving one pushes it to AWS and deleting one removes it there (see the methods); the AWS work
is provisioning's, reached through the hook in :mod:`.gateways`.
"""

from __future__ import annotations

from typing import Any

from django.db import models, router, transaction
from django.db.models.signals import post_delete

from .aws_sync import push_enabled, run_aws_after_commit
from .gateways import ApiGateway, provisioner


class ApiGatewayAdditionalRoute(models.Model):
    """A custom route key of a gateway, sent to its own integration URL."""

    api_gateway = models.ForeignKey(
        ApiGateway, on_delete=models.CASCADE, related_name="additional_routes"
    )
    name = models.CharField(max_length=63, help_text="Descriptive name for the route")
    route_key = models.CharField(max_length=64, db_index=True)
    integration_url = models.URLField()
    deployed = models.BooleanField(default=False, editable=False)
    created_on = models.DateTimeField(auto_now_add=True)
    updated_on = models.DateTimeField(auto_now=True)
    # Release 4.1's columns (migration 0013): the AWS ids of this route and its integration.
    route_id = models.CharField(max_length=32, blank=True, default="", editable=False)
    integration_id = models.CharField(max_length=32, blank=True, default="", editable=False)

    class Meta:
        unique_together = [["api_gateway", "route_key"]]

    #: What AWS is told about a route: saving a deployed row changes AWS only when one of
    #: these changed since the row was loaded.
    _PUSHED_FIELDS = ("api_gateway_id", "route_key", "integration_url")
    _loaded: tuple[Any, ...] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded = self._pushed_values()  # as loaded (or as built, for a new row)

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, push_to_aws: bool | None = None, **kwargs: Any) -> None:
        """Save, then create or update the route on AWS when the gateway is deployed and the
        route is not deployed as it is (see :meth:`_needs_push`): a route not deployed yet at
        once (unless ``push_to_aws`` is ``False``), a changed deployed one after the transaction
        commits, unless ``push_to_aws`` (``None``: ``WEBSOCKETS["push_changes_to_aws"]``) is off.
        When AWS fails, the row is kept (marked not deployed: the stage does not serve this
        version of it) and the error is raised; saving again or ``provisionApiGateway apply``
        retries."""
        push = not kwargs.get("update_fields") and self._needs_push() and push_to_aws is not False
        was_deployed = self.deployed
        super().save(*args, **kwargs)
        self._loaded = self._pushed_values()
        if not push:
            return
        if not was_deployed:
            provisioner().sync_additional_route(self)
        elif push_enabled(push_to_aws):
            using = kwargs.get("using") or router.db_for_write(type(self))
            run_aws_after_commit(lambda: provisioner().push_route(self), using)

    def delete(self, *args: Any, push_to_aws: bool | None = None, **kwargs: Any) -> Any:
        """Delete the row and, when its gateway is deployed, the route and its integration on
        AWS, then deploy the stage again: AWS first outside a transaction (a failure keeps the
        row), after the commit inside one. ``push_to_aws``: as for :meth:`save`."""
        self._aws_handled = True  # (the post_delete receiver leaves it to this method)
        if push_enabled(push_to_aws) and self.deployed:
            using = kwargs.get("using") or router.db_for_write(type(self))
            if transaction.get_connection(using).in_atomic_block:
                run_aws_after_commit(lambda: provisioner().remove_route(self), using)
            else:
                provisioner().remove_route(self)
        return super().delete(*args, **kwargs)

    def _pushed_values(self) -> tuple[Any, ...]:
        return tuple(self.__dict__.get(name) for name in self._PUSHED_FIELDS)

    def _needs_push(self) -> bool:
        """Whether saving must update AWS: not for a row marked ``deployed`` that is inserted
        (trusted) or whose route key, integration URL and gateway are as loaded."""
        if not self.deployed:
            return True
        if self._state.adding:
            return False
        return getattr(self, "_loaded", None) != self._pushed_values()

    def create_route(self, client: Any, deploy: bool = True) -> None:
        """Create (or update, when it exists) the integration and route on AWS, then deploy."""
        provisioner().upsert_additional_route(self, client, and_deploy=deploy)


def delete_route_from_aws(sender: Any, instance: Any, origin: Any = None, **_: Any) -> None:
    """A route deleted by a queryset delete goes from AWS too (after the commit); one deleted
    by its own ``delete()`` was handled there, and a cascade from its gateway changes nothing.

    Release 4.1's receiver of the same name (``models.delete_route_from_aws``): a project may
    ``post_delete.disconnect(...)`` it, with ``sender=ApiGatewayAdditionalRoute``."""
    from_routes = isinstance(origin, ApiGatewayAdditionalRoute) or (
        isinstance(origin, models.QuerySet) and origin.model is ApiGatewayAdditionalRoute
    )
    if not from_routes or getattr(instance, "_aws_handled", False) or not instance.deployed:
        return
    if push_enabled(None):
        using = router.db_for_write(ApiGatewayAdditionalRoute)
        run_aws_after_commit(lambda: provisioner().remove_route(instance), using)


post_delete.connect(delete_route_from_aws, sender=ApiGatewayAdditionalRoute)
