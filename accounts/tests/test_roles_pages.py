"""Roles tab: system roles read-only; custom roles with a name of at most 40
characters, a description, a template and permissions from the catalogue."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Role
from portal.audit import Actor
from portal.models import AuditEvent
from portal.permissions import ALL_CODES, SYSTEM_ROLES
from portal.testing import factories


def test_roles_list_shows_the_four_system_roles_and_own_custom_roles(admin_client, company, other_company):
    services.create_role(actor=Actor.system(company), company=company, name="Mine", permissions=["view_audit"])
    services.create_role(actor=Actor.system(other_company), company=other_company, name="Theirs",
                         permissions=["view_audit"])
    html = admin_client.get(reverse("users:roles")).content.decode()
    for name in ("Admin", "Broadcast manager", "Finance manager", "NOC engineer", "Mine"):
        assert name in html
    assert "· System" in html
    assert "Theirs" not in html


def test_system_role_permissions_follow_the_catalogue(db):
    assert factories.system_role("admin").permission_set == ALL_CODES
    assert len(ALL_CODES) >= 27
    finance = factories.system_role("finance_manager").permission_set
    assert {"view_payments", "manage_payments", "export_entities", "view_dashboard"} <= finance
    assert "manage_users" not in finance
    for code, (_n, _d, perms) in SYSTEM_ROLES.items():
        assert set(perms) <= ALL_CODES, code


def test_create_custom_role(admin_client, admin_user, company):
    response = admin_client.post(reverse("users:role_create"), {
        "name": "Support lead", "description": "Conversations and audit",
        "permissions": ["view_conversations", "manage_conversations", "view_audit"]})
    assert response.status_code == 302
    role = Role.objects.get(company=company, name="Support lead")
    assert role.permission_set == {"view_conversations", "manage_conversations", "view_audit"}
    assert AuditEvent.objects.filter(action="Added new role", user=admin_user).exists()


@pytest.mark.parametrize("data, message", [
    ({"name": "x" * 41, "permissions": ["view_audit"]}, "at most 40 characters"),
    ({"name": "Admin", "permissions": ["view_audit"]}, "already exists"),
    ({"name": "Empty", "permissions": []}, "Select at least one permission."),
    ({"name": "Bad", "permissions": ["launch_rockets"]}, "launch_rockets"),
])
def test_invalid_roles_are_refused_with_a_reason(admin_client, company, data, message):
    response = admin_client.post(reverse("users:role_create"), data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Role.objects.filter(company=company).exists()


def test_template_prefills_the_permissions(admin_client):
    finance = factories.system_role("finance_manager")
    html = admin_client.get(reverse("users:role_create") + f"?template={finance.pk}").content.decode()
    assert 'value="manage_payments" checked' in html
    assert 'value="manage_users" checked' not in html


def test_system_roles_are_read_only(admin_client):
    admin_role = factories.system_role("admin")
    assert admin_client.get(reverse("users:role_edit", args=[admin_role.pk])).status_code == 404
    assert admin_client.post(reverse("users:role_edit", args=[admin_role.pk]),
                             {"name": "Hacked", "permissions": ["view_audit"]}).status_code == 404
    response = admin_client.post(reverse("users:role_delete", args=[admin_role.pk]), follow=True)
    assert "System roles are not editable." in response.content.decode()
    assert Role.objects.filter(pk=admin_role.pk, name="Admin").exists()
    html = admin_client.get(reverse("users:role_detail", args=[admin_role.pk])).content.decode()
    assert "System roles are not editable" in html and 'name="permissions" value="view_audit" checked disabled' in html


def test_edit_and_delete_custom_role_changes_what_its_users_may_do(admin_client, company):
    role = services.create_role(actor=Actor.system(company), company=company, name="Auditor",
                                permissions=["view_audit"])
    user = factories.user(company, roles=[role])
    client = Client()
    client.force_login(user)
    assert client.get("/audit/").status_code == 200
    response = admin_client.post(reverse("users:role_edit", args=[role.pk]),
                                 {"name": "Auditor", "permissions": ["view_dashboard"]})
    assert response.status_code == 302
    assert client.get("/audit/").status_code == 403
    assert admin_client.post(reverse("users:role_delete", args=[role.pk])).status_code == 302
    assert not Role.objects.filter(pk=role.pk).exists()
    assert AuditEvent.objects.filter(action="Deleted role").exists()


def test_roles_pages_need_manage_roles(company):
    client = Client()
    client.force_login(factories.user(company, roles=[factories.system_role("broadcast_manager")]))
    assert client.get(reverse("users:roles")).status_code == 403
    assert client.post(reverse("users:role_create"), {"name": "x", "permissions": ["view_audit"]}).status_code == 403
