"""The Contacts tab (spec P§6.2–§6.4): the list on the data table with a column per
attribute, filters on attributes, tags, targets and opt-outs, export, the contact form,
permissions and tenant isolation."""

import csv
import io
import re

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import TablePreference
from contacts import services
from contacts.models import Attribute, AttributeType, Contact, OptOut, Target
from portal.audit import Actor
from portal.channel_types import Channel
from portal.testing import factories

URL = "/contacts/"


@pytest.fixture
def actor(company, admin_user):
    return Actor(user=admin_user, company=company)


@pytest.fixture
def people(company, actor):
    services.create_attribute(actor=actor, company=company, name="VIP", type=AttributeType.BOOL)
    rows = [
        ("+34612345671", {"name": "Ana", "city": "Madrid", "age": 34, "birthday": "1990-05-17", "vip": True}, ["news"]),
        ("+34612345672", {"name": "Bea", "city": "Bilbao", "age": 17, "gender": "f", "vip": False}, []),
        ("+34612345673", {"name": "Carl", "age": 61, "gender": "m", "birthday": "1963-01-02"}, ["news", "golf"]),
        ("+442079460958", {"name": "=Dan", "email": "dan@example.com"}, []),
    ]
    made = {}
    for phone, attrs, tags in rows:
        made[attrs["name"].strip("=")] = services.create_contact(actor=actor, company=company, phone=phone,
                                                                 attributes=attrs, tags=tags)
    return made


def cells(response, column):
    """The cells of one column, top to bottom."""
    html = response.content.decode()
    texts = [re.sub(r"<[^>]+>", " ", part.split(">", 1)[1].split("</td>", 1)[0])
             for part in html.split(f'<td data-column="{column}"')[1:]]
    return [" ".join(t.split()) for t in texts]


def phones(response):
    return cells(response, "phone")


# --- the list --------------------------------------------------------------------------------


def test_list_has_a_column_per_attribute_and_the_system_columns(admin_client, people):
    response = admin_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for key in ("phone", "attr_name", "attr_city", "attr_age", "attr_birthday", "attr_vip", "tags", "targets",
                "opt_out", "rcs_capable", "rcs_checked_at"):
        assert f'<th scope="col" data-column="{key}"' in html, key
    assert phones(response) == ["+442079460958", "+34612345673", "+34612345672", "+34612345671"]  # newest first
    row = {c: cells(response, f"attr_{c}")[-1] for c in ("name", "birthday", "vip")}
    assert row == {"name": "Ana", "birthday": "17.05.1990", "vip": "Yes"}  # shown with attributes.display
    assert cells(response, "tags")[1] == "golf news"
    assert "Rows 1-4 of 4" in html
    # the navigation of the section and the "…" menu
    for text in ("Targets", "Import contacts", "Opt-out words", "Attribute manager", "Enable mass edit",
                 "Import contact list"):
        assert text in html


def test_a_new_attribute_becomes_a_column(admin_client, company, actor, people):
    services.create_attribute(actor=actor, company=company, name="Hobby", type=AttributeType.TEXT)
    assert 'data-column="attr_hobby"' in admin_client.get(URL).content.decode()


@pytest.mark.parametrize("query, expected", [
    ("attr_city=MAD", ["+34612345671"]),
    ("attr_age__min=18", ["+34612345673", "+34612345671"]),
    ("attr_age__min=18&attr_age__max=40", ["+34612345671"]),
    ("attr_age=17", ["+34612345672"]),
    ("attr_birthday__min=1980-01-01", ["+34612345671"]),
    ("attr_birthday=1963-01-02", ["+34612345673"]),
    ("attr_vip=true", ["+34612345671"]),
    ("attr_vip=false", ["+34612345672"]),
    ("attr_city__empty=true", ["+442079460958", "+34612345673"]),
    ("attr_city__empty=false", ["+34612345672", "+34612345671"]),
    ("attr_gender=f", ["+34612345672"]),
    ("tags=NEW", ["+34612345673", "+34612345671"]),
    ("tags__empty=true", ["+442079460958", "+34612345672"]),
    ("phone=4567", ["+34612345673", "+34612345672", "+34612345671"]),
    ("attr_city=mad&tags=news", ["+34612345671"]),
])
def test_filters_on_attribute_columns(admin_client, people, query, expected):
    response = admin_client.get(f"{URL}?{query}")
    assert response.status_code == 200
    assert phones(response) == expected


