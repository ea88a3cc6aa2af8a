"""/api/v1/attributes: list, detail by key, create, replace, change, delete (scope
recipients, tenant-scoped, audited; type rules from services.update_attribute)."""

import pytest

from contacts.api.testing import KEY_NAME, count_queries, last_event, make_contacts, recipients_client
from contacts.attributes import DEFAULT_ATTRIBUTES
from contacts.models import Attribute, Contact
from portal.api.testing import assert_api_error, key_client
from portal.audit import Actor
from portal.testing import factories

URL = "/api/v1/attributes"
FIELDS = {"key", "name", "type", "values", "show_in_profile", "position", "created_at", "updated_at"}


@pytest.fixture
def keyed(company):
    return recipients_client(company)


@pytest.fixture
def client(keyed):
    return keyed[1]


def keys(response):
    assert response.status_code == 200, response.content
    return [row["key"] for row in response.json()["results"]]


@pytest.mark.django_db
class TestRead:
    def test_defaults_in_portal_order(self, client):
        body = client.get(URL).json()
        assert [row["key"] for row in body["results"]] == [d[0] for d in DEFAULT_ATTRIBUTES]
        gender = next(row for row in body["results"] if row["key"] == "gender")
        assert set(gender) == FIELDS
        assert gender["type"] == "list" and gender["values"] == ["m", "f"]

    def test_type_filter(self, client):
        assert keys(client.get(URL, {"type": "number"})) == ["age"]
        assert_api_error(client.get(URL, {"type": "colour"}), 422)

    def test_detail_by_key(self, client):
        body = client.get(f"{URL}/birthday").json()
        assert body["name"] == "Birthday" and body["type"] == "date"

    def test_unknown_key_is_404(self, client):
        assert_api_error(client.get(f"{URL}/shoe_size"), 404)
        assert_api_error(client.get(f"{URL}/Not-A-Key"), 404)

    def test_pagination_keeps_the_order(self, client):
        seen, url = [], f"{URL}?page_size=3"
        while url:
            body = client.get(url).json()
            seen += [row["key"] for row in body["results"]]
            url = body["next"]
        assert seen == [d[0] for d in DEFAULT_ATTRIBUTES]


