"""Delivery reports and inbound messages (docs/messaging.md §4)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Contact
from contacts.phones import InvalidPhone, normalize
from messaging.models import (
    STATUS_RANK,
    Direction,
    Message,
    MessageStatus,
    PendingReport,
    SenderId,
    Source,
    StatusEvent,
    TrafficType,
)
from messaging.providers.base import Inbound, Report
from messaging.services.status import Update, apply_updates, record_changes
from portal import memory

logger = logging.getLogger(__name__)


@dataclass
class IntakeStats:
    received: int = 0
    applied: int = 0
    unchanged: int = 0       # duplicates, and reports that would move a status backwards
    pending: int = 0         # provider id not known yet (kept, matched later)
    late: int = 0            # applied to a message whose plan had moved on


@memory.paused()
def apply_reports(gateway, reports: list[Report]) -> IntakeStats:
    """Apply delivery reports of one gateway in bulk: idempotent, never backwards."""
    stats = IntakeStats(received=len(reports))
    reports = [r for r in reports if r.status in STATUS_RANK]
    by_provider = [r for r in reports if r.message_id is None and r.provider_message_id]
    ids = {}
    if by_provider:
        wanted = list({r.provider_message_id for r in by_provider})
        for start in range(0, len(wanted), 1000):
            # ``exclude("")`` repeats the partial index's predicate so the planner can use it.
            ids.update(Message.objects.filter(gateway_id=gateway.pk,
                                              provider_message_id__any=wanted[start:start + 1000])
                       .exclude(provider_message_id="")
                       .values_list("provider_message_id", "pk"))
    now = timezone.now()
    updates, unknown = [], []
    for report in reports:
        message_id = report.message_id or ids.get(report.provider_message_id)
        if message_id is None:
            unknown.append(report)
            continue
        updates.append(Update(message_id, report.status, provider_status=report.provider_status,
                              error_code=report.error_code, error_text=report.error_text, at=report.at or now))
    with transaction.atomic():
        changed = apply_updates(updates, gateway_id=gateway.pk)
        record_changes(changed)
        if unknown:
            PendingReport.objects.bulk_create(
                [PendingReport(gateway_id=gateway.pk, provider_message_id=r.provider_message_id or "",
                               report=r.as_json()) for r in unknown], batch_size=1000)
    stats.applied = len(changed)
    stats.unchanged = len(updates) - len(changed)
    stats.pending = len(unknown)
    stats.late = sum(1 for c in changed if c.late)
    return stats


def match_pending(max_age_hours: int = 24) -> dict:
    """Retry the reports that arrived before their message's provider id was known; drop
    (and log) those older than a day."""
    from messaging.models import Gateway

    matched = 0
    for gateway_id in set(PendingReport.objects.values_list("gateway_id", flat=True).distinct()):
        gateway = Gateway.objects.filter(pk=gateway_id).first()
        rows = list(PendingReport.objects.filter(gateway_id=gateway_id)[:10000])
        known = set(Message.objects.exclude(provider_message_id="").filter(
            gateway_id=gateway_id, provider_message_id__any=[r.provider_message_id for r in rows])
            .values_list("provider_message_id", flat=True))
        ready = [r for r in rows if r.provider_message_id in known]
        if ready and gateway is not None:
            with transaction.atomic():
                PendingReport.objects.filter(pk__in=[r.pk for r in ready]).delete()
                apply_reports(gateway, [Report.from_json(r.report) for r in ready])
            matched += len(ready)
    cutoff = timezone.now() - timezone.timedelta(hours=max_age_hours)
    dropped, _ = PendingReport.objects.filter(received_at__lt=cutoff).delete()
    if dropped:
        logger.warning("dropped %d delivery reports that matched no message for %d hours", dropped, max_age_hours)
    return {"matched": matched, "dropped": dropped}


# --- inbound (MO) ---------------------------------------------------------------------------

def _company_for(gateway, item: Inbound):
    """Whose MO is it? The gateway's company; else the company whose active sender ID it
    was sent to; else the company that last sent to this address through this gateway."""
    if gateway.company_id:
        return gateway.company_id
    owner = (SenderId.objects.filter(channel=gateway.channel, sender_id__in=_spellings(item.to), status="active")
             .values_list("company_id", flat=True).first())
    if owner:
        return owner
    return (Message.objects.filter(gateway_id=gateway.pk, address__in=_spellings(item.address),
                                   direction=Direction.MT)
            .order_by("-id").values_list("company_id", flat=True).first())


def _spellings(value: str) -> set[str]:
    """A number as given and in E.164: SMPP gives numbers without their "+"."""
    value = (value or "").strip()
    if value.isdigit():
        return {value, "+" + value.lstrip("0")}
    return {value}


def _contact_for(company, address: str) -> tuple[Contact | None, str]:
    if "@" in address:
        return (Contact.objects.for_company(company).filter(attributes__email__iexact=address).first(),
                address.lower())
    try:
        phone = normalize(address if address.startswith("+") else "+" + address.lstrip("0"))
    except InvalidPhone:
        return None, address
    contact = Contact.objects.for_company(company).filter(phone=phone.e164).first()
    if contact is None:
        try:
            with transaction.atomic():
                contact = Contact.objects.create(company=company, phone=phone.e164, country=phone.country,
                                                 mno=phone.mno)
        except IntegrityError:
            contact = Contact.objects.for_company(company).filter(phone=phone.e164).first()
    return contact, phone.e164


def receive_inbound(gateway, inbound: list[Inbound]) -> list[Message]:
    """Store each MO as a P2A message (the contact found or created by its address), run
    it through the opt-out / opt-in service, hand it to the inbound hook, and queue the
    ``message.inbound`` webhook. An MO that belongs to no company is logged and dropped."""
    from accounts.models import Company
    from contacts.services import handle_inbound
    from messaging.services import notify
    from messaging.services.hooks import notify_inbound

    stored = []
    for item in inbound:
        company_id = _company_for(gateway, item)
        if company_id is None:
            logger.warning("gateway %s: MO from %s to %s matches no company; dropped", gateway.pk, item.address,
                           item.to)
            continue
        company = Company.objects.get(pk=company_id)
        at = item.at or timezone.now()
        with transaction.atomic():
            if item.provider_message_id and Message.objects.filter(
                    gateway_id=gateway.pk, direction=Direction.MO,
                    provider_message_id=item.provider_message_id).exists():
                continue  # the provider re-sent an MO we already have
            contact, address = _contact_for(company, item.address)
            content = dict(item.content or {})
            content.setdefault("text", item.text)
            try:
                with transaction.atomic():
                    message = Message.objects.create(
                        company=company, contact=contact, address=address, channel=gateway.channel,
                        direction=Direction.MO, traffic_type=TrafficType.P2A, source=Source.INBOUND,
                        gateway=gateway, sender=item.to, content=content, status=MessageStatus.DELIVERED,
                        status_rank=STATUS_RANK[MessageStatus.DELIVERED],
                        provider_message_id=item.provider_message_id, delivered_at=at, finished_at=at)
            except IntegrityError:
                continue  # the same MO, stored by a concurrent intake (constraint message_mo_once)
            StatusEvent.objects.create(message=message, status=message.status, at=at)
            result = handle_inbound(company, contact, gateway.channel, item.to, item.text, at=at) if contact else None
            notify.inbound(message)
        notify_inbound(message, result)
        stored.append(message)
    return stored
