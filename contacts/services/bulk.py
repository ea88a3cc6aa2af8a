"""Bulk upsert of contacts: up to ``MAX_BULK_ROWS`` rows in one call, keyed by phone
number, with per-row results (the REST API's ``POST /contacts/bulk``).

The rules:

* Every row is checked on its own (phone, attribute types, tags); a bad row is reported
  with its errors and never fails the others.
* The phone number (E.164 after normalisation) is the key. A number that appears twice in
  one call is applied once: the later row is an error "duplicate of row N".
* A number that already exists is handled by ``duplicates``:

  - ``skip``     the contact is left exactly as it is (attributes and tags);
  - ``override`` the row wins: every attribute the row gives replaces the stored value (an
    empty value or ``null`` clears it); attributes the row does not mention are kept;
  - ``enrich``   the stored contact wins: the row only fills attributes that have no value
    yet; empty values are ignored.

  With ``override`` and ``enrich`` the row's tags and the call's ``tags`` are added (tags
  are never removed by a bulk call).
* New contacts get the row's attributes, the row's tags and the call's ``tags``.
* Set-wise: a fixed handful of queries whatever the number of rows (one read of the
  existing numbers, one insert, one update, one insert of tag links, the audit), all in one
  transaction, so a call is applied entirely or (on a database fault) not at all.
* Idempotent: retrying the same call creates nothing new (the number is the key; a unique
  constraint backs it against concurrent callers, and a call that loses such a race is
  re-run against the rows the winner wrote).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.audit import Actor
from portal.models import AuditDetail

from ..attributes import is_empty
from ..models import Contact, ContactTag, DuplicateMode, Tag
from ..phones import InvalidPhone, normalize
from ..selectors import attributes_for, contacts_for
from .core import clean_attribute_values, tags_named

__all__ = ["MAX_BULK_ROWS", "BULK_ROW_FIELDS", "BulkRowStatus", "BulkRowResult", "BulkResult",
           "bulk_upsert_contacts"]

MAX_BULK_ROWS = 1000
BULK_ROW_FIELDS = ("phone", "attributes", "tags", "wechat_id")
TAG_NAME_MAX = Tag._meta.get_field("name").max_length  # 100
WECHAT_ID_MAX = Contact._meta.get_field("wechat_id").max_length  # 64
_RACE_RETRIES = 3


class BulkRowStatus:
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    ERROR = "error"
    ALL = (CREATED, UPDATED, SKIPPED, ERROR)


@dataclass
class BulkRowResult:
    index: int
    status: str
    id: int | None = None
    errors: dict[str, list[str]] | None = None


@dataclass
class BulkResult:
    results: list[BulkRowResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {status: self.count(status) for status in BulkRowStatus.ALL}


@dataclass
class _Row:
    index: int
    phone: str
    country: str
    mno: str
    values: dict
    cleared: list
    tag_names: list
    wechat_id: str | None


def _clean_tag_names(raw, errors: dict, key: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        errors[key] = [_("Give the tags as a list of names.")]
        return []
    names = [t.strip() for t in raw if t.strip()]
    if any(len(t) > TAG_NAME_MAX for t in names):
        errors[key] = [_("A tag has at most %(n)d characters.") % {"n": TAG_NAME_MAX}]
        return []
    return names


def _parse_row(company, index: int, raw, attrs: dict) -> tuple[_Row | None, dict]:
    """One input row → a checked row, or its errors (field → messages)."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": [_("Each contact must be an object.")]}
    errors: dict[str, list[str]] = {}
    for key in raw:
        if key not in BULK_ROW_FIELDS:
            errors[str(key)] = [_("Unknown field; attribute values go under “attributes”.")]
    number = None
    if is_empty(raw.get("phone")):
        errors["phone"] = [_("This field is required.")]
    elif not isinstance(raw["phone"], (str, int)) or isinstance(raw["phone"], bool):
        errors["phone"] = [_("Give the phone number as a string.")]
    else:
        try:
            number = normalize(raw["phone"], company.default_region)
        except InvalidPhone as exc:
            errors["phone"] = [str(exc)]
    values, cleared = {}, []
    data = raw.get("attributes")
    if data is not None and not isinstance(data, dict):
        errors["attributes"] = [_("Give the attributes as an object: {\"key\": value}.")]
    elif data:
        values, cleared, attr_errors = clean_attribute_values(company, data, attributes=attrs)
        for key, message in attr_errors.items():
            errors[f"attributes.{key}"] = [message]
    tag_names = _clean_tag_names(raw.get("tags"), errors, "tags")
    wechat_id = raw.get("wechat_id")
    if wechat_id is not None:
        if not isinstance(wechat_id, str) or len(wechat_id.strip()) > WECHAT_ID_MAX:
            errors["wechat_id"] = [_("A WeChat ID is a string of at most %(n)d characters.") % {"n": WECHAT_ID_MAX}]
        else:
            wechat_id = wechat_id.strip()
    if errors:
        return None, errors
    return _Row(index, number.e164, number.country, number.mno, values, cleared, tag_names, wechat_id), {}


