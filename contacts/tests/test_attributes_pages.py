"""The attribute manager (spec P§6.6): list with search and the fixed Phone number row,
new / edit / delete with the number of contacts that lose a value, permissions and
tenant isolation."""

import re

import pytest
from django.urls import reverse

from contacts import services
from contacts.models import Attribute, AttributeType, Contact
from portal.audit import Actor
from portal.testing import factories

URL = "/contacts/attributes/"


@pytest.fixture
def actor(company, admin_user):
    return Actor(user=admin_user, company=company)


def rows(response):
    return re.findall(r'<tr data-attribute="([\w]+)"', response.content.decode())


def test_list_shows_phone_first_then_the_attributes(admin_client, company):
    response = admin_client.get(URL)
    assert response.status_code == 200
    assert rows(response) == ["phone", "name", "surname", "city", "email", "gender", "job_title", "address",
                              "country", "age", "birthday"]
    html = response.content.decode()
    phone_row = html.split('data-attribute="phone"')[1].split("</tr>")[0]
    assert "cannot be removed" in phone_row and "Delete" not in phone_row  # no delete action on the phone row
    assert "Text list of values" in html and '<span class="chip">m</span>' in html


def test_search(admin_client, company):
    assert rows(admin_client.get(URL + "?q=NAM")) == ["name", "surname"]
    assert rows(admin_client.get(URL + "?q=phone")) == ["phone"]
    assert rows(admin_client.get(URL + "?q=job_")) == ["job_title"]  # by key too
    assert "No records found." in admin_client.get(URL + "?q=zzz").content.decode()


def test_create_each_type(admin_client, company):
    for name, type_ in [("Work mail", "email"), ("Hobby", "text"), ("Size", "list"), ("Kids", "number"),
                        ("Since", "date"), ("Subscribed", "bool")]:
        response = admin_client.post(reverse("contacts:attribute_create"), {
            "name": name, "type": type_, "values": "S\r\nM\r\n\r\nL" if type_ == "list" else "",
            "show_in_profile": "on" if type_ == "bool" else ""})
        assert response.status_code == 302, response.content.decode()[:2000]
    made = {a.name: a for a in Attribute.objects.filter(company=company)}
    assert made["Size"].values == ["S", "M", "L"] and made["Size"].type == AttributeType.LIST
    assert made["Subscribed"].show_in_profile and made["Subscribed"].key == "subscribed"
    assert made["Work mail"].key == "work_mail"
    assert "Attribute “Subscribed” added." in admin_client.get(URL).content.decode()


