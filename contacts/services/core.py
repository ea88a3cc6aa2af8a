"""Attributes, contacts, tags, targets and mass edit."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from portal import audit
from portal.audit import Actor

from ..attributes import DEFAULT_ATTRIBUTES, KEY_RE, RESERVED_KEYS, coerce, is_empty
from ..models import Attribute, AttributeType, Contact, ContactTag, MassEditJob, MassEditStatus, Tag, Target
from ..phones import InvalidPhone, normalize
from ..selectors import CriteriaError, apply_criteria, attributes_for, contacts_for

__all__ = [
    "create_default_attributes", "create_attribute", "update_attribute", "delete_attribute",
    "clean_attribute_values", "create_contact", "update_contact", "delete_contact", "tags_named",
    "create_target", "update_target", "duplicate_target", "delete_target", "clean_criteria",
    "mass_edit", "MassEditResult", "bulk_add_tags", "attribute_errors", "count_launch",
    "mass_edit_in_background", "selection_contacts", "queue_mass_edit", "run_mass_edit_job",
    "resume_stalled_mass_edit", "mass_edit_jobs_for",
]


# --- attributes -----------------------------------------------------------------------------

def create_default_attributes(company) -> None:
    """The attributes every company starts with (idempotent)."""
    existing = set(Attribute.objects.for_company(company).values_list("key", flat=True))
    Attribute.objects.bulk_create([
        Attribute(company=company, key=key, name=name, type=type_, values=values, show_in_profile=profile,
                  position=i)
        for i, (key, name, type_, values, profile) in enumerate(DEFAULT_ATTRIBUTES) if key not in existing
    ])


def _new_key(company, name: str) -> str:
    """A free key for a new attribute, from its name: ``Job title`` → ``job_title``; a
    name with no Latin letters gets ``attribute_<n>``; a clash gets ``_2``, ``_3`` …"""
    base = slugify(name).replace("-", "_").strip("_")[:56]
    if base and base[0].isdigit():
        base = "a_" + base
    if base in RESERVED_KEYS:
        return base  # refused by the caller with a message naming the attribute
    taken = set(Attribute.objects.for_company(company).values_list("key", flat=True))
    if not base:
        base = "attribute"
        n = 1
        while f"{base}_{n}" in taken:
            n += 1
        return f"{base}_{n}"
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}_{n}"
    return key


def _clean_attribute(company, name, type_, values, key=None, instance=None):
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Enter a name.")
    if type_ not in AttributeType.values:
        errors["type"] = _("Choose a type.")
    if len(name) > 100:
        errors["name"] = _("A name has at most %(n)d characters.") % {"n": 100}
    if key is None:
        key = _new_key(company, name)
    if instance is None and (not KEY_RE.match(key or "") or key in RESERVED_KEYS):
        errors["name"] = _("“%(n)s” cannot be used as an attribute name.") % {"n": name}
    clash = Attribute.objects.for_company(company).filter(name__iexact=name)
    if instance is not None:
        clash = clash.exclude(pk=instance.pk)
    if name and "name" not in errors and clash.exists():
        errors["name"] = _("An attribute named “%(n)s” already exists.") % {"n": name}
    values = [str(v).strip() for v in (values or []) if str(v).strip()]
    if type_ == AttributeType.LIST:
        if not values:
            errors["values"] = _("Give the allowed values of the list.")
        elif len({v.lower() for v in values}) != len(values):
            errors["values"] = _("The allowed values must differ.")
    else:
        values = []
    if errors:
        raise ValidationError(errors)
    return name, key, values


@transaction.atomic
def create_attribute(*, actor: Actor, company, name: str, type: str, values=(), show_in_profile=False) -> Attribute:
    name, key, values = _clean_attribute(company, name, type, values)
    position = (Attribute.objects.for_company(company).order_by("-position").values_list("position", flat=True)
                .first() or 0) + 1
    attr = Attribute.objects.create(company=company, key=key, name=name, type=type, values=values,
                                    show_in_profile=show_in_profile, position=position)
    audit.record(actor, "Added new attribute", [audit.created(attr)], company=company)
    return attr


@transaction.atomic
def update_attribute(*, actor: Actor, attribute: Attribute, name: str, type: str, values=(),
                     show_in_profile=False) -> Attribute:
    """Rename, change the allowed values or the profile flag. The type may change only
    while no contact has a value for the attribute (values would no longer fit)."""
    name, _key, values = _clean_attribute(attribute.company, name, type, values, key=attribute.key,
                                          instance=attribute)
    if type != attribute.type and contacts_for(attribute.company).filter(attributes__has_key=attribute.key).exists():
        raise ValidationError({"type": _("Contacts already have values for this attribute: its type cannot change.")})
    if type == AttributeType.LIST:
        removed = set(attribute.values) - set(values)
        if removed and contacts_for(attribute.company).filter(
                **{f"attributes__{attribute.key}__in": list(removed)}).exists():
            raise ValidationError({"values": _("Contacts use the value(s) %(v)s: keep them in the list.")
                                   % {"v": ", ".join(sorted(removed))}})
    before = audit.snapshot(attribute)
    attribute.name, attribute.type, attribute.values = name, type, values
    attribute.show_in_profile = show_in_profile
    attribute.save()
    audit.record(actor, "Changed attribute", [audit.updated(attribute, before)], company=attribute.company)
    return attribute


def _remove_key_everywhere(company, key: str) -> int:
    """Drop one attribute's value from every contact of the company, set-wise."""
    table = Contact._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"UPDATE {table} SET attributes = attributes - %s WHERE company_id = %s AND attributes ? %s",
                           [key, company.pk, key])
        else:
            cursor.execute(f"UPDATE {table} SET attributes = json_remove(attributes, %s) "
                           f"WHERE company_id = %s AND json_type(attributes, %s) IS NOT NULL",
                           [f"$.{key}", company.pk, f"$.{key}"])
        return cursor.rowcount


