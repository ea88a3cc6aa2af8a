"""Test data of the messaging engine: gateways, sender IDs, contacts, queued messages, and
a fake provider whose calls a test can count and script."""

from __future__ import annotations

import itertools
import json

import pytest
from django.utils import timezone

from contacts.models import Contact
from contacts.phones import normalize
from messaging import ids
from messaging.models import (
    STATUS_RANK,
    Gateway,
    Message,
    MessageStatus,
    Priority,
    SenderId,
    SenderIdStatus,
    Source,
)
from messaging.providers.base import (
    CallbackRejected,
    CallbackResult,
    CheckResult,
    Inbound,
    Provider,
    Report,
    SendResult,
)
from portal.channel_types import Channel

_seq = itertools.count(1)


@pytest.fixture
def keep_id_clock(monkeypatch):
    """For tests that travel in time: the id generator remembers the latest millisecond it
    used, so ids made in a travelled-to future would keep later tests' ids in that future.
    Restore its state afterwards."""
    monkeypatch.setattr(ids, "_last_ms", ids._last_ms)
    monkeypatch.setattr(ids, "_counter", ids._counter)


@pytest.fixture
def fake_provider(monkeypatch):
    """Register ``FakeProvider`` as provider ``fake``; returns the class (calls, script)."""
    from messaging import providers

    monkeypatch.setitem(providers.REGISTRY, "fake", "messaging.tests.factories.FakeProvider")
    FakeProvider.reset()
    yield FakeProvider
    FakeProvider.reset()


def gateway(*, channel: int = Channel.SMS, company=None, provider: str = "simulator", settings: dict | None = None,
            tps: int = 100_000, name: str | None = None, **fields) -> Gateway:
    return Gateway.objects.create(name=name or f"Gateway {next(_seq)}", channel=channel, provider=provider,
                                  company=company, settings={"seed": 1} if settings is None else settings,
                                  credentials=fields.pop("credentials", {}), tps=tps, **fields)


def sender_id(company, text: str = "HERALD", *, channel: int = Channel.SMS,
              status: str = SenderIdStatus.ACTIVE) -> SenderId:
    return SenderId.objects.create(company=company, channel=channel, sender_id=text, name=text, status=status)


def contact(company, phone: str | None = None, *, wechat_id: str = "", **attributes) -> Contact:
    number = normalize(phone or f"+3461{next(_seq):07d}")
    return Contact.objects.create(company=company, phone=number.e164, country=number.country, mno=number.mno,
                                  attributes=attributes, wechat_id=wechat_id)


def contacts(company, n: int, start: int = 0) -> list[Contact]:
    rows = []
    for i in range(start, start + n):
        phone = f"+3460{i:07d}"
        rows.append(Contact(company=company, phone=phone, country="ES", mno="Vodafone"))
    return Contact.objects.bulk_create(rows)


def queued(gateway: Gateway, company, n: int, *, priority: int = Priority.BULK, source: str = Source.BROADCAST,
           address_start: int = 0, text: str = "Hi", status: str = MessageStatus.QUEUED,
           provider_prefix: str = "") -> list[Message]:
    """``n`` messages on ``gateway``, queued as a send leaves them (one insert). With
    ``status="submitted"`` and a ``provider_prefix`` they are as the provider accepted them,
    with the provider ids ``<prefix>-0``, ``<prefix>-1``…"""
    now = timezone.now()
    sent = status != MessageStatus.QUEUED
    rows = [Message(company=company, gateway=gateway, channel=gateway.channel, address=f"+3460{address_start + i:07d}",
                    source=source, priority=priority, content={"text": text}, encoding="gsm7",
                    status=status, status_rank=STATUS_RANK[status], submitted_at=now if sent else None,
                    provider_message_id=f"{provider_prefix}-{i}" if provider_prefix else "")
            for i in range(n)]
    return Message.objects.bulk_create(rows, batch_size=1000)


class FakeProvider(Provider):
    """A provider that records every ``send_batch`` call. ``script`` (class attribute, set by
    the test) maps a call number (1-based) to what that call does: ``"ok"`` (submit all),
    ``"raise"``, or an error code every message of the call fails with."""

    key = "fake"
    name = "Fake"
    channels = frozenset(Channel.values)
    max_batch = 500
    calls: list[list] = []
    script: dict = {}

    def send_batch(self, messages):
        type(self).calls.append(list(messages))
        action = type(self).script.get(len(type(self).calls), "ok")
        if action == "raise":
            raise ConnectionResetError("peer reset the connection")
        if action == "ok":
            return [SendResult(m.id, MessageStatus.SUBMITTED, provider_message_id=f"fake-{m.id.hex}",
                               provider_status="0", request={"to": m.address}) for m in messages]
        return [SendResult(m.id, MessageStatus.FAILED, error_code=action, error_text=f"simulated {action}",
                           request={"to": m.address}) for m in messages]

    def check_connection(self):
        return CheckResult(True, "fake")

    def parse_callback(self, request):
        """``{"secret": ..., "reports": [{"id", "status", "raw"}], "mo": [{"from", "to", "text", "id"}]}``."""
        try:
            data = json.loads(request.body)
        except ValueError:
            raise CallbackRejected("The body is not JSON.")
        if data.get("secret") != (self.credentials or {}).get("secret"):
            raise CallbackRejected("Bad signature.", status=403)
        return CallbackResult(
            reports=[Report(r["status"], provider_message_id=r["id"], provider_status=r.get("raw", ""))
                     for r in data.get("reports", [])],
            inbound=[Inbound(address=m["from"], to=m["to"], text=m["text"], provider_message_id=m.get("id", ""))
                     for m in data.get("mo", [])],
            body="ACK")

    @classmethod
    def reset(cls, script: dict | None = None):
        cls.calls = []
        cls.script = dict(script or {})
