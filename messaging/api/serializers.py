"""Input and output serializers of the Omni API (scope ``omni-api``, docs/api.md §9).

Field names are camelCase, as in the spec's samples (``senderId``, ``createRecipient``,
``planId``). Input serializers check shapes and types and refuse unknown fields; every
sending rule (sender IDs, templates, payloads per channel, opt-outs, routes) is
``messaging.services.send`` / ``send_plan``'s, whose ``SendError`` uses the same field names.
Output serializers only read what the views fetched (no query per row).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.api.serializers import StrictInput
from messaging.models import FAILURE_STATUSES, WaitFor
from messaging.services.sending import MAX_STEPS, MAX_TIMEOUT, MIN_TIMEOUT, StepSpec
from portal.channel_types import Channel

CHANNELS_HELP = ("Channel id: 1 SMS, 2 RCS, 3 Viber, 4 WhatsApp, 5 WeChat, 6 Email, 7 Telegram, 8 Push, 9 TTS, "
                 "10 Mobile Push.")
CHANNEL_ERROR = ("Unknown channel: use 1 (SMS), 2 (RCS), 3 (Viber), 4 (WhatsApp), 5 (WeChat), 6 (Email), "
                 "7 (Telegram), 8 (Push), 9 (TTS) or 10 (Mobile Push).")
# Statuses are documented in words, not as an OpenAPI enum: another component has a "status"
# enum of other values, and the schema must generate without warnings.
STATUS_HELP = ("queued → submitted → delivered → seen; or rejected, failed, undelivered, expired; skipped = never "
               "sent (see `error`).")
ONE_OF = "Give either a payload or a template, not both and not neither."
DEFAULT_TIMEOUT = 600
CONTACT_HELP = ("The recipient: a phone number in any usual form (+34612345678, 0034…, or national in your "
                "company's region), or an e-mail address when every message is an e-mail (channel 6).")
CREATE_HELP = ("true: add the number to your contacts when it is not one yet (audited). false (default): send "
               "without making a contact.")


def _channel_field(**kwargs):
    return serializers.IntegerField(
        min_value=1, max_value=10, help_text=CHANNELS_HELP,
        error_messages={"min_value": CHANNEL_ERROR, "max_value": CHANNEL_ERROR,
                        "invalid": "The channel is a number: " + CHANNEL_ERROR[len("Unknown channel: "):]},
        **kwargs)


def default_wait_for(channel: int) -> str:
    """Push (8) has no delivery reports: its steps wait for the submit; others for delivery."""
    return WaitFor.SUBMIT if channel == Channel.PUSH else WaitFor.DELIVERY


# --- input --------------------------------------------------------------------------------------


class TemplateInput(StrictInput):
    id = serializers.IntegerField(min_value=1, help_text="A content template of your company (Assets → Content "
                                                         "templates) for the same channel.")
    params = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=1000, trim_whitespace=False), required=False,
        default=dict,
        help_text='Values for the template\'s placeholders, e.g. {"attribute.name": "Ann", "1": "4711"}; they win '
                  "over the contact's own attribute values. `{}` when the template has no variables.")

    class Meta:
        ref_name = "OmniTemplateRef"


class _ContentInput(StrictInput):
    """``channel``, ``senderId`` and exactly one of ``template`` / ``payload``."""

    channel = _channel_field()
    senderId = serializers.CharField(
        max_length=100, required=False, allow_blank=True, allow_null=True, default="",
        help_text="An Active sender ID of your company on this channel (Assets → Sender IDs), as registered with "
                  "the operator. Empty: the route's default sender.")
    template = TemplateInput(required=False, allow_null=True,
                             help_text="A content template and its parameters (instead of `payload`).")
    payload = serializers.DictField(
        required=False, allow_null=True, allow_empty=False,
        help_text='The message content (instead of `template`): the channel\'s payload of docs/assets.md '
                  '(checked with its limits), e.g. `{"text": "…"}` for SMS, `{"title", "text"}` for Mobile Push, '
                  '`{"subject", "blocks" | "html" | "text"}` for Email. Placeholders such as `{{attribute.name}}` '
                  "are filled from the contact.")

    def validate(self, attrs):
        # null is the same as leaving a field out
        attrs = {key: value for key, value in attrs.items() if value is not None or key not in ("template", "payload")}
        attrs["senderId"] = (attrs.get("senderId") or "").strip()
        if ("template" in attrs) == ("payload" in attrs):
            raise serializers.ValidationError({"payload": [ONE_OF]})
        return attrs


class MessageInput(_ContentInput):
    """``POST /api/v1/messages``."""

    contact = serializers.CharField(max_length=320, help_text=CONTACT_HELP)
    webhook = serializers.CharField(
        max_length=500, required=False, allow_blank=True, allow_null=True, default="",
        help_text="An http(s) URL that receives this message's status changes; empty: the API access's webhook.")
    createRecipient = serializers.BooleanField(required=False, default=False, help_text=CREATE_HELP)

    class Meta:
        ref_name = "OmniMessageWrite"

    def validate_webhook(self, value):
        return _webhook(value)


class StepInput(_ContentInput):
    """One step of ``POST /api/v1/omnimessages``."""

    waitFor = serializers.ChoiceField(
        choices=WaitFor.choices, required=False,
        help_text="What makes this step successful, so that no later step is sent: `delivery` (default), `submit` "
                  "(accepted by the provider) or `display` (seen/read). Push (channel 8) has no delivery reports: "
                  "only `submit` (its default).")
    timeout = serializers.IntegerField(
        min_value=MIN_TIMEOUT, max_value=MAX_TIMEOUT, required=False, default=DEFAULT_TIMEOUT,
        help_text=f"Seconds to wait for `waitFor` before the next step is sent ({MIN_TIMEOUT}–{MAX_TIMEOUT}, "
                  f"default {DEFAULT_TIMEOUT}). A step that fails for good moves on at once.")

    class Meta:
        ref_name = "OmniStep"


class OmniMessageInput(StrictInput):
    """``POST /api/v1/omnimessages``."""

    contact = serializers.CharField(max_length=320, help_text=CONTACT_HELP)
    webhook = serializers.CharField(
        max_length=500, required=False, allow_blank=True, allow_null=True, default="",
        help_text="An http(s) URL that receives the status changes of every step's message; empty: the API "
                  "access's webhook.")
    createRecipient = serializers.BooleanField(required=False, default=False, help_text=CREATE_HELP)
    messages = serializers.ListField(
        child=StepInput(), min_length=1, max_length=MAX_STEPS,
        error_messages={"min_length": f"Give 1 to {MAX_STEPS} messages.",
                        "max_length": f"Give 1 to {MAX_STEPS} messages.",
                        "empty": f"Give 1 to {MAX_STEPS} messages."},
        help_text=f"The fallback chain, in order (1–{MAX_STEPS} steps): step 1 is sent at once; each next step only "
                  "if the previous one did not reach its `waitFor` in its `timeout` (or failed).")

    class Meta:
        ref_name = "OmniMessagesWrite"

    def validate_webhook(self, value):
        return _webhook(value)


def message_step(data: dict) -> StepSpec:
    """The one step of a validated ``MessageInput``: wait for delivery (submit for Push)."""
    return _step(data, default_wait_for(data["channel"]), DEFAULT_TIMEOUT)


def plan_steps(data: dict) -> list[StepSpec]:
    """The steps of a validated ``OmniMessageInput``."""
    return [_step(step, step.get("waitFor") or default_wait_for(step["channel"]), step["timeout"])
            for step in data["messages"]]


def _webhook(value: str | None) -> str:
    if not (value or "").strip():
        return ""
    from webhooks.services import validate_url

    try:
        return validate_url(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages)


def _step(data: dict, wait_for: str, timeout: int) -> StepSpec:
    template = data.get("template")
    return StepSpec(channel=data["channel"], sender=data.get("senderId") or "",
                    content=data.get("payload"), template_id=template["id"] if template else None,
                    params=dict(template.get("params") or {}) if template else {}, wait_for=wait_for,
                    timeout=timeout)


# --- output -------------------------------------------------------------------------------------


def plan_contact(plan) -> str:
    """The recipient of a plan: the address it was sent to when it is not a contact, else the
    contact's phone (each message shows the address its channel used)."""
    if plan.address or plan.contact is None:
        return plan.address
    return plan.contact.phone


