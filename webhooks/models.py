"""Client webhooks (docs/api.md §10): a company's signing secret, the URLs Herald posts
to (endpoints), the events stored for them and one row per delivery attempt.

An event is stored before anything is sent; its ``id`` is the ``webhook-id`` header, the
same on every attempt and replay, so a receiver can drop duplicates (delivery is at least
once). Writes go through ``webhooks.services``.
"""

from __future__ import annotations

import json

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.crypto import EncryptedTextField
from portal.tenancy import TenantManager, TenantModel


class WebhookSecret(models.Model):
    """The company's signing secret (``whsec_`` + base64 of 24 random bytes), encrypted
    at rest. After a rotation the previous secret keeps signing too for a grace period,
    so receivers can switch without losing a webhook (Standard Webhooks: several
    space-separated signatures)."""

    company = models.OneToOneField("accounts.Company", on_delete=models.CASCADE, related_name="webhook_secret")
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True, default="")
    rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager()

    def __str__(self):
        return f"webhook secret of company {self.company_id}"


class Endpoint(TenantModel):
    """A URL of one company that receives webhooks. Created when an event first names it
    (a message's ``webhook`` or an API access's webhook); disabled by a ``410 Gone`` or by
    hand, enabled again in the portal."""

    url = models.CharField(_("URL"), max_length=500)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    disabled_reason = models.CharField(_("reason"), max_length=255, blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = TenantManager()

    class Meta:
        ordering = ["url"]
        constraints = [models.UniqueConstraint(fields=["company", "url"], name="webhook_endpoint_unique_url")]

    def __str__(self):
        return self.url

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None


class EventState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    DISABLED = "disabled", _("Endpoint disabled")


class Event(TenantModel):
    """One webhook to send: the JSON body (kept as the exact text that is signed and sent,
    so every attempt and replay carries the same bytes) and its delivery state.

    ``attempts`` counts every attempt ever made (it numbers the :class:`Delivery` rows);
    ``schedule_step`` counts the attempts of the current cycle (a replay starts a new
    one) and picks the next delay from the retry schedule."""

    id = models.CharField(_("webhook ID"), max_length=40, primary_key=True)
    type = models.CharField(_("type"), max_length=100)
    payload = models.TextField(_("payload"))
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="events",
                                 verbose_name=_("endpoint"), db_index=False)  # (endpoint, created_at) serves
    state = models.CharField(_("state"), max_length=10, choices=EventState.choices, default=EventState.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    schedule_step = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=255, blank=True, default="")
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The delivery sweep: pending events by due time.
            models.Index(fields=["next_attempt_at"], name="webhook_event_due", condition=Q(state="pending")),
            models.Index(fields=["company", "created_at"], name="webhook_event_company_time"),
            models.Index(fields=["endpoint", "created_at"], name="webhook_event_endpoint_time"),
        ]

    def __str__(self):
        return self.id

    @property
    def payload_pretty(self) -> str:
        try:
            return json.dumps(json.loads(self.payload), indent=2, ensure_ascii=False)
        except ValueError:
            return self.payload


class Delivery(models.Model):
    """One attempt to deliver an event. Written *before* the POST (``finished_at``
    empty) and completed after it, so an attempt cut short by a crash is still visible."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries",
                              db_index=False)  # the unique (event, attempt) serves
    attempt = models.PositiveIntegerField(_("attempt"))
    at = models.DateTimeField(_("time"), default=timezone.now)
    url = models.CharField(_("URL"), max_length=500)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_excerpt = models.TextField(_("response"), blank=True, default="")  # first 1 KB
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["event", "attempt"]
        constraints = [models.UniqueConstraint(fields=["event", "attempt"], name="webhook_delivery_unique_attempt")]

    def __str__(self):
        return f"{self.event_id} #{self.attempt}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
