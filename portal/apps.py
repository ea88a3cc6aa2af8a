from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        from django.db.models import Field, ForeignObject

        from portal.db import AnyOf

        Field.register_lookup(AnyOf)
        ForeignObject.register_lookup(AnyOf)  # foreign keys keep their own lookups
