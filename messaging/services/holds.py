"""Holding and cancelling the messages of one source (a broadcast paused or stopped).

``hold`` keeps the source's queued messages out of the dispatch queue and makes the steps
that start meanwhile (fallback) start held; messages already handed to a provider carry on
and their reports still count. ``release`` puts them back in the queue. ``cancel`` ends
the source for good: queued messages become *skipped* (reason ``canceled``) and the active
plans *canceled*; in-flight messages finish normally.

A hold takes effect when its ``HeldSource`` row commits: the dispatcher's claim skips the
messages of a held source (``dispatch._claim_sql``). Flagging each queued message
``held`` — which takes it out of the dispatch indexes, so that claims do not walk past it
— is the bulk of the work (~20 s per million messages) and is done after the commit, in
batches, by a task (``apply_hold``); so are the release (``apply_release``) and a stop's
cancel. The request that pauses, resumes or stops a million-recipient run answers at once
(D71). The engine's recovery tick makes up a lost task (``sweep``).

Messages are reached through their plans (``DeliveryPlan.current_message``), so each batch
touches only the source's rows, by index, whatever the size of the message table.
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from messaging.models import (
    STATUS_RANK,
    Claim,
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
from portal.db import copy_rows

BATCH = 5000
SWEEP_EVERY = 600  # seconds between two safety-net walks of a held source


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


def _is_held(source: str, source_id: int) -> bool:
    return HeldSource.objects.filter(source=source, source_id=source_id).exists()


def _current_messages(source: str, source_id: int, after: int, batch: int) -> tuple[int, list]:
    """The next ``batch`` active plans of the source after plan id ``after``: (last plan
    id or 0 when there are none left, their current messages' ids)."""
    plans = list(DeliveryPlan.objects.filter(source=source, source_id=source_id, state=PlanState.ACTIVE, pk__gt=after)
                 .order_by("pk").values_list("pk", "current_message_id")[:batch])
    if not plans:
        return 0, []
    return plans[-1][0], [m for _pk, m in plans if m is not None]


def _held(source: str, source_id: int) -> None:
    """Record the source as held (idempotent), serialised with the steps being started."""
    with transaction.atomic():
        _lock({(source, source_id)}, shared=False)
        try:
            with transaction.atomic():
                HeldSource.objects.create(source=source, source_id=source_id)
        except IntegrityError:
            pass  # already held


def hold(source: str, source_id: int) -> None:
    """Hold the source, in the caller's transaction: from its commit the dispatcher claims
    none of its messages and its new steps start held; the queued messages are then
    flagged by ``apply_hold`` in the background."""
    from messaging import tasks

    _held(source, source_id)
    transaction.on_commit(lambda: _queue(tasks.apply_hold, "hold", source, source_id))


def apply_hold(source: str, source_id: int, *, batch: int = BATCH) -> int:
    """Flag the held source's queued messages ``held``, a batch per transaction; stops if
    the source is released meanwhile. Idempotent. Returns how many were flagged."""
    flagged, after = 0, 0
    while True:
        with transaction.atomic():
            _lock({(source, source_id)}, shared=False)  # not while a release commits
            if not _is_held(source, source_id):
                return flagged
            after, ids = _current_messages(source, source_id, after, batch)
            if not after:
                return flagged
            flagged += Message.objects.filter(pk__any=ids, status=MessageStatus.QUEUED, claim__isnull=True,
                                              held=False).update(held=True)


def release(source: str, source_id: int) -> None:
    """Release a held source, in the caller's transaction; its messages go back to the
    dispatch queue by ``apply_release`` in the background (and the dispatchers are kicked
    batch by batch)."""
    from messaging import tasks

    with transaction.atomic():
        _lock({(source, source_id)}, shared=False)
        HeldSource.objects.filter(source=source, source_id=source_id).delete()
    transaction.on_commit(lambda: _queue(tasks.apply_release, "release", source, source_id))


def apply_release(source: str, source_id: int, *, batch: int = BATCH) -> int:
    """Put a released source's held messages back in the queue, a batch per transaction;
    stops if the source is held again meanwhile. Idempotent. Returns how many."""
    from messaging.services import dispatch

    released, after = 0, 0
    while True:
        with transaction.atomic():
            _lock({(source, source_id)}, shared=False)
            if _is_held(source, source_id):
                return released
            after, ids = _current_messages(source, source_id, after, batch)
            if not after:
                return released
            queued = Message.objects.filter(pk__any=ids, status=MessageStatus.QUEUED, held=True)
            pairs = set(queued.values_list("gateway_id", "priority").distinct().order_by())
            released += queued.update(held=False)
            if pairs:
                dispatch.kick_after_commit(pairs)


def stopping(source: str, source_id: int) -> None:
    """A stop, in the caller's transaction: from its commit nothing of the source is
    claimed (it is held); ``cancel`` then ends its plans and queued messages in the
    background."""
    from messaging import tasks

    _held(source, source_id)
    transaction.on_commit(lambda: tasks.cancel_source.delay(source, source_id))


def _sweep_key(kind: str, source: str, source_id: int) -> str:
    return f"herald:{kind}-sweep:{source}:{source_id}"


def _queue(task, kind: str, source: str, source_id: int) -> None:
    """Queue a hold / release task and keep the sweep from queueing another one while it
    runs (a million messages take a minute or so)."""
    from django.core.cache import cache

    cache.set(_sweep_key(kind, source, source_id), 1, timeout=SWEEP_EVERY)
    task.delay(source, source_id)


def sweep() -> dict:
    """Beat safety net for lost hold / release tasks (PostgreSQL and SQLite alike): every
    held source gets ``apply_hold`` again, at most every ``SWEEP_EVERY`` seconds (it walks
    the source's plans and flags what a lost task left); held messages of a source no
    longer held get ``apply_release`` (found through the small ``message_held_queued``
    index), at most as often."""
    from django.core.cache import cache

    from messaging import tasks

    holding = releasing = 0
    for source, source_id in HeldSource.objects.values_list("source", "source_id"):
        if cache.add(_sweep_key("hold", source, source_id), 1, timeout=SWEEP_EVERY):
            tasks.apply_hold.delay(source, source_id)
            holding += 1
    held = set(Message.objects.filter(held=True, status=MessageStatus.QUEUED)
               .values_list("source", "source_id").distinct().order_by()[:1000])
    still = set(HeldSource.objects.values_list("source", "source_id"))
    for source, source_id in held - still:
        if source_id is not None and cache.add(_sweep_key("release", source, source_id), 1, timeout=SWEEP_EVERY):
            tasks.apply_release.delay(source, source_id)
            releasing += 1
    return {"holding": holding, "releasing": releasing}


def _skip_canceled(message_ids: list, now) -> None:
    """Queued messages of a stopped source end *skipped* (reason ``canceled``), with their
    history row (``COPY`` on PostgreSQL: a stop cancels up to a million)."""
    Message.objects.filter(pk__any=message_ids).update(
        status=MessageStatus.SKIPPED, status_rank=STATUS_RANK[MessageStatus.SKIPPED], held=False,
        error_code=SkipReason.CANCELED.value, error_text=str(SkipReason.CANCELED.label), finished_at=now)
    if connection.vendor == "postgresql":
        copy_rows(StatusEvent, ["message", "status", "provider_status", "error_code", "at", "late"],
                  [(pk, MessageStatus.SKIPPED, "", SkipReason.CANCELED.value, now, False) for pk in message_ids])
    else:
        StatusEvent.objects.bulk_create([StatusEvent(message_id=pk, status=MessageStatus.SKIPPED,
                                                     error_code=SkipReason.CANCELED.value, at=now)
                                         for pk in message_ids], batch_size=1000)


def requeued(message_ids) -> None:
    """Messages put back in the queue (a retry, a claim handed back, the recovery sweep):
    those of a held source wait with it, and those whose plan a stop has canceled end
    *skipped / canceled* instead of going out after the stop. In the caller's transaction."""
    from django.db.models import Exists, OuterRef

    ids = list(message_ids)
    if not ids:
        return
    queued = Message.objects.filter(pk__any=ids, status=MessageStatus.QUEUED, claim__isnull=True,
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
        _skip_canceled([d[0] for d in doomed], now)
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
            # is claiming are skipped, never waited for (it locks messages before plans).
            # Claims are read again once the rows are locked: one committed between this
            # statement's snapshot and its lock would not show in the first read, and no new
            # one can be made on a row locked here.
            skipped = list(Message.objects.select_for_update(skip_locked=True, of=("self",))
                           .filter(pk__any=message_ids, status=MessageStatus.QUEUED, claim__isnull=True)
                           .values_list("pk", "step"))
            if skipped:
                taken = set(Claim.objects.filter(pk__any=[pk for pk, _s in skipped]).values_list("pk", flat=True))
                skipped = [(pk, step) for pk, step in skipped if pk not in taken]
            if skipped:
                _skip_canceled([pk for pk, _s in skipped], now)
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



