from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messaging")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from messaging.models import Gateway
        from messaging.services import routing

        # This process routes with the edited gateways at once (others within 2 s).
        for signal in (post_save, post_delete):
            signal.connect(lambda **kwargs: routing.clear_cache(), sender=Gateway, weak=False,
                           dispatch_uid=f"gateway-routing-cache-{signal}")