def test_invalid_filter_values_get_a_message(admin_client, people):
    response = admin_client.get(URL + "?attr_age__min=old")
    assert response.status_code == 200
    assert "Enter a number." in response.content.decode()
    assert phones(response) == []


def test_sort_on_an_attribute_column(admin_client, people):
    ages = cells(admin_client.get(URL + "?sort=attr_age&attr_age__empty=false"), "attr_age")
    assert ages == ["17", "34", "61"]
    ages = cells(admin_client.get(URL + "?sort=-attr_age&attr_age__empty=false"), "attr_age")
    assert ages == ["61", "34", "17"]


def test_target_filters_column_and_filter(admin_client, company, actor, people):
    services.create_target(actor=actor, company=company, name="Adults",
                           filters=[{"field": "attribute:age", "mode": "range", "from": 18}])
    services.create_target(actor=actor, company=company, name="Readers",
                           filters=[{"field": "tag", "mode": "value", "value": "news"}])
    services.create_target(actor=actor, company=company, name="Broken",
                           filters=[{"field": "attribute:city", "mode": "nonempty"}])
    # a target whose attribute is gone matches nobody (and breaks nothing)
    services.delete_attribute(actor=actor, attribute=Attribute.objects.get(company=company, key="city"))
    response = admin_client.get(URL)
    targets = dict(zip(phones(response), cells(response, "targets"), strict=True))
    assert targets["+34612345671"].startswith("Adults") and "+1" in targets["+34612345671"]
    assert 'title="Adults, Readers"' in response.content.decode()
    assert targets["+34612345672"] == ""
    assert targets["+34612345673"].startswith("Adults")
    assert phones(admin_client.get(URL + "?targets=read")) == ["+34612345673", "+34612345671"]
    assert phones(admin_client.get(URL + "?targets__empty=true")) == ["+442079460958", "+34612345672"]


def test_opt_out_column_and_filter(admin_client, company, people):
    OptOut.objects.create(company=company, contact=people["Ana"], channel=Channel.SMS, sender="")
    OptOut.objects.create(company=company, contact=people["Ana"], channel=Channel.VIBER, sender="Shop")
    response = admin_client.get(URL)
    optouts = dict(zip(phones(response), cells(response, "opt_out"), strict=True))
    assert optouts["+34612345671"] == "SMS (whole channel) Viber: Shop"
    assert optouts["+34612345672"] == ""
    assert phones(admin_client.get(URL + "?opt_out=viber")) == ["+34612345671"]
    assert phones(admin_client.get(URL + "?opt_out__empty=false")) == ["+34612345671"]


