"""Celery tasks of the shared kernel."""

from celery import shared_task

from portal.api import idempotency


@shared_task(ignore_result=True)
def purge_idempotency_keys() -> int:
    """Idempotency keys older than HERALD_IDEMPOTENCY_TTL_HOURS (beat, hourly)."""
    return idempotency.purge_expired()
