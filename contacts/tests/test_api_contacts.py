"""/api/v1/contacts: list (filters, cursor pagination), detail, create, replace, change,
delete, and a contact's tags (scope recipients, tenant-scoped, audited)."""

import json

import pytest
from django.utils import timezone

from contacts.api.testing import KEY_NAME, count_queries, ids, last_event, make_contacts, phone, recipients_client
from contacts.models import Contact, ContactTag, OptOut, Tag
from portal.api.testing import assert_api_error, key_client
from portal.models import AuditDetail
from portal.testing import factories

URL = "/api/v1/contacts"
CONTACT_FIELDS = {"id", "phone", "country", "mno", "attributes", "tags", "opt_outs", "wechat_id", "rcs_capable",
                  "rcs_checked_at", "created_at", "updated_at"}


@pytest.fixture
def keyed(company):
    return recipients_client(company)


@pytest.fixture
def client(keyed):
    return keyed[1]


@pytest.fixture
def access(keyed):
    return keyed[0]


def create(client, **body):
    return client.post(URL, body, format="json")


@pytest.mark.django_db
class TestCreate:
    def test_created_with_e164_country_mno_typed_attributes_and_tags(self, client, company):
        response = create(client, phone="+34 612 34 56 78",
                          attributes={"name": " Ana ", "age": "34", "birthday": "17.05.1990", "gender": "F"},
                          tags=["VIP", "newsletter"])
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == CONTACT_FIELDS
        assert body["phone"] == "+34612345678"
        assert body["country"] == "ES"
        assert isinstance(body["mno"], str)
        assert body["attributes"] == {"name": "Ana", "age": 34, "birthday": "1990-05-17", "gender": "f"}
        assert sorted(body["tags"]) == ["VIP", "newsletter"]
        assert body["opt_outs"] == [] and body["wechat_id"] == "" and body["rcs_capable"] is None
        contact = Contact.objects.get(pk=body["id"])
        assert contact.company == company and contact.phone == "+34612345678"

    def test_national_number_read_in_the_company_region(self, client, company):
        company.default_region = "GB"
        company.save()
        response = create(client, phone="07400 123456")
        assert response.status_code == 201, response.content
        assert response.json()["phone"] == "+447400123456"
        assert response.json()["country"] == "GB"

    def test_audited_with_the_key_as_actor(self, client, company, access):
        contact_id = create(client, phone=phone()).json()["id"]
        event = last_event("Added new contact", company)
        assert event.api_access == access
        assert event.api_access_name == KEY_NAME
        assert event.actor_label == f"API: {KEY_NAME}"
        assert event.user is None and event.ip_address == "198.51.100.7"
        [detail] = event.details.all()
        assert detail.operation == AuditDetail.Operation.INSERT and detail.object_id == str(contact_id)

    def test_invalid_phone_is_422_naming_the_reason(self, client, company):
        body = assert_api_error(create(client, phone="12ab45"), 422)
        assert "not a phone number" in body["errors"]["phone"][0]
        body = assert_api_error(create(client, phone="+34 12"), 422)
        assert "phone" in body["errors"]
        assert not Contact.objects.for_company(company).exists()

    def test_missing_phone_is_422(self, client):
        body = assert_api_error(create(client, attributes={"name": "Ann"}), 422)
        assert body["errors"] == {"phone": ["This field is required."]}

    def test_wrong_attribute_types_are_422_naming_each_attribute(self, client, company):
        body = assert_api_error(create(client, phone=phone(), attributes={
            "age": "thirty", "birthday": "yesterday", "email": "nope", "gender": "x", "name": "ok"}), 422)
        assert set(body["errors"]) == {"attributes.age", "attributes.birthday", "attributes.email",
                                       "attributes.gender"}
        assert "Age" in body["errors"]["attributes.age"][0] and "not a number" in body["errors"]["attributes.age"][0]
        assert "allowed values" in body["errors"]["attributes.gender"][0]
        assert body["message"].startswith("Validation failed: attributes.")
        assert not Contact.objects.for_company(company).exists()

    def test_unknown_attribute_is_422(self, client):
        body = assert_api_error(create(client, phone=phone(), attributes={"shoe_size": 42}), 422)
        assert body["errors"] == {"attributes.shoe_size": ["There is no attribute “shoe_size”."]}

    def test_attributes_must_be_an_object(self, client):
        body = assert_api_error(create(client, phone=phone(), attributes=["age", 3]), 422)
        assert "attributes" in body["errors"]

    def test_unknown_top_level_field_is_422(self, client):
        body = assert_api_error(create(client, phone=phone(), name="Ann"), 422)
        assert body["errors"] == {"name": ["Unknown field."]}

    def test_tag_too_long_is_422(self, client):
        body = assert_api_error(create(client, phone=phone(), tags=["x" * 101]), 422)
        assert list(body["errors"]) == ["tags.0"]

    def test_duplicate_phone_is_422(self, client, company):
        number = phone()
        assert create(client, phone=number).status_code == 201
        body = assert_api_error(create(client, phone=number.replace("+", "00")), 422)
        assert "already exists" in body["errors"]["phone"][0]
        assert Contact.objects.for_company(company).count() == 1

    def test_same_phone_in_another_company_is_fine(self, client, company, other_company):
        number = phone()
        make_contacts(other_company, 1, start=int(number[4:]))
        assert create(client, phone=number).status_code == 201

    def test_company_in_body_is_refused_not_used(self, client, company, other_company):
        body = assert_api_error(create(client, phone=phone(), company=other_company.pk), 422)
        assert "company" in body["errors"]
        assert not Contact.objects.exists()

    def test_form_encoded_body(self, client):
        response = client.post(URL, {"phone": "+34612000777", "attributes.name": "Ana", "tags": ["a", "b"]})
        assert response.status_code == 201, response.content
        assert response.json()["attributes"] == {"name": "Ana"} and response.json()["tags"] == ["a", "b"]

    def test_malformed_json_is_400(self, client):
        assert_api_error(client.post(URL, "{nope", content_type="application/json"), 400)


