"""/api/v1/tags: list with contact counts, detail, create, rename, delete (scope
recipients, tenant-scoped, audited)."""

import pytest

from contacts.api.testing import KEY_NAME, count_queries, ids, last_event, make_contacts, recipients_client
from contacts.models import ContactTag, Tag
from portal.api.testing import assert_api_error, key_client
from portal.models import AuditDetail
from portal.testing import factories

URL = "/api/v1/tags"


@pytest.fixture
def keyed(company):
    return recipients_client(company)


@pytest.fixture
def client(keyed):
    return keyed[1]


@pytest.mark.django_db
class TestRead:
    def test_list_with_contact_counts(self, client, company):
        make_contacts(company, 3, tags=["vip", "gold"])
        make_contacts(company, 2, tags=["vip"])
        Tag.objects.create(company=company, name="empty")
        body = client.get(URL).json()
        assert set(body) == {"next", "previous", "results"}
        counts = {row["name"]: row["contact_count"] for row in body["results"]}
        assert counts == {"vip": 5, "gold": 3, "empty": 0}
        assert all(set(row) == {"id", "name", "contact_count", "created_at"} for row in body["results"])
        assert [row["name"] for row in body["results"]][0] == "empty"  # newest first

    def test_name_filter(self, client, company):
        for name in ("VIP", "vip-2024", "gold"):
            Tag.objects.create(company=company, name=name)
        assert {row["name"] for row in client.get(URL, {"name": "vi"}).json()["results"]} == {"VIP", "vip-2024"}

    def test_detail_with_count(self, client, company):
        make_contacts(company, 2, tags=["vip"])
        tag = Tag.objects.get(company=company, name="vip")
        body = client.get(f"{URL}/{tag.pk}").json()
        assert (body["id"], body["name"], body["contact_count"]) == (tag.pk, "vip", 2)

    def test_unknown_id_is_404(self, client):
        assert_api_error(client.get(f"{URL}/999999"), 404)


@pytest.mark.django_db
class TestWrite:
    def test_create_and_audit(self, client, company, keyed):
        response = client.post(URL, {"name": "  Gold  "}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["name"] == "Gold" and response.json()["contact_count"] == 0
        tag = Tag.objects.get(pk=response.json()["id"])
        assert tag.company == company
        event = last_event("Added new tag", company)
        assert event.api_access == keyed[0] and event.api_access_name == KEY_NAME
        assert event.details.get().operation == AuditDetail.Operation.INSERT

    def test_create_bad_input_is_422(self, client, company):
        Tag.objects.create(company=company, name="VIP")
        assert "already exists" in assert_api_error(client.post(URL, {"name": "vip"}, format="json"),
                                                    422)["errors"]["name"][0]
        assert "name" in assert_api_error(client.post(URL, {"name": "  "}, format="json"), 422)["errors"]
        assert "name" in assert_api_error(client.post(URL, {"name": "x" * 101}, format="json"), 422)["errors"]
        assert "name" in assert_api_error(client.post(URL, {}, format="json"), 422)["errors"]
        assert assert_api_error(client.post(URL, {"name": "a", "color": "red"}, format="json"),
                                422)["errors"] == {"color": ["Unknown field."]}
        assert Tag.objects.for_company(company).count() == 1

    def test_rename_with_patch_and_put(self, client, company, keyed):
        make_contacts(company, 2, tags=["vip"])
        tag = Tag.objects.get(company=company)
        response = client.patch(f"{URL}/{tag.pk}", {"name": "VIP clients"}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["name"] == "VIP clients" and response.json()["contact_count"] == 2
        assert client.put(f"{URL}/{tag.pk}", {"name": "Gold"}, format="json").json()["name"] == "Gold"
        detail = last_event("Changed tag", company).details.get()
        assert (detail.old_value["name"], detail.new_value["name"]) == ("VIP clients", "Gold")

    def test_rename_to_its_own_name_in_another_case_is_fine(self, client, company):
        tag = Tag.objects.create(company=company, name="vip")
        assert client.patch(f"{URL}/{tag.pk}", {"name": "VIP"}, format="json").json()["name"] == "VIP"

    def test_rename_clash_is_422(self, client, company):
        Tag.objects.create(company=company, name="gold")
        tag = Tag.objects.create(company=company, name="vip")
        body = assert_api_error(client.patch(f"{URL}/{tag.pk}", {"name": "GOLD"}, format="json"), 422)
        assert "already exists" in body["errors"]["name"][0]
        tag.refresh_from_db()
        assert tag.name == "vip"

    def test_delete_untags_contacts_and_keeps_them(self, client, company, keyed):
        contacts = make_contacts(company, 3, tags=["vip"])
        tag = Tag.objects.get(company=company)
        response = client.delete(f"{URL}/{tag.pk}")
        assert response.status_code == 200
        assert response.json() == {"id": tag.pk, "deleted": True, "contacts_untagged": 3}
        assert not Tag.objects.filter(pk=tag.pk).exists() and not ContactTag.objects.exists()
        assert all(type(c).objects.filter(pk=c.pk).exists() for c in contacts)
        assert last_event("Deleted tag", company).api_access == keyed[0]
        assert_api_error(client.delete(f"{URL}/{tag.pk}"), 404)


@pytest.mark.django_db
class TestScopeAndTenancy:
    def test_scope_required_everywhere(self, company):
        tag = Tag.objects.create(company=company, name="vip")
        _, key = factories.api_access(company, scopes=["crm"])
        c = key_client(key)
        for method, url, body in [("get", URL, None), ("post", URL, {"name": "x"}), ("get", f"{URL}/{tag.pk}", None),
                                  ("put", f"{URL}/{tag.pk}", {"name": "x"}), ("patch", f"{URL}/{tag.pk}", {"name": "x"}),
                                  ("delete", f"{URL}/{tag.pk}", None)]:
            assert "recipients" in assert_api_error(getattr(c, method)(url, body, format="json"), 403)["message"]
        assert Tag.objects.get(pk=tag.pk).name == "vip"

    def test_their_tags_are_404_and_never_listed(self, client, company, other_company):
        make_contacts(other_company, 2, tags=["vip"])
        theirs = Tag.objects.get(company=other_company)
        mine = Tag.objects.create(company=company, name="vip")
        assert ids(client.get(URL)) == {mine.pk}
        assert client.get(f"{URL}/{mine.pk}").json()["contact_count"] == 0  # their links never counted
        for method, body in [("get", None), ("put", {"name": "x"}), ("patch", {"name": "x"}), ("delete", None)]:
            assert_api_error(getattr(client, method)(f"{URL}/{theirs.pk}", body, format="json"), 404)
        theirs.refresh_from_db()
        assert theirs.name == "vip" and ContactTag.objects.filter(tag=theirs).count() == 2

    def test_same_name_as_their_tag_is_fine(self, client, other_company):
        Tag.objects.create(company=other_company, name="vip")
        assert client.post(URL, {"name": "vip"}, format="json").status_code == 201


@pytest.mark.django_db
def test_list_query_count_does_not_grow(client, company, django_assert_max_num_queries):
    def add(n, start):
        for i in range(n):
            make_contacts(company, 2, tags=[f"t{start + i}"])

    add(5, 0)
    few, n_few = count_queries(client, URL)
    add(45, 100)
    with django_assert_max_num_queries(few):
        many, n_many = count_queries(client, URL)
    assert (n_few, n_many) == (5, 50)
    assert few == many <= 2  # key, one page with the counts annotated
