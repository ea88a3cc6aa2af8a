"""Input and output serializers of the Broadcasts API (scope ``broadcast``, docs/api.md §11).

Field names are camelCase, and a step uses the Omni API's vocabulary (``channel``,
``senderId``, ``payload`` | ``template {id, params}``, ``waitFor``, ``timeout`` in seconds).
Input serializers check shapes and types and refuse unknown fields; every broadcast rule
(recipients of the company, sender IDs, content per channel, what a launch needs) is
``broadcasts.services``' (``clean_definition``), whose ``BroadcastError`` keys the views map
to the same names (``api_errors``). Output serializers only read what the views fetched:
the progress of a page comes from one ``progress_many`` call, passed in the context.
"""

from __future__ import annotations

import zoneinfo

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from broadcasts.models import BroadcastStatus, BroadcastType, Frequency, ScheduleStatus
from contacts.api.serializers import StrictInput
from messaging.api.serializers import (
    CHANNELS_HELP,
    DEFAULT_TIMEOUT,
    ONE_OF,
    STATUS_HELP,
    ErrorInfoOutput,
    StepOutput,
    TemplateInput,
    default_wait_for,
    error_of,
)
from messaging.models import PlanState, WaitFor
from messaging.services.sending import MAX_STEPS, MAX_TIMEOUT, MIN_TIMEOUT

CHANNEL_ERROR = ("Broadcasts send on 1 (SMS), 2 (RCS), 3 (Viber), 4 (WhatsApp), 6 (Email), 8 (Push), 9 (TTS) or "
                 "10 (Mobile Push).")
TYPE_HELP = ("`fallback` (default): the fallback chain; `rcs_check`: an RCS capability check first (needs an RCS "
             "step). `chatbot` arrives with the chatbots feature.")
STATUS_VALUES = ", ".join(f"`{s}`" for s in BroadcastStatus.values)
ACTIONS_HELP = ("What can be done with it now, from `launch`, `pause`, `resume`, `stop`, `relaunch-failed` "
                "(each is `POST /api/v1/broadcasts/{id}/<action>`).")

# BroadcastError keys that are not already the API's names.
_SERVICE_TO_API = {"rcs_check": "rcsCheck", "scheduled_for": "scheduledFor", "month_day": "monthDay",
                   "time_of_day": "time", "effective_from": "effectiveFrom", "effective_till": "effectiveTill",
                   "is_scheduled": "schedule", "schedule_status": "scheduleStatus"}


def api_errors(errors: dict[str, str]) -> dict[str, list[str]]:
    """A ``BroadcastError``'s ``{field: message}`` as the API's ``{field: [messages]}``:
    ``rcs_check`` → ``rcsCheck``, ``scheduled_for`` → ``scheduledFor``…; ``name``,
    ``recipients.phones``, ``steps[1].senderId`` are already the API's names."""
    out: dict[str, list[str]] = {}
    for key, message in errors.items():
        head, sep, tail = key.partition(".")
        name = _SERVICE_TO_API.get(key) or (_SERVICE_TO_API.get(head, head) + sep + tail)
        out.setdefault(name, []).extend(message if isinstance(message, list) else [str(message)])
    return out


class _CompanyTimesMixin:
    """Date-times given without an offset are read in the company's time zone."""

    local_datetime_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request") if hasattr(self, "context") else None
        company = getattr(getattr(request, "auth", None), "company", None)
        if company is not None:
            tz = zoneinfo.ZoneInfo(company.time_zone or "UTC")
            for name in self.local_datetime_fields:
                self.fields[name].timezone = tz


# --- input --------------------------------------------------------------------------------------


class RecipientsInput(StrictInput):
    targets = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list,
                                    help_text="Target ids of your company (`GET /api/v1/targets`); evaluated when "
                                              "the broadcast starts.")
    tags = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list,
                                 help_text="Tag ids of your company (`GET /api/v1/tags`): every contact with one.")
    phones = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, default=list,
        help_text="Phone numbers typed in (at most 1,000; any usual form, national numbers in your company's "
                  "region). Numbers that are not contacts yet become contacts when the broadcast starts.")

    class Meta:
        ref_name = "BroadcastRecipientsWrite"