def _merge(contact: Contact, row: _Row, mode: str) -> bool:
    """Apply ``row`` to an existing ``contact`` in memory; True when something changed."""
    merged = dict(contact.attributes or {})
    wechat = contact.wechat_id
    if mode == DuplicateMode.OVERRIDE:
        merged.update(row.values)
        for key in row.cleared:
            merged.pop(key, None)
        if row.wechat_id is not None:
            wechat = row.wechat_id
    else:  # enrich: fill only what is missing
        for key, value in row.values.items():
            if key not in merged:
                merged[key] = value
        if row.wechat_id and not wechat:
            wechat = row.wechat_id
    changed = merged != (contact.attributes or {}) or wechat != contact.wechat_id
    contact.attributes, contact.wechat_id = merged, wechat
    return changed


def _state(contact: Contact) -> dict:
    """What the audit log keeps of a contact (no per-row query for its tags)."""
    return {"id": contact.pk, "company_id": contact.company_id, "phone": contact.phone, "country": contact.country,
            "mno": contact.mno, "attributes": contact.attributes, "wechat_id": contact.wechat_id}


def _apply(*, actor, company, rows: list[_Row], mode: str, common_tags: list[str],
           results: dict[int, BulkRowResult]) -> list[audit.Change]:
    """Write the checked rows set-wise; fills ``results`` for them. Runs in a savepoint."""
    existing_qs = contacts_for(company).filter(phone__in=[r.phone for r in rows]).only(
        "id", "company_id", "phone", "country", "mno", "attributes", "wechat_id")
    if mode != DuplicateMode.SKIP:
        existing_qs = existing_qs.select_for_update()
    existing = {c.phone: c for c in existing_qs}

    new_rows = [r for r in rows if r.phone not in existing]
    old_rows = [r for r in rows if r.phone in existing]
    changes: list[audit.Change] = []

    created = Contact.objects.bulk_create(
        [Contact(company=company, phone=r.phone, country=r.country, mno=r.mno, attributes=r.values,
                 wechat_id=r.wechat_id or "") for r in new_rows], batch_size=1000)
    for row, contact in zip(new_rows, created, strict=True):
        results[row.index] = BulkRowResult(row.index, BulkRowStatus.CREATED, contact.pk)
        changes.append(audit.Change(Contact._meta.db_table, AuditDetail.Operation.INSERT, str(contact.pk), None,
                                    _state(contact)))

    tagged: list[tuple[int, _Row]] = [(c.pk, r) for r, c in zip(new_rows, created, strict=True)]
    if mode == DuplicateMode.SKIP:
        for row in old_rows:
            results[row.index] = BulkRowResult(row.index, BulkRowStatus.SKIPPED, existing[row.phone].pk)
    else:
        now, dirty = timezone.now(), []
        for row in old_rows:
            contact = existing[row.phone]
            before = _state(contact)
            if _merge(contact, row, mode):
                contact.updated_at = now
                dirty.append(contact)
                changes.append(audit.Change(Contact._meta.db_table, AuditDetail.Operation.UPDATE, str(contact.pk),
                                            before, _state(contact)))
            results[row.index] = BulkRowResult(row.index, BulkRowStatus.UPDATED, contact.pk)
            tagged.append((contact.pk, row))
        if dirty:
            Contact.objects.bulk_update(dirty, ["attributes", "wechat_id", "updated_at"], batch_size=1000)

    wanted = list(common_tags) + [name for _pk, row in tagged for name in row.tag_names]
    if tagged and wanted:
        by_name = {t.name.lower(): t for t in tags_named(company, wanted)}
        common = [by_name[n.lower()] for n in common_tags if n.lower() in by_name]
        links = {(pk, tag.pk) for pk, row in tagged
                 for tag in common + [by_name[n.lower()] for n in row.tag_names if n.lower() in by_name]}
        ContactTag.objects.bulk_create([ContactTag(contact_id=pk, tag_id=tag_id) for pk, tag_id in links],
                                       ignore_conflicts=True, batch_size=5000)
    return changes