@pytest.mark.django_db
class TestRead:
    def test_list_shape_and_newest_first(self, client, company):
        made = make_contacts(company, 3, attributes={"name": "Ann"}, tags=["vip"])
        body = client.get(URL).json()
        assert set(body) == {"next", "previous", "results"}
        assert [row["id"] for row in body["results"]] == [c.pk for c in made]
        row = body["results"][0]
        assert set(row) == CONTACT_FIELDS
        assert row["attributes"] == {"name": "Ann"} and row["tags"] == ["vip"]

    def test_detail_with_opt_outs(self, client, company):
        [contact] = make_contacts(company, 1)
        OptOut.objects.create(company=company, contact=contact, channel=1, sender="ACME", source="word")
        Contact.objects.filter(pk=contact.pk).update(rcs_capable=True, rcs_checked_at=timezone.now(),
                                                     wechat_id="wx-1")
        row = client.get(f"{URL}/{contact.pk}").json()
        assert row["phone"] == contact.phone
        [opt_out] = row["opt_outs"]
        assert opt_out["channel"] == 1 and opt_out["sender"] == "ACME" and opt_out["source"] == "word"
        assert set(opt_out) == {"channel", "sender", "created_at", "source"}
        assert row["rcs_capable"] is True and row["rcs_checked_at"] and row["wechat_id"] == "wx-1"

    def test_unknown_id_is_404(self, client):
        assert_api_error(client.get(f"{URL}/999999"), 404)
        assert_api_error(client.get(f"{URL}/abc"), 404)

    def test_cursor_walk(self, client, company):
        made = {c.pk for c in make_contacts(company, 5)}
        seen, url, pages = [], f"{URL}?page_size=2", 0
        while url:
            body = client.get(url).json()
            seen += [row["id"] for row in body["results"]]
            url, pages = body["next"], pages + 1
        assert seen == sorted(made, reverse=True) and pages == 3