class BroadcastStepInput(StrictInput):
    """One step of the fallback chain, in the Omni API's words."""

    channel = serializers.IntegerField(
        min_value=1, max_value=10, help_text=CHANNELS_HELP + " Broadcasts use 1, 2, 3, 4, 6, 8, 9 and 10.",
        error_messages={"min_value": CHANNEL_ERROR, "max_value": CHANNEL_ERROR, "invalid": CHANNEL_ERROR})
    senderId = serializers.CharField(
        max_length=100, required=False, allow_blank=True, allow_null=True, default="",
        help_text="An Active sender ID of your company on this channel (Assets → Sender IDs). Required to launch "
                  "or schedule; a draft may leave it empty.")
    template = TemplateInput(required=False, allow_null=True,
                             help_text="A content template and its parameters (instead of `payload`).")
    payload = serializers.DictField(
        required=False, allow_null=True, allow_empty=False,
        help_text='The content (instead of `template`), as in `POST /api/v1/messages`: `{"text": "…"}` for SMS, '
                  'Viber, RCS text, TTS, Push, Mobile Push; `{"subject", "html", "text"}` for Email; WhatsApp `text` '
                  "or a Cloud API `template` object. Placeholders such as `{{attribute.name}}` are filled per "
                  "contact. A draft may leave out both payload and template; a launch needs one.")
    waitFor = serializers.ChoiceField(
        choices=WaitFor.choices, required=False,
        help_text="What makes this step successful, so that no later step is sent: `delivery` (default), `submit` "
                  "or `display`. Push (8) only `submit` (its default).")
    timeout = serializers.IntegerField(
        min_value=MIN_TIMEOUT, max_value=MAX_TIMEOUT, required=False, default=DEFAULT_TIMEOUT,
        help_text=f"Seconds to wait for `waitFor` before the next step goes out ({MIN_TIMEOUT}–{MAX_TIMEOUT}, "
                  f"default {DEFAULT_TIMEOUT}).")

    class Meta:
        ref_name = "BroadcastStepWrite"

    def validate(self, attrs):
        if attrs.get("template") is not None and attrs.get("payload") is not None:
            raise serializers.ValidationError({"payload": [ONE_OF]})
        return attrs


class DefinitionInput(StrictInput):
    """What a broadcast and a broadcast template share."""

    name = serializers.CharField(max_length=200, help_text="Required, at most 200 characters.")
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    # Documented in words, not as an OpenAPI enum (other components have a "type" enum);
    # the service refuses an unknown type under ``type``.
    type = serializers.CharField(required=False, default=BroadcastType.FALLBACK, max_length=20, help_text=TYPE_HELP)
    recipients = RecipientsInput(required=False,
                                 help_text="Any mix of targets, tags and typed numbers; each contact gets the "
                                           "broadcast once.")
    steps = serializers.ListField(
        child=BroadcastStepInput(), required=False, default=list, max_length=MAX_STEPS,
        error_messages={"max_length": f"A fallback chain has at most {MAX_STEPS} steps."},
        help_text=f"The fallback chain, in order (1–{MAX_STEPS} steps to launch): step 1 goes to every recipient; "
                  "each next step only to those whose previous step did not reach its `waitFor` in its `timeout`.")
    rcsCheck = serializers.BooleanField(required=False, default=False,
                                        help_text="Check RCS capability before launch (needs an RCS step).")


class BroadcastInput(_CompanyTimesMixin, DefinitionInput):
    """``POST /api/v1/broadcasts``."""

    local_datetime_fields = ("scheduledFor",)

    launch = serializers.BooleanField(
        required=False, default=False,
        help_text="false (default): save a draft. true: launch it now, or at `scheduledFor` (or send it to "
                  "moderation when your company's broadcasts are moderated).")
    scheduledFor = serializers.DateTimeField(
        required=False, allow_null=True, default=None,
        help_text="With `launch: true`: when to start (ISO 8601, in the future). Without an offset it is read in "
                  "your company's time zone. Empty: start at once.")

    class Meta:
        ref_name = "BroadcastWrite"

    def validate(self, attrs):
        if attrs.get("scheduledFor") is not None and not attrs.get("launch"):
            raise serializers.ValidationError(
                {"scheduledFor": ["A draft has no launch time: send `launch: true` with `scheduledFor` to "
                                  "schedule it."]})
        return attrs


