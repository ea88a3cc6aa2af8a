"""Unit tests of the contact base's rules: phone numbers, typed attribute values, the
services for attributes, contacts, tags, targets and mass edit, and the filter criteria."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from contacts import selectors, services
from contacts.attributes import DEFAULT_ATTRIBUTES, coerce, display
from contacts.models import Attribute, AttributeType, Contact, ContactTag, Tag, Target
from contacts.phones import InvalidPhone, normalize, try_normalize
from portal.audit import Actor
from portal.models import AuditEvent

# --- phone numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize("raw, region, e164, country", [
    ("+34 612 34 56 78", "", "+34612345678", "ES"),
    ("0034612345678", "", "+34612345678", "ES"),
    ("612 345 678", "ES", "+34612345678", "ES"),
    ("(020) 7946 0958", "GB", "+442079460958", "GB"),
    ("+1 650-253-0000", "ES", "+16502530000", "US"),
    (34612345678.0, "", "+34612345678", "ES"),  # spreadsheets give numbers as floats
])
def test_numbers_are_stored_in_e164_with_their_country(raw, region, e164, country):
    phone = normalize(raw, region)
    assert (phone.e164, phone.country) == (e164, country)


def test_the_mobile_operator_is_derived():
    assert normalize("+34 612 34 56 78").mno  # an operator name from the number range
    assert normalize("+34612345678").mno == normalize("+34612345679").mno


@pytest.mark.parametrize("raw, message", [
    ("", "The phone number is empty."),
    ("12ab34", "only digits, spaces, + ( ) - / are allowed"),
    ("12", "a phone number has 3 to 17"),
    ("+999 1234567", "does not start with a known country calling code"),
    ("0099 91234567", "does not start with a known country calling code"),
    ("+34 12345", "is not a valid number for ES"),
])
def test_invalid_numbers_say_why(raw, message):
    with pytest.raises(InvalidPhone) as exc:
        normalize(raw, "ES")
    assert message in str(exc.value)
    phone, error = try_normalize(raw, "ES")
    assert phone is None and message in error


# --- typed values ------------------------------------------------------------------------------


@pytest.mark.parametrize("type_, raw, expected", [
    (AttributeType.TEXT, "  Madrid ", "Madrid"),
    (AttributeType.TEXT, 12.0, "12"),
    (AttributeType.EMAIL, "ana@example.com", "ana@example.com"),
    (AttributeType.NUMBER, "42", 42),
    (AttributeType.NUMBER, "4,5", 4.5),
    (AttributeType.NUMBER, 7, 7),
    (AttributeType.DATE, "2024-03-01", "2024-03-01"),
    (AttributeType.DATE, "01.03.2024", "2024-03-01"),
    (AttributeType.DATE, datetime.date(2024, 3, 1), "2024-03-01"),
    (AttributeType.BOOL, "yes", True),
    (AttributeType.BOOL, "sí", True),
    (AttributeType.BOOL, "0", False),
    (AttributeType.BOOL, False, False),
    (AttributeType.TEXT, "   ", None),
])
def test_coerce_types_values(type_, raw, expected):
    assert coerce(type_, raw) == expected


def test_list_values_take_the_allowed_spelling():
    assert coerce(AttributeType.LIST, "F", ["m", "f"]) == "f"
    with pytest.raises(ValueError, match="not one of the allowed values"):
        coerce(AttributeType.LIST, "x", ["m", "f"], "Gender")


@pytest.mark.parametrize("type_, raw, message", [
    (AttributeType.EMAIL, "not-an-email", "is not an e-mail address"),
    (AttributeType.NUMBER, "12abc", "is not a number"),
    (AttributeType.NUMBER, True, "is not a number"),
    (AttributeType.NUMBER, "nan", "is not a number"),
    (AttributeType.DATE, "31.02.2024", "is not a date"),
    (AttributeType.BOOL, "maybe", "is not yes or no"),
    (AttributeType.TEXT, "x" * 1001, "at most 1000 characters"),
])
def test_coerce_refuses_wrong_values_naming_the_attribute(type_, raw, message):
    with pytest.raises(ValueError) as exc:
        coerce(type_, raw, name="Thing")
    assert message in str(exc.value) and "Thing" in str(exc.value)


def test_display():
    assert display(AttributeType.DATE, "2024-03-01") == "01.03.2024"
    assert display(AttributeType.BOOL, True) == "Yes"
    assert display(AttributeType.NUMBER, 4.5) == "4.5"
    assert display(AttributeType.TEXT, None) == ""


# --- attributes --------------------------------------------------------------------------------


@pytest.fixture
def actor(company, admin_user):
    return Actor(user=admin_user, company=company)


def test_a_new_company_has_the_default_attributes_and_it_is_idempotent(company):
    keys = list(selectors.attributes_for(company).values_list("key", flat=True))
    assert keys == [a[0] for a in DEFAULT_ATTRIBUTES]
    services.create_default_attributes(company)
    assert selectors.attributes_for(company).count() == len(DEFAULT_ATTRIBUTES)


def test_create_attribute_derives_a_free_key(company, actor):
    kids = services.create_attribute(actor=actor, company=company, name="Kids count", type=AttributeType.NUMBER)
    assert kids.key == "kids_count" and kids.position > 0
    again = services.create_attribute(actor=actor, company=company, name="Kids-count!", type=AttributeType.TEXT)
    assert again.key == "kids_count_2"
    cyrillic = services.create_attribute(actor=actor, company=company, name="Хобби", type=AttributeType.TEXT)
    assert cyrillic.key == "attribute_1"
    digits = services.create_attribute(actor=actor, company=company, name="2nd phone", type=AttributeType.TEXT)
    assert digits.key == "a_2nd_phone"
    assert AuditEvent.objects.filter(company=company, action="Added new attribute").count() == 4


@pytest.mark.parametrize("name, type_, values, field, message", [
    ("", AttributeType.TEXT, [], "name", "Enter a name."),
    ("name", AttributeType.TEXT, [], "name", "already exists"),  # case-insensitive clash with "Name"
    ("Phone", AttributeType.TEXT, [], "name", "cannot be used as an attribute name"),
    ("Hobby", "colour", [], "type", "Choose a type."),
    ("Hobby", AttributeType.LIST, [], "values", "Give the allowed values"),
    ("Hobby", AttributeType.LIST, ["a", "A"], "values", "must differ"),
    ("x" * 101, AttributeType.TEXT, [], "name", "at most 100 characters"),
])
def test_create_attribute_refusals(company, actor, name, type_, values, field, message):
    with pytest.raises(ValidationError) as exc:
        services.create_attribute(actor=actor, company=company, name=name, type=type_, values=values)
    assert message in " ".join(exc.value.message_dict[field])


def test_list_values_are_trimmed_and_other_types_keep_none(company, actor):
    hobby = services.create_attribute(actor=actor, company=company, name="Hobby", type=AttributeType.LIST,
                                      values=[" chess ", "", "golf"])
    assert hobby.values == ["chess", "golf"]
    note = services.create_attribute(actor=actor, company=company, name="Note", type=AttributeType.TEXT, values=["x"])
    assert note.values == []


def test_update_attribute_type_only_while_no_contact_has_a_value(company, actor):
    attr = services.create_attribute(actor=actor, company=company, name="Score", type=AttributeType.TEXT)
    services.update_attribute(actor=actor, attribute=attr, name="Score", type=AttributeType.NUMBER)
    services.create_contact(actor=actor, company=company, phone="+34612345678", attributes={"score": "7"})
    with pytest.raises(ValidationError) as exc:
        services.update_attribute(actor=actor, attribute=attr, name="Score", type=AttributeType.TEXT)
    assert "type cannot change" in str(exc.value)
    renamed = services.update_attribute(actor=actor, attribute=attr, name="Points", type=AttributeType.NUMBER,
                                        show_in_profile=True)
    assert (renamed.name, renamed.key, renamed.show_in_profile) == ("Points", "score", True)


def test_a_used_list_value_cannot_be_removed(company, actor):
    gender = Attribute.objects.get(company=company, key="gender")
    services.create_contact(actor=actor, company=company, phone="+34612345678", attributes={"gender": "f"})
    with pytest.raises(ValidationError, match="keep them in the list"):
        services.update_attribute(actor=actor, attribute=gender, name="Gender", type=AttributeType.LIST, values=["m"])
    services.update_attribute(actor=actor, attribute=gender, name="Gender", type=AttributeType.LIST,
                              values=["m", "f", "x"])


def test_delete_attribute_removes_its_values_everywhere_and_says_how_many(company, other_company, actor):
    city = Attribute.objects.get(company=company, key="city")
    a = services.create_contact(actor=actor, company=company, phone="+34612345678",
                                attributes={"city": "Madrid", "name": "Ana"})
    services.create_contact(actor=actor, company=company, phone="+34612345679", attributes={"name": "Bea"})
    theirs = services.create_contact(actor=Actor.system(other_company), company=other_company, phone="+34612345678",
                                     attributes={"city": "Paris"})
    assert services.delete_attribute(actor=actor, attribute=city) == 1
    a.refresh_from_db()
    theirs.refresh_from_db()
    assert a.attributes == {"name": "Ana"}
    assert theirs.attributes == {"city": "Paris"}  # another company's values are theirs
    assert not Attribute.objects.filter(pk=city.pk).exists()


# --- contacts ----------------------------------------------------------------------------------


def test_create_contact_normalises_types_and_tags(company, actor):
    contact = services.create_contact(actor=actor, company=company, phone="612 34 56 78",
                                      attributes={"name": "Ana", "age": "34", "birthday": "17.05.1990", "city": ""},
                                      tags=["VIP", "vip", " news "], wechat_id="ana_wx")
    assert contact.phone == "+34612345678" and contact.country == "ES" and contact.mno
    assert contact.attributes == {"name": "Ana", "age": 34, "birthday": "1990-05-17"}
    assert sorted(contact.tags.values_list("name", flat=True)) == ["VIP", "news"]
    assert contact.wechat_id == "ana_wx"


def test_the_phone_number_is_the_duplicate_key_per_company(company, other_company, actor):
    services.create_contact(actor=actor, company=company, phone="+34612345678")
    with pytest.raises(ValidationError) as exc:
        services.create_contact(actor=actor, company=company, phone="0034 612 345 678")
    assert "already exists" in exc.value.message_dict["phone"][0]
    services.create_contact(actor=Actor.system(other_company), company=other_company, phone="+34612345678")


def test_invalid_phone_and_values_are_refused_with_their_reasons(company, actor):
    with pytest.raises(ValidationError) as exc:
        services.create_contact(actor=actor, company=company, phone="12ab")
    assert "only digits" in exc.value.message_dict["phone"][0]
    with pytest.raises(ValidationError) as exc:
        services.create_contact(actor=actor, company=company, phone="+34612345678",
                                attributes={"age": "old", "email": "nope", "nosuch": "x"})
    errors = {e.code: e.message for e in exc.value.error_dict["attributes"]}
    assert set(errors) == {"age", "email", "nosuch"}
    assert "Age" in errors["age"] and "not a number" in errors["age"]
    assert "There is no attribute" in errors["nosuch"]
    assert not Contact.objects.filter(company=company).exists()
    with pytest.raises(ValidationError) as exc:
        services.create_contact(actor=actor, company=company, phone="+34612345678", wechat_id="w" * 65)
    assert "wechat_id" in exc.value.message_dict


def test_update_contact_sets_clears_and_replaces_tags(company, actor):
    contact = services.create_contact(actor=actor, company=company, phone="+34612345678",
                                      attributes={"name": "Ana", "city": "Madrid"}, tags=["a", "b"])
    services.update_contact(actor=actor, contact=contact, attributes={"city": "", "age": 5}, tags=["b", "c"])
    contact.refresh_from_db()
    assert contact.attributes == {"name": "Ana", "age": 5}
    assert sorted(contact.tags.values_list("name", flat=True)) == ["b", "c"]
    services.update_contact(actor=actor, contact=contact, attributes={"surname": "Ruiz"}, replace_attributes=True)
    contact.refresh_from_db()
    assert contact.attributes == {"surname": "Ruiz"}
    assert AuditEvent.objects.filter(company=company, action="Changed contact").count() == 2


def test_update_contact_phone_keeps_the_key_unique(company, actor):
    services.create_contact(actor=actor, company=company, phone="+34612345678")
    other = services.create_contact(actor=actor, company=company, phone="+34612345679")
    with pytest.raises(ValidationError, match="already exists"):
        services.update_contact(actor=actor, contact=other, phone="+34 612 345 678")
    services.update_contact(actor=actor, contact=other, phone="+44 20 7946 0958")
    other.refresh_from_db()
    assert (other.phone, other.country) == ("+442079460958", "GB")


def test_delete_contact(company, actor):
    contact = services.create_contact(actor=actor, company=company, phone="+34612345678", tags=["x"])
    services.delete_contact(actor=actor, contact=contact)
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not ContactTag.objects.exists()
    assert Tag.objects.filter(company=company, name="x").exists()  # tags stay


def test_tags_named_finds_case_insensitively_and_creates_missing(company, other_company):
    Tag.objects.create(company=company, name="VIP")
    Tag.objects.create(company=other_company, name="news")
    tags = services.tags_named(company, ["vip", "News", "", "vip"])
    assert [t.name for t in tags] == ["VIP", "News"]
    assert all(t.company_id == company.pk for t in tags)
    with pytest.raises(ValidationError):
        services.tags_named(company, ["x" * 101])


# --- targets and criteria ----------------------------------------------------------------------


@pytest.fixture
def people(company, actor):
    services.create_attribute(actor=actor, company=company, name="VIP", type=AttributeType.BOOL)
    rows = [
        ("+34612345671", {"name": "Ana", "city": "Madrid", "age": 34, "gender": "f", "birthday": "1990-05-17",
                          "vip": True}, ["news"]),
        ("+34612345672", {"name": "Bea", "city": "Bilbao", "age": 17, "gender": "f", "vip": False}, []),
        ("+34612345673", {"name": "Carl", "age": 61, "gender": "m"}, ["news", "golf"]),
        ("+442079460958", {"name": "Dan", "email": "dan@example.com"}, []),
    ]
    return {r[1]["name"]: services.create_contact(actor=actor, company=company, phone=r[0], attributes=r[1], tags=r[2])
            for r in rows}


def names(qs):
    return sorted(qs.values_list("attributes__name", flat=True))


@pytest.mark.parametrize("criteria, expected", [
    ([], ["Ana", "Bea", "Carl", "Dan"]),
    ([{"field": "attribute:city", "mode": "value", "value": "mad"}], ["Ana"]),
    ([{"field": "attribute:gender", "mode": "value", "value": "F"}], ["Ana", "Bea"]),
    ([{"field": "attribute:age", "mode": "range", "from": "18", "to": "65"}], ["Ana", "Carl"]),
    ([{"field": "attribute:age", "mode": "range", "to": 17}], ["Bea"]),
    ([{"field": "attribute:age", "mode": "value", "value": "61"}], ["Carl"]),
    ([{"field": "attribute:birthday", "mode": "range", "from": "01.01.1990", "to": "1990-12-31"}], ["Ana"]),
    ([{"field": "attribute:vip", "mode": "value", "value": "yes"}], ["Ana"]),
    ([{"field": "attribute:vip", "mode": "value", "value": "no"}], ["Bea"]),
    ([{"field": "attribute:city", "mode": "empty"}], ["Carl", "Dan"]),
    ([{"field": "attribute:city", "mode": "nonempty"}], ["Ana", "Bea"]),
    ([{"field": "tag", "mode": "value", "value": "NEWS"}], ["Ana", "Carl"]),
    ([{"field": "tag", "mode": "empty"}], ["Bea", "Dan"]),
    ([{"field": "tag", "mode": "nonempty"}], ["Ana", "Carl"]),
    ([{"field": "country", "mode": "value", "value": "gb"}], ["Dan"]),
    ([{"field": "phone", "mode": "value", "value": "4567"}], ["Ana", "Bea", "Carl"]),
    ([{"field": "mno", "mode": "nonempty"}, {"field": "country", "mode": "value", "value": "ES"}],
     ["Ana", "Bea", "Carl"]),
    ([{"field": "attribute:gender", "mode": "value", "value": "f"},
      {"field": "attribute:age", "mode": "range", "from": 18},
      {"field": "attribute:city", "mode": "nonempty"}], ["Ana"]),  # AND
    # several range / empty criteria: one JSON path with several bounds on PostgreSQL
    ([{"field": "attribute:age", "mode": "range", "from": "17.5", "to": 61},
      {"field": "attribute:email", "mode": "empty"},
      {"field": "attribute:birthday", "mode": "empty"}], ["Carl"]),
    ([{"field": "attribute:age", "mode": "range", "from": 17, "to": 17},
      {"field": "attribute:vip", "mode": "nonempty"}], ["Bea"]),
])
def test_criteria(company, people, criteria, expected):
    assert names(selectors.apply_criteria(selectors.contacts_for(company), company, criteria)) == expected


@pytest.mark.parametrize("criteria, message", [
    ([{"field": "attribute:nosuch", "mode": "empty"}], "There is no attribute"),
    ([{"field": "attribute:city", "mode": "range", "from": 1}], "By range works on numbers and dates only"),
    ([{"field": "attribute:age", "mode": "value", "value": "old"}], "is not a number"),
    ([{"field": "attribute:age", "mode": "range", "from": "x"}], "is not a number"),
    ([{"field": "attribute:city", "mode": "sideways"}], "Unknown filter mode"),
    ([{"field": "colour", "mode": "empty"}], "Unknown filter field"),
    ([{"field": "country", "mode": "range", "from": 1}], "By range works on numbers and dates only"),
    ([{"field": "attribute:city", "mode": "value", "value": " "}], "Give a value"),
    ([{"field": "attribute:age", "mode": "range"}], "Give a lower or an upper bound"),
    (["city"], "Each filter must be an object"),
    ({"field": "city"}, "Filters must be a list"),
])
def test_clean_criteria_refuses_wrong_filters(company, criteria, message):
    with pytest.raises(ValidationError) as exc:
        services.clean_criteria(company, criteria)
    assert message in " ".join(exc.value.messages)


def test_targets_are_dynamic(company, actor, people):
    target = services.create_target(actor=actor, company=company, name="  Adults ",
                                    filters=[{"field": "attribute:age", "mode": "range", "from": 18, "junk": 1}])
    assert target.name == "Adults" and target.filters == [{"field": "attribute:age", "mode": "range", "from": 18}]
    assert names(selectors.target_contacts(target)) == ["Ana", "Carl"]
    services.update_contact(actor=actor, contact=people["Bea"], attributes={"age": 18})
    assert names(selectors.target_contacts(target)) == ["Ana", "Bea", "Carl"]


def test_target_update_duplicate_delete_and_launches(company, actor, people):
    target = services.create_target(actor=actor, company=company, name="Adults",
                                    filters=[{"field": "attribute:age", "mode": "range", "from": 18}])
    services.update_target(actor=actor, target=target, name="Women",
                           filters=[{"field": "attribute:gender", "mode": "value", "value": "f"}])
    copy = services.duplicate_target(actor=actor, target=target)
    assert copy.name == "Women (copy)" and copy.filters == target.filters and copy.pk != target.pk
    long = services.create_target(actor=actor, company=company, name="x" * 200, filters=[])
    assert len(services.duplicate_target(actor=actor, target=long).name) == 200
    services.count_launch(target)
    services.count_launch(target)
    target.refresh_from_db()
    assert target.launches == 2
    services.delete_target(actor=actor, target=target)
    assert not Target.objects.filter(pk=target.pk).exists()
    with pytest.raises(ValidationError, match="Enter a name"):
        services.create_target(actor=actor, company=company, name=" ", filters=[])
    with pytest.raises(ValidationError, match="at most 200"):
        services.create_target(actor=actor, company=company, name="x" * 201, filters=[])


# --- mass edit ---------------------------------------------------------------------------------


def test_mass_edit_sets_clears_and_tags(company, actor, people):
    chosen = selectors.contacts_for(company).filter(pk__in=[people["Ana"].pk, people["Bea"].pk])
    result = services.mass_edit(actor=actor, company=company, contacts=chosen, add_tags=["spring"],
                                set_values={"city": "Sevilla", "age": "40"}, clear_keys=["vip"])
    assert result == {"selected": 2, "changed": 2, "tagged": 2}
    for name in ("Ana", "Bea"):
        c = Contact.objects.get(pk=people[name].pk)
        assert c.attributes["city"] == "Sevilla" and c.attributes["age"] == 40 and "vip" not in c.attributes
        assert "spring" in c.tags.values_list("name", flat=True)
    assert Contact.objects.get(pk=people["Carl"].pk).attributes.get("city") is None
    assert AuditEvent.objects.filter(company=company, action="Mass edited 2 contacts").exists()


def test_mass_edit_refuses_wrong_values_and_unknown_keys(company, actor, people):
    everyone = selectors.contacts_for(company)
    with pytest.raises(ValidationError) as exc:
        services.mass_edit(actor=actor, company=company, contacts=everyone, set_values={"age": "old"})
    assert [e.code for e in exc.value.error_dict["attributes"]] == ["age"]
    with pytest.raises(ValidationError, match="There is no attribute"):
        services.mass_edit(actor=actor, company=company, contacts=everyone, clear_keys=["nosuch"])
    assert Contact.objects.get(pk=people["Ana"].pk).attributes["age"] == 34


def test_mass_delete_of_all_contacts_is_refused(company, actor, people):
    everyone = selectors.contacts_for(company)
    with pytest.raises(PermissionDenied):
        services.mass_edit(actor=actor, company=company, contacts=everyone, delete=True)
    with pytest.raises(PermissionDenied):
        services.mass_edit(actor=actor, company=company, contacts=everyone.filter(pk=people["Ana"].pk),
                           select_all=True, delete=True)
    assert Contact.objects.filter(company=company).count() == 4
    result = services.mass_edit(actor=actor, company=company, contacts=everyone.exclude(pk=people["Ana"].pk),
                                delete=True)
    assert result == {"deleted": 3}
    assert list(Contact.objects.filter(company=company).values_list("pk", flat=True)) == [people["Ana"].pk]


def test_mass_edit_never_touches_another_company(company, other_company, actor, people):
    theirs = services.create_contact(actor=Actor.system(other_company), company=other_company,
                                     phone="+34612345671", attributes={"city": "Paris"})
    forged = Contact.objects.filter(pk__in=[theirs.pk, people["Ana"].pk])  # not scoped by the caller
    services.mass_edit(actor=actor, company=company, contacts=forged, set_values={"city": "Lugo"}, add_tags=["x"])
    theirs.refresh_from_db()
    assert theirs.attributes == {"city": "Paris"} and not theirs.tags.exists()
    services.mass_edit(actor=actor, company=company, contacts=forged, delete=True)
    assert Contact.objects.filter(pk=theirs.pk).exists()
    assert not Contact.objects.filter(pk=people["Ana"].pk).exists()


def test_mass_edit_of_many_contacts_goes_in_chunks(company, actor, monkeypatch):
    monkeypatch.setattr("contacts.services.core.MASS_EDIT_CHUNK", 700)
    Contact.objects.bulk_create([Contact(company=company, phone=f"+3461{i:07d}", attributes={"n": i} if i % 2 else {})
                                 for i in range(2000)])
    everyone = selectors.contacts_for(company)
    result = services.mass_edit(actor=actor, company=company, contacts=everyone, add_tags=["bulk"],
                                set_values={"city": "Soria"})
    assert result == {"selected": 2000, "changed": 2000, "tagged": 2000}
    assert ContactTag.objects.filter(tag__name="bulk").count() == 2000
    assert everyone.filter(attributes__city="Soria").count() == 2000
    again = services.mass_edit(actor=actor, company=company, contacts=everyone, set_values={"city": "Soria"})
    assert again["changed"] == 0  # nothing to change
    result = services.mass_edit(actor=actor, company=company, contacts=everyone.exclude(phone="+34610000000"),
                                delete=True)
    assert result == {"deleted": 1999}
    assert list(everyone.values_list("phone", flat=True)) == ["+34610000000"]
