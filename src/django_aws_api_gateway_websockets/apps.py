from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DjangoAwsApiGatewayWebsocketsConfig(AppConfig):
    name = "django_aws_api_gateway_websockets"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("Django AWS ApiGateway Websockets")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import (
            post_delete,
            post_migrate,
            post_save,
            pre_delete,
            pre_migrate,
            pre_save,
        )
        from django.test.signals import setting_changed

        # ``channels`` is imported whole here, in the thread that sets Django up: runserver's
        # autoreloader imports the URLconf (views) in one thread while its checks load the
        # template tags (channels.history) in another, and two threads importing the package's
        # modules in different orders can see one half-initialised.
        from . import (
            channels,  # noqa: F401
            checks,  # noqa: F401  (registers the system checks)
            gateway_cache,
            integration_hosts,
            login_binding,
            migration_history,
            provisioning,  # noqa: F401  (registers itself with models.use_provisioning)
            view_checks,  # noqa: F401  (registers the deploy checks about routed views)
        )
        from .models import ApiGateway, ApiGatewayAdditionalRoute

        post_save.connect(gateway_cache.gateway_changed, sender=ApiGateway)
        post_delete.connect(gateway_cache.gateway_changed, sender=ApiGateway)
        pre_migrate.connect(migration_history.refuse_unknown_history, sender=self)
        # No dispatch_uid: release 4.1 projects disconnect these two by the function alone
        # (``models.close_sessions_on_logout``, ``models.disconnect_sessions_of_deleted_gateway``);
        # connecting the same function twice is a no-op without one.
        user_logged_out.connect(login_binding.on_user_logged_out)
        pre_delete.connect(login_binding.on_gateway_deleted, sender=ApiGateway)
        for model in (ApiGateway, ApiGatewayAdditionalRoute):
            pre_save.connect(integration_hosts.check_before_save, sender=model)
        post_migrate.connect(gateway_cache.clear)  # also sent after a flush
        setting_changed.connect(gateway_cache.clear)