def test_rcs_columns(admin_client, company, people):
    from django.utils import timezone

    Contact.objects.filter(pk=people["Ana"].pk).update(rcs_capable=True, rcs_checked_at=timezone.now())
    Contact.objects.filter(pk=people["Bea"].pk).update(rcs_capable=False)
    response = admin_client.get(URL + "?sort=id")
    assert cells(response, "rcs_capable") == ["✓", "×", "—", "—"]
    assert re.match(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d", cells(response, "rcs_checked_at")[0])
    assert phones(admin_client.get(URL + "?rcs_capable=true")) == ["+34612345671"]


def test_list_query_count_does_not_grow_with_rows(admin_client, company, actor, people):
    services.create_target(actor=actor, company=company, name="Adults",
                           filters=[{"field": "attribute:age", "mode": "range", "from": 18}])
    services.create_target(actor=actor, company=company, name="Readers",
                           filters=[{"field": "tag", "mode": "value", "value": "news"}])
    admin_client.get(URL)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(URL).status_code == 200
    for i in range(30):
        contact = services.create_contact(actor=actor, company=company, phone=f"+3461000{i:04d}",
                                          attributes={"name": f"N{i}", "age": i}, tags=["news", f"t{i}"])
        OptOut.objects.create(company=company, contact=contact, channel=Channel.SMS)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(URL)
    assert len(phones(response)) == 34
    assert len(many.captured_queries) == len(few.captured_queries)
    # the targets of the page: one query for all targets, restricted to the page's ids
    unions = [q["sql"] for q in many.captured_queries if "UNION" in q["sql"]]
    assert len(unions) == 1


def test_pagination(admin_client, company, actor):
    for i in range(12):
        services.create_contact(actor=actor, company=company, phone=f"+3461000{i:04d}")
    response = admin_client.get(URL + "?per_page=10&page=2")
    assert "Rows 11-12 of 12" in response.content.decode()
    assert len(phones(response)) == 2


def test_a_filtered_list_counts_up_to_a_limit(admin_client, people, monkeypatch):
    monkeypatch.setattr("contacts.tables.FILTERED_COUNT_LIMIT", 2)
    html = admin_client.get(URL + "?attr_age__empty=false").content.decode()
    assert "Rows 1-2 of more than 2" in html and 'data-total="2"' in html
    assert "massSelect(2, true," in admin_client.get(URL + "?attr_age__empty=false&mass_edit=1").content.decode()
    assert "Rows 1-4 of 4" in admin_client.get(URL).content.decode()  # the whole base: an exact count
    assert "Rows 1-1 of 1" in admin_client.get(URL + "?attr_city=mad").content.decode()


def test_columns_to_show_include_attribute_columns(admin_client, admin_user, people):
    response = admin_client.post(reverse("table_columns", args=["contacts"]),
                                 {"columns": ["phone", "attr_city", "tags", "attr_nosuch"]},
                                 content_type="application/json")
    assert response.status_code == 302
    assert TablePreference.objects.get(user=admin_user, table="contacts").columns == ["phone", "attr_city", "tags"]
    html = admin_client.get(URL).content.decode()
    head = html.split("<thead>")[1].split("</thead>")[0]
    assert re.findall(r'data-column="(\w+)"', head) == ["phone", "attr_city", "tags"]


def test_another_companys_attribute_keys_are_not_saveable_columns(admin_client, admin_user, other_company, people):
    services.create_attribute(actor=Actor.system(other_company), company=other_company, name="Secret",
                              type=AttributeType.TEXT)
    admin_client.post(reverse("table_columns", args=["contacts"]), {"columns": ["phone", "attr_secret"]},
                      content_type="application/json")
    assert TablePreference.objects.get(user=admin_user, table="contacts").columns == ["phone"]


def test_csv_export_streams_all_filtered_rows(admin_client, company, actor, people):
    services.create_target(actor=actor, company=company, name="Adults",
                           filters=[{"field": "attribute:age", "mode": "range", "from": 18}])
    response = admin_client.get(URL + "?attr_age__empty=false&sort=id&per_page=10&page=1&export=csv")
    assert response.status_code == 200 and response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    header = rows[0]
    assert header[:3] == ["Phone number", "Name", "Surname"]
    data = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    assert [r["Phone number"] for r in data] == ["+34612345671", "+34612345672", "+34612345673"]  # not quoted
    assert data[0]["Birthday"] == "1990-05-17" and data[0]["VIP"] == "Yes" and data[0]["Age"] == "34"
    assert data[2]["Tags"] == "golf, news" and data[0]["Target filters"] == "Adults"


def test_export_of_a_filter_that_matches_nothing(admin_client, people):
    for query in ("targets=nosuchtarget", "attr_city=nowhere"):
        response = admin_client.get(f"{URL}?{query}&export=csv")
        body = b"".join(c if isinstance(c, bytes) else c.encode() for c in response.streaming_content)
        assert body.decode("utf-8-sig").splitlines()[0].startswith("Phone number,")
        assert len(body.decode().splitlines()) == 1


def test_xlsx_export_escapes_formulas(admin_client, people):
    response = admin_client.get(URL + "?export=xlsx&sort=id")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][0] == "Phone number"
    assert rows[4][0] == "+442079460958"
    assert rows[4][1] == "'=Dan"


def test_export_needs_the_export_permission(client, company, people):
    from accounts import services as account_services

    role = account_services.create_role(actor=Actor.system(company), company=company, name="Contacts only",
                                        permissions=["manage_contacts"])
    client.force_login(factories.user(company, roles=[role]))
    assert client.get(URL).status_code == 200
    assert client.get(URL + "?export=csv").status_code == 403


# --- new / edit / delete -----------------------------------------------------------------------


def test_new_contact_form_has_an_input_per_attribute_type(admin_client, company, actor):
    services.create_attribute(actor=actor, company=company, name="VIP", type=AttributeType.BOOL)
    html = admin_client.get(reverse("contacts:create")).content.decode()
    assert re.search(r'<input type="tel" name="phone"[^>]*required', html)
    assert re.search(r'<input type="email" name="attr_email"', html)
    assert re.search(r'<input type="number" name="attr_age"[^>]*step="any"', html)
    assert re.search(r'<input type="date" name="attr_birthday"', html)
    assert re.search(r'<select name="attr_gender"[^>]*>\s*<option value="" selected>—</option>\s*'
                     r'<option value="m">m</option>\s*<option value="f">f</option>', html)
    assert re.search(r'<select name="attr_vip"', html) and ">Yes</option>" in html
    assert 'name="wechat_id"' in html and 'data-testid="tag-picker"' in html
    assert "Add attribute" in html
    assert 'data-testid="optouts-block"' not in html  # only on an existing contact