def error_of(message) -> dict | None:
    """``{"code", "text"}`` of a message that failed or was skipped; None otherwise (a
    delivery report's "no error" code, such as ``000``, is not an error: the status history
    keeps the raw codes)."""
    if message.status not in FAILURE_STATUSES or not (message.error_code or message.error_text):
        return None
    return {"code": message.error_code, "text": message.error_text}


def _none_if_blank(value):
    return value or None


class ErrorInfoOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Machine code: opted_out, no_address, no_route, no_sender, "
                                           "empty_content, outcome_unknown, or the provider's code.")
    text = serializers.CharField(help_text="What went wrong, for people.")

    class Meta:
        ref_name = "OmniError"


class MessageOutput(serializers.Serializer):
    """A message (an EDR) as every Omni API read shows it."""

    id = serializers.UUIDField(help_text="The message id (a UUIDv7: sorts by creation time).")
    planId = serializers.IntegerField(source="plan_id", allow_null=True,
                                      help_text="The delivery plan (fallback chain) it belongs to; null for "
                                                "inbound messages.")
    step = serializers.SerializerMethodField(help_text="Its step in the plan, from 1; null without a plan.")
    direction = serializers.CharField(help_text="`mt` (sent) or `mo` (received).")
    channel = serializers.IntegerField(help_text=CHANNELS_HELP)
    contact = serializers.CharField(source="address", help_text="The address: E.164 phone, e-mail, WeChat id or "
                                                                "push token; empty when the contact had none.")
    contactId = serializers.IntegerField(source="contact_id", allow_null=True,
                                         help_text="The contact, when the recipient is one.")
    senderId = serializers.CharField(source="sender", help_text="The sender (\"From\") used.")
    source = serializers.CharField(help_text="broadcast, api, conversation, chatbot, otp, system or inbound.")
    sourceId = serializers.IntegerField(source="source_id", allow_null=True,
                                        help_text="The broadcast, API access, conversation… that sent it.")
    status = serializers.CharField(help_text=STATUS_HELP)
    providerStatus = serializers.SerializerMethodField(
        help_text="The provider's raw status (e.g. DELIVRD, UNDELIV), when it gave one.")
    error = serializers.SerializerMethodField()
    content = serializers.DictField(help_text="The content as sent (placeholders filled). `missing` lists "
                                              "placeholders that had no value.")
    encoding = serializers.SerializerMethodField(help_text="SMS only: gsm7 or ucs2.")
    segments = serializers.SerializerMethodField(help_text="SMS only: the number of SMS parts.")
    price = serializers.DecimalField(max_digits=14, decimal_places=6, allow_null=True,
                                     help_text="What the message costs, once rated.")
    currency = serializers.SerializerMethodField(help_text="ISO 4217 currency of `price`.")
    late = serializers.BooleanField(help_text="A report arrived after its fallback chain had moved on.")
    createdAt = serializers.DateTimeField(source="created_at")
    submittedAt = serializers.DateTimeField(source="submitted_at", allow_null=True)
    deliveredAt = serializers.DateTimeField(source="delivered_at", allow_null=True)
    seenAt = serializers.DateTimeField(source="seen_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True,
                                           help_text="When it reached its final status.")

    class Meta:
        ref_name = "OmniMessage"

    def get_step(self, message) -> int | None:
        return None if message.step is None else message.step + 1

    def get_providerStatus(self, message) -> str | None:
        return _none_if_blank(message.provider_status)

    @extend_schema_field(ErrorInfoOutput(allow_null=True))
    def get_error(self, message):
        return error_of(message)

    def get_encoding(self, message) -> str | None:
        return _none_if_blank(message.encoding) if message.channel == Channel.SMS else None

    def get_segments(self, message) -> int | None:
        return message.segments if message.channel == Channel.SMS else None

    def get_currency(self, message) -> str | None:
        return _none_if_blank(message.currency)


