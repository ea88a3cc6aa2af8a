"""Who a run sends to: the union of its targets (dynamic, evaluated at launch time), its
tags and its typed numbers, each contact once; or, for a *Relaunch for failed* run, the
unsuccessful recipients of the run it relaunches. Resolved in the worker in batches of
contacts by ascending id: each batch makes its delivery plans and records how far it got
in the same transaction, so a worker that dies resumes after the last committed batch —
never skipping nor doubling a recipient."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from broadcasts.models import Broadcast, BroadcastStatus, BroadcastType
from contacts.models import Contact, ContactTag, Target
from contacts.phones import InvalidPhone, normalize
from contacts.selectors import contacts_for, target_contacts
from messaging.models import DeliveryPlan, PlanState, Source
from messaging.services import counters
from portal import memory
from portal.channel_types import Channel
from portal.db import bulk_update_values, rows_to_instances

RESOLVING_TTL = 120  # seconds: a resolution that has not written a batch for this long is stalled


def resolving_key(broadcast_id: int) -> str:
    """Cache key a running resolution refreshes per batch: the beat re-queues a run's
    resolution (after a worker died) only when the key is gone."""
    return f"broadcast:{broadcast_id}:resolving"


def recipients_query(company, recipients: dict):
    """The contacts a run with these recipients reaches (a queryset, not evaluated)."""
    relaunch_of = recipients.get("relaunch_of")
    if relaunch_of:
        failed = DeliveryPlan.objects.filter(company=company, source=Source.BROADCAST, source_id=relaunch_of,
                                             state__in=(PlanState.UNSUCCESSFUL, PlanState.CANCELED),
                                             contact_id=OuterRef("pk"))
        return contacts_for(company).filter(Exists(failed))
    query = Q(pk__in=[])
    for target in Target.objects.for_company(company).filter(pk__in=recipients.get("targets") or []):
        query |= Q(pk__in=target_contacts(target).values("pk"))
    tags = recipients.get("tags") or []
    if tags:
        query |= Q(Exists(ContactTag.objects.filter(contact_id=OuterRef("pk"), tag_id__in=tags)))
    phones = recipients.get("phones") or []
    if phones:
        query |= Q(phone__in=phones)
    return contacts_for(company).filter(query)


def count(company, recipients: dict) -> int:
    return recipients_query(company, recipients).count()


def _ensure_phone_contacts(broadcast: Broadcast) -> None:
    """Typed numbers that are not contacts yet become contacts (so that every recipient
    is a contact with its opt-outs and attributes; rule: the number is the duplicate key)."""
    company = broadcast.company
    phones = broadcast.recipients.get("phones") or []
    existing = set(Contact.objects.for_company(company).filter(phone__in=phones).values_list("phone", flat=True))
    for phone in phones:
        if phone in existing:
            continue
        try:
            number = normalize(phone, company.default_region)
        except InvalidPhone:
            continue  # cleaned at save time; a number that no longer parses is left out
        try:
            with transaction.atomic():
                Contact.objects.create(company=company, phone=number.e164, country=number.country, mno=number.mno)
        except IntegrityError:
            pass  # created meanwhile (an import, another run): it is a recipient all the same


def check_rcs(company, contacts: list[Contact]) -> int:
    """Ask the company's RCS gateway(s) whether these contacts' devices can receive RCS and
    store the answer on the contacts (*RCS capability* in the contacts list). Returns how
    many are capable. Contacts no gateway can check keep their last known answer."""
    from messaging.providers import driver_for
    from messaging.services.routing import Router

    router = Router(company.pk)
    groups: dict[int, list[Contact]] = {}
    gateways = {}
    for contact in contacts:
        gateway = router.route(Channel.RCS, country=contact.country, mno=contact.mno)
        if gateway is not None and contact.phone:
            gateways[gateway.pk] = gateway
            groups.setdefault(gateway.pk, []).append(contact)
    now = timezone.now()
    checked = []
    for gateway_id, members in groups.items():
        answers = driver_for(gateways[gateway_id]).check_capabilities([c.phone for c in members]) or {}
        for contact in members:
            if contact.phone in answers:
                contact.rcs_capable, contact.rcs_checked_at = bool(answers[contact.phone]), now
                checked.append(contact)
    bulk_update_values(Contact, checked, ["rcs_capable", "rcs_checked_at"])
    return sum(1 for c in contacts if c.rcs_capable)


# What building a recipient's messages reads of a contact (the rest stays deferred).
_CONTACT_FIELDS = ["id", "company_id", "phone", "country", "mno", "attributes", "wechat_id", "rcs_capable",
                   "rcs_checked_at"]


def resolve(broadcast_id: int, *, batch_size: int | None = None) -> str:
    """Make the delivery plans of a running broadcast, batch after batch, until every
    recipient has one or the broadcast is paused / stopped. Returns the broadcast's status.
    Safe to call twice at once: each batch locks the broadcast row first."""
    from messaging.services.sending import chain_for, create_plans

    batch = batch_size or settings.HERALD_BROADCAST_BATCH
    first = Broadcast.objects.select_related("company").get(pk=broadcast_id)
    if first.status != BroadcastStatus.IN_PROGRESS or first.resolved:
        return first.status
    if not first.phones_resolved:
        # First run of the task: the number of recipients to expect (the statistics show
        # it until the resolution ends; counting a million contacts is not for the launch
        # request), and typed numbers become contacts.
        _ensure_phone_contacts(first)
        Broadcast.objects.filter(pk=first.pk).update(
            phones_resolved=True, estimated_contacts=count(first.company, first.recipients))
    query = recipients_query(first.company, first.recipients).order_by("pk")
    chain = None
    while True:
        cache.set(resolving_key(broadcast_id), "running", RESOLVING_TTL)
        with memory.paused(), transaction.atomic():
            broadcast = Broadcast.objects.select_for_update().select_related("company").get(pk=broadcast_id)
            if broadcast.status != BroadcastStatus.IN_PROGRESS or broadcast.resolved:
                return broadcast.status
            chunk = rows_to_instances(Contact, _CONTACT_FIELDS, query.filter(pk__gt=broadcast.resolved_through)
                                      .values_list(*_CONTACT_FIELDS)[:batch])
            if chunk and broadcast.type == BroadcastType.RCS_CHECK:
                capable = check_rcs(broadcast.company, chunk)
                tally = counters.Tally()
                tally.add(Source.BROADCAST, broadcast.pk, counters.PLAN, PlanState.ACTIVE, len(chunk))
                tally.add(Source.BROADCAST, broadcast.pk, counters.PLAN, PlanState.SUCCESSFUL, capable)
                tally.add(Source.BROADCAST, broadcast.pk, counters.PLAN, PlanState.UNSUCCESSFUL, len(chunk) - capable)
                tally.flush()
            elif chunk:
                if broadcast.rcs_check:
                    check_rcs(broadcast.company, chunk)
                if chain is None:  # the run's steps, stored once for all its plans (D83)
                    steps = broadcast.steps
                    if broadcast.rcs_check:
                        steps = [dict(s, rcs_check=True) if int(s["channel"]) == Channel.RCS else s for s in steps]
                    chain = chain_for(company=broadcast.company, source=Source.BROADCAST, source_id=broadcast.pk,
                                      steps=steps)
                create_plans(company=broadcast.company, contacts=chunk, chain=chain,
                             source=Source.BROADCAST, source_id=broadcast.pk)
            if chunk:
                broadcast.resolved_through = chunk[-1].pk
                broadcast.total_contacts += len(chunk)
            if len(chunk) < batch:
                broadcast.resolved = True
            Broadcast.objects.filter(pk=broadcast.pk).update(
                resolved_through=broadcast.resolved_through, total_contacts=broadcast.total_contacts,
                resolved=broadcast.resolved, updated_at=timezone.now())
        if broadcast.resolved:
            cache.delete(resolving_key(broadcast_id))
            return broadcast.status
