"""Phone numbers: parse to E.164 with ``phonenumbers``, derive country and MNO.

``normalize`` is the one way a number enters Herald (forms, imports, the API, MOs). It
is pure and cached per process; the import runs it in worker processes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from django.utils.translation import gettext as _
from phonenumbers import NumberParseException, carrier

_ALLOWED = re.compile(r"^[\d\s().+\-/]+$")


class InvalidPhone(ValueError):
    """The number cannot be used; ``str(exc)`` says why, in the user's words."""


@dataclass(frozen=True)
class Phone:
    e164: str
    country: str
    mno: str


_MNO_BY_PREFIX: dict[str, str] = {}
_MNO_PREFIX_LEN = 10  # "+" and 9 digits: longer than the operator prefixes of the carrier data


def _carrier(number, e164: str) -> str:
    """The operator the number range was assigned to (indicative: numbers may be ported).
    Cached by number prefix, since ranges are assigned by prefix."""
    key = e164[:_MNO_PREFIX_LEN]
    mno = _MNO_BY_PREFIX.get(key)
    if mno is None:
        mno = carrier.name_for_number(number, "en") or ""
        if len(_MNO_BY_PREFIX) < 200_000:
            _MNO_BY_PREFIX[key] = mno
    return mno


def normalize(raw, default_region: str = "") -> Phone:
    """``raw`` → :class:`Phone`, or :class:`InvalidPhone` with the reason.

    Accepts ``+`` international form, ``00`` international prefix, or a national number
    read in ``default_region`` (the company's default phone region)."""
    text = "" if raw is None else str(raw).strip()
    if isinstance(raw, float) and raw.is_integer():  # spreadsheets give numbers as floats
        text = str(int(raw))
    if not text:
        raise InvalidPhone(_("The phone number is empty."))
    if not _ALLOWED.match(text):
        raise InvalidPhone(_("“%(v)s” is not a phone number: only digits, spaces, + ( ) - / are allowed.")
                           % {"v": text[:40]})
    digits = re.sub(r"\D", "", text)
    if len(digits) < 3 or len(digits) > 17:
        raise InvalidPhone(_("“%(v)s” has %(n)d digits: a phone number has 3 to 17.") % {"v": text[:40],
                                                                                           "n": len(digits)})
    if text.startswith("00"):
        text = "+" + digits[2:]
    elif text.startswith("+"):
        text = "+" + digits
    elif not default_region:
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, (default_region or "").upper() or None)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            raise InvalidPhone(_("“%(v)s” does not start with a known country calling code.") % {"v": text[:40]})
        raise InvalidPhone(_("“%(v)s” cannot be read as a phone number (%(why)s).") % {"v": text[:40], "why": exc})
    if not phonenumbers.is_valid_number(number):
        region = phonenumbers.region_code_for_country_code(number.country_code)
        if region == "ZZ":
            raise InvalidPhone(_("“%(v)s”: +%(cc)d is not a country calling code.") % {"v": text[:40],
                                                                                         "cc": number.country_code})
        raise InvalidPhone(_("“%(v)s” is not a valid number for %(region)s (wrong length or prefix).")
                           % {"v": text[:40], "region": region})
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    country = phonenumbers.region_code_for_number(number) or ""
    mno = _carrier(number, e164)
    return Phone(e164=e164, country=country, mno=mno)


def try_normalize(raw, default_region: str = "") -> tuple[Phone | None, str | None]:
    try:
        return normalize(raw, default_region), None
    except InvalidPhone as exc:
        return None, str(exc)
