"""Helpers for the Omni API tests (``messaging/tests/test_api_*.py``)."""

from __future__ import annotations

import itertools
import os
import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.ids import uuid7
from messaging.models import Attempt, Message, MessageStatus, SenderId, SenderIdStatus, Source, StatusEvent
from portal.api.testing import key_client
from portal.testing import factories

KEY_NAME = "Shop backend"
CLIENT_IP = "198.51.100.9"
_seq = itertools.count(1)


def omni_client(company, *, name: str = KEY_NAME, scopes=("omni-api",), **access_fields):
    """(access, client) for a key of ``company``; its first use is already recorded, so query
    counts measure only the request under test."""
    access, raw = factories.api_access(company, name=name, scopes=list(scopes), **access_fields)
    client = key_client(raw, REMOTE_ADDR=CLIENT_IP)
    client.get("/api/v1/me")
    return access, client


def active_sender(company, channel: int = 1, text: str = "ACME") -> SenderId:
    return SenderId.objects.create(company=company, channel=channel, sender_id=text, name=text,
                                   status=SenderIdStatus.ACTIVE)


def uuid_at(ms: int) -> uuid.UUID:
    """A UUIDv7 of the given Unix millisecond. (``messaging.ids.uuid7(at_ms)`` cannot make
    past ids: it never goes below the last id it made, and a future one would move the
    process's clock for every later id.)"""
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    return uuid.UUID(int=(ms << 80) | 0x7 << 76 | next(_seq) % 0xFFF << 64 | 0b10 << 62 | rand)


def make_message(company, *, at_ms: int | None = None, **fields) -> Message:
    """A message row for read tests (``at_ms``: the id's time, Unix milliseconds)."""
    n = next(_seq)
    values = {"address": f"+3461{n:07d}", "channel": 1, "source": Source.API, "status": MessageStatus.DELIVERED,
              "content": {"text": f"Message {n}"}, "encoding": "gsm7", "segments": 1}
    values.update(fields)
    return Message.objects.create(id=uuid_at(at_ms) if at_ms is not None else uuid7(), company=company, **values)


def add_history(message, attempts: int = 1, events=("submitted", "delivered")) -> None:
    now = timezone.now()
    for number in range(1, attempts + 1):
        Attempt.objects.create(message=message, number=number, started_at=now, finished_at=now, duration_ms=12,
                               ok=number == attempts, error="" if number == attempts else "timeout",
                               request={"to": message.address}, response={"n": number})
    for status in events:
        StatusEvent.objects.create(message=message, status=status, at=now,
                                   provider_status="DELIVRD" if status == "delivered" else "")


def count_queries(client, url, params=None) -> tuple[int, object]:
    """(queries, body) of one GET."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries), response.json()
