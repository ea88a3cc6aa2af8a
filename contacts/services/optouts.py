"""Opt-out words, contact opt-outs, the MO hook and the send check (spec P§6.9, rule 6 of
P§25, gaps G7 and G8 of P§26).

Every opt-out rule lives here; the pages, the API, the messaging engine (inbound
messages) and broadcasts (sending) call these functions:

* ``create_optout_word`` / ``update_optout_word`` / ``delete_optout_word`` — the words;
* ``opt_out`` / ``opt_in`` / ``optouts_of`` — a contact's opt-out records;
* ``handle_inbound`` — called for every MO: an opt-out word opts the contact out, any
  other MO opts them back in (rule 6);
* ``may_receive``, ``opted_out_contact_ids``, ``exclude_opted_out`` — the send check,
  one contact or a whole broadcast at once (G8: the step to an opted-out contact is
  skipped).

Matching (G7): the message, trimmed and with inner runs of white space read as one
space, equals the word case-insensitively (Unicode case folding). "STOP", " stop " and
"Stop\\n" match the word ``stop``; "stop please" does not.
"""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.audit import Actor
from portal.channel_types import Channel
from portal.timezones import company_zone

from ..models import Contact, OptOut, OptOutSource, OptOutWord
from ..selectors import optout_words_for

__all__ = [
    "WORD_MAX_LENGTH", "SENDER_MAX_LENGTH", "company_time_zone", "normalize_mo_text",
    "create_optout_word", "update_optout_word", "delete_optout_word",
    "opt_out", "opt_in", "optouts_of",
    "InboundAction", "InboundResult", "handle_inbound",
    "may_receive", "opted_out_contact_ids", "exclude_opted_out",
]

WORD_MAX_LENGTH = OptOutWord._meta.get_field("word").max_length  # 64
SENDER_MAX_LENGTH = OptOutWord._meta.get_field("sender").max_length  # 64
# Ids given as a list are checked in chunks of this size (SQL parameter limits).
_ID_CHUNK = 5000
# pg_advisory_xact_lock(namespace, company id) serialises writes of one company's words.
_WORD_LOCK_NAMESPACE = 60906


# --- shared helpers ---------------------------------------------------------------------------

def company_time_zone(company) -> zoneinfo.ZoneInfo:
    """The company's time zone (the agreement's, spec P§6.9); UTC when unset or unknown."""
    return company_zone(company)


def normalize_mo_text(text) -> str:
    """The form an MO and a word are compared in (G7): trimmed, inner white space
    collapsed to one space, case-folded."""
    return " ".join(str(text or "").split()).casefold()


def _clean_channel(channel) -> int:
    try:
        return Channel(int(channel)).value
    except (TypeError, ValueError):
        raise ValidationError({"channel": _("Choose a channel.")})


def _clean_sender(sender) -> str:
    sender = str(sender or "").strip()
    if len(sender) > SENDER_MAX_LENGTH:
        raise ValidationError({"sender": _("A sender ID has at most %(n)d characters.") % {"n": SENDER_MAX_LENGTH}})
    return sender


def _aware(value, zone, field: str):
    """``None`` stays open-ended; a naive date-time is read in the company's time zone."""
    if value in (None, ""):
        return None
    if not isinstance(value, datetime.datetime):
        raise ValidationError({field: _("Enter a valid date and time.")})
    if timezone.is_naive(value):
        value = timezone.make_aware(value, zone)
    return value


def _scope(sender: str) -> list[str]:
    """The opt-out records that block ``sender``: its own and the whole channel's."""
    return [sender, ""] if sender else [""]


def _company_of(contact, company=None):
    if company is not None:
        if contact.company_id != company.pk:
            raise ValueError("The contact belongs to another company.")
        return company
    return contact.company


# --- opt-out words ----------------------------------------------------------------------------