@pytest.mark.parametrize("data, message", [
    ({"name": "", "type": "text"}, "This field is required."),
    ({"name": "city", "type": "text"}, "An attribute named “city” already exists."),
    ({"name": "Size", "type": "list", "values": ""}, "Give the allowed values of the list."),
    ({"name": "Size", "type": "list", "values": "a\nA"}, "The allowed values must differ."),
    ({"name": "Phone number", "type": "text"}, "cannot be used as an attribute name"),
    ({"name": "Colour", "type": "rgb"}, "Select a valid choice."),
])
def test_create_refusals(admin_client, company, data, message):
    before = Attribute.objects.count()
    response = admin_client.post(reverse("contacts:attribute_create"), data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert Attribute.objects.count() == before


def test_create_returns_to_next(admin_client, company):
    response = admin_client.post(reverse("contacts:attribute_create") + "?next=/contacts/new/",
                                 {"name": "Hobby", "type": "text", "next": "/contacts/new/"})
    assert response.status_code == 302 and response.url == "/contacts/new/"
    response = admin_client.post(reverse("contacts:attribute_create"),
                                 {"name": "Hobby2", "type": "text", "next": "https://evil.example/"})
    assert response.url == URL


def test_edit(admin_client, company, actor):
    attr = Attribute.objects.get(company=company, key="gender")
    html = admin_client.get(reverse("contacts:attribute_edit", args=[attr.pk])).content.decode()
    assert "m\nf</textarea>" in html and "{{attribute.gender}}" in html
    response = admin_client.post(reverse("contacts:attribute_edit", args=[attr.pk]),
                                 {"name": "Sex", "type": "list", "values": "m\nf\nx", "show_in_profile": "on"})
    assert response.status_code == 302
    attr.refresh_from_db()
    assert (attr.name, attr.key, attr.values, attr.show_in_profile) == ("Sex", "gender", ["m", "f", "x"], True)


def test_edit_refuses_a_type_change_when_contacts_have_values(admin_client, company, actor):
    services.create_contact(actor=actor, company=company, phone="+34612345678", attributes={"age": 30})
    attr = Attribute.objects.get(company=company, key="age")
    response = admin_client.post(reverse("contacts:attribute_edit", args=[attr.pk]), {"name": "Age", "type": "text"})
    assert response.status_code == 422
    assert "its type cannot change" in response.content.decode()
    attr.refresh_from_db()
    assert attr.type == AttributeType.NUMBER


def test_delete_says_how_many_contacts_lose_a_value(admin_client, company, actor):
    for i, city in enumerate(["Madrid", "Bilbao", ""]):
        services.create_contact(actor=actor, company=company, phone=f"+3461234567{i}", attributes={"city": city})
    target = services.create_target(actor=actor, company=company, name="City folk",
                                    filters=[{"field": "attribute:city", "mode": "nonempty"}])
    attr = Attribute.objects.get(company=company, key="city")
    html = admin_client.get(reverse("contacts:attribute_delete", args=[attr.pk])).content.decode()
    assert "2 contacts have a value for “City”: they will be removed." in html
    assert "City folk" in html and reverse("contacts:target_edit", args=[target.pk]) in html
    response = admin_client.post(reverse("contacts:attribute_delete", args=[attr.pk]))
    assert response.status_code == 302
    assert not Attribute.objects.filter(pk=attr.pk).exists()
    assert not Contact.objects.filter(company=company, attributes__has_key="city").exists()
    assert "Attribute “City” deleted; 2 contacts lost their value." in admin_client.get(URL).content.decode()


def test_phone_number_is_not_an_attribute_and_cannot_be_deleted(admin_client, company):
    assert not Attribute.objects.filter(company=company, key="phone").exists()
    assert reverse("contacts:attribute_delete", args=[0]) not in admin_client.get(URL).content.decode()


@pytest.mark.parametrize("method, name, needs_id", [
    ("get", "contacts:attributes", False), ("get", "contacts:attribute_create", False),
    ("post", "contacts:attribute_create", False), ("get", "contacts:attribute_edit", True),
    ("post", "contacts:attribute_edit", True), ("get", "contacts:attribute_delete", True),
    ("post", "contacts:attribute_delete", True)])
def test_pages_need_manage_contacts(client, company, method, name, needs_id):
    attr = Attribute.objects.get(company=company, key="city")
    client.force_login(factories.user(company, roles=[factories.system_role("finance_manager")]))
    url = reverse(name, args=[attr.pk] if needs_id else [])
    assert getattr(client, method)(url, {"name": "x", "type": "text"}).status_code == 403
    assert Attribute.objects.filter(pk=attr.pk, name="City").exists()


@pytest.mark.parametrize("method, name", [("get", "contacts:attribute_edit"), ("post", "contacts:attribute_edit"),
                                          ("get", "contacts:attribute_delete"),
                                          ("post", "contacts:attribute_delete")])
def test_another_companys_attribute_answers_404(admin_client, other_company, method, name):
    theirs = services.create_attribute(actor=Actor.system(other_company), company=other_company,
                                       name="Globex secret", type=AttributeType.TEXT)
    response = getattr(admin_client, method)(reverse(name, args=[theirs.pk]), {"name": "pwned", "type": "text"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Globex secret"


def test_the_list_never_shows_another_companys_attributes(admin_client, other_company):
    services.create_attribute(actor=Actor.system(other_company), company=other_company, name="Globex secret",
                              type=AttributeType.TEXT)
    assert "Globex secret" not in admin_client.get(URL).content.decode()
    assert "Globex secret" not in admin_client.get(reverse("contacts:create")).content.decode()
