"""Celery tasks of the messaging engine: each unpacks ids and calls one service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from messaging.models import Gateway
from messaging.providers.base import Report


@shared_task(ignore_result=True)
def dispatch_gateway(gateway_id: int) -> int:
    """Send a gateway's queue for one time slice; hand over to a new task if work is left."""
    from messaging.models import Priority
    from messaging.services import dispatch

    dispatch.kicked(gateway_id, Priority.BULK)
    sent = dispatch.run(gateway_id)
    if sent and not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False) and dispatch.unclaimed_queue(
            gateway_id).exists():
        dispatch_gateway.delay(gateway_id)
    return sent


@shared_task(ignore_result=True)
def dispatch_priority(gateway_id: int) -> int:
    """The priority lane: only the gateway's priority messages, on the ``priority`` queue."""
    from messaging.models import Priority
    from messaging.services import dispatch

    dispatch.kicked(gateway_id, Priority.HIGH)
    return dispatch.run(gateway_id, priority_only=True)


@shared_task(ignore_result=True)
def dispatch_sweep() -> int:
    """Beat safety net: start a dispatcher for every gateway with queued messages."""
    from messaging.services import dispatch

    gateways = dispatch.gateways_with_work()
    for gateway_id in gateways:
        dispatch_gateway.delay(gateway_id)
    return len(gateways)


@shared_task(ignore_result=True)
def fallback_sweep() -> int:
    from messaging.services import fallback

    return fallback.sweep()


@shared_task(ignore_result=True)
def recover() -> dict:
    """Claims of dead workers, messages stranded on a deactivated gateway, and delivery
    reports that overtook their message."""
    from messaging.services import dispatch, holds, intake

    stats = dispatch.recover()
    stats.update(dispatch.reroute_stranded())
    stats.update(intake.match_pending())
    stats.update(holds.sweep())
    return stats


@shared_task(ignore_result=True)
def apply_hold(source: str, source_id: int) -> int:
    """A paused source's queued messages flagged ``held``, in batches (``holds.hold``)."""
    from messaging.services import holds

    return holds.apply_hold(source, source_id)


@shared_task(ignore_result=True)
def apply_release(source: str, source_id: int) -> int:
    """A resumed source's held messages back in the queue, in batches (``holds.release``)."""
    from messaging.services import holds

    return holds.apply_release(source, source_id)


@shared_task(ignore_result=True)
def cancel_source(source: str, source_id: int) -> dict:
    """A stopped source's plans and queued messages ended, in batches (``holds.stopping``)."""
    from messaging.services import holds

    return holds.cancel(source, source_id)


@shared_task(ignore_result=True)
def apply_simulated_reports(gateway_id: int, reports: list[dict]) -> int:
    from messaging.services.intake import apply_reports

    gateway = Gateway.objects.filter(pk=gateway_id).first()
    if gateway is None:
        return 0
    return apply_reports(gateway, [Report.from_json(r) for r in reports]).applied
