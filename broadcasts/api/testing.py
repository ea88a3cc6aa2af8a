"""Helpers for the Broadcasts API tests (``broadcasts/tests/test_api_*.py``)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.api.testing import key_client
from portal.testing import factories

KEY_NAME = "Campaign tool"
CLIENT_IP = "198.51.100.11"


def broadcast_client(company, *, name: str = KEY_NAME, scopes=("broadcast",), **access_fields):
    """(access, client) for a key of ``company``; its first use is already recorded, so
    query counts measure only the request under test."""
    access, raw = factories.api_access(company, name=name, scopes=list(scopes), **access_fields)
    client = key_client(raw, REMOTE_ADDR=CLIENT_IP)
    client.get("/api/v1/me")
    return access, client


def sms_step(sender: str = "HERALD", text: str = "Hi {{attribute.name}}", **fields) -> dict:
    """An API step (the Omni API's words)."""
    return {"channel": 1, "senderId": sender, "payload": {"text": text}, **fields}


def count_queries(client, url, params=None) -> tuple[int, dict]:
    """(queries, body) of one GET."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries), response.json()
