"""Per-key throttling: HTTP 429 with Retry-After (the cache is cleared between tests)."""

import pytest

from portal.api.testing import assert_api_error, key_client
from portal.testing import factories


@pytest.fixture
def three_a_minute(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "3/min"}}


@pytest.mark.django_db
def test_fourth_request_in_a_minute_is_429_with_retry_after(company, three_a_minute):
    _, key = factories.api_access(company)
    client = key_client(key)
    for _ in range(3):
        assert client.get("/api/v1/me").status_code == 200
    response = client.get("/api/v1/users")
    body = assert_api_error(response, 429)
    assert 0 < int(response["Retry-After"]) <= 60
    assert "throttled" in body["message"]


@pytest.mark.django_db
def test_the_limit_is_per_key_not_per_company_or_ip(company, three_a_minute):
    _, key_a = factories.api_access(company)
    _, key_b = factories.api_access(company)
    a, b = key_client(key_a), key_client(key_b)
    for _ in range(3):
        assert a.get("/api/v1/me").status_code == 200
    assert_api_error(a.get("/api/v1/me"), 429)
    assert b.get("/api/v1/me").status_code == 200


@pytest.mark.django_db
def test_every_transport_shares_the_keys_budget(company, three_a_minute):
    from rest_framework.test import APIClient

    _, key = factories.api_access(company)
    client = APIClient()
    assert client.get("/api/v1/me", HTTP_X_API_KEY=key).status_code == 200
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    assert client.get("/api/v1/me", {"access_token": key}).status_code == 200
    assert_api_error(client.get("/api/v1/me", HTTP_X_API_KEY=key), 429)


@pytest.mark.django_db
def test_refused_requests_are_not_counted(company, three_a_minute):
    _, key = factories.api_access(company, scopes=["broadcast"])
    client = key_client(key)
    for _ in range(5):
        assert_api_error(client.get("/api/v1/users"), 403)  # scope check comes before throttling
    assert client.get("/api/v1/me").status_code == 200


@pytest.mark.django_db
def test_default_rate_is_generous(api_client):
    for _ in range(20):
        assert api_client.get("/api/v1/me").status_code == 200


@pytest.mark.django_db
def test_the_window_slides(company, settings):
    import time

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "3/s"}}
    _, key = factories.api_access(company)
    client = key_client(key)
    for _ in range(3):
        assert client.get("/api/v1/me").status_code == 200
    response = client.get("/api/v1/me")
    assert_api_error(response, 429)
    assert response["Retry-After"] == "1"
    time.sleep(1.05)  # the three requests have left the one-second window
    for _ in range(3):
        assert client.get("/api/v1/me").status_code == 200
    assert_api_error(client.get("/api/v1/me"), 429)


@pytest.mark.django_db
def test_a_refused_request_does_not_use_up_the_budget(company, settings):
    import time

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "2/s"}}
    _, key = factories.api_access(company)
    client = key_client(key)
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    for _ in range(5):
        assert_api_error(client.get("/api/v1/me"), 429)
    time.sleep(1.05)  # 429s are not recorded: the budget is back whole
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me").status_code == 200
