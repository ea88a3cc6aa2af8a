"""Broadcasts for tests."""

from __future__ import annotations

import itertools

from broadcasts.models import Broadcast, BroadcastTemplate
from messaging.models import WaitFor
from portal.channel_types import Channel

_seq = itertools.count(1)


def step(channel: int = Channel.SMS, *, sender: str = "HERALD", text: str = "Hi {{attribute.name}}",
         content: dict | None = None, wait_for: str = WaitFor.DELIVERY, timeout: int = 600) -> dict:
    return {"channel": channel, "sender": sender, "content": content if content is not None else {"text": text},
            "template_id": None, "params": {}, "wait_for": wait_for, "timeout": timeout}


def broadcast(company, *, name: str | None = None, steps: list | None = None, recipients: dict | None = None,
              **fields) -> Broadcast:
    return Broadcast.objects.create(company=company, name=name or f"Broadcast {next(_seq)}",
                                    steps=[step()] if steps is None else steps,
                                    recipients=recipients or {"targets": [], "tags": [], "phones": []}, **fields)


def template(company, *, name: str | None = None, steps: list | None = None, recipients: dict | None = None,
             **fields) -> BroadcastTemplate:
    return BroadcastTemplate.objects.create(company=company, name=name or f"Template {next(_seq)}",
                                            steps=[step()] if steps is None else steps,
                                            recipients=recipients or {"targets": [], "tags": [], "phones": []},
                                            **fields)
