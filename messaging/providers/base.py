"""The one interface every provider driver implements (ARCHITECTURE.md §3).

A driver is a class in ``messaging/providers/<key>.py`` registered in
``messaging/providers/__init__.py``. The engine builds one per gateway
(``driver_for(gateway)``) and calls:

* ``send_batch(messages)`` — submit a batch of ``OutboundMessage``; return one
  ``SendResult`` per message (same order). It never raises for one bad message: that
  message's result says ``rejected`` / ``failed``. An exception means "the whole batch's
  outcome is unknown" and the engine records it on every attempt.
* ``parse_callback(request)`` — turn a provider's HTTP callback into ``Report`` (delivery
  reports) and ``Inbound`` (MO) objects; raise ``CallbackRejected`` for a bad signature or
  payload (the endpoint answers with its status and message).
* ``check_connection()`` — try the credentials / reach the peer; used by the BackOffice
  "Check connection" action.
* ``reconcile(messages)`` — after a worker died mid-batch, ask the provider whether it got
  these messages (by our id). ``None`` when the provider cannot tell (then the engine
  never re-sends: the message ends ``failed`` with ``outcome_unknown``).

Reports that arrive on their own (SMPP ``deliver_sm``, the simulator's scheduled reports)
are handed to ``messaging.services.intake.apply_reports`` / ``receive_inbound``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from django.http import HttpRequest


@dataclass
class OutboundMessage:
    id: uuid.UUID
    company_id: int
    channel: int
    address: str            # E.164 phone, e-mail address, device token…
    sender: str             # the "From": sender ID, or the gateway's default
    content: dict           # rendered per channel: {"text"} for SMS; {"subject", "html", "text"} for e-mail…
    encoding: str = ""      # SMS: gsm7 | ucs2
    segments: int = 1
    attempt: int = 1

    @property
    def text(self) -> str:
        return str(self.content.get("text", ""))


@dataclass
class SendResult:
    message_id: uuid.UUID
    status: str                       # MessageStatus.SUBMITTED | REJECTED | FAILED
    provider_message_id: str = ""
    provider_status: str = ""         # raw: an SMPP command_status, an HTTP code…
    error_code: str = ""
    error_text: str = ""
    request: dict = field(default_factory=dict)    # summary for the attempt row (never credentials)
    response: dict = field(default_factory=dict)


@dataclass
class Report:
    """A delivery report: the normalised status and the provider's raw code. Identified by
    the provider's message id (usual) or by our id (providers that echo it)."""

    status: str
    provider_message_id: str = ""
    message_id: uuid.UUID | None = None
    provider_status: str = ""         # DELIVRD, UNDELIV, 'read'…
    error_code: str = ""
    error_text: str = ""
    at: datetime | None = None

    def as_json(self) -> dict:
        return {"status": self.status, "provider_message_id": self.provider_message_id,
                "message_id": str(self.message_id) if self.message_id else None,
                "provider_status": self.provider_status, "error_code": self.error_code,
                "error_text": self.error_text, "at": self.at.isoformat() if self.at else None}

    @classmethod
    def from_json(cls, data: dict) -> Report:
        return cls(status=data["status"], provider_message_id=data.get("provider_message_id") or "",
                   message_id=uuid.UUID(data["message_id"]) if data.get("message_id") else None,
                   provider_status=data.get("provider_status") or "", error_code=data.get("error_code") or "",
                   error_text=data.get("error_text") or "",
                   at=datetime.fromisoformat(data["at"]) if data.get("at") else None)


@dataclass
class Inbound:
    """A message from a contact (MO)."""

    address: str                      # the contact's address (their phone number, e-mail…)
    to: str                           # our sender ID / number it was sent to
    text: str = ""
    content: dict = field(default_factory=dict)
    provider_message_id: str = ""
    at: datetime | None = None


@dataclass
class CallbackResult:
    reports: list[Report] = field(default_factory=list)
    inbound: list[Inbound] = field(default_factory=list)
    # What the endpoint answers the provider (some want a specific body).
    status: int = 200
    body: str = "OK"
    content_type: str = "text/plain"


@dataclass
class CheckResult:
    ok: bool
    detail: str


class CallbackRejected(Exception):
    """A callback that must not be applied (bad signature, unreadable payload)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status
        self.message = message


class Provider:
    """Base class of the drivers. ``key`` is the registry key stored on ``Gateway.provider``."""

    key: ClassVar[str] = ""
    name: ClassVar[str] = ""
    channels: ClassVar[frozenset[int]] = frozenset()
    # Documentation for the BackOffice form: the keys read from credentials / settings.
    credential_fields: ClassVar[tuple[str, ...]] = ()
    setting_fields: ClassVar[tuple[str, ...]] = ()
    # The most messages handed to one ``send_batch`` call.
    max_batch: ClassVar[int] = 500

    def __init__(self, gateway):
        self.gateway = gateway
        self.credentials: dict = gateway.credentials or {}
        self.settings: dict = gateway.settings or {}

    def send_batch(self, messages: list[OutboundMessage]) -> list[SendResult]:
        raise NotImplementedError

    def parse_callback(self, request: HttpRequest) -> CallbackResult:
        raise CallbackRejected("This provider sends no callbacks.", status=404)

    def check_connection(self) -> CheckResult:
        raise NotImplementedError

    def reconcile(self, messages: list[OutboundMessage]) -> dict | None:
        return None

    def check_capabilities(self, addresses: list[str]) -> dict[str, bool] | None:
        """RCS capability of phone numbers (``{address: capable}``), for RCS gateways whose
        provider can tell; ``None`` when it cannot."""
        return None

    def close(self) -> None:
        """Release connections (called when the gateway changes or the worker stops)."""