class LaunchInput(_CompanyTimesMixin, StrictInput):
    """``POST /api/v1/broadcasts/{id}/launch``."""

    local_datetime_fields = ("scheduledFor",)

    scheduledFor = serializers.DateTimeField(
        required=False, allow_null=True, default=None,
        help_text="When to start (ISO 8601, in the future; without an offset, your company's time zone). "
                  "Empty: start at once.")

    class Meta:
        ref_name = "BroadcastLaunch"


class BroadcastTemplateInput(_CompanyTimesMixin, DefinitionInput):
    """``POST /api/v1/broadcast-templates``."""

    local_datetime_fields = ("effectiveFrom", "effectiveTill")

    schedule = serializers.BooleanField(
        required=False, default=False,
        help_text="true: launch it by itself on the schedule below (each occurrence makes a run with launch "
                  "`recurrent`). false (default): a template launched by hand or through the API only.")
    frequency = serializers.ChoiceField(
        choices=Frequency.choices, required=False, default=Frequency.ONCE,
        help_text="`once` (at `effectiveFrom`), `hourly`, `daily`, `weekly` (on `weekdays`) or `monthly` "
                  "(on `monthDay`).")
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), required=False, default=list, max_length=7,
        help_text="Weekly: the days, 0 = Monday … 6 = Sunday.")
    monthDay = serializers.IntegerField(
        min_value=1, max_value=31, required=False, allow_null=True, default=None,
        help_text="Monthly: the day of the month (1–31; a month without that day uses its last day).")
    time = serializers.TimeField(
        required=False, allow_null=True, default=None,
        help_text="The time of day (HH:MM) in your company's time zone, for daily, weekly and monthly (hourly: "
                  "the minutes past the hour).")
    effectiveFrom = serializers.DateTimeField(
        required=False, allow_null=True, default=None,
        help_text="The schedule starts (ISO 8601; without an offset, your company's time zone).")
    effectiveTill = serializers.DateTimeField(
        required=False, allow_null=True, default=None,
        help_text="The schedule ends (optional); after it the schedule is `expired`.")
    sendToModeration = serializers.BooleanField(
        required=False, default=False,
        help_text="Only when your company's broadcasts are moderated: true sends the template to moderation (it "
                  "launches, by schedule or by hand, once approved); false (default) keeps it unmoderated, so it "
                  "cannot launch yet. Sent to moderation, it is checked as for a launch.")

    class Meta:
        ref_name = "BroadcastTemplateWrite"


def step_data(step: dict) -> dict:
    """A validated API step as the service's step (``StepSpec.as_json`` keys)."""
    template = step.get("template")
    return {"channel": step["channel"], "sender": (step.get("senderId") or "").strip(),
            "content": step.get("payload") if template is None else None,
            "template_id": template["id"] if template else None,
            "params": dict(template.get("params") or {}) if template else {},
            "wait_for": step.get("waitFor") or default_wait_for(step["channel"]), "timeout": step["timeout"]}


def definition_data(data: dict) -> dict:
    """A validated ``DefinitionInput`` as the data ``clean_definition`` reads."""
    recipients = data.get("recipients") or {}
    return {"name": data["name"], "description": data.get("description") or "", "type": data["type"],
            "recipients": {"targets": list(recipients.get("targets") or []), "tags": list(recipients.get("tags") or []),
                           "phones": list(recipients.get("phones") or [])},
            "steps": [step_data(step) for step in data.get("steps") or []], "rcs_check": data["rcsCheck"]}


def template_data(data: dict) -> dict:
    """A validated ``BroadcastTemplateInput`` as the templates service's data."""
    return {**definition_data(data), "is_scheduled": data["schedule"], "frequency": data["frequency"],
            "weekdays": sorted(set(data.get("weekdays") or [])), "month_day": data.get("monthDay"),
            "time_of_day": data.get("time"), "effective_from": data.get("effectiveFrom"),
            "effective_till": data.get("effectiveTill")}