def _lock_words(company) -> None:
    """Serialise the duplicate check of one company's words (PostgreSQL; SQLite already
    runs one writer at a time)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_WORD_LOCK_NAMESPACE, company.pk])


def _clean_word(company, *, word, channel, sender, effective_from, effective_till, instance=None) -> dict:
    errors = {}
    text = " ".join(str(word or "").split())
    if not text:
        errors["word"] = _("Enter the opt-out word.")
    elif len(text) > WORD_MAX_LENGTH:
        errors["word"] = _("An opt-out word has at most %(n)d characters.") % {"n": WORD_MAX_LENGTH}
    cleaned = {"word": text}
    for name, clean in (("channel", _clean_channel), ("sender", _clean_sender)):
        try:
            cleaned[name] = clean(channel if name == "channel" else sender)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    zone = company_time_zone(company)
    for name, value in (("effective_from", effective_from), ("effective_till", effective_till)):
        try:
            cleaned[name] = _aware(value, zone, name)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    start, end = cleaned.get("effective_from"), cleaned.get("effective_till")
    if start is not None and end is not None and end <= start:
        errors["effective_till"] = _("Effective till must be after Effective from.")
    if "word" not in errors and "channel" not in errors and "sender" not in errors:
        same = optout_words_for(company).filter(channel=cleaned["channel"], sender=cleaned["sender"])
        if instance is not None:
            same = same.exclude(pk=instance.pk)
        key = normalize_mo_text(text)
        if any(normalize_mo_text(w) == key for w in same.values_list("word", flat=True)):
            scope = cleaned["sender"] or _("Whole channel")
            errors["word"] = _("The opt-out word “%(word)s” already exists for %(channel)s / %(scope)s.") % {
                "word": text, "channel": Channel(cleaned["channel"]).label, "scope": scope}
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def create_optout_word(*, actor: Actor, company, word: str, channel, sender: str = "", effective_from=None,
                       effective_till=None) -> OptOutWord:
    """A new opt-out word. ``sender`` empty = the whole channel; ``effective_from`` /
    ``effective_till`` are aware date-times (a naive one is read in the company's time
    zone), either may be ``None`` (open-ended)."""
    _lock_words(company)
    cleaned = _clean_word(company, word=word, channel=channel, sender=sender, effective_from=effective_from,
                          effective_till=effective_till)
    obj = OptOutWord.objects.create(company=company, **cleaned)
    audit.record(actor, "Added new opt-out word", [audit.created(obj)], company=company)
    return obj


@transaction.atomic
def update_optout_word(*, actor: Actor, optout_word: OptOutWord, word: str, channel, sender: str = "",
                       effective_from=None, effective_till=None) -> OptOutWord:
    company = optout_word.company
    _lock_words(company)
    cleaned = _clean_word(company, word=word, channel=channel, sender=sender, effective_from=effective_from,
                          effective_till=effective_till, instance=optout_word)
    before = audit.snapshot(optout_word)
    for name, value in cleaned.items():
        setattr(optout_word, name, value)
    optout_word.save()
    audit.record(actor, "Changed opt-out word", [audit.updated(optout_word, before)], company=company)
    return optout_word


@transaction.atomic
def delete_optout_word(*, actor: Actor, optout_word: OptOutWord) -> None:
    """Delete a word. Opt-outs it caused stay (the contact asked to stop); they keep
    their source *Opt-out word* and lose the link to the word."""
    change = audit.deleted(optout_word)
    company = optout_word.company
    optout_word.delete()
    audit.record(actor, "Deleted opt-out word", [change], company=company)


# --- contact opt-outs -------------------------------------------------------------------------

def optouts_of(contact) -> QuerySet:
    """The contact's opt-out records, with who or which word made them."""
    return (OptOut.objects.for_company(contact.company_id).filter(contact=contact)
            .select_related("user", "word").order_by("channel", "sender"))