def test_create_contact(admin_client, company):
    response = admin_client.post(reverse("contacts:create"), {
        "phone": "612 34 56 78", "attr_name": "Ana", "attr_age": "34", "attr_birthday": "1990-05-17",
        "attr_gender": "f", "tags": ["vip", "news"], "wechat_id": "ana_wx"})
    assert response.status_code == 302 and response.url == URL
    contact = Contact.objects.get(company=company)
    assert contact.phone == "+34612345678"
    assert contact.attributes == {"name": "Ana", "age": 34, "birthday": "1990-05-17", "gender": "f"}
    assert sorted(contact.tags.values_list("name", flat=True)) == ["news", "vip"]
    assert contact.wechat_id == "ana_wx"
    assert "Contact +34612345678 saved." in admin_client.get(URL).content.decode()


def test_invalid_phone_shows_the_reason_from_phones(admin_client, company):
    response = admin_client.post(reverse("contacts:create"), {"phone": "12ab", "attr_name": "Ana"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "only digits, spaces, + ( ) - / are allowed" in html
    assert 'value="Ana"' in html  # what was typed is kept
    response = admin_client.post(reverse("contacts:create"), {"phone": ""})
    assert response.status_code == 422 and "This field is required." in response.content.decode()
    assert not Contact.objects.exists()


def test_invalid_attribute_values_show_on_their_inputs(admin_client, company):
    response = admin_client.post(reverse("contacts:create"), {"phone": "+34612345678", "attr_age": "old",
                                                              "attr_email": "nope", "attr_gender": "x"})
    assert response.status_code == 422
    html = response.content.decode()
    age_field = html.split('name="attr_age"')[1].split('class="field')[0]
    assert "is not a number" in age_field
    assert "is not an e-mail address" in html.split('name="attr_email"')[1].split('class="field')[0]
    assert "Select a valid choice" in html
    assert not Contact.objects.exists()


def test_duplicate_number_is_refused(admin_client, company, actor):
    services.create_contact(actor=actor, company=company, phone="+34612345678")
    response = admin_client.post(reverse("contacts:create"), {"phone": "0034 612 345 678"})
    assert response.status_code == 422
    assert "A contact with the number +34612345678 already exists." in response.content.decode()


def test_edit_contact_shows_values_rcs_and_opt_outs(admin_client, company, actor):
    from django.utils import timezone

    contact = services.create_contact(actor=actor, company=company, phone="+34612345678",
                                      attributes={"name": "Ana", "age": 34, "birthday": "1990-05-17"}, tags=["vip"])
    Contact.objects.filter(pk=contact.pk).update(rcs_capable=True, rcs_checked_at=timezone.now())
    html = admin_client.get(reverse("contacts:edit", args=[contact.pk])).content.decode()
    assert 'value="+34612345678"' in html and 'value="Ana"' in html and 'value="34"' in html
    assert 'value="1990-05-17"' in html
    assert "[&quot;vip&quot;]" in html  # the tag picker's initial tags
    assert '<dd data-testid="rcs-capable">Yes</dd>' in html
    assert re.search(r'data-testid="rcs-checked">\d\d\.\d\d\.\d{4}', html)
    assert "Delete contact" in html
    assert ('data-testid="optouts-block"' in html) == _template_exists("contacts/optouts/_contact_optouts.html")


def _template_exists(name):
    from django.template import TemplateDoesNotExist
    from django.template.loader import get_template

    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


def test_edit_contact_saves_clears_and_retags(admin_client, company, actor):
    contact = services.create_contact(actor=actor, company=company, phone="+34612345678",
                                      attributes={"name": "Ana", "city": "Madrid"}, tags=["a", "b"])
    response = admin_client.post(reverse("contacts:edit", args=[contact.pk]), {
        "phone": "+34612345679", "attr_name": "Ana María", "attr_city": "", "tags": ["b", "c"]})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.phone == "+34612345679"
    assert contact.attributes == {"name": "Ana María"}
    assert sorted(contact.tags.values_list("name", flat=True)) == ["b", "c"]


def test_add_attribute_inline_returns_to_the_form_with_what_was_typed(admin_client, company):
    response = admin_client.post(reverse("contacts:create"), {
        "phone": "+34612345678", "attr_name": "Ana", "tags": ["vip"], "_add_attribute": "1",
        "new_attribute-name": "Hobby", "new_attribute-type": "list", "new_attribute-values": "chess\ngolf\n"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Attribute “Hobby” added." in html
    assert re.search(r'<select name="attr_hobby"', html) and '<option value="golf">golf</option>' in html
    assert 'value="+34612345678"' in html and 'value="Ana"' in html and "[&quot;vip&quot;]" in html
    assert not Contact.objects.exists()  # the contact itself is not saved yet
    assert Attribute.objects.get(company=company, key="hobby").values == ["chess", "golf"]


def test_add_attribute_inline_errors_keep_the_dialog_open(admin_client, company):
    response = admin_client.post(reverse("contacts:create"), {
        "phone": "+34612345678", "_add_attribute": "1", "new_attribute-name": "City", "new_attribute-type": "text"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "An attribute named “City” already exists." in html
    assert "addAttribute: true" in html


def test_delete_contact(admin_client, company, actor):
    contact = services.create_contact(actor=actor, company=company, phone="+34612345678")
    assert admin_client.get(reverse("contacts:delete", args=[contact.pk])).status_code == 405
    response = admin_client.post(reverse("contacts:delete", args=[contact.pk]))
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_tag_search(admin_client, company, other_company):
    services.tags_named(company, ["Newsletter", "news", "golf"])
    services.tags_named(other_company, ["newsroom"])
    assert admin_client.get(reverse("contacts:tag_search") + "?q=NEW").json() == {"tags": ["news", "Newsletter"]}
    assert admin_client.get(reverse("contacts:tag_search")).json()["tags"] == ["golf", "news", "Newsletter"]


# --- permissions and tenants -------------------------------------------------------------------


PAGES = [("get", "contacts:list", False), ("get", "contacts:create", False), ("post", "contacts:create", False),
         ("get", "contacts:edit", True), ("post", "contacts:edit", True), ("post", "contacts:delete", True),
         ("post", "contacts:mass_edit", False), ("get", "contacts:tag_search", False)]


@pytest.mark.parametrize("method, name, needs_id", PAGES)
def test_pages_need_manage_contacts(client, company, method, name, needs_id):
    user = factories.user(company, roles=[factories.system_role("finance_manager")])
    contact = services.create_contact(actor=Actor.system(company), company=company, phone="+34612345678")
    client.force_login(user)
    url = reverse(name, args=[contact.pk] if needs_id else [])
    assert getattr(client, method)(url).status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_signed_out_users_go_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response.url


def test_a_user_who_may_only_import_lands_on_the_import_page(client, company):
    from accounts import services as account_services

    role = account_services.create_role(actor=Actor.system(company), company=company, name="Importer",
                                        permissions=["import_contacts"])
    client.force_login(factories.user(company, roles=[role]))
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith("/contacts/import/")


@pytest.fixture
def theirs(other_company):
    actor = Actor.system(other_company)
    contact = services.create_contact(actor=actor, company=other_company, phone="+34699000111",
                                      attributes={"name": "Globex secret"}, tags=["globex-tag"])
    return contact


@pytest.mark.parametrize("method, name", [("get", "contacts:edit"), ("post", "contacts:edit"),
                                          ("post", "contacts:delete")])
def test_another_companys_contact_answers_404(admin_client, theirs, method, name):
    response = getattr(admin_client, method)(reverse(name, args=[theirs.pk]), {"phone": "+34612345678"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.phone == "+34699000111"


def test_lists_and_exports_never_show_another_companys_rows(admin_client, people, theirs):
    html = admin_client.get(URL).content.decode()
    assert "Globex secret" not in html and "+34699000111" not in html and "globex-tag" not in html
    body = b"".join(admin_client.get(URL + "?export=csv").streaming_content).decode()
    assert "Globex" not in body and "+34699000111" not in body
    assert "globex-tag" not in str(admin_client.get(reverse("contacts:tag_search") + "?q=globex").json())
    assert phones(admin_client.get(URL + "?tags=globex")) == []


def test_a_contact_created_by_another_company_does_not_clash(admin_client, company, theirs):
    response = admin_client.post(reverse("contacts:create"), {"phone": "+34699000111"})
    assert response.status_code == 302
    assert Contact.objects.filter(phone="+34699000111").count() == 2


def test_a_second_user_of_the_company_sees_the_same_contacts(company, people):
    client = Client()
    client.force_login(factories.admin(company))
    assert len(phones(client.get(URL))) == 4


# --- the CSV export written by PostgreSQL (COPY) equals the one written by Python -----------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY export is PostgreSQL's")
def test_copy_export_writes_what_the_python_export_writes(admin_client, admin_user, company, actor, monkeypatch):
    from django.utils import timezone

    from contacts.tables import ContactTable

    services.create_attribute(actor=actor, company=company, name="VIP", type=AttributeType.BOOL)
    services.create_attribute(actor=actor, company=company, name="Score", type=AttributeType.NUMBER)
    a = services.create_contact(actor=actor, company=company, phone="+34612345671", tags=["=cmd", "b, c", "Ñandú"],
                                attributes={"name": '=HYPERLINK("x")', "surname": "O'Brien, \"Jr\"\nline 2",
                                            "city": "-1", "email": "a@example.com", "age": 34, "score": 4.5,
                                            "birthday": "1990-05-17", "vip": True, "gender": "f"})
    b = services.create_contact(actor=actor, company=company, phone="+442079460958",
                                attributes={"name": "\tTab", "vip": False, "score": -3})
    services.create_contact(actor=actor, company=company, phone="+34612345673")
    Contact.objects.filter(pk=a.pk).update(rcs_capable=True, rcs_checked_at=timezone.now())
    OptOut.objects.create(company=company, contact=a, channel=Channel.SMS)
    OptOut.objects.create(company=company, contact=a, channel=Channel.VIBER, sender="@Shop")
    OptOut.objects.create(company=company, contact=b, channel=Channel.WHATSAPP, sender="Brand")
    services.create_target(actor=actor, company=company, name="Everyone", filters=[])
    services.create_target(actor=actor, company=company, name="+Adults",
                           filters=[{"field": "attribute:age", "mode": "range", "from": 18}])
    services.create_target(actor=actor, company=company, name="Tagged", filters=[{"field": "tag", "mode": "nonempty"}])
    services.create_target(actor=actor, company=company, name="Broken", filters=[{"field": "attribute:city",
                                                                                   "mode": "nonempty"}])
    Target.objects.filter(name="Broken").update(filters=[{"field": "attribute:gone", "mode": "empty"}])
    keys = ["id", "phone", "attr_name", "attr_surname", "attr_city", "attr_email", "attr_gender", "attr_age",
            "attr_score", "attr_birthday", "attr_vip", "tags", "targets", "opt_out", "country", "mno", "rcs_capable",
            "rcs_checked_at", "wechat_id", "created_at", "updated_at"]
    TablePreference.objects.create(user=admin_user, table="contacts", columns=keys)
    url = URL + "?sort=id&export=csv"

    def export():
        response = admin_client.get(url)
        return list(csv.reader(io.StringIO(b"".join(
            c if isinstance(c, bytes) else c.encode() for c in response.streaming_content).decode("utf-8-sig"))))

    copied = export()
    monkeypatch.setattr(ContactTable, "export_expressions", lambda self, columns: None)
    python = export()
    assert copied == python
    assert len(copied) == 4 and len(copied[0]) == len(keys)
    row = dict(zip(copied[0], copied[1], strict=True))
    assert row["Name"] == "'=HYPERLINK(\"x\")" and row["City"] == "'-1" and row["Surname"].endswith("line 2")
    assert row["Tags"] == "'=cmd, b, c, Ñandú" and row["Target filters"] == "'+Adults, Everyone, Tagged"
    assert row["Opt-out"] == "SMS (whole channel), Viber: @Shop" and row["VIP"] == "Yes" and row["Score"] == "4.5"
    assert re.match(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d$", row["RCS capability last checked"])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY export is PostgreSQL's")
def test_copy_export_has_only_the_companys_filtered_rows(admin_client, people, other_company):
    services.create_contact(actor=Actor.system(other_company), company=other_company, phone="+34612345674",
                            attributes={"age": 50})
    response = admin_client.get(URL + "?attr_age__min=18&sort=id&export=csv")
    body = b"".join(c if isinstance(c, bytes) else c.encode() for c in response.streaming_content).decode()
    assert [line.split(",")[0] for line in body.splitlines()] == ["\ufeffPhone number", "+34612345671",
                                                                  "+34612345673"]
