"""Holding and cancelling the messages of one source (a broadcast paused or stopped).

``hold`` keeps the source's queued messages out of the dispatch queue (``Message.held``)
and makes the steps that start meanwhile (fallback) start held; messages already handed
to a provider carry on and their reports still count. ``release`` puts them back in the
queue. ``cancel`` ends the source for good: queued messages become *skipped* (reason
``canceled``) and the active plans *canceled*; in-flight messages finish normally.

Messages are reached through their plans (``DeliveryPlan.current_message``), so a hold
touches only the source's rows, by index, whatever the size of the message table.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from messaging.models import (
    DeliveryPlan,
    HeldSource,
    Message,
    MessageStatus,
    PlanState,
    SkipReason,
    StatusEvent,
)
from messaging.services import counters

BATCH = 5000


def held_among(pairs) -> set[tuple[str, int]]:
    """Which of these ``(source, source_id)`` pairs are held (one query per batch)."""
    pairs = {(s, int(i)) for s, i in pairs if i is not None}
    if not pairs:
        return set()
    query = Q()
    for source, source_id in pairs:
        query |= Q(source=source, source_id=source_id)
    return set(HeldSource.objects.filter(query).values_list("source", "source_id"))


def _queued_messages(source: str, source_id: int, *, held: bool):
    plans = DeliveryPlan.objects.filter(source=source, source_id=source_id, state=PlanState.ACTIVE)
    return Message.objects.filter(pk__in=plans.values("current_message_id"), status=MessageStatus.QUEUED,
                                  in_flight_since__isnull=True, held=held)


def hold(source: str, source_id: int) -> int:
    """Hold the source; returns how many queued messages were taken out of the queue."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                HeldSource.objects.create(source=source, source_id=source_id)
        except IntegrityError:
            pass  # already held
        return _queued_messages(source, source_id, held=False).update(held=True)


def release(source: str, source_id: int) -> int:
    """Release a held source: its messages go back to the dispatch queue (and the
    dispatchers are kicked). Returns how many."""
    from messaging.services import dispatch

    with transaction.atomic():
        HeldSource.objects.filter(source=source, source_id=source_id).delete()
        queued = _queued_messages(source, source_id, held=True)
        pairs = set(queued.values_list("gateway_id", "priority").distinct().order_by())
        released = queued.update(held=False)
        if pairs:
            dispatch.kick_after_commit(pairs)
    return released


def cancel(source: str, source_id: int) -> dict:
    """End the source: queued messages → *skipped* (``canceled``), active plans →
    *canceled*, in batches (each its own transaction). Idempotent."""
    now = timezone.now()
    canceled_messages = canceled_plans = 0
    while True:
        with transaction.atomic():
            plans = list(DeliveryPlan.objects.select_for_update(of=("self",))
                         .filter(source=source, source_id=source_id, state__in=(PlanState.ACTIVE, PlanState.PENDING))
                         .values_list("pk", "current_step", "current_message_id")[:BATCH])
            if not plans:
                break
            message_ids = [m for _pk, _step, m in plans if m is not None]
            # Only messages nobody has claimed: a claimed one is with a provider (or about
            # to be) and finishes normally; its plan still ends canceled. Rows a dispatcher
            # holds are skipped, never waited for (it locks messages before plans).
            skipped = list(Message.objects.select_for_update(skip_locked=True)
                           .filter(pk__in=message_ids, status=MessageStatus.QUEUED, in_flight_since__isnull=True)
                           .values_list("pk", "step"))
            if skipped:
                Message.objects.filter(pk__in=[pk for pk, _s in skipped]).update(
                    status=MessageStatus.SKIPPED, status_rank=50, held=False, error_code=SkipReason.CANCELED.value,
                    error_text=str(SkipReason.CANCELED.label), finished_at=now)
                StatusEvent.objects.bulk_create([StatusEvent(message_id=pk, status=MessageStatus.SKIPPED,
                                                             error_code=SkipReason.CANCELED.value, at=now)
                                                 for pk, _s in skipped], batch_size=1000)
            DeliveryPlan.objects.filter(pk__in=[p[0] for p in plans]).update(
                state=PlanState.CANCELED, deadline=None, finished_at=now)
            tally = counters.Tally()
            for _pk, step in skipped:
                tally.move(source, source_id, step, MessageStatus.QUEUED, MessageStatus.SKIPPED)
            tally.add(source, source_id, counters.PLAN, PlanState.CANCELED, len(plans))
            tally.flush()
            canceled_messages += len(skipped)
            canceled_plans += len(plans)
    HeldSource.objects.filter(source=source, source_id=source_id).delete()
    return {"plans": canceled_plans, "messages": canceled_messages}



