"""Phone numbers: parse to E.164 with ``phonenumbers``, derive country and MNO.

``normalize`` is the one way a number enters Herald (forms, imports, the API, MOs). It
is pure; the operator lookup is cached per process. The import runs it in worker
processes, a million times per million rows, so it asks ``phonenumbers`` each question
once: the number's type is computed once and gives both the validity
(``is_valid_number`` is exactly "the type is not UNKNOWN") and whether the number may
have an operator (``carrier.name_for_number`` answers only for mobile, fixed-line-or-
mobile and pager numbers). ``tests/test_phones.py`` checks the answers against the
library's own functions on every region's example numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from django.utils.translation import gettext as _
from phonenumbers import NumberParseException, PhoneNumberType, carrier
from phonenumbers.carrierdata import CARRIER_DATA

_ALLOWED = re.compile(r"^[\d\s().+\-/]+$")
_NON_DIGITS = re.compile(r"\D")
_E164 = phonenumbers.PhoneNumberFormat.E164
# The types ``carrier.name_for_number`` gives an operator for (its ``_is_mobile``).
_CARRIER_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.PAGER})


class InvalidPhone(ValueError):
    """The number cannot be used; ``str(exc)`` says why, in the user's words."""


@dataclass(frozen=True)
class Phone:
    e164: str
    country: str
    mno: str


# The operator of a number is the longest prefix of its digits found in the carrier data
# (``carrier.name_for_valid_number``). Calling codes are prefix-free, so for a calling code
# only the data's keys that start with it can match, and the answer depends on no more
# digits than the longest of those keys: that many digits are the cache key (e.g. 7 for
# Spain, so "+346123" for every number of that range).
_MNO_BY_PREFIX: dict[str, str] = {}
_MNO_CACHE_SIZE = 200_000
_CARRIER_KEY_LEN: dict[int, int] = {}


def _carrier_key_len(country_code: int) -> int:
    length = _CARRIER_KEY_LEN.get(country_code)
    if length is None:
        code = str(country_code)
        length = max((len(k) for k in CARRIER_DATA if k.startswith(code)), default=len(code))
        _CARRIER_KEY_LEN[country_code] = length
    return length


def _carrier(number, e164: str, number_type) -> str:
    """The operator the number range was assigned to (indicative: numbers may be ported);
    the same answer as ``carrier.name_for_number(number, "en")``."""
    if number_type not in _CARRIER_TYPES:
        return ""
    key = e164[:1 + _carrier_key_len(number.country_code)]
    mno = _MNO_BY_PREFIX.get(key)
    if mno is None:
        mno = carrier.name_for_valid_number(number, "en")
        if len(_MNO_BY_PREFIX) < _MNO_CACHE_SIZE:
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
    digits = _NON_DIGITS.sub("", text)
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
    # One type computation answers ``is_valid_number`` (valid = a known type) and the
    # carrier's "mobile?" question.
    number_type = phonenumbers.number_type(number)
    if number_type == PhoneNumberType.UNKNOWN:
        region = phonenumbers.region_code_for_country_code(number.country_code)
        if region == "ZZ":
            raise InvalidPhone(_("“%(v)s”: +%(cc)d is not a country calling code.") % {"v": text[:40],
                                                                                         "cc": number.country_code})
        raise InvalidPhone(_("“%(v)s” is not a valid number for %(region)s (wrong length or prefix).")
                           % {"v": text[:40], "region": region})
    e164 = phonenumbers.format_number(number, _E164)
    country = phonenumbers.region_code_for_number(number) or ""
    return Phone(e164=e164, country=country, mno=_carrier(number, e164, number_type))


def try_normalize(raw, default_region: str = "") -> tuple[Phone | None, str | None]:
    try:
        return normalize(raw, default_region), None
    except InvalidPhone as exc:
        return None, str(exc)