@transaction.atomic
def delete_attribute(*, actor: Actor, attribute: Attribute) -> int:
    """Delete an attribute and its values on every contact. Returns how many contacts
    lost a value. (The phone number is not an attribute and cannot be deleted.)"""
    change = audit.deleted(attribute)
    cleared = _remove_key_everywhere(attribute.company, attribute.key)
    company = attribute.company
    attribute.delete()
    audit.record(actor, f"Deleted attribute (values cleared on {cleared} contacts)", [change], company=company)
    return cleared


def attribute_errors(errors: dict) -> ValidationError:
    """A ValidationError on the field ``attributes`` with one message per wrong attribute
    (each message names the attribute); each error's ``code`` is the attribute key, so a
    form can put the message on that attribute's input.

    (``ValidationError({"attributes": {key: message}})`` cannot be built: Django only
    nests lists in a field's errors.)"""
    return ValidationError({"attributes": [ValidationError(str(msg), code=key) for key, msg in errors.items()]})


def clean_attribute_values(company, data: dict, *, attributes=None, partial=True) -> tuple[dict, list, dict]:
    """Validate ``{key: raw}`` against the company's attributes.

    Returns ``(values, cleared_keys, errors)``: typed values to set, keys whose value is
    empty (to clear), and ``{key: message}`` for unknown keys or wrong values."""
    attrs = attributes if attributes is not None else {a.key: a for a in attributes_for(company)}
    values, cleared, errors = {}, [], {}
    for key, raw in (data or {}).items():
        attr = attrs.get(key)
        if attr is None:
            errors[key] = _("There is no attribute “%(k)s”.") % {"k": key}
            continue
        if is_empty(raw):
            cleared.append(key)
            continue
        try:
            values[key] = coerce(attr.type, raw, attr.values, attr.name)
        except ValueError as exc:
            errors[key] = str(exc)
    return values, cleared, errors


# --- tags -------------------------------------------------------------------------------------

