"""Tags (static marks on contacts): create, rename, delete, and put on / take off one
contact. Names are unique per company, case-insensitive, 1–100 characters.

``core.tags_named`` (find-or-create by name) and ``core.bulk_add_tags`` stay the set-wise
tools for imports, mass edit and the bulk API; the functions here are the audited single
writes the REST API (and any page) calls.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from portal import audit
from portal.audit import Actor

from ..models import Contact, ContactTag, Tag
from ..selectors import tags_for
from .core import bulk_add_tags, tags_named

__all__ = ["TAG_NAME_MAX", "create_tag", "rename_tag", "delete_tag", "tag_contact", "untag_contact"]

TAG_NAME_MAX = Tag._meta.get_field("name").max_length  # 100


def _clean_name(company, name, *, instance: Tag | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Enter a name.")})
    if len(name) > TAG_NAME_MAX:
        raise ValidationError({"name": _("A tag has at most %(n)d characters.") % {"n": TAG_NAME_MAX}})
    clash = tags_for(company).filter(name__iexact=name)
    if instance is not None:
        clash = clash.exclude(pk=instance.pk)
    if clash.exists():
        raise ValidationError({"name": _("A tag named “%(n)s” already exists.") % {"n": name}})
    return name


def _exists_error(name):
    return ValidationError({"name": _("A tag named “%(n)s” already exists.") % {"n": name}})


@transaction.atomic
def create_tag(*, actor: Actor, company, name: str) -> Tag:
    name = _clean_name(company, name)
    try:
        with transaction.atomic():
            tag = Tag.objects.create(company=company, name=name)
    except IntegrityError:  # a concurrent writer took the name between the check and the insert
        raise _exists_error(name)
    audit.record(actor, "Added new tag", [audit.created(tag)], company=company)
    return tag


@transaction.atomic
def rename_tag(*, actor: Actor, tag: Tag, name: str) -> Tag:
    name = _clean_name(tag.company, name, instance=tag)
    before = audit.snapshot(tag)
    tag.name = name
    try:
        with transaction.atomic():
            tag.save(update_fields=["name"])
    except IntegrityError:
        raise _exists_error(name)
    audit.record(actor, "Changed tag", [audit.updated(tag, before)], company=tag.company)
    return tag


@transaction.atomic
def delete_tag(*, actor: Actor, tag: Tag) -> int:
    """Delete a tag; it disappears from every contact. Returns how many contacts had it."""
    company = tag.company
    change = audit.deleted(tag)
    untagged = ContactTag.objects.filter(tag=tag).count()
    tag.delete()
    audit.record(actor, f"Deleted tag (removed from {untagged} contacts)", [change], company=company)
    return untagged


@transaction.atomic
def tag_contact(*, actor: Actor, contact: Contact, names) -> list[Tag]:
    """Add tags (by name; missing tags are created) to one contact; tags it already has
    stay. Returns the tags named."""
    tags = tags_named(contact.company, names)
    if not tags:
        raise ValidationError({"tags": _("Give at least one tag name.")})
    before = audit.snapshot(contact)
    bulk_add_tags([contact.pk], tags)
    audit.record(actor, "Changed contact tags", [audit.updated(contact, before)], company=contact.company)
    return tags


@transaction.atomic
def untag_contact(*, actor: Actor, contact: Contact, tag: Tag) -> bool:
    """Take one tag off a contact. Returns False when the contact did not have it."""
    if tag.company_id != contact.company_id:
        raise ValidationError({"tag": _("The tag belongs to another company.")})
    before = audit.snapshot(contact)
    removed, _detail = ContactTag.objects.filter(contact=contact, tag=tag).delete()
    if removed:
        audit.record(actor, "Changed contact tags", [audit.updated(contact, before)], company=contact.company)
    return bool(removed)
