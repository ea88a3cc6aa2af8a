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

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from messaging.models import (
    DeliveryPlan,
    HeldSource,
    Message,
    MessageStatus,
    PlanState,
    SkipReason,
    Source,
    StatusEvent,
)
from messaging.services import counters

BATCH = 5000


_SOURCE_KEYS = {source: index + 1 for index, source in enumerate(sorted(s.value for s in Source))}


def _lock_key(source: str, source_id: int) -> int:
    """The advisory-lock key of a source: its kind in the top bits, its id below."""
    return (_SOURCE_KEYS.get(source, 0) << 48) | (int(source_id) & 0xFFFFFFFFFFFF)


def _lock(pairs, *, shared: bool) -> None:
    """Serialise holding / releasing a source with the steps started for it (PostgreSQL,
    until the transaction ends): ``hold`` and ``release`` take the lock exclusively,
    ``start_steps`` shared. Without it a step could read "not held" just before a pause
    commits and go out while the broadcast is paused, or read "held" just before a resume
    commits and stay held for ever. SQLite serialises writers already."""
    pairs = {(s, i) for s, i in pairs if i is not None}
    if connection.vendor != "postgresql" or not pairs:
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        for key in sorted(_lock_key(s, i) for s, i in pairs):  # one order: no deadlock between lockers
            cursor.execute(f"SELECT {function}(%s)", [key])


def held_among(pairs) -> set[tuple[str, int]]:
    """Which of these ``(source, source_id)`` pairs are held (one query per batch). Takes
    the sources' shared lock first: call it in the transaction that creates the messages."""
    pairs = {(s, int(i)) for s, i in pairs if i is not None and s in counters.COUNTED_SOURCES}
    if not pairs:
        return set()
    _lock(pairs, shared=True)
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
        _lock({(source, source_id)}, shared=False)
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
        _lock({(source, source_id)}, shared=False)
        HeldSource.objects.filter(source=source, source_id=source_id).delete()
        queued = _queued_messages(source, source_id, held=True)
        pairs = set(queued.values_list("gateway_id", "priority").distinct().order_by())
        released = queued.update(held=False)
        if pairs:
            dispatch.kick_after_commit(pairs)
    return released


def requeued(message_ids) -> None:
    """Messages put back in the queue (a retry, a claim handed back, the recovery sweep):
    those of a held source wait with it, and those whose plan a stop has canceled end
    *skipped / canceled* instead of going out after the stop. In the caller's transaction."""
    from django.db.models import Exists, OuterRef

    ids = list(message_ids)
    if not ids:
        return
    queued = Message.objects.filter(pk__any=ids, status=MessageStatus.QUEUED, in_flight_since__isnull=True,
                                    source__in=counters.COUNTED_SOURCES, source_id__isnull=False)
    pairs = set(queued.values_list("source", "source_id").distinct().order_by())
    if not pairs:
        return
    _lock(pairs, shared=True)
    held = HeldSource.objects.filter(source=OuterRef("source"), source_id=OuterRef("source_id"))
    queued.filter(held=False).filter(Exists(held)).update(held=True)
    doomed = list(queued.filter(plan__state=PlanState.CANCELED).values_list("pk", "source", "source_id", "step"))
    if doomed:
        now = timezone.now()
        Message.objects.filter(pk__any=[d[0] for d in doomed]).update(
            status=MessageStatus.SKIPPED, status_rank=50, held=False, error_code=SkipReason.CANCELED.value,
            error_text=str(SkipReason.CANCELED.label), finished_at=now)
        StatusEvent.objects.bulk_create([StatusEvent(message_id=pk, status=MessageStatus.SKIPPED,
                                                     error_code=SkipReason.CANCELED.value, at=now)
                                         for pk, _s, _i, _st in doomed])
        tally = counters.Tally()
        for _pk, source, source_id, step in doomed:
            tally.move(source, source_id, step, MessageStatus.QUEUED, MessageStatus.SKIPPED)
        tally.flush()


def cancel(source: str, source_id: int) -> dict:
    """End the source: queued messages → *skipped* (``canceled``), active plans →
    *canceled*, in batches (each its own transaction). Idempotent."""
    now = timezone.now()
    canceled_messages = canceled_plans = 0
    while True:
        with transaction.atomic():
            plans = list(DeliveryPlan.objects.select_for_update(of=("self",))
                         .filter(source=source, source_id=source_id, state__in=(PlanState.ACTIVE, PlanState.PENDING))
                         .order_by("pk").values_list("pk", "current_step", "current_message_id")[:BATCH])
            if not plans:
                break
            message_ids = [m for _pk, _step, m in plans if m is not None]
            # Only messages nobody has claimed: a claimed one is with a provider (or about
            # to be) and finishes normally; its plan still ends canceled. Rows a dispatcher
            # holds are skipped, never waited for (it locks messages before plans).
            skipped = list(Message.objects.select_for_update(skip_locked=True)
                           .filter(pk__any=message_ids, status=MessageStatus.QUEUED, in_flight_since__isnull=True)
                           .values_list("pk", "step"))
            if skipped:
                Message.objects.filter(pk__any=[pk for pk, _s in skipped]).update(
                    status=MessageStatus.SKIPPED, status_rank=50, held=False, error_code=SkipReason.CANCELED.value,
                    error_text=str(SkipReason.CANCELED.label), finished_at=now)
                StatusEvent.objects.bulk_create([StatusEvent(message_id=pk, status=MessageStatus.SKIPPED,
                                                             error_code=SkipReason.CANCELED.value, at=now)
                                                 for pk, _s in skipped], batch_size=1000)
            DeliveryPlan.objects.filter(pk__any=[p[0] for p in plans]).update(
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



