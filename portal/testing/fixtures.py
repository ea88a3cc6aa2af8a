"""Common fixtures: two companies with an admin each (for tenant isolation tests),
and logged-in clients."""

import pytest

from portal.testing import factories


@pytest.fixture
def company(db):
    return factories.company("Acme")


@pytest.fixture
def other_company(db):
    return factories.company("Globex")


@pytest.fixture
def admin_user(company):
    return factories.admin(company, login="acme-admin", first_name="Alice", last_name="Admin")


@pytest.fixture
def other_admin(other_company):
    return factories.admin(other_company, login="globex-admin", first_name="Gordon", last_name="Globex")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def api_key(company):
    access, raw = factories.api_access(company)
    return raw


@pytest.fixture
def api_client(api_key):
    from rest_framework.test import APIClient

    c = APIClient()
    c.credentials(HTTP_X_API_KEY=api_key)
    return c