# One instance per process for the hot path (``POST /messages``): a serializer's fields are
# deep-copied for every new instance, and ``MessageOutput`` needs no context or state.
_MESSAGE_OUTPUT = MessageOutput()


def _jsonb_order(value):
    """``value`` with its objects' keys in the order PostgreSQL's ``jsonb`` returns them
    (shorter keys first, then by their bytes), recursively: what reading the row back gives."""
    if isinstance(value, dict):
        return {key: _jsonb_order(value[key]) for key in sorted(value, key=lambda k: (len(k.encode()), k.encode()))}
    if isinstance(value, list):
        return [_jsonb_order(item) for item in value]
    return value


def accepted_message_data(plan) -> dict:
    """The 202 body of ``POST /messages``: the plan's one message as ``GET /messages/{id}``
    shows it (without attempts and events), from the message ``send`` just inserted (the
    plan's ``current_message``) instead of reading it back; its ``content`` in the order the
    database returns it. Falls back to reading it when the plan does not carry it."""
    message = plan._state.fields_cache.get("current_message")
    if message is None or message.step != 0:
        message = plan.messages.order_by("step", "id").first()
    elif connection.vendor == "postgresql" and isinstance(message.content, dict):
        message.content = _jsonb_order(message.content)
    return _MESSAGE_OUTPUT.to_representation(message)


