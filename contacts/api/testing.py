"""Helpers for the contacts API tests (``contacts/tests/test_api_*.py``)."""

from __future__ import annotations

import itertools

from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.api.testing import key_client
from portal.audit import Actor
from portal.testing import factories

KEY_NAME = "CRM sync"
CLIENT_IP = "198.51.100.7"
_numbers = itertools.count(1)


def recipients_client(company, *, name: str = KEY_NAME, scopes=("recipients",)):
    """(access, client) for a key of ``company`` with ``scopes``; the key's first use is
    already recorded, so query counts measure only the request under test."""
    access, raw = factories.api_access(company, name=name, scopes=list(scopes))
    client = key_client(raw, REMOTE_ADDR=CLIENT_IP)
    client.get("/api/v1/me")
    return access, client


def phone(n: int | None = None) -> str:
    """A valid, unique Spanish mobile number in E.164."""
    return f"+346{(n if n is not None else 10_000_000 + next(_numbers)):08d}"


def make_contacts(company, n: int, *, attributes=None, tags=(), start: int | None = None) -> list:
    """``n`` contacts of ``company`` created through the bulk service (so test data obeys
    the same rules); returns them newest first."""
    from contacts import services
    from contacts.models import Contact

    base = start if start is not None else 20_000_000 + next(_numbers) * 10_000
    rows = [{"phone": phone(base + i), "attributes": dict(attributes or {})} for i in range(n)]
    result = services.bulk_upsert_contacts(actor=Actor.system(company), company=company, rows=rows, tags=list(tags))
    assert all(r.status == "created" for r in result.results), result.results
    return list(Contact.objects.filter(pk__in=[r.id for r in result.results]).order_by("-id"))


def count_queries(client, url, params=None) -> tuple[int, int]:
    """(queries, rows) of one GET of a list endpoint."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries), len(response.json()["results"])


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content[:500]
    return {row["id"] for row in response.json()["results"]}


def last_event(action_prefix: str, company):
    from portal.models import AuditEvent

    return AuditEvent.objects.filter(company=company, action__startswith=action_prefix).order_by("-id").first()
