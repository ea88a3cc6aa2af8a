"""Users tab: create, edit, delete users; departments; who may do it."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Department, User
from portal.audit import Actor
from portal.models import AuditDetail, AuditEvent
from portal.testing import factories

PASSWORD = "N3w!default-pw"


def form_data(company, **overrides):
    data = {"first_name": "Grace", "last_name": "Hopper", "middle_name": "", "language": "en", "login": "ghopper",
            "password": PASSWORD, "email": "grace@example.com", "phone": "+34 600 000 000", "is_active": "on",
            "department": Department.objects.for_company(company).get(name="First line support").pk,
            "roles": [factories.system_role("broadcast_manager").pk]}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_admin_creates_a_user_who_must_change_the_default_password(admin_client, company, admin_user):
    response = admin_client.post(reverse("users:create"), form_data(company))
    assert response.status_code == 302
    user = User.objects.get(login="ghopper")
    assert user.company == company and user.must_change_password
    assert user.check_password(PASSWORD)
    assert [r.system_code for r in user.roles.all()] == ["broadcast_manager"]
    event = AuditEvent.objects.get(action="Added new user", user=admin_user)
    assert event.user == admin_user and event.company == company
    detail = event.details.get()
    assert (detail.table, detail.operation, detail.object_id) == ("accounts_user", "Insert", str(user.pk))
    assert detail.new_value["login"] == "ghopper" and "password" not in detail.new_value


def test_weak_password_is_refused_with_the_reason(admin_client, company):
    response = admin_client.post(reverse("users:create"), form_data(company, password="password"))
    assert response.status_code == 422
    assert "at least 3 of these 4 groups" in response.content.decode()
    assert not User.objects.filter(login="ghopper").exists()


def test_a_user_needs_a_role_or_no_restrictions(admin_client, company):
    response = admin_client.post(reverse("users:create"), form_data(company, roles=[]))
    assert response.status_code == 422
    assert "Choose at least one role" in response.content.decode()
    response = admin_client.post(reverse("users:create"), form_data(company, roles=[], unrestricted="on"))
    assert response.status_code == 302
    assert User.objects.get(login="ghopper").is_company_admin


def test_duplicate_login_is_refused(admin_client, company, admin_user):
    response = admin_client.post(reverse("users:create"), form_data(company, login=admin_user.login))
    assert response.status_code == 422
    assert "already exists" in response.content.decode()


def test_admin_creates_a_department_while_creating_a_user(admin_client, company):
    response = admin_client.post(reverse("users:create"), form_data(company, department="", new_department="Sales"))
    assert response.status_code == 302
    assert User.objects.get(login="ghopper").department.name == "Sales"


def test_edit_keeps_the_password_when_blank_and_forces_a_change_when_set(admin_client, company):
    user = factories.user(company, login="edited")
    data = form_data(company, login="edited", password="", first_name="Edith")
    assert admin_client.post(reverse("users:edit", args=[user.pk]), data).status_code == 302
    user.refresh_from_db()
    assert user.first_name == "Edith" and user.check_password(factories.PASSWORD) and not user.must_change_password
    data["password"] = "An0ther!secret"
    assert admin_client.post(reverse("users:edit", args=[user.pk]), data).status_code == 302
    user.refresh_from_db()
    assert user.check_password("An0ther!secret") and user.must_change_password
    assert AuditEvent.objects.filter(action="Changed user").count() == 2


def test_role_change_applies_to_the_users_next_page(admin_client, company):
    user = factories.user(company, login="finance", roles=[factories.system_role("finance_manager")])
    client = Client()
    client.force_login(user)
    assert client.get("/audit/").status_code == 403
    data = form_data(company, login="finance", password="", roles=[factories.system_role("noc_engineer").pk])
    response = admin_client.post(reverse("users:edit", args=[user.pk]), data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert client.get("/audit/").status_code == 200


def test_delete_user_and_not_yourself(admin_client, company, admin_user):
    user = factories.user(company)
    assert admin_client.post(reverse("users:delete", args=[user.pk])).status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    assert AuditDetail.objects.get(event__action="Deleted user").old_value["login"] == user.login
    response = admin_client.post(reverse("users:delete", args=[admin_user.pk]), follow=True)
    assert User.objects.filter(pk=admin_user.pk).exists()
    assert "Delete account" in response.content.decode()


def test_default_departments_and_admin_only_creation(admin_client, company):
    assert sorted(Department.objects.for_company(company).values_list("name", flat=True)) == [
        "Admin", "First line support"]
    response = admin_client.post(reverse("users:departments"), {"name": "Billing"})
    assert response.status_code == 302
    assert admin_client.post(reverse("users:departments"), {"name": "billing"}).status_code == 422
    role = services.create_role(actor=Actor.system(company), company=company, name="HR", permissions=["manage_users"])
    manager = factories.user(company, roles=[role])
    client = Client()
    client.force_login(manager)
    page = client.get(reverse("users:departments")).content.decode()
    assert "New departments are created by an Admin user." in page
    response = client.post(reverse("users:departments"), {"name": "Shadow"})
    assert response.status_code == 422
    assert not Department.objects.filter(name="Shadow").exists()
    # and the user form offers no "create new department" to a non-admin
    assert "new_department" not in client.get(reverse("users:create")).content.decode()


@pytest.mark.parametrize("url_name", ["users:list", "users:create", "users:roles", "users:departments"])
def test_users_pages_need_the_users_permissions(client, company, url_name):
    client.force_login(factories.user(company, roles=[factories.system_role("finance_manager")]))
    assert client.get(reverse(url_name)).status_code == 403


def test_user_form_cannot_take_another_companys_department_or_role(admin_client, company, other_company):
    foreign_dept = Department.objects.for_company(other_company).first()
    foreign_role = services.create_role(actor=Actor.system(other_company), company=other_company, name="Theirs",
                                        permissions=["view_dashboard"])
    response = admin_client.post(reverse("users:create"), form_data(company, department=foreign_dept.pk))
    assert response.status_code == 422
    response = admin_client.post(reverse("users:create"), form_data(company, roles=[foreign_role.pk]))
    assert response.status_code == 422
    assert not User.objects.filter(login="ghopper").exists()
