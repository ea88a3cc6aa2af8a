"""Typed attribute values: one coercion used by every path in (form, import, API), so a
value is valid the same way wherever it comes from."""

from __future__ import annotations

import datetime
import decimal
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from .models import AttributeType

TEXT_MAX = 1000
TRUE_WORDS = {"1", "true", "yes", "y", "si", "sí", "on", "✓"}
FALSE_WORDS = {"0", "false", "no", "n", "off", "✗"}
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y")

# The attributes every company starts with (spec P§6.1): key, name, type, allowed values, shown in profile.
DEFAULT_ATTRIBUTES = (
    ("name", "Name", AttributeType.TEXT, [], True),
    ("surname", "Surname", AttributeType.TEXT, [], False),
    ("city", "City", AttributeType.TEXT, [], False),
    ("email", "Email", AttributeType.EMAIL, [], False),
    ("gender", "Gender", AttributeType.LIST, ["m", "f"], False),
    ("job_title", "Job title", AttributeType.TEXT, [], False),
    ("address", "Address", AttributeType.TEXT, [], False),
    ("country", "Country", AttributeType.TEXT, [], False),
    ("age", "Age", AttributeType.NUMBER, [], False),
    ("birthday", "Birthday", AttributeType.DATE, [], False),
)

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# A plain ASCII address (dot-atom local part, host names, a letters-only top-level domain):
# a strict subset of what Django's ``validate_email`` accepts, checked in ~1 µs instead of
# ~6 µs. Anything else (quoted local parts, IDN, IP literals, mistakes) goes through
# ``validate_email`` itself, so the same addresses are accepted and refused as before.
_PLAIN_EMAIL = re.compile(r"[a-z0-9_%+\-]+(?:\.[a-z0-9_%+\-]+)*@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+"
                          r"[a-z]{2,63}", re.IGNORECASE | re.ASCII)
RESERVED_KEYS = {"phone", "phonenumber", "phone_number", "tags", "id", "country_code", "mno"}


def is_empty(raw) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


def coerce(attr_type: str, raw, allowed=(), name: str = ""):
    """The JSON value to store for ``raw``, ``None`` for "no value", or ``ValueError`` with
    a message that names the attribute and says what is wrong."""
    if is_empty(raw):
        return None
    label = name or attr_type
    if attr_type == AttributeType.TEXT:
        value = str(raw).strip() if not isinstance(raw, float) or not raw.is_integer() else str(int(raw))
        if len(value) > TEXT_MAX:
            raise ValueError(_("%(attr)s: at most %(n)d characters.") % {"attr": label, "n": TEXT_MAX})
        return value
    if attr_type == AttributeType.EMAIL:
        value = str(raw).strip()
        if len(value) <= 320 and _PLAIN_EMAIL.fullmatch(value):
            return value
        try:
            validate_email(value)
        except ValidationError:
            raise ValueError(_("%(attr)s: “%(v)s” is not an e-mail address.") % {"attr": label, "v": value[:60]})
        return value
    if attr_type == AttributeType.LIST:
        value = str(raw).strip()
        for option in allowed:
            if option.lower() == value.lower():
                return option
        raise ValueError(_("%(attr)s: “%(v)s” is not one of the allowed values (%(opts)s).")
                         % {"attr": label, "v": value[:60], "opts": ", ".join(allowed)})
    if attr_type == AttributeType.NUMBER:
        if isinstance(raw, bool):
            raise ValueError(_("%(attr)s: “%(v)s” is not a number.") % {"attr": label, "v": raw})
        if isinstance(raw, (int, float, decimal.Decimal)):
            number = decimal.Decimal(str(raw))
        else:
            text = str(raw).strip().replace(" ", "")
            if "," in text and "." not in text:
                text = text.replace(",", ".")
            try:
                number = decimal.Decimal(text)
            except decimal.InvalidOperation:
                raise ValueError(_("%(attr)s: “%(v)s” is not a number.") % {"attr": label, "v": str(raw)[:60]})
        if not number.is_finite():
            raise ValueError(_("%(attr)s: “%(v)s” is not a number.") % {"attr": label, "v": str(raw)[:60]})
        return int(number) if number == number.to_integral_value() else float(number)
    if attr_type == AttributeType.DATE:
        if isinstance(raw, datetime.datetime):
            return raw.date().isoformat()
        if isinstance(raw, datetime.date):
            return raw.isoformat()
        text = str(raw).strip()
        for fmt in DATE_FORMATS:
            try:
                return datetime.datetime.strptime(text, fmt).date().isoformat()
            except ValueError:
                continue
        raise ValueError(_("%(attr)s: “%(v)s” is not a date (use YYYY-MM-DD or DD.MM.YYYY).")
                         % {"attr": label, "v": text[:60]})
    if attr_type == AttributeType.BOOL:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if isinstance(raw, (int, float)):
            word = str(int(raw))
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(_("%(attr)s: “%(v)s” is not yes or no.") % {"attr": label, "v": str(raw)[:60]})
    raise ValueError(_("Unknown attribute type %(t)s.") % {"t": attr_type})


def display(attr_type: str, value) -> str:
    """A stored value as the portal shows it."""
    if value is None:
        return ""
    if attr_type == AttributeType.BOOL:
        return _("Yes") if value else _("No")
    if attr_type == AttributeType.DATE:
        try:
            return datetime.date.fromisoformat(value).strftime("%d.%m.%Y")
        except (TypeError, ValueError):
            return str(value)
    return str(value)
