"""The contact base (spec P§6): contacts with typed attributes, tags, targets (saved
dynamic filters), opt-out words and opt-outs, and imports.

Design notes (see docs/contacts.md):
* The phone number, stored in E.164 (``+34612345678``), is the only required field and
  the duplicate key per company (a unique constraint, so concurrent writers cannot create
  a duplicate).
* Attribute values live in one JSON object per contact keyed by ``Attribute.key``: numbers
  as JSON numbers, dates as ISO ``YYYY-MM-DD`` strings, yes/no as booleans, the rest as
  strings. On PostgreSQL this is JSONB with a GIN index; filters compile to JSON lookups.
* Writes go through ``contacts.services``; reads through ``contacts.selectors``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.channel_types import Channel
from portal.tenancy import TenantModel


class AttributeType(models.TextChoices):
    EMAIL = "email", _("E-mail")
    TEXT = "text", _("Text")
    LIST = "list", _("Text list of values")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    BOOL = "bool", _("Logical yes / no")


class Attribute(TenantModel):
    """A contact attribute of a company (spec P§6.6)."""

    key = models.SlugField(_("key"), max_length=64,
                           help_text=_("Used in personalisation as {{attribute.key}} and in imports and the API."))
    name = models.CharField(_("name"), max_length=100)
    type = models.CharField(_("type"), max_length=10, choices=AttributeType.choices, default=AttributeType.TEXT)
    values = models.JSONField(_("allowed values"), default=list, blank=True)
    show_in_profile = models.BooleanField(_("show in client's profile"), default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "key"], name="attribute_key_unique_per_company"),
            models.UniqueConstraint("company", Lower("name"), name="attribute_name_unique_per_company"),
        ]

    def __str__(self):
        return self.name


class Tag(TenantModel):
    """A static mark on contacts (spec P§6.1)."""

    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("company", Lower("name"), name="tag_name_unique_per_company")]

    def __str__(self):
        return self.name


class Contact(TenantModel):
    phone = models.CharField(_("phone number"), max_length=16, help_text=_("E.164, e.g. +34612345678"))
    country = models.CharField(_("country"), max_length=2, blank=True, default="")
    mno = models.CharField(_("mobile operator"), max_length=80, blank=True, default="")
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    wechat_id = models.CharField(_("WeChat ID"), max_length=64, blank=True, default="")
    rcs_capable = models.BooleanField(_("RCS capable"), null=True, blank=True)
    rcs_checked_at = models.DateTimeField(_("RCS capability last checked"), null=True, blank=True)
    tags = models.ManyToManyField(Tag, through="ContactTag", related_name="contacts", blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["company", "phone"], name="contact_phone_unique_per_company")]
        indexes = [
            models.Index(fields=["company", "country"]),
            models.Index(fields=["company", "mno"]),
            # The list order (company, created_at DESC, id DESC) has its index in migration 0003.
        ]

    def __str__(self):
        return self.phone

    @property
    def email(self) -> str:
        """The Email channel address: the value of the ``email`` attribute."""
        return str(self.attributes.get("email") or "")


class ContactTag(models.Model):
    # No single-column indexes: the unique (contact, tag) and the (tag, contact) index
    # lead with each column already (every tag link written by an import, a mass edit or
    # the API updated two more indexes for nothing; ~2 µs per link).
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="contact_tags", db_index=False)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="contact_tags", db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "tag"], name="contact_tag_unique")]
        indexes = [models.Index(fields=["tag", "contact"])]


class PushEndpoint(models.Model):
    """A web-push subscription or a mobile-push device token of a contact."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="push_endpoints")
    channel = models.PositiveSmallIntegerField(choices=[(Channel.PUSH, "Push"), (Channel.MOBILE_PUSH, "Mobile Push")])
    token = models.TextField(_("token or endpoint"))
    keys = models.JSONField(_("subscription keys"), default=dict, blank=True)  # web push: p256dh, auth
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "channel", "token"], name="push_endpoint_unique")]


