"""The Audit page: the company's log, expandable details, CSV of the details."""

import csv
import io

from django.test import Client
from django.urls import reverse

from accounts import services
from portal.audit import Actor
from portal.models import AuditEvent
from portal.testing import factories


def test_audit_lists_actions_with_user_ip_and_details(admin_client, admin_user, company):
    admin_client.post(reverse("users:role_create"), {"name": "Ops", "permissions": ["view_audit"]},
                      REMOTE_ADDR="203.0.113.9")
    event = AuditEvent.objects.get(action="Added new role")
    assert (event.user_login, event.ip_address) == ("acme-admin", "203.0.113.9")
    html = admin_client.get(reverse("audit:list")).content.decode()
    assert "Added new role" in html and "203.0.113.9" in html and "acme-admin" in html
    details = admin_client.get(reverse("audit:details", args=[event.pk])).content.decode()
    assert "This event has 1 line of detail" in details
    assert "accounts_role" in details and "Insert" in details and "&quot;name&quot;: &quot;Ops&quot;" in details


def test_update_details_hold_old_and_new_values(admin_client, company):
    role = services.create_role(actor=Actor.system(company), company=company, name="Ops", permissions=["view_audit"])
    admin_client.post(reverse("users:role_edit", args=[role.pk]), {"name": "Ops 2", "permissions": ["view_audit"]})
    detail = AuditEvent.objects.get(action="Changed role").details.get()
    assert detail.operation == "Update"
    assert detail.old_value["name"] == "Ops" and detail.new_value["name"] == "Ops 2"


def test_details_download_as_csv(admin_client, company):
    services.create_role(actor=Actor(user=None, company=company), company=company, name="Ops",
                         permissions=["view_audit"])
    event = AuditEvent.objects.get(action="Added new role")
    response = admin_client.get(reverse("audit:details_csv", args=[event.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Table", "Operation", "Object ID", "Old value", "New value"]
    assert rows[1][:2] == ["accounts_role", "Insert"] and '"name": "Ops"' in rows[1][4]


def test_filter_audit_by_action(admin_client, company):
    services.create_role(actor=Actor.system(company), company=company, name="Ops", permissions=["view_audit"])
    html = admin_client.get(reverse("audit:list") + "?action=role").content.decode()
    assert "Added new role" in html and "Added new company" not in html


def test_audit_needs_view_audit(company):
    client = Client()
    client.force_login(factories.user(company, roles=[factories.system_role("broadcast_manager")]))
    assert client.get(reverse("audit:list")).status_code == 403
    event = AuditEvent.objects.filter(company=company).first()
    assert client.get(reverse("audit:details", args=[event.pk])).status_code == 403
