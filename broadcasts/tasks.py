"""Background work of broadcasts: resolving a run's recipients, starting scheduled runs,
launching due templates, completing finished runs, squashing counters."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


TRANSIENT_RETRIES = 3


@shared_task(bind=True, acks_late=True)
def resolve_broadcast(self, broadcast_id: int) -> str:
    """Make the delivery plans of a running broadcast (resumable: a redelivered or retried
    task goes on after the last committed batch). A database error (a dropped connection,
    a deadlock, a contact deleted under a batch) is retried; a run that still cannot go on
    is marked Failed, with why."""
    from django.db import DatabaseError

    from broadcasts.services import recipients, runs

    try:
        return recipients.resolve(broadcast_id)
    except DatabaseError as exc:
        if self.request.retries < TRANSIENT_RETRIES and not self.request.is_eager:
            logger.warning("broadcast %s: resolving failed (%s), retrying", broadcast_id, exc)
            raise self.retry(exc=exc, countdown=5 * (self.request.retries + 1))
        logger.exception("broadcast %s: resolving the recipients failed", broadcast_id)
        runs.fail(broadcast_id, f"{type(exc).__name__}: {exc}")
        return "failed"
    except Exception as exc:  # noqa: BLE001 - a run that cannot go on is marked Failed, with why
        logger.exception("broadcast %s: resolving the recipients failed", broadcast_id)
        runs.fail(broadcast_id, f"{type(exc).__name__}: {exc}")
        return "failed"


@shared_task
def tick() -> dict:
    """Every few seconds: start due scheduled runs, complete finished ones, resume the
    resolution of runs a dead worker left half-resolved, squash the counters."""
    from django.core.cache import cache

    from broadcasts.models import Broadcast, BroadcastStatus
    from broadcasts.services import recipients, runs
    from messaging.services import counters

    started = runs.start_due()
    completed = runs.refresh_progress()
    stalled = list(Broadcast.objects.filter(status=BroadcastStatus.IN_PROGRESS, resolved=False)
                   .order_by("id").values_list("pk", flat=True))
    for pk in stalled:
        if cache.add(recipients.resolving_key(pk), "queued", recipients.RESOLVING_TTL):
            resolve_broadcast.delay(pk)
    canceled = runs.finish_cancels()
    counters.squash()
    return {"started": started, "completed": completed, "resolving": len(stalled), "canceled": canceled}


# Celery's autodiscovery reads ``tasks.py`` only: the schedules' task lives beside it.
from broadcasts.tasks_templates import launch_due_templates  # noqa: E402,F401