class Target(TenantModel):
    """A saved dynamic filter (spec P§6.7): criteria combined with AND, evaluated on use.

    ``filters`` is a list of ``{"field": ..., "mode": ..., "value"|"from"|"to": ...}`` where
    ``field`` is ``phone``, ``country``, ``mno``, ``tag`` or ``attribute:<key>`` and ``mode``
    is ``value``, ``range``, ``empty`` or ``nonempty``.
    """

    name = models.CharField(_("name"), max_length=200)
    filters = models.JSONField(_("filters"), default=list)
    launches = models.PositiveIntegerField(_("launches"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return self.name


class OptOutWord(TenantModel):
    """A word that, sent by a contact in an MO, opts them out (spec P§6.9)."""

    word = models.CharField(_("opt-out word"), max_length=64)
    channel = models.PositiveSmallIntegerField(_("channel"), choices=Channel.choices)
    sender = models.CharField(_("sender ID"), max_length=64, blank=True, default="",
                              help_text=_("Empty = the whole channel."))
    effective_from = models.DateTimeField(_("effective from"), null=True, blank=True)
    effective_till = models.DateTimeField(_("effective till"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["word", "channel"]
        indexes = [models.Index(fields=["company", "channel"])]
        constraints = [models.UniqueConstraint("company", "channel", "sender", Lower("word"),
                                               name="optout_word_unique_per_scope")]

    def __str__(self):
        return self.word


class OptOutSource(models.TextChoices):
    USER = "user", _("Portal user")
    WORD = "word", _("Opt-out word")
    API = "api", _("API")
    IMPORT = "import", pgettext_lazy("opt-out source", "Import")
    CHATBOT = "chatbot", _("Chatbot")


class OptOut(TenantModel):
    """A contact does not receive on ``channel`` from ``sender`` (empty = whole channel)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="opt_outs")
    channel = models.PositiveSmallIntegerField(_("channel"), choices=Channel.choices)
    sender = models.CharField(_("sender ID"), max_length=64, blank=True, default="")
    source = models.CharField(_("source"), max_length=10, choices=OptOutSource.choices, default=OptOutSource.USER)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    word = models.ForeignKey(OptOutWord, null=True, blank=True, on_delete=models.SET_NULL, related_name="opt_outs")
    created_at = models.DateTimeField(_("opted out at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["contact", "channel", "sender"], name="opt_out_unique")]


class BackgroundJob(TenantModel):
    """What every background job of the contact base records: who started it, when it
    ran, and why it failed. Newest first."""

    error_message = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class DuplicateMode(models.TextChoices):
    SKIP = "skip", _("Do not import")
    OVERRIDE = "override", _("Override")
    ENRICH = "enrich", _("Enrich")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ContactImport(BackgroundJob):
    """One uploaded file going through the wizard (spec P§6.8). Progress is checkpointed
    in ``processed_rows`` so that a restarted worker resumes instead of starting over."""

    QUICK, WIZARD = "quick", "wizard"
    kind = models.CharField(max_length=10, choices=[(QUICK, _("Quick import")), (WIZARD, _("Import wizard"))],
                            default=WIZARD)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    file_type = models.CharField(max_length=5)  # csv, xls, xlsx, ods
    encoding = models.CharField(max_length=20, blank=True, default="")
    delimiter = models.CharField(max_length=1, blank=True, default="")
    first_row = models.PositiveIntegerField(default=1, help_text=_("1-based number of the first data row."))
    mapping = models.JSONField(default=dict, blank=True)  # {"0": "phone", "2": "name", ...}
    duplicate_mode = models.CharField(max_length=10, choices=DuplicateMode.choices, default=DuplicateMode.SKIP)
    tag = models.ForeignKey(Tag, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    error_report = models.FileField(upload_to="imports/errors/%Y/%m/", blank=True)

    def __str__(self):
        return self.original_name

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class MappingPreset(TenantModel):
    """A saved column mapping: file column header -> attribute key (or ``phone``)."""

    name = models.CharField(_("name"), max_length=100)
    mapping = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint("company", Lower("name"), name="mapping_preset_unique_per_company")]


class MassEditStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class MassEditJob(BackgroundJob):
    """A mass edit of a large selection, run by a worker (spec P§6.5). The selection is
    stored as the page sends it (``{"mode": "ids" | "target" | "all", "ids", "target",
    "filters"}``) and resolved again by the worker; contacts are edited in ascending id
    order and ``last_id`` is committed with each batch, so a restarted worker continues
    after the last finished batch."""

    status = models.CharField(max_length=10, choices=MassEditStatus.choices, default=MassEditStatus.QUEUED)
    selection = models.JSONField(default=dict)
    add_tags = models.JSONField(default=list, blank=True)
    set_values = models.JSONField(default=dict, blank=True)
    clear_keys = models.JSONField(default=list, blank=True)
    delete = models.BooleanField(default=False)
    total = models.PositiveIntegerField(default=0)  # contacts selected when the run started
    processed = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    tagged = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    last_id = models.BigIntegerField(default=0)  # checkpoint: every selected contact up to here is done
    sample_ids = models.JSONField(default=list, blank=True)  # the first deleted ids, for the audit
    attempts = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"mass edit {self.pk}"

    @property
    def finished(self) -> bool:
        return self.status in (MassEditStatus.DONE, MassEditStatus.FAILED)

    @property
    def progress_percent(self) -> int:
        if not self.total:
            return 100 if self.status == MassEditStatus.DONE else 0
        return min(100, round(100 * self.processed / self.total))
