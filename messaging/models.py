"""The messaging engine's data (docs/messaging.md).

* ``Message`` — the event data record: one row per message sent or received on any channel.
* ``Attempt`` — one row per call to a provider for a message; a retry is a new attempt.
* ``StatusEvent`` — the status history of a message (every applied change, raw code kept).
* ``DeliveryPlan`` — one recipient's fallback chain (steps, current step, deadline, outcome);
  a broadcast's recipients and an ``/omnimessages`` call are plans.
* ``StepChain`` — the steps a source's plans share (a broadcast run's), stored once.
* ``SenderId`` — a company's sender identity on a channel (only *Active* ones send).
* ``Gateway`` — a provider connection for one channel, with routing conditions and a TPS.
* ``PendingReport`` — a delivery report that arrived before its message knew its provider id.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from messaging.ids import uuid7
from portal.channel_types import Channel
from portal.crypto import EncryptedJSONField
from portal.tenancy import TenantManager, TenantModel


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SUBMITTED = "submitted", _("Submitted")
    DELIVERED = "delivered", _("Delivered")
    SEEN = "seen", _("Seen")
    UNDELIVERED = "undelivered", _("Undelivered")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")
    SKIPPED = "skipped", _("Skipped")


# A status only ever moves to a higher rank ("never backwards"). Equal ranks do not replace
# each other: the first final report wins (a DELIVRD then an UNDELIV keeps delivered).
# ``seen`` outranks every outcome: a message opened on the device was delivered, whatever a
# late or wrong report said before.
STATUS_RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SUBMITTED: 10,
    MessageStatus.REJECTED: 20,       # refused at submit (bad number, no credit, throttled…)
    MessageStatus.FAILED: 20,         # the provider call or the network failed for good
    MessageStatus.DELIVERED: 30,
    MessageStatus.UNDELIVERED: 30,
    MessageStatus.EXPIRED: 30,
    MessageStatus.SEEN: 40,
    MessageStatus.SKIPPED: 50,        # never sent (opted out, no address, no route, no sender)
}
SUCCESS_STATUSES = frozenset({MessageStatus.SUBMITTED, MessageStatus.DELIVERED, MessageStatus.SEEN})
FAILURE_STATUSES = frozenset({MessageStatus.UNDELIVERED, MessageStatus.FAILED, MessageStatus.REJECTED,
                              MessageStatus.EXPIRED, MessageStatus.SKIPPED})
FINAL_STATUSES = FAILURE_STATUSES | {MessageStatus.DELIVERED, MessageStatus.SEEN}


class Direction(models.TextChoices):
    MT = "mt", _("MT (outgoing)")
    MO = "mo", _("MO (incoming)")


class TrafficType(models.TextChoices):
    A2P = "a2p", "A2P"
    API = "api", "API"
    P2A = "p2a", "P2A"


class Source(models.TextChoices):
    BROADCAST = "broadcast", _("Broadcast")
    API = "api", _("API")
    CONVERSATION = "conversation", _("Conversation")
    CHATBOT = "chatbot", _("Chatbot")
    OTP = "otp", _("OTP")
    SYSTEM = "system", _("System")       # e.g. a portal user's own 2FA code
    INBOUND = "inbound", _("Inbound")    # MO messages


# Sources that take the priority lane: a person or a program is waiting for them.
PRIORITY_SOURCES = frozenset({Source.API, Source.CONVERSATION, Source.CHATBOT, Source.OTP, Source.SYSTEM})


class Priority(models.IntegerChoices):
    BULK = 0, _("Bulk")
    HIGH = 1, _("Priority")


class Encoding(models.TextChoices):
    GSM7 = "gsm7", "GSM-7"
    UCS2 = "ucs2", "UCS-2"


class SkipReason(models.TextChoices):
    """Error codes of skipped messages (``Message.error_code``)."""
    OPTED_OUT = "opted_out", _("The contact opted out of this channel or sender.")
    NO_ADDRESS = "no_address", _("The contact has no address on this channel.")
    NO_ROUTE = "no_route", _("No route: no active gateway serves this channel for this destination.")
    NO_SENDER = "no_sender", _("The sender ID is not active.")
    EMPTY = "empty_content", _("The message has no content.")
    CANCELED = "canceled", _("Canceled: its broadcast was stopped before it went out.")
    NOT_RCS_CAPABLE = "not_rcs_capable", _("The RCS capability check found the device cannot receive RCS.")


class Message(TenantModel):
    """One message sent (MT) or received (MO) on any channel: the EDR.

    The engine's high-volume tables (messages, plans, attempts, status history) keep their
    foreign keys in Django only (``db_constraint=False``, D80): each row's key checks at
    commit — one lookup plus a row lock on the contact, company, plan… per key — were a
    quarter of a broadcast's resolution. Django still applies ``on_delete`` (through the
    indexes every such column keeps), and only Herald's services write these tables."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Indexed by ``message_company_recent`` (company, -id): no separate index.
    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="messaging_message_set",
                                db_index=False, db_constraint=False)
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="messages", db_constraint=False)
    address = models.CharField(_("address"), max_length=320, help_text=_("Phone (E.164), e-mail, device token…"))
    channel = models.PositiveSmallIntegerField(_("channel"), choices=Channel.choices)
    direction = models.CharField(_("type"), max_length=2, choices=Direction.choices, default=Direction.MT)
    traffic_type = models.CharField(_("traffic type"), max_length=3, choices=TrafficType.choices,
                                    default=TrafficType.A2P)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    source_id = models.BigIntegerField(_("source id"), null=True, blank=True,
                                       help_text=_("The broadcast, API access, thread, chatbot or OTP integration."))
    plan = models.ForeignKey("DeliveryPlan", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="messages", db_constraint=False)
    step = models.PositiveSmallIntegerField(_("fallback step"), null=True, blank=True)  # 0-based
    # Every foreign key keeps its index: deleting the row it points to (a sender ID, a
    # gateway) makes Django update the messages that refer to it (``on_delete``), and
    # without an index that is a scan of the whole message table.
    sender_id = models.ForeignKey("SenderId", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="messages", verbose_name=_("sender ID"), db_constraint=False)
    sender = models.CharField(_("from"), max_length=100, blank=True, default="")
    gateway = models.ForeignKey("Gateway", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages",
                                db_constraint=False)
    content = models.JSONField(_("content"), default=dict, blank=True)  # rendered, per channel
    encoding = models.CharField(_("encoding"), max_length=4, choices=Encoding.choices, blank=True, default="")
    segments = models.PositiveSmallIntegerField(_("segments"), default=1)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.BULK)
    attempt_count = models.PositiveSmallIntegerField(_("attempts"), default=0)  # provider calls so far
    status = models.CharField(_("status"), max_length=12, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    status_rank = models.PositiveSmallIntegerField(default=0)
    provider_status = models.CharField(_("provider status"), max_length=40, blank=True, default="")
    error_code = models.CharField(_("error code"), max_length=40, blank=True, default="")
    error_text = models.TextField(_("error"), blank=True, default="")
    provider_message_id = models.CharField(_("provider message id"), max_length=100, blank=True, default="")
    late = models.BooleanField(_("late report"), default=False,
                               help_text=_("A report arrived after the fallback chain had moved on."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    seen_at = models.DateTimeField(_("seen"), null=True, blank=True)
    finished_at = models.DateTimeField(_("final status at"), null=True, blank=True)
    price = models.DecimalField(_("price"), max_digits=14, decimal_places=6, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True, default="")
    # Held back from the dispatch queue while its source (a broadcast) is paused.
    held = models.BooleanField(_("held"), default=False, db_default=False)

    objects = TenantManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(fields=["company", "-id"], name="message_company_recent"),
            # The dispatch queue: queued, per gateway, priority first, in order (claims read
            # it without sorting); and per company (fair shares). A claimed message stays in
            # it until its settle (``Claim``: a claim writes no new message row).
            models.Index(fields=["gateway", "-priority", "id"], name="message_dispatch_queue",
                         condition=Q(status="queued", held=False)),
            models.Index(fields=["gateway", "company", "-priority", "id"], name="message_dispatch_company",
                         condition=Q(status="queued", held=False)),
            models.Index(fields=["gateway", "provider_message_id"], name="message_provider_id",
                         condition=~Q(provider_message_id="")),
            # Messages of paused sources (the safety net finds a release a lost task left
            # half done); only held messages have an entry.
            models.Index(fields=["source", "source_id"], name="message_held_queued",
                         condition=Q(held=True, status="queued")),
        ]
        constraints = [
            # A provider re-sending an MO (or two workers receiving it at once) stores it once.
            models.UniqueConstraint(fields=["gateway", "provider_message_id"], name="message_mo_once",
                                    condition=Q(direction="mo") & ~Q(provider_message_id="")),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} {self.direction.upper()} {self.address} ({self.status})"


class Claim(models.Model):
    """A queued message a dispatcher has taken and is sending (D85): committed before the
    provider call, deleted by the settle that applies the call's outcome. While it exists no
    other dispatcher takes the message; one older than ``HERALD_INFLIGHT_TIMEOUT_SECONDS``
    was left by a worker that died and is settled by ``dispatch.recover``. A narrow row of its
    own rather than a column of the message: marking a claim on the message rewrote the
    message row with its eight index entries (~15 µs a message), a claim row costs ~2 µs to
    write and delete."""

    message = models.OneToOneField(Message, primary_key=True, on_delete=models.CASCADE, related_name="claim",
                                   db_constraint=False)
    gateway_id = models.BigIntegerField()
    since = models.DateTimeField()

    def __str__(self):
        return f"{self.message_id} claimed at {self.since:%Y-%m-%d %H:%M:%S}"


class Attempt(models.Model):
    """One call to a provider for one message, written with its outcome. The claim
    (``Claim``) is what is committed before the call; an attempt cut
    short by a crash is written by the recovery sweep, with what is known."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attempts", db_index=False,
                                db_constraint=False)
    number = models.PositiveSmallIntegerField(default=1)
    gateway = models.ForeignKey("Gateway", null=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    request = models.JSONField(default=dict, blank=True)   # a summary: never credentials
    response = models.JSONField(default=dict, blank=True)
    ok = models.BooleanField(null=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["message", "number"]
        constraints = [models.UniqueConstraint(fields=["message", "number"], name="attempt_unique_number")]


class StatusEvent(models.Model):
    """A status change applied to a message (its history), with the provider's raw code."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events", db_constraint=False)
    # (indexed by its foreign key: the history of one message)
    status = models.CharField(max_length=12, choices=MessageStatus.choices)
    provider_status = models.CharField(max_length=40, blank=True, default="")
    error_code = models.CharField(max_length=40, blank=True, default="")
    at = models.DateTimeField()
    late = models.BooleanField(default=False)

    class Meta:
        ordering = ["message", "id"]


class WaitFor(models.TextChoices):
    SUBMIT = "submit", _("Submit")
    DELIVERY = "delivery", _("Delivery")
    DISPLAY = "display", _("Display")


# The status a step's message must reach for the recipient to be successful.
CRITERION_STATUSES = {
    WaitFor.SUBMIT: SUCCESS_STATUSES,
    WaitFor.DELIVERY: frozenset({MessageStatus.DELIVERED, MessageStatus.SEEN}),
    WaitFor.DISPLAY: frozenset({MessageStatus.SEEN}),
}


class PlanState(models.TextChoices):
    PENDING = "pending", _("Not initiated")
    ACTIVE = "active", _("Initiated")
    SUCCESSFUL = "successful", _("Successful")
    UNSUCCESSFUL = "unsuccessful", _("Unsuccessful")
    CANCELED = "canceled", _("Canceled")


class StepChain(TenantModel):
    """The steps of a source's plans, stored once (D83): a broadcast run's recipients all
    follow the same chain, so their plans point here instead of each carrying a copy of the
    steps (~630 bytes a plan, written with every plan and rewritten with every update of
    one). One chain per source; never changed or deleted once plans use it (it goes with
    its company)."""

    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE, related_name="+",
                                db_constraint=False)
    source = models.CharField(max_length=12, choices=Source.choices)
    source_id = models.BigIntegerField()
    steps = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "source_id"], name="stepchain_source_once")]

    def __str__(self):
        return f"{self.source} {self.source_id}: {len(self.steps)} steps"


