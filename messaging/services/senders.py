"""Sender IDs (spec P§11.2, gap G22): every rule of the portal's registration requests and
of the BackOffice's status changes. The pages and the BackOffice call these functions; the
messaging engine reads the result through ``messaging.selectors.active_sender``.

Who does what:

* a portal user with *Manage Sender IDs* requests **SMS** and **RCS** sender IDs:
  ``create_sender_id`` (a *Draft*, or *Submitted* at once with "Send application"),
  ``update_sender_id``, ``submit_sender_id``, ``cancel_sender_id``, ``delete_sender_id``;
* the system owner (BackOffice) registers the other channels' sender IDs, moves the
  statuses (*In progress*, *Testing*, *Done*, *Active*, *Rejected*, *Blocked*, *Canceled*)
  and sets the identifier the operator assigned (``set_status``, ``backoffice_save``).

Status rules (spec P§11.2):

=============  ===================================================================
Edit           *Draft*, *Submitted*, *Done*, *Active* (SMS and RCS only)
Cancel         *Draft*, *Submitted*, *In progress*, *Testing*, *Done* → *Canceled*
Delete         *Draft*, *Canceled*, *Rejected*
Webhook URL    set or changed only once approved (*Done*, *Active*)
Send           only *Active* sender IDs send (``messaging.selectors.active_sender``);
               an *Active* sender ID must carry its operator-assigned identifier
=============  ===================================================================

Editing keeps the status (a *Draft* becomes *Submitted* when its application is sent).

Limits of the forms:

* SMS (G22): *Sender ID Name* is an alphanumeric sender of at most 11 characters (Latin
  letters, digits, spaces and ``. - _ &``, at least one letter) or a numeric sender of at
  most 15 digits (an optional leading ``+``); description (100), agreement (100), sample
  message (1000).
* RCS (the bot information): name 40, description 100, logo JPG/PNG exactly 240x240 and at
  most 90 KB, background JPG/PNG exactly 1440x448 and at most 120 KB (checked by reading
  the image, never by the file name), up to 2 phone numbers / websites / e-mails each with
  a button text of at most 25 characters, contact name, color ``#RRGGBB`` (default black),
  privacy policy / terms of service / webhook URLs (http or https).

The RCS details live in ``SenderId.registration``: ``{"contact_name", "phones",
"websites", "emails", "color", "privacy_url", "terms_url", "webhook_url"}`` where phones,
websites and e-mails are lists of ``{"value", "label"}`` (phones in E.164).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, UnidentifiedImageError

from contacts.phones import InvalidPhone, normalize
from portal import audit
from portal.audit import Actor
from portal.channel_types import Channel

from ..models import SenderId, SenderIdStatus

__all__ = [
    "PORTAL_CHANNELS", "EDITABLE", "CANCELABLE", "DELETABLE", "WEBHOOK_EDITABLE", "BACKOFFICE_STATUSES",
    "NAME_MAX", "DESCRIPTION_MAX", "AGREEMENT_MAX", "LABEL_MAX", "CONTACT_NAME_MAX", "URL_MAX",
    "SAMPLE_MESSAGE_MAX", "ENTRIES_MAX", "SMS_ALPHANUMERIC_MAX", "SMS_NUMERIC_MAX", "DEFAULT_COLOR",
    "ImageRule", "LOGO", "BACKGROUND", "check_image", "clean_sms_name",
    "check_editable", "can_edit", "can_submit", "can_cancel", "can_delete", "is_portal_channel",
    "create_sender_id", "update_sender_id", "submit_sender_id", "cancel_sender_id", "delete_sender_id",
    "set_status", "backoffice_save", "check_active_identifier",
]

S = SenderIdStatus
PORTAL_CHANNELS = (Channel.SMS, Channel.RCS)
EDITABLE = frozenset({S.DRAFT, S.SUBMITTED, S.DONE, S.ACTIVE})
CANCELABLE = frozenset({S.DRAFT, S.SUBMITTED, S.IN_PROGRESS, S.TESTING, S.DONE})
DELETABLE = frozenset({S.DRAFT, S.CANCELED, S.REJECTED})
WEBHOOK_EDITABLE = frozenset({S.DONE, S.ACTIVE})
# The statuses the system owner moves a request to in the BackOffice.
BACKOFFICE_STATUSES = (S.IN_PROGRESS, S.TESTING, S.DONE, S.ACTIVE, S.REJECTED, S.BLOCKED, S.CANCELED)

NAME_MAX = SenderId._meta.get_field("name").max_length  # 40
DESCRIPTION_MAX = SenderId._meta.get_field("description").max_length  # 100
AGREEMENT_MAX = SenderId._meta.get_field("agreement").max_length  # 100
SENDER_ID_MAX = SenderId._meta.get_field("sender_id").max_length  # 100
LABEL_MAX = 25
CONTACT_NAME_MAX = 100
URL_MAX = 500
SAMPLE_MESSAGE_MAX = 1000
ENTRIES_MAX = 2
SMS_ALPHANUMERIC_MAX = 11
SMS_NUMERIC_MAX = 15
DEFAULT_COLOR = "#000000"

_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_NUMERIC_SENDER = re.compile(r"^\+?\d+$")
_ALPHANUMERIC_ALLOWED = re.compile(r"[A-Za-z0-9 .\-_&]")


# --- images -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImageRule:
    field: str
    label: str
    width: int
    height: int
    max_kb: int


LOGO = ImageRule("logo", gettext_lazy("Logo"), 240, 240, 90)
BACKGROUND = ImageRule("background", gettext_lazy("Background image"), 1440, 448, 120)
_IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png"}


def check_image(upload, rule: ImageRule) -> str:
    """Check an uploaded image by its content: JPG or PNG, exactly the rule's size in
    pixels, at most its weight. Returns the file extension of the real format; raises a
    ``ValidationError`` saying what is wrong."""
    label = str(rule.label)
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, 2)
        size = upload.tell()
    if size > rule.max_kb * 1024:
        raise ValidationError(_("%(label)s: the file is %(size).1f KB; the most is %(max)d KB.")
                              % {"label": label, "size": size / 1024, "max": rule.max_kb})
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            image_format, dimensions = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(_("%(label)s: the file is not a JPG or PNG image.") % {"label": label})
    finally:
        upload.seek(0)
    if image_format not in _IMAGE_FORMATS:
        raise ValidationError(_("%(label)s: the image is a %(format)s; use a JPG or PNG image.")
                              % {"label": label, "format": image_format})
    if dimensions != (rule.width, rule.height):
        raise ValidationError(_("%(label)s: the image is %(w)dx%(h)d pixels; it must be exactly %(rw)dx%(rh)d.")
                              % {"label": label, "w": dimensions[0], "h": dimensions[1],
                                 "rw": rule.width, "rh": rule.height})
    return _IMAGE_FORMATS[image_format]


# --- field rules ----------------------------------------------------------------------------------

def clean_sms_name(raw) -> str:
    """An SMS sender ID name: an alphanumeric sender (at most 11 Latin letters, digits,
    spaces and ``. - _ &``, with at least one letter) or a numeric sender (at most 15 digits,
    an optional leading ``+``; spaces are dropped). Raises a ``ValidationError`` naming the
    rule that failed."""
    name = " ".join(str(raw or "").split())
    if not name:
        raise ValidationError(_("Enter the sender ID name."))
    compact = name.replace(" ", "")
    if _NUMERIC_SENDER.match(compact):
        digits = len(compact.lstrip("+"))
        if digits > SMS_NUMERIC_MAX:
            raise ValidationError(
                _("A numeric sender ID has at most %(max)d digits; this one has %(n)d.")
                % {"max": SMS_NUMERIC_MAX, "n": digits})
        return compact
    wrong = sorted({ch for ch in name if not _ALPHANUMERIC_ALLOWED.match(ch)})
    if wrong:
        raise ValidationError(
            _("An alphanumeric sender ID may use only Latin letters, digits, spaces and . - _ &; "
              "not allowed: %(chars)s") % {"chars": " ".join(f"“{ch}”" for ch in wrong)})
    if len(name) > SMS_ALPHANUMERIC_MAX:
        raise ValidationError(
            _("An alphanumeric sender ID has at most %(max)d characters; this one has %(n)d. "
              "(A numeric sender ID may have up to %(digits)d digits.)")
            % {"max": SMS_ALPHANUMERIC_MAX, "n": len(name), "digits": SMS_NUMERIC_MAX})
    return name


def _text(data: dict, key: str, limit: int, label, errors: dict, *, required: bool = False) -> str:
    value = str(data.get(key) or "").strip()
    if required and not value:
        errors.setdefault(key, []).append(_("%(label)s is required.") % {"label": label})
    elif len(value) > limit:
        errors.setdefault(key, []).append(
            _("%(label)s has at most %(max)d characters; this one has %(n)d.") % {"label": label, "max": limit,
                                                                                   "n": len(value)})
    return value


_url_validator = URLValidator(schemes=["http", "https"])
_email_validator = EmailValidator()


def _url_problem(value: str) -> str | None:
    if len(value) > URL_MAX:
        return _("the address has %(n)d characters; the most is %(max)d.") % {"n": len(value), "max": URL_MAX}
    try:
        _url_validator(value)
    except ValidationError:
        return _("“%(v)s” is not a web address; enter a full address starting with https:// or http://.") % {
            "v": value[:80]}
    return None


def _url(data: dict, key: str, label, errors: dict) -> str:
    value = str(data.get(key) or "").strip()
    if value:
        problem = _url_problem(value)
        if problem:
            errors.setdefault(key, []).append(f"{label}: {problem}")
    return value


_ENTRY_KINDS = {
    # key: (the entry's name, "at most" message)
    "phones": (gettext_lazy("Phone number"), gettext_lazy("At most %(max)d phone numbers; remove %(extra)d.")),
    "websites": (gettext_lazy("Website"), gettext_lazy("At most %(max)d websites; remove %(extra)d.")),
    "emails": (gettext_lazy("E-mail"), gettext_lazy("At most %(max)d e-mails; remove %(extra)d.")),
}


def _entries(data: dict, key: str, errors: dict, region: str) -> list[dict]:
    """A list of ``{"value", "label"}`` (phone numbers, websites, e-mails): at most 2, each
    value valid, each button text at most 25 characters. Blank rows are dropped."""
    noun, too_many = _ENTRY_KINDS[key]
    rows = []
    for item in data.get(key) or ():
        if isinstance(item, dict):
            value, label = item.get("value"), item.get("label")
        else:
            value, label = item
        value, label = str(value or "").strip(), str(label or "").strip()
        if value or label:
            rows.append((value, label))
    problems = []
    if len(rows) > ENTRIES_MAX:
        problems.append(str(too_many) % {"max": ENTRIES_MAX, "extra": len(rows) - ENTRIES_MAX})
    cleaned = []
    for n, (value, label) in enumerate(rows, start=1):
        prefix = f"{noun} {n}"
        if not value:
            problems.append(_("%(entry)s: enter it, or clear its button text.") % {"entry": prefix})
            continue
        if len(label) > LABEL_MAX:
            problems.append(_("%(entry)s: the button text has at most %(max)d characters; this one has %(n)d.")
                            % {"entry": prefix, "max": LABEL_MAX, "n": len(label)})
        if key == "phones":
            try:
                value = normalize(value, region).e164
            except InvalidPhone as exc:
                problems.append(f"{prefix}: {exc}")
        elif key == "websites":
            problem = _url_problem(value)
            if problem:
                problems.append(f"{prefix}: {problem}")
        else:
            try:
                _email_validator(value)
            except ValidationError:
                problems.append(_("%(entry)s: “%(v)s” is not an e-mail address.") % {"entry": prefix,
                                                                                      "v": value[:80]})
        cleaned.append({"value": value, "label": label})
    if problems:
        errors.setdefault(key, []).extend(problems)
    return cleaned


def _clean_common(data: dict, channel: int, errors: dict) -> dict:
    if channel == Channel.SMS:
        try:
            name = clean_sms_name(data.get("name"))
        except ValidationError as exc:
            errors.setdefault("name", []).extend(exc.messages)
            name = ""
    else:
        name = _text(data, "name", NAME_MAX, _("Sender ID Name"), errors, required=True)
    return {
        "name": name,
        "description": _text(data, "description", DESCRIPTION_MAX, _("Description"), errors),
        "agreement": _text(data, "agreement", AGREEMENT_MAX, _("Agreement"), errors),
    }


def _clean_rcs(data: dict, errors: dict, *, region: str, status: str, current: dict) -> dict:
    color = str(data.get("color") or "").strip() or DEFAULT_COLOR
    if not _COLOR.match(color):
        errors.setdefault("color", []).append(
            _("Color: “%(v)s” is not a color; use the #RRGGBB form, e.g. #1A73E8.") % {"v": color[:20]})
    webhook = _url(data, "webhook_url", _("Webhook URL"), errors)
    if webhook != (current.get("webhook_url") or "") and status not in WEBHOOK_EDITABLE:
        errors.setdefault("webhook_url", []).append(
            _("The webhook URL can be set once the sender ID is approved (status Done or Active)."))
    return {
        "contact_name": _text(data, "contact_name", CONTACT_NAME_MAX, _("Contact name"), errors),
        "phones": _entries(data, "phones", errors, region),
        "websites": _entries(data, "websites", errors, region),
        "emails": _entries(data, "emails", errors, region),
        "color": color.lower(),
        "privacy_url": _url(data, "privacy_url", _("Privacy policy URL"), errors),
        "terms_url": _url(data, "terms_url", _("Terms of service URL"), errors),
        "webhook_url": webhook,
    }


def _clean_images(images: dict, errors: dict) -> dict:
    """``{"logo": upload|None, "background": upload|None}`` → the checked uploads with their
    real extensions."""
    checked = {}
    for rule in (LOGO, BACKGROUND):
        upload = images.get(rule.field)
        if not upload:
            continue
        try:
            checked[rule.field] = (upload, check_image(upload, rule))
        except ValidationError as exc:
            errors.setdefault(rule.field, []).extend(exc.messages)
    return checked


# --- status rules ---------------------------------------------------------------------------------

def is_portal_channel(channel) -> bool:
    return channel in PORTAL_CHANNELS


def can_edit(sender: SenderId) -> bool:
    return is_portal_channel(sender.channel) and sender.status in EDITABLE


def can_submit(sender: SenderId) -> bool:
    return is_portal_channel(sender.channel) and sender.status == S.DRAFT


def can_cancel(sender: SenderId) -> bool:
    return sender.status in CANCELABLE


def can_delete(sender: SenderId) -> bool:
    return sender.status in DELETABLE


def _status_label(status) -> str:
    return str(S(status).label)


def _labels(statuses: Iterable) -> str:
    return ", ".join(_status_label(s) for s in S if s in statuses)


def check_editable(sender: SenderId) -> None:
    """Raise a ``ValidationError`` saying why ``sender`` cannot be edited in the portal."""
    if not is_portal_channel(sender.channel):
        raise ValidationError(_(
            "%(channel)s sender IDs are registered by the system owner in the BackOffice; ask them "
            "for changes.") % {"channel": sender.get_channel_display()})
    if sender.status not in EDITABLE:
        raise ValidationError(_(
            "A sender ID with status %(status)s cannot be edited; only %(allowed)s ones can.")
            % {"status": sender.get_status_display(), "allowed": _labels(EDITABLE)})


def _portal_channel(channel) -> int:
    try:
        channel = Channel(int(channel))
    except (TypeError, ValueError):
        raise ValidationError({"channel": _("Choose a channel: SMS or RCS.")})
    if channel not in PORTAL_CHANNELS:
        raise ValidationError({"channel": _(
            "%(channel)s sender IDs are registered by the system owner in the BackOffice; the portal "
            "takes requests for SMS and RCS only.") % {"channel": channel.label}})
    return channel.value


def _locked(sender: SenderId) -> SenderId:
    """The row again, locked until the transaction ends (a BackOffice status change and a
    user's action on the same sender ID do not cross)."""
    return SenderId.objects.select_for_update().get(pk=sender.pk)


def _refresh_into(sender: SenderId, fresh: SenderId) -> None:
    for f in SenderId._meta.concrete_fields:
        setattr(sender, f.attname, getattr(fresh, f.attname))


def _delete_files_on_commit(names: list[str], storage) -> None:
    names = [n for n in names if n]
    if names:
        transaction.on_commit(lambda: [storage.delete(n) for n in names])


def _store_images(sender: SenderId, checked: dict, remove: dict) -> list[str]:
    """Put the new images on the sender ID (unique file names, the real extension); return
    the names of the files they replace (deleted once the transaction commits)."""
    replaced = []
    for rule in (LOGO, BACKGROUND):
        file = getattr(sender, rule.field)
        if rule.field in checked:
            upload, ext = checked[rule.field]
            if file:
                replaced.append(file.name)
            file.save(f"{uuid.uuid4().hex}.{ext}", upload, save=False)
        elif remove.get(rule.field) and file:
            replaced.append(file.name)
            setattr(sender, rule.field, "")
    return replaced


# --- portal writes ---------------------------------------------------------------------------------

def create_sender_id(*, actor: Actor, company, channel, data: dict, logo=None, background=None,
                     submit: bool = False) -> SenderId:
    """A new SMS or RCS registration request: a *Draft*, or *Submitted* when ``submit``
    ("Send application"). ``data`` holds the form's values (see the module docstring)."""
    channel = _portal_channel(channel)
    status = S.SUBMITTED if submit else S.DRAFT
    errors: dict = {}
    fields = _clean_common(data, channel, errors)
    if channel == Channel.SMS:
        fields["sample_message"] = _text(data, "sample_message", SAMPLE_MESSAGE_MAX, _("Sample message"), errors)
        registration, checked = {}, {}
    else:
        registration = _clean_rcs(data, errors, region=company.default_region, status=status, current={})
        checked = _clean_images({"logo": logo, "background": background}, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        sender = SenderId(company=company, channel=channel, status=status, registration=registration,
                          created_by=actor.user, **fields)
        _store_images(sender, checked, {})
        sender.save()
        audit.record(actor, "Sent sender ID application" if submit else "Added new sender ID draft",
                     [audit.created(sender)], company=company)
    return sender


def update_sender_id(*, actor: Actor, sender: SenderId, data: dict, logo=None, background=None,
                     remove_logo: bool = False, remove_background: bool = False, submit: bool = False) -> SenderId:
    """Save the form of an SMS or RCS sender ID (*Draft*, *Submitted*, *Done* or *Active*).
    The status is kept, except a *Draft* whose application is sent (``submit``)."""
    with transaction.atomic():
        current = _locked(sender)
        check_editable(current)
        status = S.SUBMITTED if submit and current.status == S.DRAFT else current.status
        errors: dict = {}
        fields = _clean_common(data, current.channel, errors)
        if current.channel == Channel.SMS:
            fields["sample_message"] = _text(data, "sample_message", SAMPLE_MESSAGE_MAX, _("Sample message"),
                                             errors)
            registration, checked = current.registration, {}
        else:
            registration = {**(current.registration or {}),
                            **_clean_rcs(data, errors, region=current.company.default_region, status=current.status,
                                         current=current.registration or {})}
            checked = _clean_images({"logo": logo, "background": background}, errors)
        if errors:
            raise ValidationError(errors)
        before = audit.snapshot(current)
        for key, value in fields.items():
            setattr(current, key, value)
        current.registration = registration
        current.status = status
        replaced = _store_images(current, checked, {"logo": remove_logo, "background": remove_background})
        current.save()
        _delete_files_on_commit(replaced, current.logo.storage)
        action = "Sent sender ID application" if status != before["status"] else "Changed sender ID"
        audit.record(actor, action, [audit.updated(current, before)], company=current.company)
    _refresh_into(sender, current)
    return sender


def submit_sender_id(*, actor: Actor, sender: SenderId) -> SenderId:
    """Send a *Draft*'s application as it is: *Draft* → *Submitted*."""
    with transaction.atomic():
        current = _locked(sender)
        if not is_portal_channel(current.channel) or current.status != S.DRAFT:
            raise ValidationError(_("Only a draft's application can be sent; this sender ID is %(status)s.")
                                  % {"status": current.get_status_display()})
        if not current.name:
            raise ValidationError(_("Sender ID Name is required."))
        before = audit.snapshot(current)
        current.status = S.SUBMITTED
        current.save(update_fields=["status", "updated_at"])
        audit.record(actor, "Sent sender ID application", [audit.updated(current, before)], company=current.company)
    _refresh_into(sender, current)
    return sender


def cancel_sender_id(*, actor: Actor, sender: SenderId) -> SenderId:
    """Cancel a request: *Draft*, *Submitted*, *In progress*, *Testing* or *Done* →
    *Canceled*. An *Active*, *Blocked*, *Rejected* or already *Canceled* one cannot be."""
    with transaction.atomic():
        current = _locked(sender)
        if current.status not in CANCELABLE:
            raise ValidationError(_(
                "A sender ID with status %(status)s cannot be canceled; only %(allowed)s requests can.")
                % {"status": current.get_status_display(), "allowed": _labels(CANCELABLE)})
        before = audit.snapshot(current)
        current.status = S.CANCELED
        current.save(update_fields=["status", "updated_at"])
        audit.record(actor, "Canceled sender ID request", [audit.updated(current, before)], company=current.company)
    _refresh_into(sender, current)
    return sender


def delete_sender_id(*, actor: Actor, sender: SenderId) -> None:
    """Delete a *Draft*, *Canceled* or *Rejected* sender ID (and its images)."""
    with transaction.atomic():
        current = _locked(sender)
        if current.status not in DELETABLE:
            raise ValidationError(_(
                "A sender ID with status %(status)s cannot be deleted; cancel the request first "
                "(only %(allowed)s ones can be deleted).")
                % {"status": current.get_status_display(), "allowed": _labels(DELETABLE)})
        before = audit.snapshot(current)
        pk = current.pk
        files = [current.logo.name, current.background.name]
        current.delete()
        _delete_files_on_commit(files, current.logo.storage)
        audit.record(actor, "Deleted sender ID", [audit.deleted(current, before, pk=pk)], company=current.company)


# --- BackOffice writes ---------------------------------------------------------------------------

def check_active_identifier(status, sender_id: str) -> None:
    """An *Active* sender ID must carry the operator-assigned identifier messages are sent from."""
    if status == S.ACTIVE and not sender_id:
        raise ValidationError({"sender_id": _(
            "An Active sender ID needs its sender ID (the identifier the operator assigned): messages "
            "are sent from it.")})


def set_status(*, actor: Actor, sender: SenderId, status, sender_id: str | None = None) -> SenderId:
    """The system owner moves a sender ID to ``status`` (any status) and, when given, sets
    the operator-assigned ``sender_id``. *Active* needs a sender ID."""
    try:
        status = S(status)
    except ValueError:
        raise ValidationError({"status": _("Unknown status “%(s)s”.") % {"s": status}})
    with transaction.atomic():
        current = _locked(sender)
        identifier = current.sender_id if sender_id is None else str(sender_id).strip()
        if len(identifier) > SENDER_ID_MAX:
            raise ValidationError({"sender_id": _("The sender ID has at most %(max)d characters.")
                                   % {"max": SENDER_ID_MAX}})
        check_active_identifier(status, identifier)
        before = audit.snapshot(current)
        current.status, current.sender_id = status, identifier
        current.save(update_fields=["status", "sender_id", "updated_at"])
        audit.record(actor, f"Changed sender ID status to {status.label}", [audit.updated(current, before)],
                     company=current.company)
    _refresh_into(sender, current)
    return sender


def backoffice_save(*, actor: Actor, sender: SenderId, before: dict | None) -> SenderId:
    """Save a sender ID edited in the BackOffice (any channel, any status); ``before`` is
    the snapshot taken before the form changed it (None for a new one)."""
    sender.sender_id = (sender.sender_id or "").strip()
    check_active_identifier(sender.status, sender.sender_id)
    with transaction.atomic():
        sender.save()
        if before is None:
            audit.record(actor, "Added new sender ID (BackOffice)", [audit.created(sender)], company=sender.company)
        else:
            audit.record(actor, "Changed sender ID (BackOffice)", [audit.updated(sender, before)],
                         company=sender.company)
    return sender
