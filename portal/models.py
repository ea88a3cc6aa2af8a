"""Shared-kernel tables: the audit log (spec §13)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One logged action of a user or API key, with one detail line per changed row."""

    company = models.ForeignKey("accounts.Company", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    user_login = models.CharField(_("user"), max_length=150, blank=True, default="")
    api_access = models.ForeignKey("accounts.ApiAccess", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    api_access_name = models.CharField(_("API access"), max_length=100, blank=True, default="")
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    action = models.CharField(_("logged action"), max_length=255)
    detail_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(_("date & time"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "-created_at"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label}: {self.action}"

    @property
    def actor_label(self) -> str:
        if self.api_access_name:
            return f"API: {self.api_access_name}"
        return self.user_login or "system"


class AuditDetail(models.Model):
    class Operation(models.TextChoices):
        INSERT = "Insert", "Insert"
        UPDATE = "Update", "Update"
        DELETE = "Delete", "Delete"

    event = models.ForeignKey(AuditEvent, on_delete=models.CASCADE, related_name="details")
    table = models.CharField(_("table"), max_length=100)
    operation = models.CharField(_("operation"), max_length=10, choices=Operation.choices)
    object_id = models.CharField(_("object ID"), max_length=64)
    old_value = models.JSONField(_("old value"), null=True, blank=True)
    new_value = models.JSONField(_("new value"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