class DeliveryPlan(TenantModel):
    """One recipient's fallback chain (spec §0.5, §4.3): the ordered steps, the step in
    progress, its deadline, and the outcome.

    ``steps`` is a list of ``{"channel", "sender_id", "content" | "template_id" + "params",
    "wait_for", "timeout"}`` (timeout in seconds). A broadcast's recipients are plans
    (``source = broadcast``); an ``/omnimessages`` call makes one.
    """

    # No index of its own (D80): nothing lists a company's plans (a plan is read by id, a
    # run's by ``plan_source_order``); only deleting a company scans for them. An index here
    # cost a write per plan and, with statistics that had not seen a new company yet, drew
    # the planner to it (then sorting a whole running broadcast) for a run's recipient page.
    company = models.ForeignKey("accounts.Company", on_delete=models.CASCADE,
                                related_name="messaging_deliveryplan_set", db_constraint=False, db_index=False)
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="delivery_plans", db_constraint=False)
    address = models.CharField(max_length=320, blank=True, default="")  # when sent to a bare number
    source = models.CharField(max_length=12, choices=Source.choices)
    source_id = models.BigIntegerField(null=True, blank=True)
    steps = models.JSONField(default=list)  # its own steps; empty when it follows ``chain``
    # The shared steps of a broadcast's plans (D83). Chains are deleted only with their
    # company, whose plans go too: no index, no cascade to look for.
    chain = models.ForeignKey(StepChain, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
                              db_constraint=False, db_index=False)
    current_step = models.PositiveSmallIntegerField(null=True, blank=True)
    current_message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                        db_constraint=False)
    # The current step's criterion and waiting time, copied from ``steps`` when the step
    # starts: the engine reads them for every status change without parsing ``steps``.
    current_wait_for = models.CharField(max_length=8, choices=WaitFor.choices, blank=True, default="")
    current_timeout = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=12, choices=PlanState.choices, default=PlanState.PENDING)
    deadline = models.DateTimeField(null=True, blank=True)
    webhook_url = models.URLField(max_length=500, blank=True, default="")
    # Indexed only where set (``plan_api_access``): broadcast plans have none.
    api_access = models.ForeignKey("accounts.ApiAccess", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", db_constraint=False, db_index=False)
    late_reports = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager()

    def step_list(self) -> list[dict]:
        """The plan's steps: its own, or its chain's (``sending.attach_chains`` loads the
        chains of a batch of plans in one query)."""
        if self.steps or self.chain_id is None:
            return self.steps
        return self.chain.steps

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The fallback sweep: active plans by deadline. Only plans waiting for one have an
            # entry (a plan gets its deadline when its step's message is submitted; one that
            # succeeds at once never does).
            models.Index(fields=["deadline"], name="plan_deadline",
                         condition=Q(state="active", deadline__isnull=False)),
            # A source's plans still going (pause / stop walk them; the beat asks whether a
            # stopped run has any left). Finished plans leave it: their update writes no entry.
            models.Index(fields=["source", "source_id", "id"], name="plan_live",
                         condition=Q(state__in=["pending", "active"])),
            # A broadcast's recipient table, in resolution order, paged.
            models.Index(fields=["source", "source_id", "id"], name="plan_source_order"),
            # Deleting an API key clears it on its plans.
            models.Index(fields=["api_access"], name="plan_api_access", condition=Q(api_access__isnull=False)),
        ]


class SenderIdStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    IN_PROGRESS = "in_progress", _("In progress")
    TESTING = "testing", _("Testing")
    DONE = "done", _("Done")
    ACTIVE = "active", _("Active")
    CANCELED = "canceled", _("Canceled")
    BLOCKED = "blocked", _("Blocked")
    REJECTED = "rejected", _("Rejected")


class SenderId(TenantModel):
    """A company's sender identity on a channel (spec §11.2). SMS and RCS ones are requested
    in the portal; the others are created in the BackOffice. Only *Active* ones send."""

    channel = models.PositiveSmallIntegerField(_("channel"), choices=Channel.choices)
    sender_id = models.CharField(_("sender ID"), max_length=100, blank=True, default="",
                                 help_text=_("The identifier assigned by the operator (e.g. an alphanumeric "
                                             "name, a number, an RBM agent id)."))
    name = models.CharField(_("sender ID name"), max_length=40)
    description = models.CharField(_("description"), max_length=100, blank=True, default="")
    status = models.CharField(_("status"), max_length=12, choices=SenderIdStatus.choices,
                              default=SenderIdStatus.DRAFT)
    agreement = models.CharField(_("agreement"), max_length=100, blank=True, default="")
    sample_message = models.TextField(_("sample message"), blank=True, default="")
    # RCS bot information (spec §11.2): phones / websites / emails are lists of
    # {"value", "label"} (max 2 each); color, privacy / terms URLs, contact name, webhook.
    registration = models.JSONField(_("registration details"), default=dict, blank=True)
    logo = models.ImageField(_("logo"), upload_to="sender_ids/logos/", blank=True)
    background = models.ImageField(_("background image"), upload_to="sender_ids/backgrounds/", blank=True)
    has_chatbot = models.BooleanField(_("has a chatbot"), default=False)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("sender ID")
        verbose_name_plural = _("sender IDs")
        indexes = [models.Index(fields=["company", "channel", "status"], name="sender_company_channel")]

    def __str__(self):
        return self.sender_id or self.name

    @property
    def is_active(self) -> bool:
        return self.status == SenderIdStatus.ACTIVE


