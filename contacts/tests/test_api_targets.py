"""/api/v1/targets: list, detail, create, replace, change, delete, the live count and the
paginated members (scope recipients, tenant-scoped, audited)."""

import pytest

from contacts.api.testing import KEY_NAME, count_queries, ids, last_event, make_contacts, recipients_client
from contacts.models import Attribute, OptOut, Target
from portal.api.testing import assert_api_error, key_client
from portal.audit import Actor
from portal.testing import factories

URL = "/api/v1/targets"
MADRID_ADULTS = [{"field": "attribute:city", "mode": "value", "value": "Madrid"},
                 {"field": "attribute:age", "mode": "range", "from": 18}]


@pytest.fixture
def keyed(company):
    return recipients_client(company)


@pytest.fixture
def client(keyed):
    return keyed[1]


def new_target(company, name="Madrid adults", filters=None):
    from contacts import services

    return services.create_target(actor=Actor.system(company), company=company, name=name,
                                  filters=MADRID_ADULTS if filters is None else filters)


@pytest.fixture
def people(company):
    return {
        "adult": make_contacts(company, 3, attributes={"city": "Madrid", "age": 30}, tags=["vip"]),
        "minor": make_contacts(company, 2, attributes={"city": "Madrid", "age": 12}),
        "other": make_contacts(company, 2, attributes={"city": "Sevilla", "age": 40}),
    }


