"""Two sweeps running at once never send the same attempt twice (claims are committed
row updates taken with FOR UPDATE SKIP LOCKED on PostgreSQL)."""

import threading

import pytest
from django.db import connection, connections

from webhooks import services
from webhooks.models import Delivery, EventState


@pytest.mark.django_db(transaction=True)
def test_parallel_sweeps_share_the_work_without_duplicates(company, receiver, settings, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("row locks between connections need PostgreSQL (SQLite serialises writers)")
    settings.HERALD_WEBHOOKS_ALLOW_PRIVATE = True
    settings.HERALD_WEBHOOK_WORKERS = 2
    from webhooks import tasks

    monkeypatch.setattr(tasks.deliver_event, "delay", lambda pk: None)  # leave the events to the sweeps
    events = [services.emit(company=company, event_type="message.status", data={"n": i}, url=receiver.url())
              for i in range(30)]
    counts, errors = [], []

    def sweep():
        try:
            counts.append(services.deliver_due(limit=100))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and sum(counts) == 30
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert sorted(ids) == sorted(e.pk for e in events)  # each exactly once
    assert Delivery.objects.count() == 30
    assert {e.state for e in type(events[0]).objects.all()} == {EventState.DELIVERED}