# --- output -------------------------------------------------------------------------------------


def steps_out(steps) -> list[dict]:
    """Stored steps in the Omni API's words (as ``GET /api/v1/plans/{id}`` shows them)."""
    out = []
    for number, step in enumerate(steps or [], start=1):
        template_id = step.get("template_id")
        channel = step.get("channel")
        out.append({
            "step": number, "channel": channel, "senderId": step.get("sender") or "",
            "template": {"id": template_id, "params": step.get("params") or {}} if template_id else None,
            "payload": step.get("content") if not template_id else None,
            "waitFor": step.get("wait_for") or WaitFor.DELIVERY, "timeout": step.get("timeout")})
    return out


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


class RecipientsOutput(serializers.Serializer):
    targets = serializers.ListField(child=serializers.IntegerField())
    tags = serializers.ListField(child=serializers.IntegerField())
    phones = serializers.ListField(child=serializers.CharField(), help_text="E.164.")
    relaunchOf = serializers.IntegerField(
        allow_null=True, help_text="A *Relaunch for failed* run: the broadcast whose unsuccessful recipients it "
                                   "sends to (then targets, tags and phones are empty).")

    class Meta:
        ref_name = "BroadcastRecipients"


def recipients_out(recipients: dict) -> dict:
    recipients = recipients or {}
    return {"targets": recipients.get("targets") or [], "tags": recipients.get("tags") or [],
            "phones": recipients.get("phones") or [], "relaunchOf": recipients.get("relaunch_of")}


class ProgressOutput(serializers.Serializer):
    successfulPct = serializers.FloatField(help_text="% of the recipients whose chain succeeded.")
    unsuccessfulPct = serializers.FloatField(help_text="% whose every step failed, or that a stop canceled.")
    donePct = serializers.FloatField(help_text="% with an outcome (the two above).")

    class Meta:
        ref_name = "BroadcastProgress"


class StepStatisticsOutput(serializers.Serializer):
    step = serializers.IntegerField(help_text="From 1.")
    channel = serializers.IntegerField(help_text=CHANNELS_HELP)
    senderId = serializers.CharField()
    waitFor = serializers.CharField()
    timeout = serializers.IntegerField(help_text="Seconds.")
    sent = serializers.IntegerField(help_text="Messages made for this step and not skipped.")
    queued = serializers.IntegerField(help_text="Waiting to go to the provider.")
    submitted = serializers.IntegerField(help_text="Accepted by the provider (including those delivered since).")
    delivered = serializers.IntegerField(help_text="Delivered (including those seen since).")
    seen = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Rejected, failed, undelivered or expired.")
    skipped = serializers.IntegerField(help_text="Never sent: opted out, no address, no route, canceled.")
    late = serializers.IntegerField(help_text="Reports that arrived after the recipient's chain had moved on.")

    class Meta:
        ref_name = "BroadcastStepStatistics"


class StatisticsOutput(serializers.Serializer):
    """*Fallback statistics* (per recipient) and per-step *message statistics*, from the
    engine's live counters."""

    total = serializers.IntegerField(help_text="Total contacts (an estimate until the recipients are resolved).")
    notInitiated = serializers.IntegerField()
    notInitiatedPct = serializers.FloatField()
    initiated = serializers.IntegerField(help_text="Recipients whose chain has started.")
    initiatedPct = serializers.FloatField()
    successful = serializers.IntegerField(help_text="A step reached its `waitFor`.")
    successfulPct = serializers.FloatField()
    unsuccessful = serializers.IntegerField(help_text="No step did (every step failed or was skipped), or a stop "
                                                      "canceled it.")
    unsuccessfulPct = serializers.FloatField()
    canceled = serializers.IntegerField(help_text="Of the unsuccessful: canceled by a stop.")
    inProgress = serializers.IntegerField(help_text="Initiated and without an outcome yet.")
    steps = StepStatisticsOutput(many=True)

    class Meta:
        ref_name = "BroadcastStatistics"


