"""``phones.normalize`` reads plain numbers and finds their type and region without
``phonenumbers``' general-purpose code: each of those steps must give the library's answer
for every input, and ``normalize`` as a whole the answer (number or message) it gives when
every step is left to the library."""

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from contacts import phones

TYPES = [kind for kind in vars(PhoneNumberType).values() if isinstance(kind, int) and kind != PhoneNumberType.UNKNOWN]
REGIONS = ["ES", "GB", "IT", "US", "CA", "RU", "KZ", "DE", "AR", "BR", "MX", "FR", "AU", "IN", "CN", "001", "ZZ", "gb", ""]
EDGE_CASES = [
    "+390612345678", "+39 06 1234 5678", "0039061234567", "+3900012345", "+39000", "+3901", "+390",  # Italian zeros
    "+16502530000", "+14165550123", "+18092345678", "+12423570000", "+11234567890", "+1 650 253 0000",  # NANP
    "+79123456789", "+77012345678", "+78001234567", "+7 495 123-45-67", "+7840123456",  # +7: RU, KZ, Abkhazia
    "+447911123456", "+4407911123456", "+44 020 7946 0000", "+4401", "+441800201234",  # +44 with a 0 after the code
    "+4930123456", "+49301234567890", "+4915123456789", "+49 1512 3456789", "+491",  # +49, variable length
    "+34612345678", "+3461234567", "+346123456789", "+34 000 000 000", "0034612345678", "+340612345678",
    "+99912345678", "+999", "+0034612345678", "+00", "+8001234567", "+80012345678", "+97212345678",
    "+5491123456789", "+54 9 11 2345-6789", "+5511987654321", "+555512345678", "+525512345678",
    "612345678", "0612345678", "0207946000", "34612345678", "6502530000", "8 912 345 67 89", "00",
    "+12", "001", "0001", "+00000000000", "+11111111111111111", "+٣٤612345678", "٦١٢٣٤٥٦٧٨",
]


def example_numbers():
    """Every region's (and non-geographic code's) example number of every type."""
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                yield region, example
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        yield "001", phonenumbers.example_number_for_non_geo_entity(code)


def written_forms():
    """(text, default region): the example numbers as ``+…``, ``00…``, with spaces and
    national in their region, one digit longer, shorter or changed, plus the edge cases."""
    rng = random.Random(11)
    for region, example in example_numbers():
        e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
        digits = list(e164[1:])
        i = rng.randrange(len(digits))
        digits[i] = str((int(digits[i]) + 1) % 10)
        for text in (e164, e164[:-1], e164 + "7", "+" + "".join(digits)):
            yield text, ""
            yield "00" + text[1:], region
        yield phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL), region
        yield phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL), region
        yield phonenumbers.national_significant_number(example), region
    for text in EDGE_CASES:
        for region in REGIONS:
            yield text, region


def random_forms(count):
    """Seeded random digit strings of 3 to 17 digits, half of them after a real calling code
    (with or without a 0 after it), written ``+…``, ``00…`` or national (plain or with
    punctuation), in several regions."""
    rng = random.Random(5)
    codes = sorted(COUNTRY_CODE_TO_REGION_CODE)
    for _ in range(count):
        length = rng.randint(3, 17)
        digits = "".join(rng.choice("0123456789") for _ in range(length))
        if rng.random() < 0.5:
            digits = (str(rng.choice(codes)) + ("0" if rng.random() < 0.2 else "") + digits)[:length]
        text = rng.choice(["+" + digits, "00" + digits, digits, "+" + digits[:2] + " " + digits[2:],
                           f"({digits[:3]}) {digits[3:6]}-{digits[6:8]}.{digits[8:]}/", f"{digits[:2]}\t{digits[2:]}"])
        yield text, rng.choice(REGIONS)


def answer(text, region):
    try:
        phone = phones.normalize(text, region)
    except phones.InvalidPhone as exc:
        return str(exc)
    return phone.e164, phone.country, phone.mno


def library_type_and_region(code, nsn):
    number = phones._phone_number(code, nsn)
    return phonenumbers.number_type(number), phonenumbers.region_code_for_number(number)


@pytest.fixture
def library_answer(monkeypatch):
    """``normalize`` with every number read by ``phonenumbers.parse`` and typed by
    ``number_type``/``region_code_for_number``."""
    def library_answer(text, region):
        with monkeypatch.context() as patch:
            patch.setattr(phones, "_read_international", lambda digits: None)
            patch.setattr(phones, "_read_national", lambda text, digits, region: None)
            patch.setattr(phones, "_type_and_region", library_type_and_region)
            return answer(text, region)
    return library_answer


def library_reading(text, region):
    """(code, national significant number, the PhoneNumber) from ``phonenumbers.parse``, or
    None when it refuses the text."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number.country_code, phonenumbers.national_significant_number(number), number


def test_every_step_gives_the_librarys_answer():
    """Reading (international and national), type, region, E.164 and the rebuilt
    ``PhoneNumber`` (the operator's input)."""
    inputs = list(written_forms()) + list(random_forms(20_000))
    read_fast = disagree = 0
    for text, region in inputs:
        region = region.upper() or None
        written = "".join(c for c in text if c.isdecimal())
        readings = [(phones._read_international(digits), "+" + digits)
                    for digits in {written, written[2:]}]  # with "+", or after an "00"
        if region:
            readings.append((phones._read_national(text.strip(), written, region), text))
        for fast, as_parsed in readings:
            reading = library_reading(as_parsed, region)
            if fast is not None:
                read_fast += 1
                disagree += reading is None or fast != reading[:2]
            if reading is not None:
                code, nsn, number = reading
                disagree += phones._type_and_region(code, nsn) != library_type_and_region(code, nsn)
                disagree += phones._phone_number(code, nsn) != number
                disagree += f"+{code}{nsn}" != phonenumbers.format_number(number, PhoneNumberFormat.E164)
    assert disagree == 0
    assert read_fast > len(inputs) // 4  # the fast readings are the common case, not a corner


def test_normalize_answers_as_with_the_library_alone(library_answer, monkeypatch):
    monkeypatch.setattr(phones, "_MNO_BY_PREFIX", {})
    disagree = []
    for text, region in list(written_forms()) + list(random_forms(20_000)):
        got, expected = answer(text, region), library_answer(text, region)
        if got != expected:
            disagree.append((text, region, got, expected))
    assert disagree == []


@pytest.mark.parametrize(("text", "region", "e164", "country"), [
    ("+390612345678", "", "+390612345678", "IT"),  # the 0 is part of the Italian number
    ("+14165550123", "ES", "+14165550123", "CA"),  # +1 shared by 25 regions
    ("+77012345678", "", "+77012345678", "KZ"),
    ("+44 020 7946 0000", "ES", "+442079460000", "GB"),  # the national 0 after +44 is dropped
    ("06 1234 5678", "IT", "+390612345678", "IT"),
    ("(612) 34-56.78", "es", "+34612345678", "ES"),
])
def test_shared_codes_and_leading_zeros(text, region, e164, country):
    phone = phones.normalize(text, region)
    assert (phone.e164, phone.country) == (e164, country)


def test_unknown_codes_and_bad_lengths_keep_their_messages():
    assert str(pytest.raises(phones.InvalidPhone, phones.normalize, "+99912345678").value) == \
        "“+99912345678” does not start with a known country calling code."
    assert "is not a valid number for ES" in str(pytest.raises(phones.InvalidPhone, phones.normalize, "+3461234567").value)
    assert "too short to be a phone number" in str(pytest.raises(phones.InvalidPhone, phones.normalize, "+341").value)
