"""A content template for tests."""

from __future__ import annotations

import itertools

from assets.models import ContentTemplate
from portal.channel_types import Channel

_seq = itertools.count(1)


def content_template(company, *, channel: int = Channel.SMS, content: dict | None = None, name: str | None = None,
                     sender: str = "", created_by=None) -> ContentTemplate:
    if content is None:
        content = {"text": "Hi {{attribute.name}}"}
    return ContentTemplate.objects.create(company=company, channel=channel, content=content, sender=sender,
                                          name=name or f"Template {next(_seq)}", created_by=created_by)
