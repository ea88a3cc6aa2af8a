"""GET /api/v1/users and /api/v1/users/{id}: read-only, scope crm, tenant-scoped."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Department, User
from portal.api.testing import assert_api_error, key_client
from portal.testing import factories

USER_FIELDS = {"id", "login", "first_name", "middle_name", "last_name", "email", "phone", "department", "language",
               "is_active", "unrestricted", "roles", "created_at", "updated_at"}


@pytest.fixture
def sales(company):
    return Department.objects.create(company=company, name="Sales")


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.django_db
class TestRead:
    def test_list_shape(self, api_client, admin_user):
        response = api_client.get("/api/v1/users")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        [row] = body["results"]
        assert set(row) == USER_FIELDS
        assert row["login"] == "acme-admin"
        assert row["first_name"] == "Alice" and row["last_name"] == "Admin"
        assert row["unrestricted"] is True
        assert row["department"] == {"id": admin_user.department_id, "name": admin_user.department.name}

    def test_detail(self, api_client, company, sales):
        user = factories.user(company, login="j.smith", first_name="John", middle_name="Q", last_name="Smith",
                              email="j.smith@example.com", phone="+34600111222", department=sales,
                              roles=[factories.system_role("broadcast_manager"), factories.system_role("admin")])
        response = api_client.get(f"/api/v1/users/{user.pk}")
        assert response.status_code == 200
        row = response.json()
        assert set(row) == USER_FIELDS
        assert row["id"] == user.pk
        assert row["login"] == "j.smith"
        assert (row["first_name"], row["middle_name"], row["last_name"]) == ("John", "Q", "Smith")
        assert row["email"] == "j.smith@example.com"
        assert row["phone"] == "+34600111222"
        assert row["department"] == {"id": sales.pk, "name": "Sales"}
        assert row["language"] == "en"
        assert row["is_active"] is True and row["unrestricted"] is False
        assert [r["name"] for r in row["roles"]] == sorted(r.name for r in user.roles.all())
        assert all(set(r) == {"id", "name"} for r in row["roles"])

    def test_user_without_department(self, api_client, company):
        user = factories.user(company)
        User.objects.filter(pk=user.pk).update(department=None)
        assert api_client.get(f"/api/v1/users/{user.pk}").json()["department"] is None

    def test_never_a_password_or_hash(self, api_client, admin_user):
        admin_user.refresh_from_db()
        for response in (api_client.get("/api/v1/users"), api_client.get(f"/api/v1/users/{admin_user.pk}")):
            text = response.content.decode()
            assert "password" not in text
            assert admin_user.password not in text

    def test_read_only(self, api_client, admin_user):
        assert_api_error(api_client.post("/api/v1/users", {"login": "x"}, format="json"), 405)
        assert_api_error(api_client.put(f"/api/v1/users/{admin_user.pk}", {}, format="json"), 405)
        assert_api_error(api_client.patch(f"/api/v1/users/{admin_user.pk}", {}, format="json"), 405)
        assert_api_error(api_client.delete(f"/api/v1/users/{admin_user.pk}"), 405)
        assert User.objects.filter(pk=admin_user.pk).exists()

    def test_unknown_id_is_404(self, api_client):
        assert_api_error(api_client.get("/api/v1/users/999999"), 404)
        assert_api_error(api_client.get("/api/v1/users/abc"), 404)


@pytest.mark.django_db
class TestFilters:
    @pytest.fixture
    def people(self, company, sales):
        return {
            "ann": factories.user(company, login="ann", email="Ann@Example.com", department=sales),
            "bob": factories.user(company, login="bob", email="bob@example.com"),
            "off": factories.user(company, login="off", email="off@example.com", is_active=False),
        }

    def test_by_login_case_insensitive(self, api_client, people):
        assert ids(api_client.get("/api/v1/users", {"login": "ANN"})) == {people["ann"].pk}

    def test_by_email_case_insensitive(self, api_client, people):
        assert ids(api_client.get("/api/v1/users", {"email": "ann@example.COM"})) == {people["ann"].pk}

    def test_by_department(self, api_client, people, sales):
        assert ids(api_client.get("/api/v1/users", {"department": sales.pk})) == {people["ann"].pk}

    def test_by_is_active(self, api_client, people):
        assert ids(api_client.get("/api/v1/users", {"is_active": "false"})) == {people["off"].pk}
        assert people["off"].pk not in ids(api_client.get("/api/v1/users", {"is_active": "true"}))

    def test_bad_filter_value_is_422(self, api_client, people):
        body = assert_api_error(api_client.get("/api/v1/users", {"department": "sales"}), 422)
        assert "department" in body["errors"]


@pytest.mark.django_db
class TestPagination:
    def test_cursor_walk(self, api_client, company):
        made = {factories.user(company).pk for _ in range(5)}
        seen, url, pages = [], "/api/v1/users?page_size=2", 0
        while url:
            body = api_client.get(url).json()
            seen += [row["id"] for row in body["results"]]
            url, pages = body["next"], pages + 1
        assert len(seen) == len(set(seen))
        assert set(seen) == made
        assert pages == 3
        assert seen == sorted(seen, reverse=True)  # newest first


@pytest.mark.django_db
class TestTenantIsolation:
    def test_list_never_includes_other_company(self, api_client, company, other_company, admin_user, other_admin):
        factories.user(other_company, login="globex-2")
        listed = ids(api_client.get("/api/v1/users?page_size=1000"))
        assert admin_user.pk in listed
        assert not listed & set(User.objects.filter(company=other_company).values_list("pk", flat=True))

    def test_staff_without_company_never_listed(self, api_client, admin_user):
        staff = User.objects.create_superuser("owner", "Str0ng!Passw0rd", email="o@example.com")
        assert staff.pk not in ids(api_client.get("/api/v1/users"))
        assert_api_error(api_client.get(f"/api/v1/users/{staff.pk}"), 404)

    def test_other_company_user_is_404(self, api_client, other_admin):
        body = assert_api_error(api_client.get(f"/api/v1/users/{other_admin.pk}"), 404)
        assert "Globex" not in str(body) and other_admin.login not in str(body)

    def test_other_company_department_filter_finds_nothing(self, api_client, other_company, other_admin):
        dept = other_admin.department
        assert ids(api_client.get("/api/v1/users", {"department": dept.pk})) == set()

    def test_other_companys_key_sees_its_own(self, company, other_company, admin_user, other_admin):
        _, key_b = factories.api_access(other_company)
        assert ids(key_client(key_b).get("/api/v1/users")) == {other_admin.pk}


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), len(response.json()["results"])


@pytest.mark.django_db
def test_list_query_count_does_not_grow(api_client, company, sales, django_assert_max_num_queries):
    roles = [factories.system_role("admin"), factories.system_role("finance_manager")]
    api_client.get("/api/v1/me")  # records the key's first use (one UPDATE) outside the measure
    for _ in range(5):
        factories.user(company, roles=roles, department=sales)
    few, n_few = _count_queries(api_client, "/api/v1/users")
    for _ in range(45):
        factories.user(company, roles=roles)
    with django_assert_max_num_queries(few):
        many, n_many = _count_queries(api_client, "/api/v1/users")
    assert (n_few, n_many) == (5, 50)
    assert few == many
    assert few <= 4  # key lookup, page of users (+ department join), roles prefetch
