"""Phone numbers: parse to E.164 with ``phonenumbers``, derive country and MNO.

``normalize`` is the one way a number enters Herald (forms, imports, the API, MOs). It
is pure; the operator lookup is cached per process. The import runs it in worker
processes, a million times per million rows, so the common case skips the library's
general-purpose machinery while keeping its answers exactly:

* a number of plain digits, international (``+…``, ``00…``) or national in the default
  region, is read by ``_read_international``/``_read_national``, which do what
  ``phonenumbers.parse`` does with such digits; whatever needs one of its harder rules (a
  national or international prefix to strip, an unknown code, a bad length, non-ASCII
  digits, unusual punctuation) goes to ``phonenumbers.parse`` itself;
* the number's type and region come from ``_type_and_region``, the library's
  ``number_type``/``region_code_for_number`` with each region's patterns compiled once.
  The type answers both ``is_valid_number`` (valid = a known type) and whether the number
  may have an operator (``carrier.name_for_number`` answers only for mobile,
  fixed-line-or-mobile and pager numbers).

These mirror the library's code (``phonenumberutil.parse``, ``_number_type_helper``) and
read its metadata: ``tests/test_phones_fast.py`` compares every step and every answer with
the library's on every region's example numbers and on random digit strings, and must pass
again after each ``phonenumbers`` upgrade.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
from django.utils.translation import gettext as _
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumber, PhoneNumberType, carrier
from phonenumbers.carrierdata import CARRIER_DATA
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

_ALLOWED = re.compile(r"^[\d\s().+\-/]+$")
_NON_DIGITS = re.compile(r"\D")
# The types ``carrier.name_for_number`` gives an operator for (its ``_is_mobile``).
_CARRIER_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.PAGER})
# Calling codes as written, for the library's rule "the first 1, 2 or 3 digits that are a
# known code" (codes never start with 0, so the written form is the number's prefix).
_CALLING_CODES = {str(code): code for code in COUNTRY_CODE_TO_REGION_CODE}
# ``phonenumbers.parse``'s bounds on a national significant number.
_NSN_MIN, _NSN_MAX = 2, 17


class InvalidPhone(ValueError):
    """The number cannot be used; ``str(exc)`` says why, in the user's words."""


@dataclass(frozen=True)
class Phone:
    e164: str
    country: str
    mno: str


class _TypePatterns:
    """``phonenumberutil._number_type_helper`` for one region's metadata, with the patterns
    compiled once (the library looks each one up in ``re``'s cache on every call)."""

    # The order in which the library tries the types; fixed line and mobile come last.
    _ORDER = ((PhoneNumberType.PREMIUM_RATE, "premium_rate"), (PhoneNumberType.TOLL_FREE, "toll_free"),
              (PhoneNumberType.SHARED_COST, "shared_cost"), (PhoneNumberType.VOIP, "voip"),
              (PhoneNumberType.PERSONAL_NUMBER, "personal_number"), (PhoneNumberType.PAGER, "pager"),
              (PhoneNumberType.UAN, "uan"), (PhoneNumberType.VOICEMAIL, "voicemail"))

    def __init__(self, metadata):
        self.general = self._desc(metadata.general_desc)
        # A description without a pattern never matches: it is left out.
        self.others = [(kind, desc) for kind, attr in self._ORDER
                       if (desc := self._desc(getattr(metadata, attr))) is not None]
        self.fixed_line = self._desc(metadata.fixed_line)
        self.mobile = self._desc(metadata.mobile)
        self.same_mobile_and_fixed_line = metadata.same_mobile_and_fixed_line_pattern

    @staticmethod
    def _desc(desc):
        """(possible lengths, compiled pattern), or None for a description that cannot match."""
        if desc is None or not desc.national_number_pattern:
            return None
        return desc.possible_length, re.compile(desc.national_number_pattern)

    @staticmethod
    def _matches(nsn: str, desc) -> bool:
        # ``_is_number_matching_desc``: the length is checked only when lengths are given.
        if desc is None:
            return False
        lengths, pattern = desc
        return (not lengths or len(nsn) in lengths) and pattern.fullmatch(nsn) is not None

    def type_of(self, nsn: str):
        matches = self._matches
        if not matches(nsn, self.general):
            return PhoneNumberType.UNKNOWN
        size = len(nsn)
        for kind, (lengths, pattern) in self.others:  # ``_matches``, inlined: the hot loop
            if (not lengths or size in lengths) and pattern.fullmatch(nsn) is not None:
                return kind
        if matches(nsn, self.fixed_line):
            if self.same_mobile_and_fixed_line or matches(nsn, self.mobile):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_mobile_and_fixed_line and matches(nsn, self.mobile):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN


@dataclass(frozen=True)
class _CallingCode:
    """What ``normalize`` needs of a calling code's metadata, computed once per process.

    ``national_prefix``: the main region's ``national_prefix_for_parsing`` (what ``parse``
    may strip after the code); ``regions``: (region, ``leading_digits`` pattern, type
    patterns) in the library's order, for ``region_code_for_number``."""
    national_prefix: re.Pattern | None
    regions: tuple


@cache
def _calling_code(code: int) -> _CallingCode:
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    main = PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0]) if regions else None
    prefix = main.national_prefix_for_parsing if main is not None else None
    entries = []
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is None:
            entries.append((region, None, None))
            continue
        leading = metadata.leading_digits
        entries.append((region, None if leading is None else re.compile(leading), _TypePatterns(metadata)))
    return _CallingCode(re.compile(prefix) if prefix else None, tuple(entries))


def _read_international(digits: str) -> tuple[int, str] | None:
    """``phonenumbers.parse("+" + digits, region)`` as (calling code, national significant
    number), for digits that need none of its harder rules; None means "ask the library".

    For ``+`` and ASCII digits ``parse`` takes the first 1–3 digits that are a known code
    and keeps the rest as they are, unless the main region's national prefix pattern
    matches them (it may strip the prefix), they are fewer than 2 or more than 17 (an
    error), there are fewer than 3 digits in all (not a number) or no code is known (it
    retries as a national number). Those cases are left to the library, and in the others
    the default ``region`` changes nothing."""
    if len(digits) < 3 or not digits.isascii():
        return None
    for size in (1, 2, 3):
        code = _CALLING_CODES.get(digits[:size])
        if code is not None:
            break
    else:
        return None
    nsn = digits[size:]
    prefix = _calling_code(code).national_prefix
    if not _NSN_MIN <= len(nsn) <= _NSN_MAX or (prefix is not None and prefix.match(nsn)):
        return None
    return code, nsn


# National numbers ``_read_national`` reads: ASCII digits and the punctuation ``parse``
# removes (no "+", which would make the number international, no other white space).
_PLAIN_NATIONAL = re.compile(r"[0-9 ().\-/]+")


@cache
def _default_region(region: str) -> tuple[int, str, re.Pattern | None, re.Pattern | None]:
    """(calling code, as text, ``international_prefix``, ``national_prefix_for_parsing``)
    of a region ``parse`` knows."""
    metadata = PhoneMetadata.metadata_for_region(region)
    idd, prefix = metadata.international_prefix, metadata.national_prefix_for_parsing
    return (metadata.country_code, str(metadata.country_code), re.compile(idd) if idd is not None else None,
            re.compile(prefix) if prefix else None)


def _read_national(text: str, digits: str, region: str | None) -> tuple[int, str] | None:
    """``phonenumbers.parse(text, region)`` as (calling code, national significant number)
    for a plain national number; None means "ask the library".

    ``parse`` reads such a number as the region's, digits unchanged, unless they start with
    the region's international prefix or calling code (it may read them as international),
    its national prefix pattern matches them (it may strip the prefix) or they are fewer
    than 2 or more than 17: those cases are left to the library."""
    if (region not in phonenumbers.SUPPORTED_REGIONS or not _PLAIN_NATIONAL.fullmatch(text)
            or not _NSN_MIN <= len(digits) <= _NSN_MAX):
        return None
    code, code_text, international_prefix, national_prefix = _default_region(region)
    if ((international_prefix is not None and international_prefix.match(digits)) or digits.startswith(code_text)
            or (national_prefix is not None and national_prefix.match(digits))):
        return None
    return code, digits