class AttemptOutput(serializers.Serializer):
    number = serializers.IntegerField(help_text="1 for the first call to the provider, 2 for a retry…")
    startedAt = serializers.DateTimeField(source="started_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True,
                                           help_text="null: the call never finished (see the message's error).")
    durationMs = serializers.IntegerField(source="duration_ms", allow_null=True)
    ok = serializers.BooleanField(allow_null=True, help_text="Whether the provider accepted the message.")
    error = serializers.SerializerMethodField()
    request = serializers.DictField(help_text="A summary of what was sent (never credentials).")
    response = serializers.DictField(help_text="A summary of the provider's answer.")

    class Meta:
        ref_name = "OmniAttempt"

    def get_error(self, attempt) -> str | None:
        return _none_if_blank(attempt.error)


class StatusEventOutput(serializers.Serializer):
    status = serializers.CharField(help_text=STATUS_HELP)
    providerStatus = serializers.SerializerMethodField()
    errorCode = serializers.SerializerMethodField()
    at = serializers.DateTimeField()
    late = serializers.BooleanField(help_text="Applied after the fallback chain had moved on.")

    class Meta:
        ref_name = "OmniStatusEvent"

    def get_providerStatus(self, event) -> str | None:
        return _none_if_blank(event.provider_status)

    def get_errorCode(self, event) -> str | None:
        return _none_if_blank(event.error_code)


class MessageDetailOutput(MessageOutput):
    attempts = AttemptOutput(many=True, help_text="Every call to the provider, in order.")
    events = StatusEventOutput(many=True, help_text="The status history, oldest first.")

    class Meta:
        ref_name = "OmniMessageDetail"


class TemplateRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    params = serializers.DictField(child=serializers.CharField())

    class Meta:
        ref_name = "OmniPlanTemplate"


