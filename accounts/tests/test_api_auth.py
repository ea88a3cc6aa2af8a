"""API authentication: the three ways to send a key, invalid / regenerated / deleted keys,
scopes and the IP allow-list."""

import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiAccess
from accounts.selectors import departments_for
from portal.api.testing import assert_api_error
from portal.audit import Actor
from portal.testing import factories

ME = "/api/v1/me"


@pytest.fixture
def access_and_key(company):
    return factories.api_access(company, name="CRM sync")


@pytest.mark.django_db
class TestKeyTransport:
    def test_x_api_key_header(self, access_and_key):
        _, key = access_and_key
        response = APIClient().get(ME, HTTP_X_API_KEY=key)
        assert response.status_code == 200
        assert response.json()["api_access"]["name"] == "CRM sync"

    def test_authorization_bearer(self, access_and_key):
        _, key = access_and_key
        response = APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {key}")
        assert response.status_code == 200
        assert response.json()["api_access"]["name"] == "CRM sync"

    def test_bearer_scheme_is_case_insensitive(self, access_and_key):
        _, key = access_and_key
        assert APIClient().get(ME, HTTP_AUTHORIZATION=f"bearer {key}").status_code == 200

    def test_access_token_query_parameter(self, access_and_key):
        _, key = access_and_key
        response = APIClient().get(ME, {"access_token": key})
        assert response.status_code == 200
        assert response.json()["api_access"]["name"] == "CRM sync"

    def test_use_is_recorded(self, access_and_key):
        access, key = access_and_key
        assert access.last_used_at is None
        APIClient().get(ME, HTTP_X_API_KEY=key)
        access.refresh_from_db()
        assert access.last_used_at is not None


@pytest.mark.django_db
class TestRefusedKeys:
    def test_missing_key_is_401_with_hint(self):
        response = APIClient().get(ME)
        body = assert_api_error(response, 401)
        assert "X-API-Key" in body["message"]
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'

    def test_invalid_key_is_401_json(self, access_and_key):
        response = APIClient().get(ME, HTTP_X_API_KEY="0" * 64)
        body = assert_api_error(response, 401)
        assert body["message"] == "The API key is not valid."
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'

    @pytest.mark.parametrize("header", ["HTTP_X_API_KEY", "HTTP_AUTHORIZATION", "query"])
    def test_invalid_key_by_every_transport(self, header):
        client = APIClient()
        if header == "query":
            response = client.get(ME, {"access_token": "nope"})
        elif header == "HTTP_AUTHORIZATION":
            response = client.get(ME, HTTP_AUTHORIZATION="Bearer nope")
        else:
            response = client.get(ME, HTTP_X_API_KEY="nope")
        assert_api_error(response, 401)

    def test_other_authorization_scheme_is_401(self, access_and_key):
        _, key = access_and_key
        assert_api_error(APIClient().get(ME, HTTP_AUTHORIZATION=f"Basic {key}"), 401)

    def test_regenerated_key_makes_old_key_401(self, access_and_key):
        access, old_key = access_and_key
        new_key = services.regenerate_api_key(actor=Actor.system(access.company), access=access)
        assert_api_error(APIClient().get(ME, HTTP_X_API_KEY=old_key), 401)
        assert APIClient().get(ME, HTTP_X_API_KEY=new_key).status_code == 200

    def test_deleted_access_is_401(self, access_and_key):
        access, key = access_and_key
        services.delete_api_access(actor=Actor.system(access.company), access=access)
        assert not ApiAccess.objects.filter(pk=access.pk).exists()
        assert_api_error(APIClient().get(ME, HTTP_X_API_KEY=key), 401)

    def test_key_of_disabled_company_is_401(self, access_and_key):
        access, key = access_and_key
        access.company.is_active = False
        access.company.save()
        assert_api_error(APIClient().get(ME, HTTP_X_API_KEY=key), 401)

    def test_portal_session_is_not_an_api_credential(self, admin_client):
        response = admin_client.get(ME)
        assert_api_error(response, 401)


@pytest.mark.django_db
class TestScopes:
    def test_missing_scope_is_403_naming_the_scope(self, company):
        _, key = factories.api_access(company, scopes=["broadcast"])
        for url in ("/api/v1/users", "/api/v1/departments"):
            body = assert_api_error(APIClient().get(url, HTTP_X_API_KEY=key), 403)
            assert "'crm'" in body["message"]

    def test_missing_scope_refuses_writes_too(self, company):
        _, key = factories.api_access(company, scopes=["recipients"])
        response = APIClient().post("/api/v1/departments", {"name": "Sales"}, format="json", HTTP_X_API_KEY=key)
        assert_api_error(response, 403)
        assert not departments_for(company).filter(name="Sales").exists()

    def test_me_needs_no_scope(self, company):
        _, key = factories.api_access(company, scopes=["dids"])
        assert APIClient().get(ME, HTTP_X_API_KEY=key).status_code == 200

    def test_crm_scope_allows(self, company):
        _, key = factories.api_access(company, scopes=["crm"])
        assert APIClient().get("/api/v1/users", HTTP_X_API_KEY=key).status_code == 200


@pytest.mark.django_db
class TestIpAllowList:
    def test_allowed_address(self, company):
        _, key = factories.api_access(company, ip_allowlist=["203.0.113.0/24", "198.51.100.7"])
        client = APIClient(REMOTE_ADDR="203.0.113.50")
        assert client.get(ME, HTTP_X_API_KEY=key).status_code == 200
        client = APIClient(REMOTE_ADDR="198.51.100.7")
        assert client.get(ME, HTTP_X_API_KEY=key).status_code == 200

    def test_refused_address_is_403_naming_the_ip(self, company):
        _, key = factories.api_access(company, ip_allowlist=["203.0.113.0/24"])
        response = APIClient(REMOTE_ADDR="192.0.2.1").get(ME, HTTP_X_API_KEY=key)
        body = assert_api_error(response, 403)
        assert "192.0.2.1" in body["message"]
        assert "allow-list" in body["message"]

    def test_forwarded_for_is_ignored_from_untrusted_peer(self, company):
        _, key = factories.api_access(company, ip_allowlist=["203.0.113.0/24"])
        client = APIClient(REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
        assert_api_error(client.get(ME, HTTP_X_API_KEY=key), 403)

    def test_forwarded_for_from_trusted_proxy(self, company, settings):
        settings.HERALD_TRUSTED_PROXIES = ["10.0.0.1"]
        _, key = factories.api_access(company, ip_allowlist=["203.0.113.0/24"])
        client = APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
        assert client.get(ME, HTTP_X_API_KEY=key).status_code == 200

    def test_ipv6_network(self, company):
        _, key = factories.api_access(company, ip_allowlist=["2001:db8::/32"])
        assert APIClient(REMOTE_ADDR="2001:db8::1").get(ME, HTTP_X_API_KEY=key).status_code == 200
        assert_api_error(APIClient(REMOTE_ADDR="2001:db9::1").get(ME, HTTP_X_API_KEY=key), 403)

    def test_empty_allow_list_allows_any_address(self, company):
        _, key = factories.api_access(company)
        assert APIClient(REMOTE_ADDR="192.0.2.200").get(ME, HTTP_X_API_KEY=key).status_code == 200
