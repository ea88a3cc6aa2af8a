"""Shared-kernel tables: the audit log (spec §13) and the API's idempotency keys."""

from django.conf import settings
from django.db import models
from django.utils import timezone
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


class IdempotencyKey(models.Model):
    """One ``Idempotency-Key`` of an API key (``portal/api/idempotency.py``): the request it
    was first used with (its fingerprint) and, once answered, the response to replay.

    The row is inserted *before* the view runs; the unique constraint is what lets exactly
    one of two concurrent first requests run. Rows expire after a day.
    """

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    api_access = models.ForeignKey("accounts.ApiAccess", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path and body
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN_PROGRESS)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(blank=True, default=b"")
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    locked_at = models.DateTimeField(default=timezone.now)  # when the run now in progress started
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_access", "key"], name="idempotency_key_unique")]

    def __str__(self):
        return f"{self.key} ({self.method} {self.path}, {self.state})"