@pytest.mark.django_db
class TestCrud:
    def test_create_and_audit(self, client, company, keyed):
        response = client.post(URL, {"name": " Madrid adults ", "filters": MADRID_ADULTS}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == {"id", "name", "filters", "launches", "created_at", "updated_at"}
        assert body["name"] == "Madrid adults" and body["launches"] == 0
        assert body["filters"] == MADRID_ADULTS
        assert Target.objects.get(pk=body["id"]).company == company
        event = last_event("Added new target", company)
        assert event.api_access == keyed[0] and event.api_access_name == KEY_NAME

    def test_empty_filters_mean_everyone(self, client, people):
        body = client.post(URL, {"name": "All", "filters": []}, format="json").json()
        assert client.get(f"{URL}/{body['id']}/count").json()["count"] == 7

    def test_bad_criteria_are_422(self, client, company):
        cases = [
            ({"name": "x", "filters": [{"field": "attribute:shoe", "value": "1"}]}, "filters", "no attribute"),
            ({"name": "x", "filters": [{"field": "attribute:city", "mode": "range", "from": 1}]}, "filters", "range"),
            ({"name": "x", "filters": [{"field": "tag", "mode": "often"}]}, "filters", "mode"),
            ({"name": "x", "filters": [{"field": "colour", "value": "red"}]}, "filters", "field"),
            ({"name": "x", "filters": [{"field": "attribute:age", "value": "old"}]}, "filters", "number"),
            ({"name": "x", "filters": [{"field": "attribute:city", "mode": "value"}]}, "filters", "value"),
            ({"name": "x", "filters": "city=Madrid"}, "filters", "list"),
            ({"name": "x", "filters": ["city"]}, "filters", "object"),
            ({"name": "  ", "filters": []}, "name", ""),
            ({"filters": []}, "name", ""),
            ({"name": "x"}, "filters", ""),
            ({"name": "x", "filters": [], "count": 3}, "count", "Unknown"),
        ]
        for body, field, fragment in cases:
            errors = assert_api_error(client.post(URL, body, format="json"), 422)["errors"]
            assert field in errors and fragment in errors[field][0], (body, errors)
        assert not Target.objects.for_company(company).exists()

    def test_list_detail_and_name_filter(self, client, company):
        a, b = new_target(company, "Madrid adults"), new_target(company, "Sevilla", filters=[])
        assert [row["id"] for row in client.get(URL).json()["results"]] == [b.pk, a.pk]
        assert ids(client.get(URL, {"name": "madrid"})) == {a.pk}
        assert client.get(f"{URL}/{a.pk}").json()["filters"] == MADRID_ADULTS

    def test_put_patch_delete(self, client, company, keyed):
        target = new_target(company)
        body = client.patch(f"{URL}/{target.pk}", {"name": "Renamed"}, format="json").json()
        assert body["name"] == "Renamed" and body["filters"] == MADRID_ADULTS
        body = client.put(f"{URL}/{target.pk}", {"name": "Tagged", "filters": [{"field": "tag", "value": "vip"}]},
                          format="json").json()
        assert body["filters"] == [{"field": "tag", "mode": "value", "value": "vip"}]
        assert "filters" in assert_api_error(client.put(f"{URL}/{target.pk}", {"name": "x"}, format="json"),
                                             422)["errors"]
        assert last_event("Changed target", company).api_access == keyed[0]
        response = client.delete(f"{URL}/{target.pk}")
        assert response.json() == {"id": target.pk, "deleted": True}
        assert not Target.objects.filter(pk=target.pk).exists()
        assert last_event("Deleted target", company).api_access == keyed[0]

    def test_patch_bad_filters_changes_nothing(self, client, company):
        target = new_target(company)
        assert_api_error(client.patch(f"{URL}/{target.pk}", {"filters": [{"field": "attribute:nope", "value": 1}]},
                                      format="json"), 422)
        target.refresh_from_db()
        assert target.filters == MADRID_ADULTS


@pytest.mark.django_db
class TestCountAndMembers:
    def test_live_count(self, client, company, people):
        target = new_target(company)
        assert client.get(f"{URL}/{target.pk}/count").json() == {"id": target.pk, "count": 3}
        make_contacts(company, 2, attributes={"city": "Madrid", "age": 50})
        assert client.get(f"{URL}/{target.pk}/count").json()["count"] == 5

    def test_members_paginated(self, client, company, people):
        target = new_target(company)
        expected = {c.pk for c in people["adult"]}
        body = client.get(f"{URL}/{target.pk}/contacts", {"page_size": 2}).json()
        assert len(body["results"]) == 2 and body["next"]
        rest = client.get(body["next"]).json()
        assert {r["id"] for r in body["results"] + rest["results"]} == expected and rest["next"] is None
        assert body["results"][0]["tags"] == ["vip"]
        assert set(body["results"][0]) >= {"phone", "attributes", "opt_outs"}

    def test_target_whose_attribute_was_deleted_is_422(self, client, company, people):
        target = new_target(company)
        Attribute.objects.filter(company=company, key="age").delete()
        body = assert_api_error(client.get(f"{URL}/{target.pk}/count"), 422)
        assert "age" in body["errors"]["filters"][0]
        assert_api_error(client.get(f"{URL}/{target.pk}/contacts"), 422)


@pytest.mark.django_db
class TestScopeAndTenancy:
    def test_scope_required_everywhere(self, company):
        target = new_target(company)
        _, key = factories.api_access(company, scopes=["broadcast"])
        c = key_client(key)
        for method, url, body in [("get", URL, None), ("post", URL, {"name": "x", "filters": []}),
                                  ("get", f"{URL}/{target.pk}", None),
                                  ("put", f"{URL}/{target.pk}", {"name": "x", "filters": []}),
                                  ("patch", f"{URL}/{target.pk}", {"name": "x"}), ("delete", f"{URL}/{target.pk}", None),
                                  ("get", f"{URL}/{target.pk}/count", None),
                                  ("get", f"{URL}/{target.pk}/contacts", None)]:
            assert "recipients" in assert_api_error(getattr(c, method)(url, body, format="json"), 403)["message"]
        assert Target.objects.get(pk=target.pk).name == "Madrid adults"

    def test_their_target_is_404_everywhere(self, client, other_company):
        target = new_target(other_company)
        for method, url, body in [("get", f"{URL}/{target.pk}", None),
                                  ("put", f"{URL}/{target.pk}", {"name": "x", "filters": []}),
                                  ("patch", f"{URL}/{target.pk}", {"name": "x"}), ("delete", f"{URL}/{target.pk}", None),
                                  ("get", f"{URL}/{target.pk}/count", None),
                                  ("get", f"{URL}/{target.pk}/contacts", None)]:
            body = assert_api_error(getattr(client, method)(url, body, format="json"), 404)
            assert "Madrid" not in str(body)
        assert Target.objects.get(pk=target.pk).name == "Madrid adults"
        assert ids(client.get(URL)) == set()

    def test_count_and_members_only_from_my_company(self, client, company, other_company, people):
        make_contacts(other_company, 4, attributes={"city": "Madrid", "age": 30})
        target = new_target(company)
        assert client.get(f"{URL}/{target.pk}/count").json()["count"] == 3
        assert ids(client.get(f"{URL}/{target.pk}/contacts")) == {c.pk for c in people["adult"]}


@pytest.mark.django_db
def test_list_query_count_does_not_grow(client, company, django_assert_max_num_queries):
    def add(n):
        for i in range(n):
            new_target(company, f"T{i}", filters=[{"field": "tag", "value": f"t{i}"}])

    add(5)
    few, n_few = count_queries(client, URL)
    add(45)
    with django_assert_max_num_queries(few):
        many, n_many = count_queries(client, URL)
    assert (n_few, n_many) == (5, 50)
    assert few == many <= 2


@pytest.mark.django_db
def test_members_query_count_does_not_grow(client, company, django_assert_max_num_queries):
    target = new_target(company, filters=[{"field": "tag", "value": "vip"}])

    def add(n):
        for contact in make_contacts(company, n, attributes={"city": "Madrid"}, tags=["vip", "gold"]):
            OptOut.objects.create(company=company, contact=contact, channel=1)

    add(5)
    few, n_few = count_queries(client, f"{URL}/{target.pk}/contacts")
    add(45)
    with django_assert_max_num_queries(few):
        many, n_many = count_queries(client, f"{URL}/{target.pk}/contacts")
    assert (n_few, n_many) == (5, 50)
    assert few == many <= 6  # key, target, attributes (criteria), page, tags, opt-outs
