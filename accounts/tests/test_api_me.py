"""GET /api/v1/me: the key's company and API access."""

import pytest

from portal.api.testing import assert_api_error, key_client
from portal.testing import factories


@pytest.mark.django_db
def test_me_returns_company_and_access(company):
    company.time_zone, company.currency = "Europe/Madrid", "USD"
    company.save()
    access, key = factories.api_access(
        company, name="CRM sync", scopes=["crm", "broadcast"], allowed_senders=["ACME"],
        webhook_url="https://crm.example.com/hook", ip_allowlist=["127.0.0.1"])
    response = key_client(key, REMOTE_ADDR="127.0.0.1").get("/api/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["company"] == {"id": company.pk, "name": "Acme", "time_zone": "Europe/Madrid", "currency": "USD"}
    api = body["api_access"]
    assert api["id"] == access.pk
    assert api["name"] == "CRM sync"
    assert api["scopes"] == ["crm", "broadcast"]
    assert api["allowed_senders"] == ["ACME"]
    assert api["webhook_url"] == "https://crm.example.com/hook"
    assert api["ip_allowlist"] == ["127.0.0.1/32"]
    assert api["created_at"]
    assert "last_used_at" in api
    assert set(api) == {"id", "name", "scopes", "allowed_senders", "webhook_url", "ip_allowlist", "created_at",
                        "last_used_at"}


@pytest.mark.django_db
def test_me_never_shows_the_key_or_its_hash(company):
    access, key = factories.api_access(company)
    text = key_client(key).get("/api/v1/me").content.decode()
    assert key not in text
    assert access.key_hash not in text
    assert "key_hash" not in text and "key_prefix" not in text


@pytest.mark.django_db
def test_me_is_the_callers_company(company, other_company):
    _, key_a = factories.api_access(company)
    _, key_b = factories.api_access(other_company)
    assert key_client(key_a).get("/api/v1/me").json()["company"]["name"] == "Acme"
    assert key_client(key_b).get("/api/v1/me").json()["company"]["name"] == "Globex"


@pytest.mark.django_db
def test_me_is_read_only(api_client):
    assert_api_error(api_client.post("/api/v1/me", {}, format="json"), 405)
    assert_api_error(api_client.delete("/api/v1/me"), 405)