class RouteField(models.TextChoices):
    """What a gateway's routing filters can look at."""
    COUNTRY = "country", _("Destination country (ISO code)")
    MNO = "mno", _("Mobile operator")
    SENDER = "sender", _("Sender ID")


class Gateway(models.Model):
    """A provider connection for one channel (seed note 002; managed in the BackOffice).

    Routing: a gateway serves one company or any company (``company`` empty); for a message
    the active gateways of its channel whose filters match are candidates, a company-specific
    one wins over a generic one, then the lowest id.
    """

    name = models.CharField(_("name"), max_length=100)
    channel = models.PositiveSmallIntegerField(_("channel"), choices=Channel.choices)
    provider = models.CharField(_("provider"), max_length=30)  # a key of messaging.providers.REGISTRY
    company = models.ForeignKey("accounts.Company", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="gateways", help_text=_("Empty: any company."))
    credentials = EncryptedJSONField(_("credentials"), help_text=_("Encrypted at rest."))
    settings = models.JSONField(_("extra parameters"), default=dict, blank=True)
    default_from = models.CharField(_("default \"From\""), max_length=100, blank=True, default="")
    tps = models.PositiveIntegerField(_("throughput (messages per second)"), default=100,
                                      validators=[MinValueValidator(1), MaxValueValidator(100_000)])
    filter1_field = models.CharField(_("filter 1"), max_length=10, choices=RouteField.choices, blank=True, default="")
    filter1_values = models.JSONField(_("filter 1 values"), default=list, blank=True)
    filter2_field = models.CharField(_("filter 2"), max_length=10, choices=RouteField.choices, blank=True, default="")
    filter2_values = models.JSONField(_("filter 2 values"), default=list, blank=True)
    callback_token = models.UUIDField(_("callback token"), default=uuid7, unique=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("gateway")
        verbose_name_plural = _("gateways")

    def __str__(self):
        return f"{self.name} ({self.get_channel_display()}, {self.provider})"


class PendingReport(models.Model):
    """A delivery report whose message is not known yet (it can overtake the submit
    response). Matched again by the intake sweep; dropped after a day, and counted."""

    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="+")
    provider_message_id = models.CharField(max_length=100)
    report = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["gateway", "provider_message_id"], name="pending_report_key")]


class HeldSource(models.Model):
    """A source whose new and queued messages wait (a paused broadcast): the dispatcher
    never claims them and steps started meanwhile are created held. See ``services.holds``."""

    source = models.CharField(max_length=12, choices=Source.choices)
    source_id = models.BigIntegerField()
    since = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "source_id"], name="held_source_once")]


class SourceCounter(models.Model):
    """Counts kept as the engine moves, for sources that show live statistics (a
    broadcast): plan outcomes (``step`` = -1; keys ``initiated``, ``successful``,
    ``unsuccessful``, ``canceled``) and, per step, how many of its messages are in each
    status (keys = statuses, plus ``created`` and ``late``).

    Rows are deltas, inserted and never updated by the engine (no hot row to lock between
    dispatchers); ``services.counters.squash`` folds them into one row per key now and then.
    Reads sum the few rows of one source.
    """

    source = models.CharField(max_length=12, choices=Source.choices)
    source_id = models.BigIntegerField()
    step = models.SmallIntegerField()
    key = models.CharField(max_length=16)
    count = models.BigIntegerField()
    is_squashed = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["source", "source_id"], name="source_counter_key"),
                   models.Index(fields=["source", "source_id"], name="source_counter_unsquashed",
                                condition=Q(is_squashed=False))]
