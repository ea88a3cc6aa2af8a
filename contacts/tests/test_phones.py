"""``phones.normalize`` asks ``phonenumbers`` each question once (one type computation for
validity and the operator, an operator cache per number range) and ``attributes.coerce``
checks plain e-mail addresses with a quick pattern: both must answer exactly as the
library and Django's validator do. Also: the contacts table keeps one GIN index."""

import random

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection
from phonenumbers import PhoneNumberType, carrier

from contacts import phones
from contacts.attributes import coerce
from contacts.models import AttributeType

TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE, PhoneNumberType.PREMIUM_RATE,
         PhoneNumberType.VOIP, PhoneNumberType.PAGER, PhoneNumberType.UAN, PhoneNumberType.SHARED_COST,
         PhoneNumberType.PERSONAL_NUMBER, PhoneNumberType.VOICEMAIL)


def sample_numbers():
    """Every region's example number of every type, plus the same numbers one digit
    longer, shorter or changed (many of them invalid)."""
    rng = random.Random(3)
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            digits = list(e164[1:])
            i = rng.randrange(len(str(example.country_code)), len(digits))
            digits[i] = str((int(digits[i]) + 1) % 10)
            numbers += [e164, e164[:-1], e164 + "7", "+" + "".join(digits)]
    return numbers


def reference(text):
    """What the library's own functions say: (valid, E.164, country, operator)."""
    number = phonenumbers.parse(text, None)
    if not phonenumbers.is_valid_number(number):
        return (False, None, None, None)
    return (True, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
            phonenumbers.region_code_for_number(number) or "", carrier.name_for_number(number, "en"))


def test_normalize_agrees_with_the_library_on_every_regions_numbers(monkeypatch):
    monkeypatch.setattr(phones, "_MNO_BY_PREFIX", {})
    numbers = sample_numbers()
    assert len(numbers) > 3000
    disagree = []
    for text in numbers:
        try:
            expected = reference(text)
        except phonenumbers.NumberParseException:
            continue  # normalize refuses these with its own message (tested in test_contact_services)
        phone, _why = phones.try_normalize(text)
        got = (False, None, None, None) if phone is None else (True, phone.e164, phone.country, phone.mno)
        if got != expected:
            disagree.append((text, got, expected))
    assert disagree == []


def test_an_operator_does_not_depend_on_the_numbers_read_before(monkeypatch):
    """A voice-mail number and a mobile number of the same range: the first has no
    operator, the second has one (the cache is per range *and* asks only for mobiles)."""
    monkeypatch.setattr(phones, "_MNO_BY_PREFIX", {})
    voicemail = phonenumbers.example_number_for_type("DE", PhoneNumberType.VOICEMAIL)
    voicemail = phonenumbers.format_number(voicemail, phonenumbers.PhoneNumberFormat.E164)
    mobile = voicemail[:10] + "3456"  # same first 9 digits, a mobile number
    assert phonenumbers.number_type(phonenumbers.parse(mobile)) == PhoneNumberType.MOBILE
    assert phones.normalize(voicemail).mno == ""
    assert phones.normalize(mobile).mno == carrier.name_for_number(phonenumbers.parse(mobile), "en") != ""


def test_the_operator_cache_is_keyed_by_the_carrier_datas_prefix_length(monkeypatch):
    monkeypatch.setattr(phones, "_MNO_BY_PREFIX", {})
    for n in range(600_000_000, 700_000_000, 1_000_003):
        phones.normalize(f"+34{n}")
    # Spanish operator prefixes have at most 7 digits: "+34" and 5 more digits per entry
    assert {len(k) for k in phones._MNO_BY_PREFIX} == {1 + phones._carrier_key_len(34)}
    assert phones._carrier_key_len(34) <= 9


@pytest.mark.parametrize("text", ["+34612345678", "+4915123456789", "+16502530000", "+447911123456"])
def test_invalid_numbers_keep_their_message(text):
    number = text[:-1] + "99999"  # too long for every plan here
    with pytest.raises(phones.InvalidPhone, match="is not a valid number for"):
        phones.normalize(number)


EMAILS = [
    "ana.1@example.com", "a_b+c%d-e@sub.example.co.uk", "A.B@EXAMPLE.ES", "x@a-b.io",
    "a..b@example.com", ".a@example.com", "a.@example.com", "a@-x.com", "a@x-.com", "a@x.c", "a@x.c0m",
    "a@x..com", "a@localhost", "a@[127.0.0.1]", "a@[300.1.1.1]", '"quoted local"@example.com', "a@xn--bcher-kva.ch",
    "a@bücher.ch", "a b@example.com", "ü@example.com", "\u212a@example.com", "a@example.com.", "@example.com",
    "a@", "a", "a@@example.com", "a@" + "x" * 63 + ".com", "a@" + "x" * 64 + ".com", "a@example." + "x" * 64,
    "x" * 310 + "@example.com", "a@exa_mple.com", "a@example.c-m", "a@123.com", "!#$&'*/=?^`{|}~@example.com",
]


@pytest.mark.parametrize("email", EMAILS)
def test_email_values_are_accepted_and_refused_as_djangos_validator_does(email):
    try:
        validate_email(email)
        expected = email
    except ValidationError:
        expected = None
    try:
        got = coerce(AttributeType.EMAIL, email, name="Email")
    except ValueError as exc:
        assert expected is None, f"{email!r} refused: {exc}"
        assert str(exc) == f"Email: “{email[:60]}” is not an e-mail address."
    else:
        assert got == expected


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the GIN index is PostgreSQL's")
def test_the_contacts_table_keeps_one_gin_index_on_attributes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'contacts_contact' "
                       "AND indexdef ILIKE '%%USING gin%%'")
        indexes = cursor.fetchall()
    assert [name for name, _d in indexes] == ["contacts_contact_attributes_gin"]
    assert "jsonb_path_ops" in indexes[0][1]