def statistics_out(stats: dict) -> dict:
    return {
        "total": stats["total"], "notInitiated": stats["not_initiated"], "notInitiatedPct": stats["not_initiated_pct"],
        "initiated": stats["initiated"], "initiatedPct": stats["initiated_pct"], "successful": stats["successful"],
        "successfulPct": stats["successful_pct"], "unsuccessful": stats["unsuccessful"],
        "unsuccessfulPct": stats["unsuccessful_pct"], "canceled": stats["canceled"],
        "inProgress": stats["in_progress"],
        "steps": [{"step": s["number"], "channel": s["channel"], "senderId": s["sender"], "waitFor": s["wait_for"],
                   "timeout": s["timeout"], "sent": s["sent"], "queued": s["queued"], "submitted": s["submitted"],
                   "delivered": s["delivered"], "seen": s["seen"], "failed": s["failed"], "skipped": s["skipped"],
                   "late": s["late"]} for s in stats["steps"]],
    }


def progress_from_statistics(stats: dict) -> dict:
    total = stats["total"]
    return {"successfulPct": _pct(stats["successful"], total), "unsuccessfulPct": _pct(stats["unsuccessful"], total),
            "donePct": _pct(stats["successful"] + stats["unsuccessful"], total)}


class _DefinitionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    type = serializers.CharField(help_text=TYPE_HELP)
    recipients = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField(help_text="The fallback chain, in the Omni API's words.")
    rcsCheck = serializers.BooleanField(source="rcs_check")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    @extend_schema_field(RecipientsOutput)
    def get_recipients(self, obj):
        return recipients_out(obj.recipients)

    @extend_schema_field(StepOutput(many=True))
    def get_steps(self, obj):
        return steps_out(obj.steps)


class BroadcastOutput(_DefinitionOutput):
    """A broadcast run as the list shows it."""

    status = serializers.CharField(help_text=f"One of {STATUS_VALUES} (`moderation`: waiting for approval; "
                                             "`rejected`: by moderation, editable again).")
    launch = serializers.CharField(source="launch_type", help_text="`manual`, `recurrent` (a template's "
                                                                   "schedule) or `api`.")
    templateId = serializers.IntegerField(source="template_id", allow_null=True,
                                          help_text="The broadcast template it is a run of.")
    relaunchOf = serializers.IntegerField(source="relaunch_of_id", allow_null=True,
                                          help_text="A *Relaunch for failed* run: the broadcast it relaunches.")
    scheduledFor = serializers.DateTimeField(source="scheduled_for", allow_null=True)
    launchedAt = serializers.DateTimeField(source="launched_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    contacts = serializers.SerializerMethodField(
        help_text="Total contacts: the resolved number, or an estimate while they are being resolved.")
    recipientsResolved = serializers.BooleanField(source="resolved",
                                                  help_text="Every recipient has its delivery plan.")
    progress = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField(help_text=ACTIONS_HELP)
    error = serializers.CharField(help_text="Why a `failed` broadcast failed; empty otherwise.")
    moderationNote = serializers.CharField(source="moderation_note", help_text="The moderator's note, if any.")

    class Meta:
        ref_name = "Broadcast"

    def get_contacts(self, b) -> int:
        return b.total_contacts if b.resolved else max(b.total_contacts, b.estimated_contacts)

    @extend_schema_field(ProgressOutput)
    def get_progress(self, b):
        if "statistics" in self.context:
            return progress_from_statistics(self.context["statistics"])
        p = (self.context.get("progress") or {}).get(b.pk) or {"successful_pct": 0.0, "unsuccessful_pct": 0.0,
                                                               "done_pct": 0.0}
        return {"successfulPct": p["successful_pct"], "unsuccessfulPct": p["unsuccessful_pct"],
                "donePct": p["done_pct"]}

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, b):
        from broadcasts.services import runs

        allowed = []
        if b.status in (BroadcastStatus.DRAFT, BroadcastStatus.REJECTED, BroadcastStatus.SCHEDULED):
            allowed.append("launch")
        for name, check in (("pause", runs.can_pause), ("resume", runs.can_resume), ("stop", runs.can_stop),
                            ("relaunch-failed", runs.can_relaunch)):
            if check(b):
                allowed.append(name)
        return allowed


