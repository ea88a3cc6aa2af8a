"""API Accesses page: the key is shown once and stored only as a hash."""

import hashlib

from django.test import Client
from django.urls import reverse

from accounts.models import ApiAccess
from portal.models import AuditDetail
from portal.testing import factories

DATA = {"name": "CRM sync", "webhook_url": "https://example.com/hook", "scopes": ["recipients", "omni-api"],
        "allowed_senders": "Herald, ACME", "ip_allowlist": "203.0.113.7\n198.51.100.0/24"}


def created_key(client, data=DATA):
    response = client.post(reverse("api_accesses:create"), data, follow=True)
    html = response.content.decode()
    return html.split('data-testid="new-api-key">', 1)[1].split("<", 1)[0], html


def test_create_shows_the_key_once_and_stores_only_its_hash(admin_client, company):
    key, html = created_key(admin_client)
    access = ApiAccess.objects.get(company=company)
    assert len(key) == 64 and access.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert access.scopes == ["recipients", "omni-api"]
    assert access.allowed_senders == ["Herald", "ACME"]
    assert access.ip_allowlist == ["203.0.113.7/32", "198.51.100.0/24"]
    assert "shown only once" in html
    again = admin_client.get(reverse("api_accesses:edit", args=[access.pk])).content.decode()
    assert key not in again and access.masked_key in again
    assert key not in admin_client.get(reverse("api_accesses:list")).content.decode()
    detail = AuditDetail.objects.get(event__action="Added new API access")
    assert "key_hash" not in detail.new_value and key not in str(detail.new_value)


def test_the_key_authenticates_the_api_and_regenerating_replaces_it(admin_client, company):
    key, _ = created_key(admin_client, {**DATA, "ip_allowlist": ""})
    api = Client()
    assert api.get("/api/v1/me", HTTP_X_API_KEY=key).status_code == 200
    access = ApiAccess.objects.get(company=company)
    html = admin_client.post(reverse("api_accesses:regenerate", args=[access.pk]), follow=True).content.decode()
    new_key = html.split('data-testid="new-api-key">', 1)[1].split("<", 1)[0]
    assert new_key != key
    assert api.get("/api/v1/me", HTTP_X_API_KEY=key).status_code == 401
    assert api.get("/api/v1/me", HTTP_X_API_KEY=new_key).status_code == 200


def test_invalid_input_is_refused_with_a_reason(admin_client):
    response = admin_client.post(reverse("api_accesses:create"),
                                 {**DATA, "ip_allowlist": "300.1.1.1", "webhook_url": "ftp://x"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "is not an IP address or network" in html and "Enter a valid http(s) URL for the webhook." in html
    response = admin_client.post(reverse("api_accesses:create"), {**DATA, "scopes": []})
    assert response.status_code == 422
    assert not ApiAccess.objects.exists()


def test_edit_and_delete(admin_client, company):
    access, raw = factories.api_access(company, name="Old")
    response = admin_client.post(reverse("api_accesses:edit", args=[access.pk]), {**DATA, "name": "New"})
    assert response.status_code == 302
    access.refresh_from_db()
    assert access.name == "New"
    assert admin_client.post(reverse("api_accesses:delete", args=[access.pk])).status_code == 302
    assert not ApiAccess.objects.filter(pk=access.pk).exists()
    assert Client().get("/api/v1/me", HTTP_X_API_KEY=raw).status_code == 401


def test_api_accesses_need_their_permission(company):
    client = Client()
    client.force_login(factories.user(company, roles=[factories.system_role("finance_manager")]))
    assert client.get(reverse("api_accesses:list")).status_code == 403
    assert client.post(reverse("api_accesses:create"), DATA).status_code == 403