def bulk_upsert_contacts(*, actor: Actor, company, rows, duplicates: str = DuplicateMode.SKIP,
                         tags=()) -> BulkResult:
    """Create or update up to ``MAX_BULK_ROWS`` contacts keyed by phone number (rules in the
    module docstring). Raises ``ValidationError`` only for a wrong call as a whole (not a
    list, too many rows, unknown ``duplicates`` mode, bad ``tags``); row problems are in the
    row's result."""
    if duplicates not in DuplicateMode.values:
        raise ValidationError({"duplicates": _("Choose skip, override or enrich.")})
    if not isinstance(rows, list):
        raise ValidationError({"contacts": _("Give the contacts as a list.")})
    if len(rows) > MAX_BULK_ROWS:
        raise ValidationError({"contacts": _("At most %(max)d contacts per call; this call has %(n)d.")
                               % {"max": MAX_BULK_ROWS, "n": len(rows)}})
    errors: dict = {}
    common_tags = _clean_tag_names(list(tags) if isinstance(tags, tuple) else tags, errors, "tags")
    if errors:
        raise ValidationError(errors)

    attrs = {a.key: a for a in attributes_for(company)}
    results: dict[int, BulkRowResult] = {}
    checked: list[_Row] = []
    first_index: dict[str, int] = {}
    for index, raw in enumerate(rows):
        row, row_errors = _parse_row(company, index, raw, attrs)
        if row is not None and row.phone in first_index:
            row, row_errors = None, {"phone": [_("Duplicate of row %(n)d: %(p)s appears earlier in this call.")
                                               % {"n": first_index[row.phone], "p": row.phone}]}
        if row is None:
            results[index] = BulkRowResult(index, BulkRowStatus.ERROR, None, row_errors)
            continue
        first_index[row.phone] = index
        checked.append(row)

    changes: list[audit.Change] = []
    if checked:
        for attempt in range(_RACE_RETRIES):
            written: dict[int, BulkRowResult] = {}
            try:
                with transaction.atomic():
                    changes = _apply(actor=actor, company=company, rows=checked, mode=duplicates,
                                     common_tags=common_tags, results=written)
                    result = BulkResult([results.get(i) or written[i] for i in range(len(rows))])
                    counts = result.counts
                    audit.record(actor, f"Bulk upsert of contacts: {counts['created']} created, "
                                        f"{counts['updated']} updated, {counts['skipped']} skipped, "
                                        f"{counts['error']} rejected", changes, company=company)
                    return result
            except IntegrityError:
                # Another caller inserted one of these numbers between our read and our insert:
                # read again (those rows are now existing contacts) and re-apply.
                if attempt == _RACE_RETRIES - 1:
                    raise
    return BulkResult([results[i] for i in range(len(rows))])