@pytest.mark.django_db
class TestFilters:
    @pytest.fixture
    def people(self, company, client):
        def add(number, **body):
            response = create(client, phone=number, **body)
            assert response.status_code == 201, response.content
            return response.json()["id"]

        return {
            "ana": add("+34612000001", attributes={"name": "Ana", "city": "Madrid", "age": 34, "gender": "f"},
                       tags=["vip", "newsletter"]),
            "bob": add("+34612000002", attributes={"name": "Bob", "city": "Madrid Sur", "age": 17}, tags=["vip"]),
            "cat": add("+447400123456", attributes={"name": "Cat", "birthday": "1990-01-02"}),
        }

    def test_phone_in_any_form(self, client, people):
        assert ids(client.get(URL, {"phone": "612 000 001"})) == {people["ana"]}
        assert ids(client.get(URL, {"phone": "+34612000001"})) == {people["ana"]}

    def test_invalid_phone_filter_is_422(self, client, people):
        body = assert_api_error(client.get(URL, {"phone": "abc"}), 422)
        assert "phone" in body["errors"]

    def test_country_and_mno(self, client, people):
        assert ids(client.get(URL, {"country": "gb"})) == {people["cat"]}
        mno = Contact.objects.get(pk=people["cat"]).mno
        if mno:
            assert people["cat"] in ids(client.get(URL, {"mno": mno.upper()}))

    def test_tag_and_repeated_tags_mean_all(self, client, people):
        assert ids(client.get(URL, {"tag": "VIP"})) == {people["ana"], people["bob"]}
        assert ids(client.get(f"{URL}?tag=vip&tag=newsletter")) == {people["ana"]}
        assert ids(client.get(URL, {"tag": "nobody-has-it"})) == set()

    def test_created_and_updated_ranges(self, client, people):
        old = timezone.now() - timezone.timedelta(days=3)
        Contact.objects.filter(pk=people["cat"]).update(created_at=old, updated_at=old)
        cut = (timezone.now() - timezone.timedelta(days=1)).isoformat()
        assert ids(client.get(URL, {"created_before": cut})) == {people["cat"]}
        assert ids(client.get(URL, {"created_after": cut})) == {people["ana"], people["bob"]}
        assert ids(client.get(URL, {"updated_before": cut})) == {people["cat"]}

    def test_bad_date_is_422(self, client, people):
        body = assert_api_error(client.get(URL, {"created_after": "last tuesday"}), 422)
        assert "created" in str(body["errors"])

    def test_rcs_capable(self, client, people):
        Contact.objects.filter(pk=people["bob"]).update(rcs_capable=True)
        assert ids(client.get(URL, {"rcs_capable": "true"})) == {people["bob"]}

    def test_attribute_filters_by_value(self, client, people):
        assert ids(client.get(URL, {"filter[city]": "madrid"})) == {people["ana"], people["bob"]}
        assert ids(client.get(URL, {"filter[age]": "34"})) == {people["ana"]}
        assert ids(client.get(URL, {"filter[city]": "madrid", "filter[age]": "17"})) == {people["bob"]}
        assert ids(client.get(URL, {"filter[gender]": "F"})) == {people["ana"]}
        assert ids(client.get(URL, {"filter[birthday]": "02.01.1990"})) == {people["cat"]}

    def test_unknown_attribute_filter_is_422(self, client, people):
        body = assert_api_error(client.get(URL, {"filter[shoe_size]": "42"}), 422)
        assert body["errors"] == {"filter[shoe_size]": ["There is no attribute “shoe_size”."]}

    def test_wrong_attribute_filter_value_is_422(self, client, people):
        body = assert_api_error(client.get(URL, {"filter[age]": "old"}), 422)
        assert "not a number" in body["errors"]["filter[age]"][0]
        assert_api_error(client.get(URL, {"filter[age]": ""}), 422)

    def test_criteria_with_every_mode(self, client, people):
        def crit(*criteria):
            return ids(client.get(URL, {"criteria": json.dumps(list(criteria))}))

        assert crit({"field": "attribute:age", "mode": "range", "from": 18, "to": 99}) == {people["ana"]}
        assert crit({"field": "attribute:age", "mode": "empty"}) == {people["cat"]}
        assert crit({"field": "attribute:birthday", "mode": "nonempty"}) == {people["cat"]}
        assert crit({"field": "tag", "mode": "empty"}) == {people["cat"]}
        assert crit({"field": "phone", "value": "61200000"}) == {people["ana"], people["bob"]}
        assert crit({"field": "attribute:city", "value": "madrid"},
                    {"field": "attribute:age", "mode": "range", "to": 20}) == {people["bob"]}

    def test_bad_criteria_are_422(self, client, people):
        for bad, fragment in [("not json", "JSON"), ('{"field": "tag"}', "list"),
                              ('[{"field": "attribute:nope"}]', "no attribute"),
                              ('[{"field": "attribute:name", "mode": "range", "from": 1}]', "range"),
                              ('[{"field": "tag", "mode": "sometimes"}]', "mode")]:
            body = assert_api_error(client.get(URL, {"criteria": bad}), 422)
            assert fragment in body["errors"]["criteria"][0], (bad, body)


