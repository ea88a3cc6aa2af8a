"""The fallback engine (spec §0.5, §4.3; docs/messaging.md §5).

A plan's current step succeeds when its message meets the step's criterion (``wait_for``);
it fails over to the next step when the message fails for good, or when its deadline (set
when the message is submitted: submit time + waiting time) passes first. Deadlines are
rows swept in bulk (``sweep``), never one delayed task per message.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from messaging.models import (
    CRITERION_STATUSES,
    FAILURE_STATUSES,
    SUCCESS_STATUSES,
    DeliveryPlan,
    PlanState,
    WaitFor,
)
from portal import memory


def on_status_changes(changed) -> set:
    """Move the plans of changed messages; returns the ids of late messages (their plan
    had already moved past their step). Runs in the caller's transaction; a few
    set-wise statements whatever the number of plans."""
    from messaging.services import counters
    from messaging.services.sending import start_steps

    relevant = [c for c in changed if c.plan_id and c.step is not None]
    if not relevant:
        return set()
    plans = {row[0]: row for row in DeliveryPlan.objects.select_for_update(of=("self",))
             .filter(pk__any={c.plan_id for c in relevant}).order_by("pk")  # one lock order
             .values_list("pk", "current_step", "state", "deadline", "current_wait_for", "current_timeout")}
    late, successful, advance = set(), set(), set()
    late_count: dict[int, int] = defaultdict(int)
    deadlines: dict = defaultdict(set)
    now = timezone.now()
    for c in relevant:
        row = plans.get(c.plan_id)
        if row is None or row[1] is None:
            continue
        pk, current, state, deadline, wait_for, timeout = row
        if c.step < current:
            late.add(c.id)
            c.late = True
            late_count[pk] += 1
            continue
        if c.step != current or state != PlanState.ACTIVE or pk in successful or pk in advance:
            continue
        if c.status in CRITERION_STATUSES[wait_for or WaitFor.DELIVERY]:
            successful.add(pk)
        elif c.status in FAILURE_STATUSES:
            advance.add(pk)
        elif c.status in SUCCESS_STATUSES and deadline is None:
            deadlines[(c.at or now) + timedelta(seconds=timeout or 600)].add(pk)
    plans_qs = DeliveryPlan.objects.all()
    if successful:
        plans_qs.filter(pk__any=successful).update(state=PlanState.SUCCESSFUL, deadline=None, finished_at=now)
        tally = counters.Tally()
        origin = {c.plan_id: (c.source, c.source_id) for c in relevant}
        for pk in successful:
            tally.add(*origin[pk], counters.PLAN, PlanState.SUCCESSFUL)
        tally.flush()
    for when, ids in deadlines.items():
        ids -= successful | advance
        if ids:
            plans_qs.filter(pk__any=ids, deadline__isnull=True).update(deadline=when)
    for count in set(late_count.values()):
        plans_qs.filter(pk__any=[pk for pk, n in late_count.items() if n == count]).update(
            late_reports=F("late_reports") + count)
    if advance:
        start_steps(list(DeliveryPlan.objects.select_related("contact").filter(pk__any=advance)))
    return late


def sweep(now=None, limit: int | None = None) -> int:
    """Start the next step of every active plan whose deadline passed; returns how many
    plans moved. Batches of ``HERALD_FALLBACK_BATCH``, each its own transaction, claimed
    with ``SKIP LOCKED`` so two sweepers never move the same plan."""
    from messaging.services.sending import start_steps

    batch = limit or settings.HERALD_FALLBACK_BATCH
    moved = 0
    while True:
        now_ = now or timezone.now()
        with memory.paused(), transaction.atomic():
            plans = list(DeliveryPlan.objects.select_for_update(skip_locked=True, of=("self",))
                         .select_related("contact")
                         .filter(state=PlanState.ACTIVE, deadline__lte=now_).order_by("deadline")[:batch])
            if plans:
                start_steps(plans)
        moved += len(plans)
        if len(plans) < batch:
            return moved
