"""The portal shell: sign-in required, the menu by permission, honest coming-soon pages."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from portal.testing import factories

ADMIN_MENU = ["dashboard", "broadcasts", "contacts", "conversations", "finance", "statistics", "assets", "users",
              "audit", "api_accesses", "twofa"]


def menu_keys(html):
    return [part.split('"', 1)[0] for part in html.split('data-menu="')[1:]]


def test_pages_need_sign_in(client, db):
    for url in ("/dashboard/", "/users/", "/audit/", "/api-accesses/", "/account/", "/broadcasts/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/"), url
    assert client.get("/").url == "/login/"


def test_admin_sees_every_section(admin_client):
    keys = menu_keys(admin_client.get("/dashboard/").content.decode())
    assert keys[: len(ADMIN_MENU)] == ADMIN_MENU
    assert {"account", "help", "logout"} <= set(keys)


@pytest.mark.parametrize("role, visible, hidden", [
    ("finance_manager", {"dashboard", "finance", "statistics"}, {"users", "audit", "api_accesses", "broadcasts"}),
    ("broadcast_manager", {"broadcasts", "contacts", "assets"}, {"users", "audit", "finance", "api_accesses"}),
    ("noc_engineer", {"audit", "statistics", "twofa"}, {"users", "broadcasts", "api_accesses"}),
])
def test_menu_hides_what_the_role_may_not_see_and_pages_refuse_it(company, role, visible, hidden):
    client = Client()
    client.force_login(factories.user(company, roles=[factories.system_role(role)]))
    keys = set(menu_keys(client.get("/dashboard/").content.decode()))
    assert visible <= keys and not (hidden & keys)
    urls = {"users": "/users/", "audit": "/audit/", "api_accesses": "/api-accesses/", "broadcasts": "/broadcasts/",
            "finance": "/finance/"}
    for key in hidden:
        assert client.get(urls[key]).status_code == 403, key


@pytest.mark.parametrize("path, title", [("/conversations/", "Conversations"), ("/finance/", "Finance"),
                                         ("/statistics/", "Statistics"), ("/2fa-service/", "2FA Service")])
def test_unbuilt_sections_say_coming_soon(admin_client, path, title):
    html = admin_client.get(path).content.decode()
    assert "Coming soon" in html and f"{title} is not built yet" in html


def test_assets_opens_the_first_tab_the_user_may_see(company, admin_client):
    response = admin_client.get("/assets/")
    assert response.status_code == 302 and response.url == reverse("sender_ids:list")
    for permission, page in (("manage_media", "media:list"), ("manage_content_templates", "content_templates:list")):
        role = Role.objects.create(company=company, name=permission, permissions=[permission])
        client = Client()
        client.force_login(factories.user(company, roles=[role]))
        assert client.get("/assets/").url == reverse(page)
    role = Role.objects.create(company=company, name="WhatsApp only", permissions=["manage_whatsapp_templates"])
    client = Client()
    client.force_login(factories.user(company, roles=[role]))
    html = client.get("/assets/").content.decode()
    assert "Coming soon" in html and "Assets is not built yet" in html


def test_backoffice_staff_without_company_go_to_the_admin(client, db):
    owner = User.objects.create_superuser("owner", "Own3r!pass-word", email="owner@example.com")
    client.force_login(owner)
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response.url == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200


def test_backoffice_manages_companies_users_roles_keys_and_reads_the_audit(client, company, admin_user):
    owner = User.objects.create_superuser("owner", "Own3r!pass-word", email="owner@example.com")
    client.force_login(owner)
    for name in ("accounts_company", "accounts_user", "accounts_role", "accounts_apiaccess", "portal_auditevent"):
        app, model = name.split("_", 1)
        assert client.get(reverse(f"admin:{app}_{model}_changelist")).status_code == 200, name
    assert client.get(reverse("admin:portal_auditevent_add")).status_code == 403
    response = client.post(reverse("admin:accounts_company_add"), {
        "name": "Initech", "time_zone": "Europe/Madrid", "currency": "USD", "default_region": "ES",
        "password_max_age_days": 60, "is_active": "on", "accounts_department_set-TOTAL_FORMS": 0,
        "accounts_department_set-INITIAL_FORMS": 0})
    assert response.status_code == 302
    from accounts.models import Company, Department

    initech = Company.objects.get(name="Initech")
    assert sorted(Department.objects.for_company(initech).values_list("name", flat=True)) == [
        "Admin", "First line support"]


def test_backoffice_unblocks_a_blocked_user(client, company):
    owner = User.objects.create_superuser("owner", "Own3r!pass-word", email="owner@example.com")
    blocked = factories.user(company)
    User.objects.filter(pk=blocked.pk).update(blocked_for_inactivity=True)
    client.force_login(owner)
    client.post(reverse("admin:accounts_user_changelist"), {"action": "unblock", "_selected_action": [blocked.pk]})
    blocked.refresh_from_db()
    assert not blocked.blocked_for_inactivity
