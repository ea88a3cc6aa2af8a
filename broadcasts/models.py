"""Broadcasts (spec P§4): a *template* is the reusable campaign definition (recipients,
type, fallback chain, schedule); a *broadcast* is one run of it, or an ad-hoc run. Each
recipient of a run is a ``messaging.DeliveryPlan`` (``source = broadcast``,
``source_id = broadcast.id``); live figures come from ``messaging.SourceCounter``.
See docs/broadcasts.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.tenancy import TenantManager, TenantModel


class BroadcastType(models.TextChoices):
    FALLBACK = "fallback", _("Fallback")
    CHATBOT = "chatbot", _("Chatbot")
    RCS_CHECK = "rcs_check", _("RCS capability check")


class BroadcastStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ON_MODERATION = "moderation", _("On moderation")
    REJECTED = "rejected", _("Rejected by moderation")
    SCHEDULED = "scheduled", _("Scheduled")
    IN_PROGRESS = "in_progress", _("In progress")
    PAUSED = "paused", _("Paused")
    COMPLETE = "complete", _("Complete")
    ABORTED = "aborted", _("Aborted")
    FAILED = "failed", _("Failed")


class LaunchType(models.TextChoices):
    MANUAL = "manual", _("Manual")
    RECURRENT = "recurrent", _("Recurrent")
    API = "api", _("API")


class Frequency(models.TextChoices):
    ONCE = "once", _("Once")
    HOURLY = "hourly", _("Hourly")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")


class ScheduleStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    EXPIRED = "expired", _("Expired")


class ModerationState(models.TextChoices):
    NONE = "", _("Not moderated")
    PENDING = "pending", _("On moderation")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Definition(TenantModel):
    """What a template and a run share.

    ``recipients`` = ``{"targets": [ids], "tags": [ids], "phones": ["+E164", …]}``; a
    relaunch run adds ``"relaunch_of": broadcast id`` (its recipients are that run's
    unsuccessful ones). ``steps`` = the fallback chain, each step as
    ``messaging.services.sending.StepSpec.as_json`` (``channel``, ``sender``, ``content`` |
    ``template_id``, ``wait_for``, ``timeout`` in seconds).
    """

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True, default="")
    type = models.CharField(_("type"), max_length=10, choices=BroadcastType.choices, default=BroadcastType.FALLBACK)
    recipients = models.JSONField(_("recipients"), default=dict, blank=True)
    steps = models.JSONField(_("fallback chain"), default=list, blank=True)
    rcs_check = models.BooleanField(_("RCS capability check before launch"), default=False)
    chatbot_id = models.BigIntegerField(_("chatbot"), null=True, blank=True)  # the chatbots issue
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last modified"), auto_now=True)

    objects = TenantManager()

    class Meta:
        abstract = True

    def __str__(self):
        return self.name


class BroadcastTemplate(Definition):
    """A reusable broadcast with its schedule (spec §4.4–§4.5, gap G1). Times of day are in
    the company's time zone; ``next_launch_at`` is the next occurrence in UTC."""

    frequency = models.CharField(_("repeat"), max_length=8, choices=Frequency.choices, default=Frequency.ONCE)
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True)  # 0 = Monday … 6 = Sunday
    month_day = models.PositiveSmallIntegerField(_("day of the month"), null=True, blank=True)
    time_of_day = models.TimeField(_("time"), null=True, blank=True)
    effective_from = models.DateTimeField(_("effective from"), null=True, blank=True)
    effective_till = models.DateTimeField(_("effective till"), null=True, blank=True)
    is_scheduled = models.BooleanField(_("schedule"), default=False)
    schedule_status = models.CharField(_("schedule status"), max_length=8, choices=ScheduleStatus.choices,
                                       default=ScheduleStatus.ACTIVE)
    next_launch_at = models.DateTimeField(_("next launch"), null=True, blank=True)
    last_launch_at = models.DateTimeField(_("last launch"), null=True, blank=True)
    launches = models.PositiveIntegerField(_("launches"), default=0)
    moderation = models.CharField(_("moderation"), max_length=8, choices=ModerationState.choices, blank=True,
                                  default=ModerationState.NONE)
    moderation_note = models.TextField(_("moderation note"), blank=True, default="")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("broadcast template")
        verbose_name_plural = _("broadcast templates")
        indexes = [
            models.Index(fields=["company", "-id"], name="btemplate_company_recent"),
            # The scheduler: active schedules by their next launch.
            models.Index(fields=["next_launch_at"], name="btemplate_due",
                         condition=Q(is_scheduled=True, schedule_status="active")),
        ]


class Broadcast(Definition):
    """One run: its recipients are resolved in the worker, in batches (``resolved_through``
    = the last contact id done, so a restarted worker goes on where it stopped)."""

    template = models.ForeignKey(BroadcastTemplate, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="runs", verbose_name=_("template"))
    relaunch_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="relaunches",
                                    verbose_name=_("relaunch of"))
    launch_type = models.CharField(_("launch"), max_length=10, choices=LaunchType.choices, default=LaunchType.MANUAL)
    status = models.CharField(_("status"), max_length=12, choices=BroadcastStatus.choices,
                              default=BroadcastStatus.DRAFT)
    scheduled_for = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    launched_at = models.DateTimeField(_("launched"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Recipient resolution (in the worker): phones typed in the form become contacts first.
    phones_resolved = models.BooleanField(default=False)
    resolved_through = models.BigIntegerField(default=0)
    resolved = models.BooleanField(_("recipients resolved"), default=False)
    total_contacts = models.PositiveIntegerField(_("contacts"), default=0)
    estimated_contacts = models.PositiveIntegerField(_("estimated contacts"), default=0)
    error = models.TextField(_("error"), blank=True, default="")
    moderation_note = models.TextField(_("moderation note"), blank=True, default="")
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("moderated by"))
    moderated_at = models.DateTimeField(_("moderated"), null=True, blank=True)
    api_access = models.ForeignKey("accounts.ApiAccess", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-id"]
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        indexes = [
            models.Index(fields=["company", "-id"], name="broadcast_company_recent"),
            models.Index(fields=["scheduled_for"], name="broadcast_due", condition=Q(status="scheduled")),
            models.Index(fields=["status"], name="broadcast_running",
                         condition=Q(status__in=["in_progress", "paused"])),
        ]