def opt_out(actor: Actor, contact: Contact, channel, sender: str = "", source: str = OptOutSource.USER,
            word: OptOutWord | None = None, *, company=None) -> OptOut:
    """Block ``channel`` from ``sender`` (empty = the whole channel) for the contact.

    Idempotent: when the contact is already opted out of exactly that scope, the
    existing record (its time, user, word) is kept. The returned record has
    ``is_new`` set to whether it was created by this call."""
    company = _company_of(contact, company)
    channel, sender = _clean_channel(channel), _clean_sender(sender)
    if source not in OptOutSource.values:
        raise ValidationError({"source": _("Unknown opt-out source.")})
    if word is not None and word.company_id != contact.company_id:
        raise ValueError("The opt-out word belongs to another company.")
    with transaction.atomic():
        record, created = OptOut.objects.get_or_create(
            contact=contact, channel=channel, sender=sender,
            defaults={"company": company, "source": source, "user": actor.user, "word": word})
        if created:
            audit.record(actor, "Opted contact out", [audit.created(record)], company=company)
    record.is_new = created
    return record


def opt_in(actor: Actor, contact: Contact, channel, sender: str = "", *, company=None) -> int:
    """Remove the contact's opt-out of ``channel`` / ``sender`` (empty = the
    whole-channel record). Returns how many records were removed (0 or 1)."""
    company = _company_of(contact, company)
    channel, sender = _clean_channel(channel), _clean_sender(sender)
    with transaction.atomic():
        records = list(OptOut.objects.for_company(company).filter(contact=contact, channel=channel, sender=sender))
        return _remove(actor, company, records, "Opted contact back in")


def _remove(actor, company, records, action: str) -> int:
    if not records:
        return 0
    changes = [audit.deleted(r) for r in records]
    OptOut.objects.filter(pk__in=[r.pk for r in records]).delete()
    audit.record(actor, action, changes, company=company)
    return len(records)


# --- the MO hook ------------------------------------------------------------------------------

class InboundAction:
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    NOTHING = "nothing"


@dataclass(frozen=True)
class InboundResult:
    """What an inbound message did to the contact's opt-outs.

    * ``opted_out``: ``word`` matched; ``optout`` is the record that now blocks
      ``channel`` / ``sender`` (``""`` = whole channel); ``changed`` is False when the
      contact was already opted out of that scope (a second STOP).
    * ``opted_in``: ``lifted`` holds the removed records (the MO's sender and the whole
      channel); ``changed`` is True.
    * ``nothing``: not a word, and no opt-out to lift.
    """

    action: str
    channel: int
    sender: str = ""
    word: OptOutWord | None = None
    optout: OptOut | None = None
    lifted: tuple = ()
    changed: bool = False

    @property
    def opted_out(self) -> bool:
        return self.action == InboundAction.OPTED_OUT

    @property
    def opted_in(self) -> bool:
        return self.action == InboundAction.OPTED_IN

    def describe(self) -> str:
        """One line for a conversation's history."""
        channel = Channel(self.channel).label
        if self.opted_out:
            scope = self.sender or _("whole channel")
            if not self.changed:
                return _("Opt-out word “%(word)s”: already opted out of %(channel)s (%(scope)s).") % {
                    "word": self.word.word, "channel": channel, "scope": scope}
            return _("Opt-out word “%(word)s”: opted out of %(channel)s (%(scope)s).") % {
                "word": self.word.word, "channel": channel, "scope": scope}
        if self.opted_in:
            scopes = ", ".join(r.sender or _("whole channel") for r in self.lifted)
            return _("Opted back in to %(channel)s (%(scope)s) by a new message.") % {"channel": channel,
                                                                                        "scope": scopes}
        return ""


def _matching_word(company, channel: int, sender: str, text: str, at) -> OptOutWord | None:
    """The active word this message is (G7). When a whole-channel word and a word of
    this sender both match, the whole-channel one wins (the wider block)."""
    candidates = (optout_words_for(company)
                  .filter(channel=channel, sender__in=_scope(sender))
                  .filter(Q(effective_from__isnull=True) | Q(effective_from__lte=at))
                  .filter(Q(effective_till__isnull=True) | Q(effective_till__gt=at)))
    matches = [w for w in candidates if normalize_mo_text(w.word) == text]
    if not matches:
        return None
    return min(matches, key=lambda w: (w.sender != "", w.pk))


