"""The per-process cache of API keys (``accounts/api/authentication.py``): a busy key costs no
query, and a revoked key, a changed access or a disabled company still take effect — at once
in the process that made the change, within ``HERALD_API_KEY_CACHE_SECONDS`` elsewhere."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services
from accounts.api import authentication
from accounts.models import ApiAccess, Company
from portal.api.testing import assert_api_error, key_client
from portal.audit import Actor
from portal.testing import factories

ME = "/api/v1/me"
MESSAGES = "/api/v1/messages"


@pytest.fixture(autouse=True)
def _empty_cache():
    authentication.clear_cache()
    yield
    authentication.clear_cache()


@pytest.fixture
def used_key(company):
    """(access, key) of a key that has answered one request: its access is cached."""
    access, key = factories.api_access(company, name="CRM sync")
    assert APIClient().get(ME, HTTP_X_API_KEY=key).status_code == 200
    return access, key


def queries_of(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
class TestCache:
    def test_a_known_key_costs_no_query_after_its_first_request(self, company):
        _, key = factories.api_access(company)
        client = key_client(key)
        client.get(ME)  # the first request reads the key (and records its use)
        assert queries_of(client, ME) == 0  # /me reads nothing else
        assert queries_of(client, ME) == 0

    def test_each_key_sees_its_own_company(self, company, other_company):
        _, ours = factories.api_access(company, name="ours")
        _, theirs = factories.api_access(other_company, name="theirs")
        for _ in range(2):  # cold, then from the cache
            assert key_client(ours).get(ME).json()["company"]["id"] == company.pk
            assert key_client(theirs).get(ME).json()["company"]["id"] == other_company.pk
            assert key_client(ours).get(ME).json()["api_access"]["name"] == "ours"

    def test_an_unknown_key_is_not_remembered(self, company):
        _, key = factories.api_access(company)
        assert_api_error(APIClient().get(ME, HTTP_X_API_KEY="0" * 64), 401)
        assert APIClient().get(ME, HTTP_X_API_KEY=key).status_code == 200

    def test_a_request_cannot_change_the_cached_access(self, used_key):
        access, key = used_key
        cached = authentication.find_access(key)
        first = authentication.ApiKeyAuthentication()
        request = APIClient().get(ME, HTTP_X_API_KEY=key).wsgi_request
        _user, auth = first.authenticate(request)
        auth.name, auth.company.name = "changed", "changed"
        assert auth is not cached and auth.company is not cached.company
        assert key_client(key).get(ME).json()["api_access"]["name"] == "CRM sync"
        assert key_client(key).get(ME).json()["company"]["name"] == "Acme"


@pytest.mark.django_db
class TestChangesTakeEffectAtOnce:
    def test_regenerated_key(self, used_key):
        access, old_key = used_key
        new_key = services.regenerate_api_key(actor=Actor.system(access.company), access=access)
        assert_api_error(APIClient().get(ME, HTTP_X_API_KEY=old_key), 401)
        assert APIClient().get(ME, HTTP_X_API_KEY=new_key).status_code == 200

    def test_deleted_access(self, used_key):
        access, key = used_key
        services.delete_api_access(actor=Actor.system(access.company), access=access)
        assert_api_error(APIClient().get(ME, HTTP_X_API_KEY=key), 401)

    def test_disabled_company(self, used_key):
        access, key = used_key
        access.company.is_active = False
        access.company.save()
        assert_api_error(APIClient().get(ME, HTTP_X_API_KEY=key), 401)

    def test_deleted_company(self, used_key):
        access, key = used_key
        Company.objects.filter(pk=access.company_id).delete()
        assert_api_error(APIClient().get(ME, HTTP_X_API_KEY=key), 401)

    def test_scope_removed(self, used_key):
        access, key = used_key
        client = key_client(key)
        assert client.get(MESSAGES).status_code == 200
        services.update_api_access(actor=Actor.system(access.company), access=access, name=access.name,
                                   scopes=["crm"])
        body = assert_api_error(client.get(MESSAGES), 403)
        assert "omni-api" in body["message"]

    def test_ip_allow_list_set(self, used_key):
        access, key = used_key
        services.update_api_access(actor=Actor.system(access.company), access=access, name=access.name,
                                   scopes=access.scopes, ip_allowlist=["203.0.113.7"])
        body = assert_api_error(key_client(key, REMOTE_ADDR="198.51.100.1").get(ME), 403)
        assert "198.51.100.1" in body["message"]


@pytest.mark.django_db
class TestOtherProcesses:
    """A change made by another process reaches this one when its cache entry expires: the
    change below bypasses the signals (``update()``), as a change elsewhere would."""

    def test_a_key_revoked_elsewhere_stops_within_the_bound(self, used_key, monkeypatch):
        access, key = used_key
        ApiAccess.objects.filter(pk=access.pk).update(key_hash="0" * 64)
        assert APIClient().get(ME, HTTP_X_API_KEY=key).status_code == 200  # still cached here
        now = authentication.time.monotonic()
        monkeypatch.setattr(authentication.time, "monotonic", lambda: now + authentication.cache_seconds() + 0.1)
        assert_api_error(APIClient().get(ME, HTTP_X_API_KEY=key), 401)

    def test_a_company_disabled_elsewhere_stops_within_the_bound(self, used_key, monkeypatch):
        access, key = used_key
        Company.objects.filter(pk=access.company_id).update(is_active=False)
        now = authentication.time.monotonic()
        monkeypatch.setattr(authentication.time, "monotonic", lambda: now + authentication.cache_seconds() + 0.1)
        assert_api_error(APIClient().get(ME, HTTP_X_API_KEY=key), 401)


@pytest.mark.django_db
def test_without_cache_every_request_reads_the_key(company, settings):
    settings.HERALD_API_KEY_CACHE_SECONDS = 0
    _, key = factories.api_access(company)
    client = key_client(key)
    client.get(ME)
    assert queries_of(client, ME) == 1  # the key
    assert queries_of(client, ME) == 1