def tags_named(company, names) -> list[Tag]:
    """The company's tags with these names, created when missing (case-insensitive)."""
    wanted = {}
    for name in names or []:
        name = str(name).strip()
        if name:
            if len(name) > 100:
                raise ValidationError({"tags": _("A tag has at most 100 characters.")})
            wanted.setdefault(name.lower(), name)
    if not wanted:
        return []
    def lookup():
        return {t.lname: t for t in Tag.objects.for_company(company).annotate(lname=Lower("name"))
                .filter(lname__in=list(wanted))}

    existing = lookup()
    missing = [Tag(company=company, name=n) for low, n in wanted.items() if low not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = lookup()
    return [existing[low] for low in wanted if low in existing]


def bulk_add_tags(contact_ids, tags) -> None:
    rows = [ContactTag(contact_id=cid, tag_id=tag.pk) for cid in contact_ids for tag in tags]
    for start in range(0, len(rows), 5000):
        ContactTag.objects.bulk_create(rows[start:start + 5000], ignore_conflicts=True)


# --- contacts ---------------------------------------------------------------------------------

def _phone(company, raw):
    try:
        return normalize(raw, company.default_region)
    except InvalidPhone as exc:
        raise ValidationError({"phone": str(exc)})


WECHAT_ID_MAX = 64


def _wechat(value) -> str:
    value = str(value or "").strip()
    if len(value) > WECHAT_ID_MAX:
        raise ValidationError({"wechat_id": _("A WeChat ID has at most %(n)d characters.") % {"n": WECHAT_ID_MAX}})
    return value


@transaction.atomic
def create_contact(*, actor: Actor, company, phone, attributes=None, tags=(), wechat_id: str = "") -> Contact:
    number = _phone(company, phone)
    wechat_id = _wechat(wechat_id)
    values, _cleared, errors = clean_attribute_values(company, attributes or {})
    if errors:
        raise attribute_errors(errors)
    if contacts_for(company).filter(phone=number.e164).exists():
        raise ValidationError({"phone": _("A contact with the number %(p)s already exists.") % {"p": number.e164}})
    try:
        with transaction.atomic():
            contact = Contact.objects.create(company=company, phone=number.e164, country=number.country,
                                             mno=number.mno, attributes=values, wechat_id=wechat_id or "")
    except IntegrityError:
        raise ValidationError({"phone": _("A contact with the number %(p)s already exists.") % {"p": number.e164}})
    tag_objs = tags_named(company, tags)
    bulk_add_tags([contact.pk], tag_objs)
    audit.record(actor, "Added new contact", [audit.created(contact)], company=company)
    return contact


@transaction.atomic
def update_contact(*, actor: Actor, contact: Contact, phone=None, attributes=None, tags=None,
                   wechat_id: str | None = None, replace_attributes: bool = False) -> Contact:
    """Change a contact. ``attributes`` sets the given keys (an empty value clears one);
    with ``replace_attributes`` the given set replaces all values. ``tags`` (names), when
    given, replaces the contact's tags."""
    company = contact.company
    before = audit.snapshot(contact)
    if phone is not None:
        number = _phone(company, phone)
        if number.e164 != contact.phone and contacts_for(company).filter(phone=number.e164).exists():
            raise ValidationError({"phone": _("A contact with the number %(p)s already exists.")
                                   % {"p": number.e164}})
        contact.phone, contact.country, contact.mno = number.e164, number.country, number.mno
    if attributes is not None:
        values, cleared, errors = clean_attribute_values(company, attributes)
        if errors:
            raise attribute_errors(errors)
        merged = {} if replace_attributes else dict(contact.attributes)
        merged.update(values)
        for key in cleared:
            merged.pop(key, None)
        contact.attributes = merged
    if wechat_id is not None:
        contact.wechat_id = _wechat(wechat_id)
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:  # another writer took the number meanwhile
        raise ValidationError({"phone": _("A contact with the number %(p)s already exists.") % {"p": contact.phone}})
    if tags is not None:
        tag_objs = tags_named(company, tags)
        ContactTag.objects.filter(contact=contact).exclude(tag__in=tag_objs).delete()
        bulk_add_tags([contact.pk], tag_objs)
    audit.record(actor, "Changed contact", [audit.updated(contact, before)], company=company)
    return contact


@transaction.atomic
def delete_contact(*, actor: Actor, contact: Contact) -> None:
    change = audit.deleted(contact)
    company = contact.company
    contact.delete()
    audit.record(actor, "Deleted contact", [change], company=company)


# --- targets ----------------------------------------------------------------------------------

def clean_criteria(company, criteria) -> list[dict]:
    """Validate target criteria; raises ValidationError naming the wrong filter."""
    if not isinstance(criteria, list):
        raise ValidationError({"filters": _("Filters must be a list.")})
    cleaned = []
    for crit in criteria:
        if not isinstance(crit, dict):
            raise ValidationError({"filters": _("Each filter must be an object.")})
        item = {k: crit[k] for k in ("field", "mode", "value", "from", "to") if k in crit}
        item.setdefault("mode", "value")
        if item["mode"] == "value" and is_empty(item.get("value")):
            raise ValidationError({"filters": _("Give a value for the filter on %(f)s.") % {"f": item.get("field")}})
        if item["mode"] == "range" and is_empty(item.get("from")) and is_empty(item.get("to")):
            raise ValidationError({"filters": _("Give a lower or an upper bound for the range on %(f)s.")
                                   % {"f": item.get("field")}})
        cleaned.append(item)
    try:
        apply_criteria(contacts_for(company), company, cleaned)
    except CriteriaError as exc:
        raise ValidationError({"filters": str(exc)})
    return cleaned


TARGET_NAME_MAX = 200


def _target_name(name) -> str:
    name = str(name or "").strip()
    if not name:
        raise ValidationError({"name": _("Enter a name.")})
    if len(name) > TARGET_NAME_MAX:
        raise ValidationError({"name": _("A name has at most %(n)d characters.") % {"n": TARGET_NAME_MAX}})
    return name


@transaction.atomic
def create_target(*, actor: Actor, company, name: str, filters) -> Target:
    target = Target.objects.create(company=company, name=_target_name(name), filters=clean_criteria(company, filters))
    audit.record(actor, "Added new target", [audit.created(target)], company=company)
    return target


@transaction.atomic
def update_target(*, actor: Actor, target: Target, name: str, filters) -> Target:
    name = _target_name(name)
    before = audit.snapshot(target)
    target.name, target.filters = name, clean_criteria(target.company, filters)
    target.save()
    audit.record(actor, "Changed target", [audit.updated(target, before)], company=target.company)
    return target


@transaction.atomic
def duplicate_target(*, actor: Actor, target: Target) -> Target:
    suffix = _(" (copy)")
    copy = Target.objects.create(company=target.company, name=target.name[:TARGET_NAME_MAX - len(suffix)] + suffix,
                                 filters=list(target.filters))
    audit.record(actor, "Duplicated target", [audit.created(copy)], company=target.company)
    return copy


@transaction.atomic
def delete_target(*, actor: Actor, target: Target) -> None:
    change = audit.deleted(target)
    company = target.company
    target.delete()
    audit.record(actor, "Deleted target", [change], company=company)


def count_launch(target: Target) -> None:
    """Called by broadcasts when a run uses the target."""
    Target.objects.filter(pk=target.pk).update(launches=F("launches") + 1)


# --- mass edit (spec P§6.5) -----------------------------------------------------------------------

class MassEditResult(dict):
    pass


MASS_EDIT_CHUNK = 5000  # ids per statement: under SQLite's limit on bound parameters


def _chunks(ids, size=MASS_EDIT_CHUNK):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _set_and_clear(ids: list[int], values: dict, clear: set) -> int:
    """Set ``values`` and remove ``clear`` on these contacts; returns how many changed.
    PostgreSQL does it set-wise (``attributes - keys || values``); other databases merge
    in Python, chunk by chunk."""
    import json

    from django.utils import timezone

    now = timezone.now()
    table = Contact._meta.db_table
    changed = 0
    if connection.vendor == "postgresql":
        new = "(attributes - %s::text[]) || %s::jsonb"
        keys, patch = sorted(clear), json.dumps(values)
        with connection.cursor() as cursor:
            for chunk in _chunks(ids, 50_000):
                cursor.execute(f"UPDATE {table} SET attributes = {new}, updated_at = %s "
                               f"WHERE id = ANY(%s) AND attributes IS DISTINCT FROM {new}",
                               [keys, patch, now, chunk, keys, patch])
                changed += cursor.rowcount
        return changed
    for chunk in _chunks(ids):
        batch = []
        for contact in Contact.objects.filter(pk__in=chunk).only("pk", "attributes"):
            merged = dict(contact.attributes)
            merged.update(values)
            for key in clear:
                merged.pop(key, None)
            if merged != contact.attributes:
                contact.attributes, contact.updated_at = merged, now
                batch.append(contact)
        Contact.objects.bulk_update(batch, ["attributes", "updated_at"])
        changed += len(batch)
    return changed


def _tag_all(ids: list[int], tags) -> None:
    if connection.vendor != "postgresql":
        bulk_add_tags(ids, tags)
        return
    table = ContactTag._meta.db_table
    with connection.cursor() as cursor:
        for tag in tags:
            for chunk in _chunks(ids, 50_000):
                cursor.execute(f"INSERT INTO {table} (contact_id, tag_id) SELECT unnest(%s::bigint[]), %s "
                               f"ON CONFLICT (contact_id, tag_id) DO NOTHING", [chunk, tag.pk])


def _clean_edit(company, set_values, clear_keys) -> tuple[dict, set]:
    """The values to set and the keys to clear, checked; writes nothing."""
    values, cleared, errors = clean_attribute_values(company, set_values or {})
    if errors:
        raise attribute_errors(errors)
    clear = set(clear_keys) | set(cleared)
    known = {a.key for a in attributes_for(company)}
    unknown = clear - known
    if unknown:
        raise ValidationError({"attributes": _("There is no attribute “%(k)s”.") % {"k": ", ".join(sorted(unknown))}})
    return values, clear


def _refuse_whole_base(company, selected: int, select_all: bool = False) -> None:
    """Spec rule 2: deleting every contact of the company at once is not allowed."""
    if select_all or (selected and selected >= contacts_for(company).count()):
        raise PermissionDenied(_("Deleting all contacts at once is not allowed."))


def _delete_ids(ids: list[int]) -> int:
    deleted = 0
    for chunk in _chunks(ids):
        deleted += Contact.objects.filter(pk__in=chunk).delete()[1].get(Contact._meta.label, 0)
    return deleted


def _edit_ids(ids: list[int], values: dict, clear: set, tag_objs) -> int:
    changed = _set_and_clear(ids, values, clear) if (values or clear) and ids else 0
    if tag_objs and ids:
        _tag_all(ids, tag_objs)
    return changed


def _audit_delete(actor, company, deleted: int, selected: int, sample_ids: list, extra=None) -> None:
    audit.record(actor, f"Mass deleted {deleted} contacts",
                 [audit.Change(Contact._meta.db_table, "Delete", f"{selected} rows",
                               {"ids": sample_ids[:1000], **(extra or {})}, None)],
                 company=company)


def _audit_edit(actor, company, selected: int, values, clear, tag_names, extra=None) -> None:
    audit.record(actor, f"Mass edited {selected} contacts",
                 [audit.Change(Contact._meta.db_table, "Update", f"{selected} rows", None,
                               {"set": values, "clear": sorted(clear), "add_tags": list(tag_names),
                                **(extra or {})})],
                 company=company)


@transaction.atomic
def mass_edit(*, actor: Actor, company, contacts, select_all: bool = False, add_tags=(), set_values=None,
              clear_keys=(), delete: bool = False) -> MassEditResult:
    """Apply one edit to a selection of the company's contacts (a queryset). Deleting is
    refused when the selection is *all* contacts (spec rule 2).

    The selection is read once (its ids), so an edit that changes what a target's
    criteria look at still applies every part of it to the same contacts."""
    contacts = contacts.filter(company=company)
    ids = list(contacts.order_by().values_list("pk", flat=True))
    if delete:
        _refuse_whole_base(company, len(ids), select_all)
        deleted = _delete_ids(ids)
        _audit_delete(actor, company, deleted, len(ids), ids)
        return MassEditResult(deleted=deleted)
    values, clear = _clean_edit(company, set_values, clear_keys)
    tag_objs = tags_named(company, add_tags)
    changed = _edit_ids(ids, values, clear, tag_objs)
    _audit_edit(actor, company, len(ids), values, clear, [t.name for t in tag_objs])
    return MassEditResult(selected=len(ids), changed=changed, tagged=len(ids) if tag_objs else 0)


# --- mass edit of large selections, in the background ------------------------------------------------

MASS_EDIT_JOB_BATCH = 20_000  # contacts per committed batch of a job
MASS_EDIT_LEASE_NAMESPACE = 0x48524C46  # one worker runs a mass edit job
MASS_EDIT_MAX_ATTEMPTS = 5


def mass_edit_in_background(selected: int) -> bool:
    """Selections larger than ``HERALD_MASS_EDIT_SYNC_LIMIT`` are edited by a worker."""
    return selected > int(settings.HERALD_MASS_EDIT_SYNC_LIMIT)


def selection_contacts(company, selection: dict, user=None):
    """The company's contacts a stored selection describes — ``ids``, a ``target``, or
    ``all`` with the list's filters (a query string) — resolved as the page does."""
    contacts = contacts_for(company)
    mode = selection.get("mode")
    if mode == "ids":
        return contacts.filter(pk__in=[int(i) for i in selection.get("ids") or []])
    if mode == "target":
        target = Target.objects.for_company(company).filter(pk=selection.get("target") or 0).first()
        if target is None:
            raise ValidationError(_("The target of this edit no longer exists."))
        try:
            return apply_criteria(contacts, company, target.filters)
        except CriteriaError as exc:
            raise ValidationError(str(exc))
    if mode == "all":
        from types import SimpleNamespace

        from django.http import QueryDict

        from ..tables import ContactTable

        table = ContactTable(SimpleNamespace(user=user, GET=QueryDict(selection.get("filters") or "")), contacts,
                             company=company)
        if table.filter_errors:
            raise ValidationError(_("The list's filters are not valid."))
        return table.queryset.order_by()
    raise ValidationError(_("Select at least one contact."))


def _selects_all(selection: dict, user=None) -> bool:
    """``all`` without filters: every contact (spec rule 2)."""
    if selection.get("mode") != "all":
        return False
    from django.http import QueryDict

    return not any(k not in ("sort", "page", "per_page", "mass_edit") and v
                   for k, v in QueryDict(selection.get("filters") or "").items())


@transaction.atomic
def queue_mass_edit(*, actor: Actor, company, selection: dict, contacts, select_all: bool = False, add_tags=(),
                    set_values=None, clear_keys=(), delete: bool = False) -> MassEditJob:
    """Record a mass edit of a large selection and queue it. The edit is checked now (the
    same refusals as :func:`mass_edit`); nothing is written to the contacts here."""
    if delete:
        _refuse_whole_base(company, contacts.filter(company=company).count(), select_all or _selects_all(selection))
        values, clear, tag_names = {}, set(), []
    else:
        values, clear = _clean_edit(company, set_values, clear_keys)
        tag_names = [str(n).strip() for n in add_tags if str(n).strip()]
    job = MassEditJob.objects.create(
        company=company, created_by=actor.user, delete=delete, add_tags=tag_names, set_values=values,
        clear_keys=sorted(clear),
        selection={"mode": selection.get("mode"), "ids": [int(i) for i in selection.get("ids") or []],
                   "target": selection.get("target") or None, "filters": selection.get("filters") or ""})
    from ..tasks import run_mass_edit as task

    transaction.on_commit(lambda: task.delay(job.pk))
    return job


def _job_actor(job) -> Actor:
    return Actor(user=job.created_by, company=job.company)


def _fail_job(job, message: str) -> None:
    MassEditJob.objects.filter(pk=job.pk).update(status=MassEditStatus.FAILED, error_message=message,
                                                 finished_at=timezone.now())
    job.refresh_from_db()
    audit.record(_job_actor(job), f"Mass edit failed: {message}"[:255],
                 [audit.Change(MassEditJob._meta.db_table, "Update", str(job.pk), None,
                               {"status": job.status, "error": message[:500], "processed": job.processed})],
                 company=job.company)


def run_mass_edit_job(job) -> str:
    """Run (or continue) a mass edit job; returns its final status. Contacts are edited in
    ascending id order, ``batch`` per transaction, and each transaction commits the
    progress with ``last_id``: a job left RUNNING by a dead worker continues after the
    last committed batch, never editing a contact twice. One worker at a time (a lease);
    a second delivery of the task returns at once."""
    from .imports import _lease

    with _lease(job.pk, namespace=MASS_EDIT_LEASE_NAMESPACE) as held:
        if not held:
            return "busy"
        with transaction.atomic():
            job = (MassEditJob.objects.select_for_update(of=("self",)).select_related("company", "created_by")
                   .filter(pk=job.pk).first())
            if job is None or job.finished:
                return job.status if job else "gone"
            job.attempts += 1
            if job.status == MassEditStatus.QUEUED:
                job.status, job.started_at = MassEditStatus.RUNNING, timezone.now()
            job.save(update_fields=["attempts", "status", "started_at"])
        if job.attempts > MASS_EDIT_MAX_ATTEMPTS:
            _fail_job(job, _("The edit stopped %(n)d times and was abandoned after %(done)s of %(total)s "
                             "contacts.") % {"n": MASS_EDIT_MAX_ATTEMPTS, "done": job.processed, "total": job.total})
            return job.status
        try:
            return _run_job(job, MASS_EDIT_JOB_BATCH)
        except (ValidationError, PermissionDenied) as exc:
            _fail_job(job, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
            return job.status


def _next_batch(job, company, batch: int) -> tuple[list[int], int | None]:
    """The next ``batch`` selected contact ids after the checkpoint, ascending, and the new
    checkpoint (None when the selection is done)."""
    if job.selection.get("mode") == "ids":
        wanted = sorted(i for i in {int(i) for i in job.selection.get("ids") or []} if i > job.last_id)[:batch]
        if not wanted:
            return [], None
        ids = list(contacts_for(company).filter(pk__in=wanted).order_by("pk").values_list("pk", flat=True))
        return ids, wanted[-1]
    ids = list(selection_contacts(company, job.selection, job.created_by).filter(company=company)
               .filter(pk__gt=job.last_id).order_by("pk").values_list("pk", flat=True)[:batch])
    return ids, (ids[-1] if ids else None)


def _run_job(job, batch: int) -> str:
    company = job.company
    remaining = selection_contacts(company, job.selection, job.created_by).filter(company=company)
    remaining = remaining.filter(pk__gt=job.last_id)
    # Every refusal before the first write of this run.
    tag_objs, values, clear = [], {}, set()
    if job.delete:
        _refuse_whole_base(company, remaining.count(), _selects_all(job.selection))
    else:
        values, clear = _clean_edit(company, job.set_values, job.clear_keys)
    if not job.total:
        MassEditJob.objects.filter(pk=job.pk).update(total=job.processed + remaining.count())
    if not job.delete and job.add_tags:
        tag_objs = tags_named(company, job.add_tags)
    while True:
        with transaction.atomic():
            job = MassEditJob.objects.select_for_update(of=("self",)).select_related("company").get(pk=job.pk)
            ids, checkpoint = _next_batch(job, company, batch)
            if checkpoint is None:
                break
            job.last_id = checkpoint
            if not ids:  # explicit ids that no longer exist
                job.save(update_fields=["last_id"])
                continue
            if job.delete:
                # the rule again per batch: never the whole remaining base
                _refuse_whole_base(company, len(ids))
                job.deleted += _delete_ids(ids)
                if len(job.sample_ids) < 1000:
                    job.sample_ids = job.sample_ids + ids[:1000 - len(job.sample_ids)]
            else:
                job.changed += _edit_ids(ids, values, clear, tag_objs)
                job.tagged += len(ids) if tag_objs else 0
            job.processed += len(ids)
            job.total = max(job.total, job.processed)
            job.save(update_fields=["deleted", "sample_ids", "changed", "tagged", "processed", "last_id", "total"])
    with transaction.atomic():
        job.status, job.finished_at = MassEditStatus.DONE, timezone.now()
        job.total = job.processed
        job.save(update_fields=["status", "finished_at", "total"])
        extra = {"job": job.pk}
        if job.delete:
            _audit_delete(_job_actor(job), company, job.deleted, job.processed, job.sample_ids, extra)
        else:
            _audit_edit(_job_actor(job), company, job.processed, values, clear, [t.name for t in tag_objs], extra)
    return job.status


def resume_stalled_mass_edit(job) -> bool:
    """A job left RUNNING (or QUEUED) with no worker holding it is queued again; called by
    the status poll. It continues from its checkpoint."""
    from .imports import _lease

    if job.status != MassEditStatus.RUNNING:
        return False
    with _lease(job.pk, namespace=MASS_EDIT_LEASE_NAMESPACE) as held:
        if not held or not MassEditJob.objects.filter(pk=job.pk, status=MassEditStatus.RUNNING).exists():
            return False
    from ..tasks import run_mass_edit as task

    transaction.on_commit(lambda: task.delay(job.pk))
    return True


def mass_edit_jobs_for(company):
    return MassEditJob.objects.for_company(company)
