"""/api/v1/departments: list, detail and create (scope crm, tenant-scoped, audited)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.models import Department
from portal.api.testing import assert_api_error, key_client
from portal.audit import Actor
from portal.models import AuditDetail, AuditEvent
from portal.testing import factories

URL = "/api/v1/departments"


@pytest.fixture
def access_and_key(company):
    return factories.api_access(company, name="CRM sync", scopes=["crm"])


@pytest.fixture
def crm_client(access_and_key):
    return key_client(access_and_key[1], REMOTE_ADDR="198.51.100.7")


@pytest.mark.django_db
class TestRead:
    def test_list_has_the_default_departments(self, crm_client, company):
        body = crm_client.get(URL).json()
        assert set(body) == {"next", "previous", "results"}
        assert {row["name"] for row in body["results"]} == set(Department.DEFAULTS)
        assert all(set(row) == {"id", "name", "created_at"} for row in body["results"])

    def test_detail(self, crm_client, company):
        dept = Department.objects.create(company=company, name="Sales")
        response = crm_client.get(f"{URL}/{dept.pk}")
        assert response.status_code == 200
        assert response.json()["id"] == dept.pk
        assert response.json()["name"] == "Sales"

    def test_unknown_id_is_404(self, crm_client):
        assert_api_error(crm_client.get(f"{URL}/999999"), 404)

    def test_no_update_or_delete(self, crm_client, company):
        dept = Department.objects.for_company(company).first()
        assert_api_error(crm_client.put(f"{URL}/{dept.pk}", {"name": "X"}, format="json"), 405)
        assert_api_error(crm_client.delete(f"{URL}/{dept.pk}"), 405)
        assert_api_error(crm_client.post(f"{URL}/{dept.pk}", {"name": "X"}, format="json"), 405)


@pytest.mark.django_db
class TestCreate:
    def test_created_and_audited_with_the_key_as_actor(self, crm_client, company, access_and_key):
        access, _ = access_and_key
        response = crm_client.post(URL, {"name": "  Sales  "}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["name"] == "Sales"
        dept = Department.objects.get(pk=body["id"])
        assert dept.company == company

        event = AuditEvent.objects.get(action="Added new department")
        assert event.company == company
        assert event.api_access == access
        assert event.api_access_name == "CRM sync"
        assert event.user is None and event.user_login == ""
        assert event.ip_address == "198.51.100.7"
        assert event.actor_label == "API: CRM sync"
        [detail] = event.details.all()
        assert detail.operation == AuditDetail.Operation.INSERT
        assert detail.table == Department._meta.db_table
        assert detail.object_id == str(dept.pk)
        assert detail.new_value["name"] == "Sales"

    def test_form_encoded_body(self, crm_client):
        response = crm_client.post(URL, {"name": "Support"})
        assert response.status_code == 201
        assert response.json()["name"] == "Support"

    def test_missing_name_is_422(self, crm_client):
        body = assert_api_error(crm_client.post(URL, {}, format="json"), 422)
        assert body["errors"] == {"name": ["This field is required."]}
        assert body["message"] == "Validation failed: name: This field is required."

    def test_blank_name_is_422(self, crm_client):
        body = assert_api_error(crm_client.post(URL, {"name": "   "}, format="json"), 422)
        assert "name" in body["errors"]

    def test_too_long_name_is_422(self, crm_client):
        body = assert_api_error(crm_client.post(URL, {"name": "x" * 101}, format="json"), 422)
        assert "name" in body["errors"]

    def test_duplicate_name_is_422_from_the_service(self, crm_client, company):
        body = assert_api_error(crm_client.post(URL, {"name": "first LINE support"}, format="json"), 422)
        assert "already exists" in body["errors"]["name"][0]
        assert Department.objects.for_company(company).count() == len(Department.DEFAULTS)
        assert not AuditEvent.objects.filter(action="Added new department").exists()

    def test_same_name_in_another_company_is_fine(self, crm_client, other_company):
        Department.objects.create(company=other_company, name="Sales")
        assert crm_client.post(URL, {"name": "Sales"}, format="json").status_code == 201

    def test_malformed_json_is_400(self, crm_client):
        body = assert_api_error(crm_client.post(URL, "{not json", content_type="application/json"), 400)
        assert "JSON" in body["message"]

    def test_scope_required(self, company):
        _, key = factories.api_access(company, scopes=["broadcast"])
        assert_api_error(key_client(key).post(URL, {"name": "Sales"}, format="json"), 403)
        assert not Department.objects.filter(name="Sales").exists()


@pytest.mark.django_db
class TestServiceRule:
    """``create_department``: Admin users, or an API key of the company with the crm scope."""

    def test_non_admin_user_still_refused(self, company):
        agent = factories.user(company, roles=[factories.system_role("broadcast_manager")])
        with pytest.raises(PermissionDenied):
            services.create_department(actor=Actor(user=agent, company=company), company=company, name="X")

    def test_admin_user_allowed(self, company, admin_user):
        dept = services.create_department(actor=Actor(user=admin_user, company=company), company=company, name="X")
        assert dept.company == company

    def test_key_without_crm_refused(self, company):
        access, _ = factories.api_access(company, scopes=["broadcast"])
        with pytest.raises(PermissionDenied):
            services.create_department(actor=Actor(api_access=access, company=company), company=company, name="X")

    def test_key_of_another_company_refused(self, company, other_company):
        access, _ = factories.api_access(other_company, scopes=["crm"])
        with pytest.raises(PermissionDenied):
            services.create_department(actor=Actor(api_access=access, company=other_company), company=company,
                                       name="X")

    def test_anonymous_refused(self, company):
        with pytest.raises(PermissionDenied):
            services.create_department(actor=Actor.system(company), company=company, name="X")


@pytest.mark.django_db
class TestTenantIsolation:
    def test_list_never_includes_other_company(self, crm_client, other_company):
        theirs = set(Department.objects.for_company(other_company).values_list("pk", flat=True))
        mine = {row["id"] for row in crm_client.get(URL).json()["results"]}
        assert mine and not mine & theirs

    def test_other_company_department_is_404(self, crm_client, other_company):
        dept = Department.objects.for_company(other_company).first()
        body = assert_api_error(crm_client.get(f"{URL}/{dept.pk}"), 404)
        assert dept.name not in body["message"]

    def test_create_lands_in_the_keys_company_only(self, crm_client, company, other_company):
        response = crm_client.post(URL, {"name": "Sales", "company": other_company.pk}, format="json")
        assert response.status_code == 201
        assert Department.objects.get(pk=response.json()["id"]).company == company
        assert not Department.objects.for_company(other_company).filter(name="Sales").exists()


@pytest.mark.django_db
def test_list_query_count_does_not_grow(crm_client, company, django_assert_max_num_queries):
    crm_client.get("/api/v1/me")  # records the key's first use outside the measure

    def measure():
        with CaptureQueriesContext(connection) as ctx:
            response = crm_client.get(URL)
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.json()["results"])

    Department.objects.bulk_create(Department(company=company, name=f"D{i}") for i in range(5 - 2))
    few, n_few = measure()
    Department.objects.bulk_create(Department(company=company, name=f"E{i}") for i in range(45))
    with django_assert_max_num_queries(few):
        many, n_many = measure()
    assert (n_few, n_many) == (5, 50)
    assert few == many <= 2  # key lookup, one page