@pytest.mark.django_db
class TestCreate:
    def test_list_attribute_created_and_audited(self, client, company, keyed):
        response = client.post(URL, {"name": "Loyalty level", "type": "list", "values": ["bronze", "silver", "gold"],
                                     "show_in_profile": True}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["key"] == "loyalty_level" and body["values"] == ["bronze", "silver", "gold"]
        assert body["show_in_profile"] is True
        assert keys(client.get(URL))[-1] == "loyalty_level"
        event = last_event("Added new attribute", company)
        assert event.api_access == keyed[0] and event.api_access_name == KEY_NAME

    def test_new_attribute_is_usable_on_contacts(self, client):
        client.post(URL, {"name": "Kids", "type": "number"}, format="json")
        response = client.post("/api/v1/contacts", {"phone": "+34612000301", "attributes": {"kids": "2"}},
                               format="json")
        assert response.json()["attributes"] == {"kids": 2}

    def test_bad_input_is_422(self, client, company):
        before = Attribute.objects.for_company(company).count()
        cases = [
            ({"name": "Level", "type": "list"}, "values"),
            ({"name": "Level", "type": "list", "values": ["a", "A"]}, "values"),
            ({"name": "Level", "type": "colour"}, "type"),
            ({"type": "text"}, "name"),
            ({"name": "city", "type": "text"}, "name"),  # exists (case-insensitive)
            ({"name": "Phone", "type": "text"}, "name"),  # reserved
            ({"name": "Level", "type": "text", "key": "lvl"}, "key"),  # keys are derived, not given
        ]
        for body, field in cases:
            errors = assert_api_error(client.post(URL, body, format="json"), 422)["errors"]
            assert field in errors, (body, errors)
        assert Attribute.objects.for_company(company).count() == before


@pytest.mark.django_db
class TestChange:
    @pytest.fixture
    def level(self, company):
        from contacts import services

        return services.create_attribute(actor=Actor.system(company), company=company, name="Level", type="list",
                                         values=["bronze", "gold"])

    def test_patch_renames_keeps_key(self, client, level, company, keyed):
        response = client.patch(f"{URL}/level", {"name": "Loyalty"}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["key"] == "level" and response.json()["name"] == "Loyalty"
        assert response.json()["values"] == ["bronze", "gold"]
        detail = last_event("Changed attribute", company).details.get()
        assert (detail.old_value["name"], detail.new_value["name"]) == ("Level", "Loyalty")

    def test_patch_adds_values_and_profile_flag(self, client, level):
        body = client.patch(f"{URL}/level", {"values": ["bronze", "gold", "platinum"], "show_in_profile": True},
                            format="json").json()
        assert body["values"] == ["bronze", "gold", "platinum"] and body["show_in_profile"] is True

    def test_put_replaces(self, client, level):
        body = client.put(f"{URL}/level", {"name": "Level", "type": "text"}, format="json").json()
        assert body["type"] == "text" and body["values"] == [] and body["show_in_profile"] is False

    def test_put_needs_name_and_type(self, client, level):
        errors = assert_api_error(client.put(f"{URL}/level", {"name": "Level"}, format="json"), 422)["errors"]
        assert list(errors) == ["type"]

    def test_type_cannot_change_once_contacts_have_values(self, client, level, company):
        make_contacts(company, 1, attributes={"level": "gold"})
        body = assert_api_error(client.patch(f"{URL}/level", {"type": "text"}, format="json"), 422)
        assert "cannot change" in body["errors"]["type"][0]
        assert Attribute.objects.get(pk=level.pk).type == "list"

    def test_values_in_use_cannot_be_removed(self, client, level, company):
        make_contacts(company, 1, attributes={"level": "gold"})
        body = assert_api_error(client.patch(f"{URL}/level", {"values": ["bronze"]}, format="json"), 422)
        assert "gold" in body["errors"]["values"][0]

    def test_delete_clears_the_values_on_contacts(self, client, level, company, keyed):
        contacts = make_contacts(company, 3, attributes={"level": "gold", "name": "Ann"})
        response = client.delete(f"{URL}/level")
        assert response.status_code == 200
        assert response.json() == {"key": "level", "deleted": True, "values_cleared": 3}
        assert not Attribute.objects.filter(pk=level.pk).exists()
        assert all(Contact.objects.get(pk=c.pk).attributes == {"name": "Ann"} for c in contacts)
        assert last_event("Deleted attribute", company).api_access == keyed[0]
        assert_api_error(client.get(f"{URL}/level"), 404)


@pytest.mark.django_db
class TestScopeAndTenancy:
    def test_scope_required_everywhere(self, company):
        _, key = factories.api_access(company, scopes=["crm"])
        c = key_client(key)
        for method, url, body in [("get", URL, None), ("post", URL, {"name": "X", "type": "text"}),
                                  ("get", f"{URL}/city", None), ("put", f"{URL}/city", {"name": "X", "type": "text"}),
                                  ("patch", f"{URL}/city", {"name": "X"}), ("delete", f"{URL}/city", None)]:
            assert "recipients" in assert_api_error(getattr(c, method)(url, body, format="json"), 403)["message"]
        assert Attribute.objects.for_company(company).filter(key="city", name="City").exists()

    def test_their_attribute_is_404(self, client, other_company):
        from contacts import services

        services.create_attribute(actor=Actor.system(other_company), company=other_company, name="Hobby",
                                  type="text")
        for method, body in [("get", None), ("put", {"name": "X", "type": "text"}), ("patch", {"name": "X"}),
                             ("delete", None)]:
            assert_api_error(getattr(client, method)(f"{URL}/hobby", body, format="json"), 404)
        assert Attribute.objects.filter(company=other_company, key="hobby", name="Hobby").exists()

    def test_same_key_acts_only_on_my_company(self, client, company, other_company):
        [theirs] = make_contacts(other_company, 1, attributes={"city": "Madrid"})
        make_contacts(company, 1, attributes={"city": "Sevilla"})
        assert client.delete(f"{URL}/city").json()["values_cleared"] == 1
        assert Attribute.objects.filter(company=other_company, key="city").exists()
        theirs.refresh_from_db()
        assert theirs.attributes == {"city": "Madrid"}
        assert "city" not in [row["key"] for row in client.get(URL).json()["results"]]


@pytest.mark.django_db
def test_list_query_count_does_not_grow(client, company, django_assert_max_num_queries):
    Attribute.objects.for_company(company).delete()

    def add(n, start):
        Attribute.objects.bulk_create(Attribute(company=company, key=f"a{start + i}", name=f"A{start + i}",
                                                position=start + i) for i in range(n))

    add(5, 0)
    few, n_few = count_queries(client, URL)
    add(45, 100)
    with django_assert_max_num_queries(few):
        many, n_many = count_queries(client, URL)
    assert (n_few, n_many) == (5, 50)
    assert few == many <= 2