@pytest.mark.django_db
class TestChange:
    @pytest.fixture
    def contact(self, client):
        response = create(client, phone="+34612000009", attributes={"name": "Ana", "city": "Madrid", "age": 30},
                          tags=["vip"], wechat_id="wx")
        return Contact.objects.get(pk=response.json()["id"])

    def test_patch_sets_given_keys_clears_nulls_keeps_the_rest(self, client, contact):
        response = client.patch(f"{URL}/{contact.pk}", {"attributes": {"city": "Sevilla", "age": None}},
                                format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["attributes"] == {"name": "Ana", "city": "Sevilla"}
        assert body["tags"] == ["vip"] and body["wechat_id"] == "wx" and body["phone"] == "+34612000009"

    def test_patch_tags_replaces_them(self, client, contact):
        body = client.patch(f"{URL}/{contact.pk}", {"tags": ["gold", "newsletter"]}, format="json").json()
        assert body["tags"] == ["gold", "newsletter"]

    def test_patch_phone(self, client, contact):
        body = client.patch(f"{URL}/{contact.pk}", {"phone": "0034 699 000 111"}, format="json").json()
        assert body["phone"] == "+34699000111"

    def test_patch_bad_input_is_422_and_changes_nothing(self, client, contact):
        body = assert_api_error(client.patch(f"{URL}/{contact.pk}", {"attributes": {"age": "old"}, "phone": "x"},
                                             format="json"), 422)
        assert {"attributes.age", "phone"} <= set(body["errors"])
        contact.refresh_from_db()
        assert contact.attributes["age"] == 30 and contact.phone == "+34612000009"

    def test_patch_to_an_existing_number_is_422(self, client, contact):
        other = create(client, phone=phone()).json()
        body = assert_api_error(client.patch(f"{URL}/{other['id']}", {"phone": contact.phone}, format="json"), 422)
        assert "already exists" in body["errors"]["phone"][0]

    def test_put_replaces_everything(self, client, contact):
        response = client.put(f"{URL}/{contact.pk}", {"phone": contact.phone, "attributes": {"surname": "Ruiz"}},
                              format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["attributes"] == {"surname": "Ruiz"} and body["tags"] == [] and body["wechat_id"] == ""

    def test_put_needs_the_phone(self, client, contact):
        body = assert_api_error(client.put(f"{URL}/{contact.pk}", {"attributes": {}}, format="json"), 422)
        assert body["errors"] == {"phone": ["This field is required."]}

    def test_method_override(self, client, contact):
        response = client.post(f"{URL}/{contact.pk}?_method=PATCH", {"attributes": {"city": "Bilbao"}},
                               format="json")
        assert response.status_code == 200 and response.json()["attributes"]["city"] == "Bilbao"

    def test_change_audited_with_old_and_new(self, client, contact, access, company):
        client.patch(f"{URL}/{contact.pk}", {"attributes": {"city": "Sevilla"}}, format="json")
        event = last_event("Changed contact", company)
        assert event.api_access == access and event.api_access_name == KEY_NAME
        [detail] = event.details.all()
        assert detail.old_value["attributes"]["city"] == "Madrid"
        assert detail.new_value["attributes"]["city"] == "Sevilla"

    def test_delete(self, client, contact, company, access):
        response = client.delete(f"{URL}/{contact.pk}")
        assert response.status_code == 200
        assert response.json() == {"id": contact.pk, "deleted": True}
        assert not Contact.objects.filter(pk=contact.pk).exists()
        event = last_event("Deleted contact", company)
        assert event.api_access == access
        assert event.details.get().operation == AuditDetail.Operation.DELETE
        assert_api_error(client.delete(f"{URL}/{contact.pk}"), 404)


@pytest.mark.django_db
class TestContactTags:
    @pytest.fixture
    def contact(self, company):
        return make_contacts(company, 1, tags=["vip"])[0]

    def test_add_tags_creates_missing_and_keeps_existing(self, client, contact, company, access):
        response = client.post(f"{URL}/{contact.pk}/tags", {"tags": ["Gold", "VIP"]}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["tags"] == ["Gold", "vip"]
        assert Tag.objects.for_company(company).count() == 2
        event = last_event("Changed contact tags", company)
        assert event.api_access == access

    def test_add_tags_bad_input_is_422(self, client, contact):
        assert "tags" in assert_api_error(client.post(f"{URL}/{contact.pk}/tags", {"tags": []}, format="json"),
                                          422)["errors"]
        assert "tags" in assert_api_error(client.post(f"{URL}/{contact.pk}/tags", {}, format="json"), 422)["errors"]
        body = assert_api_error(client.post(f"{URL}/{contact.pk}/tags", {"tags": ["  "]}, format="json"), 422)
        assert "tags" in str(body["errors"])

    def test_remove_by_name_and_by_id(self, client, contact, company):
        client.post(f"{URL}/{contact.pk}/tags", {"tags": ["gold", "2024"]}, format="json")
        assert client.delete(f"{URL}/{contact.pk}/tags/VIP").json()["tags"] == ["2024", "gold"]
        gold = Tag.objects.get(company=company, name="gold")
        assert client.delete(f"{URL}/{contact.pk}/tags/{gold.pk}").json()["tags"] == ["2024"]
        assert client.delete(f"{URL}/{contact.pk}/tags/2024").json()["tags"] == []
        assert Tag.objects.for_company(company).count() == 3  # the tags themselves stay

    def test_remove_a_tag_the_contact_does_not_have_changes_nothing(self, client, contact, company):
        Tag.objects.create(company=company, name="other")
        response = client.delete(f"{URL}/{contact.pk}/tags/other")
        assert response.status_code == 200 and response.json()["tags"] == ["vip"]

    def test_unknown_tag_is_404(self, client, contact):
        assert_api_error(client.delete(f"{URL}/{contact.pk}/tags/nope"), 404)
        assert_api_error(client.delete(f"{URL}/{contact.pk}/tags/999999"), 404)


@pytest.mark.django_db
class TestScope:
    def test_every_endpoint_needs_recipients(self, company):
        [contact] = make_contacts(company, 1, tags=["vip"])
        _, key = factories.api_access(company, scopes=["crm", "broadcast", "omni-api", "dids"])
        c = key_client(key)
        for method, url, body in [
            ("get", URL, None), ("post", URL, {"phone": phone()}), ("get", f"{URL}/{contact.pk}", None),
            ("put", f"{URL}/{contact.pk}", {"phone": phone()}), ("patch", f"{URL}/{contact.pk}", {}),
            ("delete", f"{URL}/{contact.pk}", None), ("post", f"{URL}/bulk", {"contacts": [{"phone": phone()}]}),
            ("post", f"{URL}/{contact.pk}/tags", {"tags": ["x"]}), ("delete", f"{URL}/{contact.pk}/tags/vip", None),
        ]:
            body = assert_api_error(getattr(c, method)(url, body, format="json"), 403)
            assert body["message"] == "This API key lacks the 'recipients' scope.", (method, url)
        assert Contact.objects.for_company(company).count() == 1
        assert list(Contact.objects.get(pk=contact.pk).tags.values_list("name", flat=True)) == ["vip"]

    def test_no_key_is_401(self):
        from rest_framework.test import APIClient

        assert_api_error(APIClient().get(URL), 401)


@pytest.mark.django_db
class TestTenantIsolation:
    @pytest.fixture
    def theirs(self, other_company):
        return make_contacts(other_company, 2, attributes={"city": "Madrid"}, tags=["vip"])

    def test_list_never_includes_other_company(self, client, company, theirs):
        mine = {c.pk for c in make_contacts(company, 2, attributes={"city": "Madrid"}, tags=["vip"])}
        for params in ({}, {"tag": "vip"}, {"filter[city]": "Madrid"}, {"country": "ES"},
                       {"criteria": json.dumps([{"field": "tag", "mode": "nonempty"}])}):
            assert ids(client.get(URL, params)) == mine, params
        assert ids(client.get(URL, {"phone": theirs[0].phone})) == set()

    def test_every_detail_and_action_on_their_contact_is_404(self, client, theirs, other_company):
        contact = theirs[0]
        tag = Tag.objects.get(company=other_company)
        for method, url, body in [
            ("get", f"{URL}/{contact.pk}", None), ("put", f"{URL}/{contact.pk}", {"phone": phone()}),
            ("patch", f"{URL}/{contact.pk}", {"attributes": {"city": "X"}}), ("delete", f"{URL}/{contact.pk}", None),
            ("post", f"{URL}/{contact.pk}/tags", {"tags": ["x"]}),
            ("delete", f"{URL}/{contact.pk}/tags/vip", None), ("delete", f"{URL}/{contact.pk}/tags/{tag.pk}", None),
        ]:
            body = assert_api_error(getattr(client, method)(url, body, format="json"), 404)
            assert contact.phone not in str(body), (method, url)
        contact.refresh_from_db()
        assert contact.attributes == {"city": "Madrid"}
        assert list(contact.tags.values_list("name", flat=True)) == ["vip"]

    def test_their_tag_id_cannot_be_removed_from_my_contact(self, client, company, theirs, other_company):
        [mine] = make_contacts(company, 1, tags=["vip"])
        their_tag = Tag.objects.get(company=other_company)
        if not Tag.objects.filter(company=company, pk=their_tag.pk).exists():
            assert_api_error(client.delete(f"{URL}/{mine.pk}/tags/{their_tag.pk}"), 404)
        assert ContactTag.objects.filter(tag=their_tag).count() == 2

    def test_create_lands_in_the_keys_company(self, client, company, other_company):
        body = create(client, phone=phone(), tags=["vip"]).json()
        assert Contact.objects.get(pk=body["id"]).company == company
        assert not Tag.objects.for_company(other_company).exists()


@pytest.mark.django_db
def test_list_query_count_does_not_grow(client, company, django_assert_max_num_queries):
    def add(n):
        for contact in make_contacts(company, n, attributes={"name": "Ann"}, tags=["vip", "gold"]):
            OptOut.objects.create(company=company, contact=contact, channel=1, sender="")

    add(5)
    few, n_few = count_queries(client, URL)
    add(45)
    with django_assert_max_num_queries(few):
        many, n_many = count_queries(client, URL)
    assert (n_few, n_many) == (5, 50)
    assert few == many <= 4  # key, page, tags, opt-outs


@pytest.mark.django_db
def test_filtered_list_query_count_does_not_grow(client, company):
    params = {"tag": "vip", "filter[name]": "Ann", "criteria": json.dumps([{"field": "attribute:age",
                                                                            "mode": "empty"}])}
    make_contacts(company, 5, attributes={"name": "Ann"}, tags=["vip"])
    few, n_few = count_queries(client, URL, params)
    make_contacts(company, 45, attributes={"name": "Ann"}, tags=["vip"])
    many, n_many = count_queries(client, URL, params)
    assert (n_few, n_many) == (5, 50)
    assert few == many <= 6  # + the attributes read once per criteria source
