"""Celery tasks of the client webhooks. The beat runs ``deliver_due`` every 5 seconds
(portal/settings.py); ``emit`` queues the first attempt of a new event at once."""

from celery import shared_task

from webhooks import services


@shared_task
def deliver_due(limit: int | None = None) -> int:
    return services.deliver_due(limit)


@shared_task
def deliver_event(event_id: str) -> int:
    return services.deliver_events([event_id])


@shared_task
def deliver_events(event_ids: list[str]) -> int:
    return services.deliver_events(event_ids)
