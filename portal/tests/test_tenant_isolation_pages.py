"""A user of company A can never see or touch company B's objects through the portal
pages: another company's ids answer 404 and lists never show its rows."""

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import ApiAccess, Department, Role, User
from portal.audit import Actor
from portal.models import AuditEvent
from portal.testing import factories


@pytest.fixture
def theirs(other_company, other_admin):
    role = services.create_role(actor=Actor(user=other_admin, company=other_company), company=other_company,
                                name="Globex secret role", permissions=["view_audit"])
    user = factories.user(other_company, login="globex-user", first_name="Hidden", last_name="Person",
                          email="hidden@globex.test")
    access, _raw = factories.api_access(other_company, name="Globex integration")
    event = AuditEvent.objects.filter(company=other_company).first()
    return {"role": role, "user": user, "access": access, "event": event}


DETAIL_URLS = [
    ("get", "users:edit", "user"), ("post", "users:edit", "user"), ("post", "users:delete", "user"),
    ("get", "users:role_detail", "role"), ("get", "users:role_edit", "role"), ("post", "users:role_edit", "role"),
    ("post", "users:role_delete", "role"),
    ("get", "api_accesses:edit", "access"), ("post", "api_accesses:edit", "access"),
    ("post", "api_accesses:regenerate", "access"), ("post", "api_accesses:delete", "access"),
    ("get", "audit:details", "event"), ("get", "audit:details_csv", "event"),
]


@pytest.mark.parametrize("method, url_name, kind", DETAIL_URLS)
def test_another_companys_ids_answer_404_and_change_nothing(admin_client, theirs, method, url_name, kind):
    obj = theirs[kind]
    before = (User.objects.count(), Role.objects.count(), ApiAccess.objects.count(),
              ApiAccess.objects.get(pk=theirs["access"].pk).key_hash, Role.objects.get(pk=theirs["role"].pk).name)
    response = getattr(admin_client, method)(reverse(url_name, args=[obj.pk]),
                                             {"name": "pwned", "permissions": ["view_audit"], "scopes": ["crm"]})
    assert response.status_code == 404
    after = (User.objects.count(), Role.objects.count(), ApiAccess.objects.count(),
             ApiAccess.objects.get(pk=theirs["access"].pk).key_hash, Role.objects.get(pk=theirs["role"].pk).name)
    assert before == after


@pytest.mark.parametrize("url_name, hidden", [
    ("users:list", "globex-user"), ("users:roles", "Globex secret role"), ("api_accesses:list", "Globex integration"),
    ("audit:list", "globex-admin"), ("users:departments", "Globex"),
])
def test_lists_never_show_another_companys_rows(admin_client, theirs, url_name, hidden):
    html = admin_client.get(reverse(url_name)).content.decode()
    assert hidden not in html


def test_exports_never_include_another_companys_rows(admin_client, theirs):
    for url in ("/users/?export=csv", "/audit/?export=csv", "/api-accesses/?export=csv", "/users/roles/?export=csv"):
        body = b"".join(admin_client.get(url).streaming_content).decode()
        assert "globex" not in body.lower() and "Globex secret role" not in body


def test_forms_offer_only_own_departments_and_roles(admin_client, theirs, other_company):
    Department.objects.create(company=other_company, name="Globex only dept")
    html = admin_client.get(reverse("users:create")).content.decode()
    assert "Globex only dept" not in html and "Globex secret role" not in html
    assert "Globex secret role" not in admin_client.get(reverse("users:role_create")).content.decode()


def test_scoped_manager_refuses_a_missing_company(db):
    from portal.tenancy import MissingCompany

    with pytest.raises(MissingCompany):
        ApiAccess.objects.for_company(None)