def handle_inbound(company, contact: Contact, channel, sender: str, text, at=None) -> InboundResult:
    """Apply rule 6 to one inbound message (MO) of ``contact`` on ``channel``, sent to
    ``sender`` (the company's sender ID / number the contact wrote to).

    * The message is an opt-out word of the company active at ``at`` (``effective_from``
      ≤ at < ``effective_till``, open ends allowed) for this channel and (this sender or
      the whole channel) → the contact is opted out of the word's scope: its sender when
      the word names one, else the whole channel (source *Opt-out word*).
    * Any other message → if the contact is opted out of this channel for this sender
      or for the whole channel, both records are removed (opt back in, whatever the
      channel type). Opt-outs of other senders on the channel stay.

    ``at`` defaults to now; a naive ``at`` is read in the company's time zone. Runs two
    queries for an ordinary message (the words, the opt-outs)."""
    if contact.company_id != company.pk:
        raise ValueError("The contact belongs to another company.")
    channel, sender = _clean_channel(channel), _clean_sender(sender)
    at = _aware(at, company_time_zone(company), "at") or timezone.now()
    actor = Actor.system(company)
    key = normalize_mo_text(text)
    word = _matching_word(company, channel, sender, key, at) if key else None
    if word is not None:
        record = opt_out(actor, contact, channel, word.sender, source=OptOutSource.WORD, word=word, company=company)
        return InboundResult(InboundAction.OPTED_OUT, channel, word.sender, word=word, optout=record,
                             changed=record.is_new)
    with transaction.atomic():
        records = list(OptOut.objects.for_company(company)
                       .filter(contact=contact, channel=channel, sender__in=_scope(sender)))
        if not _remove(actor, company, records, "Opted contact back in by an inbound message"):
            return InboundResult(InboundAction.NOTHING, channel, sender)
    return InboundResult(InboundAction.OPTED_IN, channel, sender, lifted=tuple(records), changed=True)


# --- the send check ---------------------------------------------------------------------------

def may_receive(contact: Contact, channel, sender: str = "") -> bool:
    """May ``contact`` receive on ``channel`` from ``sender``? No when opted out of that
    sender or of the whole channel. One query."""
    channel, sender = _clean_channel(channel), _clean_sender(sender)
    return not OptOut.objects.for_company(contact.company_id).filter(
        contact_id=contact.pk, channel=channel, sender__in=_scope(sender)).exists()


def opted_out_contact_ids(company, channel, sender, contacts):
    """Which of ``contacts`` may not receive on ``channel`` from ``sender`` (G8: the
    broadcast step to them is skipped).

    ``contacts`` is a queryset (of contacts, or of contact ids: ``.values("pk")``,
    ``.values_list("contact_id", flat=True)``) or an iterable of ids.

    * queryset in → a lazy queryset of contact ids out: one SQL query when evaluated, and
      usable as a subquery (``contacts.exclude(pk__in=...)``);
    * ids in → a ``set`` of ids out: one query per 5,000 ids.
    """
    channel, sender = _clean_channel(channel), _clean_sender(sender)
    optouts = OptOut.objects.for_company(company).filter(channel=channel, sender__in=_scope(sender))
    if isinstance(contacts, QuerySet):
        ids = contacts.values("pk") if contacts.model is Contact else contacts
        return optouts.filter(contact_id__in=ids).values_list("contact_id", flat=True).distinct()
    ids = list(dict.fromkeys(int(i) for i in contacts))
    found: set[int] = set()
    for start in range(0, len(ids), _ID_CHUNK):
        found.update(optouts.filter(contact_id__any=ids[start:start + _ID_CHUNK])
                     .values_list("contact_id", flat=True))
    return found


def exclude_opted_out(contacts: QuerySet, channel, sender: str = "") -> QuerySet:
    """``contacts`` (a contact queryset) without those opted out of ``channel`` /
    ``sender``, as one ``NOT EXISTS`` in the same query."""
    channel, sender = _clean_channel(channel), _clean_sender(sender)
    blocked = OptOut.objects.filter(contact_id=OuterRef("pk"), channel=channel, sender__in=_scope(sender))
    return contacts.exclude(Exists(blocked))