class BroadcastDetailOutput(BroadcastOutput):
    statistics = serializers.SerializerMethodField()

    class Meta:
        ref_name = "BroadcastDetail"

    @extend_schema_field(StatisticsOutput)
    def get_statistics(self, b):
        return statistics_out(self.context["statistics"])


class RecipientMessageOutput(serializers.Serializer):
    id = serializers.UUIDField(help_text="The message (`GET /api/v1/messages/{id}` with the `omni-api` scope).")
    step = serializers.IntegerField(help_text="From 1.")
    channel = serializers.IntegerField(help_text=CHANNELS_HELP)
    contact = serializers.CharField(help_text="The address it went to (empty when the contact had none).")
    status = serializers.CharField(help_text=STATUS_HELP)
    error = ErrorInfoOutput(allow_null=True)

    class Meta:
        ref_name = "BroadcastRecipientMessage"


class RecipientOutput(serializers.Serializer):
    """One recipient of a run: its delivery plan."""

    planId = serializers.IntegerField(source="pk", help_text="The recipient's delivery plan.")
    contactId = serializers.IntegerField(source="contact_id", allow_null=True)
    phone = serializers.SerializerMethodField(help_text="The contact's phone (E.164).")
    state = serializers.ChoiceField(
        choices=PlanState.choices,
        help_text="`pending` (not initiated), `active` (a step under way), `successful`, `unsuccessful` (every step "
                  "failed or was skipped) or `canceled` (by a stop).")
    step = serializers.SerializerMethodField(help_text="The step reached (from 1); null before the first.")
    message = serializers.SerializerMethodField(help_text="The message of the step reached; null before the first.")
    lateReports = serializers.IntegerField(source="late_reports")
    createdAt = serializers.DateTimeField(source="created_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)

    class Meta:
        ref_name = "BroadcastRecipient"

    def get_phone(self, plan) -> str:
        if plan.contact is not None:
            return plan.contact.phone
        return plan.address

    def get_step(self, plan) -> int | None:
        return None if plan.current_step is None else plan.current_step + 1

    @extend_schema_field(RecipientMessageOutput(allow_null=True))
    def get_message(self, plan):
        m = plan.current_message
        if m is None:
            return None
        return {"id": m.pk, "step": (m.step or 0) + 1, "channel": m.channel, "contact": m.address, "status": m.status,
                "error": error_of(m)}


class BroadcastTemplateOutput(_DefinitionOutput):
    """A broadcast template and its schedule."""

    schedule = serializers.BooleanField(source="is_scheduled",
                                        help_text="Launched by itself on its schedule.")
    frequency = serializers.ChoiceField(choices=Frequency.choices)
    weekdays = serializers.ListField(child=serializers.IntegerField(), help_text="0 = Monday … 6 = Sunday.")
    monthDay = serializers.IntegerField(source="month_day", allow_null=True)
    time = serializers.TimeField(source="time_of_day", allow_null=True, format="%H:%M",
                                 help_text="In `timezone`.")
    effectiveFrom = serializers.DateTimeField(source="effective_from", allow_null=True)
    effectiveTill = serializers.DateTimeField(source="effective_till", allow_null=True)
    timezone = serializers.SerializerMethodField(help_text="Your company's time zone, which `time` is in.")
    scheduleStatus = serializers.ChoiceField(source="schedule_status", choices=ScheduleStatus.choices)
    nextLaunchAt = serializers.DateTimeField(source="next_launch_at", allow_null=True)
    lastLaunchAt = serializers.DateTimeField(source="last_launch_at", allow_null=True)
    launches = serializers.IntegerField(help_text="How many runs it has launched.")
    moderation = serializers.CharField(help_text="Empty (not moderated), `pending`, `approved` or `rejected`.")

    class Meta:
        ref_name = "BroadcastTemplate"

    def get_timezone(self, template) -> str:
        return self.context["request"].auth.company.time_zone  # templates are the key's company's