def _read_with_library(text: str, region: str | None) -> tuple[int, str]:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            raise InvalidPhone(_("“%(v)s” does not start with a known country calling code.") % {"v": text[:40]})
        raise InvalidPhone(_("“%(v)s” cannot be read as a phone number (%(why)s).") % {"v": text[:40], "why": exc})
    return number.country_code, phonenumbers.national_significant_number(number)


def _type_and_region(code: int, nsn: str):
    """(``phonenumbers.number_type``, ``phonenumbers.region_code_for_number``) of the number:
    for a code shared by several regions the region is the first whose ``leading_digits``
    match, or else whose patterns know the number, and the type is that region's."""
    regions = _calling_code(code).regions
    if len(regions) == 1:
        region, _leading, types = regions[0]
        return (PhoneNumberType.UNKNOWN if types is None else types.type_of(nsn)), region
    for region, leading, types in regions:
        if types is None:
            continue
        if leading is not None:
            if leading.match(nsn):
                return types.type_of(nsn), region
        elif (kind := types.type_of(nsn)) != PhoneNumberType.UNKNOWN:
            return kind, region
    return PhoneNumberType.UNKNOWN, None


def _phone_number(code: int, nsn: str) -> PhoneNumber:
    """The ``PhoneNumber`` ``parse`` makes of this national significant number: leading zeros
    (Italian numbers) are flags, as in ``_set_italian_leading_zeros_for_phone_number``."""
    number = PhoneNumber(country_code=code, national_number=int(nsn))
    if len(nsn) > 1 and nsn[0] == "0":
        number.italian_leading_zero = True
        zeros = len(nsn) - len(nsn.lstrip("0"))
        zeros = min(zeros, len(nsn) - 1)  # an all-zero number keeps its last 0
        if zeros != 1:
            number.number_of_leading_zeros = zeros
    return number


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


def _carrier(code: int, nsn: str, e164: str, number_type) -> str:
    """The operator the number range was assigned to (indicative: numbers may be ported);
    the same answer as ``carrier.name_for_number(number, "en")``."""
    if number_type not in _CARRIER_TYPES:
        return ""
    key = e164[:1 + _carrier_key_len(code)]
    mno = _MNO_BY_PREFIX.get(key)
    if mno is None:
        mno = carrier.name_for_valid_number(_phone_number(code, nsn), "en")
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
    region = (default_region or "").upper() or None
    if text.startswith("00"):
        digits = digits[2:]
        text = "+" + digits
    elif text.startswith("+") or not default_region:
        text = "+" + digits
    read = _read_international(digits) if text[0] == "+" else _read_national(text, digits, region)
    code, nsn = read or _read_with_library(text, region)
    number_type, country = _type_and_region(code, nsn)
    if number_type == PhoneNumberType.UNKNOWN:
        main_region = phonenumbers.region_code_for_country_code(code)
        if main_region == "ZZ":
            raise InvalidPhone(_("“%(v)s”: +%(cc)d is not a country calling code.") % {"v": text[:40], "cc": code})
        raise InvalidPhone(_("“%(v)s” is not a valid number for %(region)s (wrong length or prefix).")
                           % {"v": text[:40], "region": main_region})
    e164 = f"+{code}{nsn}"
    return Phone(e164=e164, country=country or "", mno=_carrier(code, nsn, e164, number_type))


def try_normalize(raw, default_region: str = "") -> tuple[Phone | None, str | None]:
    try:
        return normalize(raw, default_region), None
    except InvalidPhone as exc:
        return None, str(exc)