class StepOutput(serializers.Serializer):
    step = serializers.IntegerField(help_text="From 1.")
    channel = serializers.IntegerField(help_text=CHANNELS_HELP)
    senderId = serializers.CharField()
    template = TemplateRefOutput(allow_null=True, help_text="null when the step has a payload.")
    payload = serializers.DictField(allow_null=True, help_text="null when the step uses a template.")
    waitFor = serializers.ChoiceField(choices=WaitFor.choices)
    timeout = serializers.IntegerField(help_text="Seconds.")

    class Meta:
        ref_name = "OmniPlanStep"


class PlanOutput(serializers.Serializer):
    """A delivery plan: one recipient's fallback chain and its messages."""

    id = serializers.IntegerField()
    state = serializers.CharField(help_text="pending, active (a step is under way), successful (a step reached its "
                                            "`waitFor`), unsuccessful (no step did) or canceled.")
    contact = serializers.SerializerMethodField(help_text="The recipient's address (phone or e-mail).")
    contactId = serializers.IntegerField(source="contact_id", allow_null=True)
    source = serializers.CharField()
    sourceId = serializers.IntegerField(source="source_id", allow_null=True)
    currentStep = serializers.SerializerMethodField(
        help_text="The step under way or the last one sent, from 1; null before the first.")
    deadline = serializers.DateTimeField(allow_null=True, help_text="When the current step stops waiting.")
    lateReports = serializers.IntegerField(source="late_reports",
                                           help_text="Reports that arrived after the chain had moved on.")
    webhook = serializers.CharField(source="webhook_url")
    steps = serializers.SerializerMethodField()
    messages = MessageOutput(many=True, help_text="The messages sent so far, by step.")
    createdAt = serializers.DateTimeField(source="created_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)

    class Meta:
        ref_name = "OmniPlan"

    def get_contact(self, plan) -> str:
        return plan_contact(plan)

    def get_currentStep(self, plan) -> int | None:
        return None if plan.current_step is None else plan.current_step + 1

    @extend_schema_field(StepOutput(many=True))
    def get_steps(self, plan):
        steps = []
        for number, step in enumerate(plan.step_list() or [], start=1):
            template_id = step.get("template_id")
            steps.append({
                "step": number, "channel": step.get("channel"), "senderId": step.get("sender") or "",
                "template": {"id": template_id, "params": step.get("params") or {}} if template_id else None,
                "payload": step.get("content") if not template_id else None,
                "waitFor": step.get("wait_for") or WaitFor.DELIVERY, "timeout": step.get("timeout")})
        return steps


class PlanMessageOutput(serializers.Serializer):
    step = serializers.IntegerField(help_text="From 1.")
    id = serializers.UUIDField(help_text="The message id.")
    channel = serializers.IntegerField()
    contact = serializers.CharField(help_text="The address it went to (empty when the contact had none).")
    status = serializers.CharField(help_text=STATUS_HELP)
    error = ErrorInfoOutput(allow_null=True)

    class Meta:
        ref_name = "OmniAcceptedStep"


class OmniAcceptedOutput(serializers.Serializer):
    planId = serializers.IntegerField(help_text="Read the chain with GET /api/v1/plans/{planId}.")
    state = serializers.CharField(help_text="active while a step is under way; unsuccessful when every step was "
                                            "skipped.")
    contact = serializers.CharField(help_text="The recipient as normalised (E.164 phone or e-mail).")
    contactId = serializers.IntegerField(allow_null=True)
    messages = PlanMessageOutput(many=True, help_text="The messages made by this call: step 1, and the steps after "
                                                      "it when step 1 was skipped.")

    class Meta:
        ref_name = "OmniAccepted"

    @staticmethod
    def shape(plan, messages) -> dict:
        return {"planId": plan.pk, "state": plan.state, "contact": plan_contact(plan), "contactId": plan.contact_id,
                "messages": [{"step": m.step + 1, "id": m.pk, "channel": m.channel, "contact": m.address,
                              "status": m.status, "error": error_of(m)}
                             for m in messages]}
