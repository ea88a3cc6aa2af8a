"""Reads of the messaging data, scoped to one company."""

from __future__ import annotations

from .models import SenderId, SenderIdStatus


def sender_ids_for(company):
    """Every sender ID of the company, any channel and status."""
    return SenderId.objects.for_company(company)


def active_senders(company, channel=None):
    """The company's *Active* sender IDs (of one channel when given): what a sender
    drop-down offers."""
    qs = sender_ids_for(company).filter(status=SenderIdStatus.ACTIVE).exclude(sender_id="")
    if channel is not None:
        qs = qs.filter(channel=int(channel))
    return qs.order_by("sender_id", "id")


def active_sender(company, channel, sender_text) -> SenderId | None:
    """The company's *Active* sender ID on ``channel`` whose operator-assigned identifier
    (``SenderId.sender_id``) is exactly ``sender_text`` (surrounding spaces ignored; letter
    case matters, as it does on the handset), or None.

    The display name (``SenderId.name``) is never matched: a request's name is what the
    company asked for, the identifier is what the operator registered and what messages
    carry. The BackOffice refuses to make a sender ID *Active* without an identifier, so
    every sender that may send can be found here. A blank ``sender_text`` matches nothing
    (the caller then uses the gateway's default "From"). One query.
    """
    text = str(sender_text or "").strip()
    if not text:
        return None
    return (sender_ids_for(company)
            .filter(channel=int(channel), status=SenderIdStatus.ACTIVE, sender_id=text)
            .order_by("id").first())
