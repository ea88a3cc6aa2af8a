"""A due schedule is launched once even when two schedulers (beat processes) run at the
same moment: the template row is locked with SKIP LOCKED, re-checked, and its run, counters
and next launch are committed together. Needs PostgreSQL (row locks between connections)."""

import datetime as dt
import threading
import zoneinfo

import pytest
from django.db import connection, connections

from broadcasts.models import Broadcast, BroadcastTemplate, LaunchType
from broadcasts.services import templates as svc
from broadcasts.tests import factories as bf
from messaging.tests import factories as mf

pytestmark = [
    pytest.mark.skipif("connection.vendor != 'postgresql'",
                       reason="concurrent schedulers need two database connections and row locks (PostgreSQL)"),
    pytest.mark.django_db(transaction=True),
]

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
DUE = dt.datetime(2024, 5, 2, 9, 0, tzinfo=MADRID)


@pytest.fixture
def due_templates(company, monkeypatch):
    from broadcasts import tasks

    monkeypatch.setattr(tasks.resolve_broadcast, "delay", lambda pk: None)  # the runs only, not their sending
    company.time_zone = "Europe/Madrid"
    company.save(update_fields=["time_zone"])
    mf.gateway(company=None)
    mf.sender_id(company, "HERALD")
    mf.contacts(company, 2)
    return [bf.template(company, name=f"Daily {i}", recipients={"phones": ["+34600000000"]}, is_scheduled=True,
                        frequency="daily", time_of_day=dt.time(9, 0), next_launch_at=DUE)
            for i in range(6)]


def test_a_template_another_scheduler_holds_is_skipped(due_templates):
    first = due_templates[0]
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:  # scheduler 2 is launching template 1 and has not committed yet
            cursor.execute("SELECT id FROM broadcasts_broadcasttemplate WHERE id = %s FOR UPDATE", [first.pk])
        counts = svc.launch_due(now=DUE + dt.timedelta(seconds=3))
        other.rollback()
    finally:
        other.close()
    assert counts["launched"] == 5 and counts["skipped"] == 1  # did not wait, did not launch it
    assert not Broadcast.objects.filter(template=first).exists()
    assert Broadcast.objects.count() == 5


def test_two_schedulers_at_once_launch_each_occurrence_once(due_templates):
    assert connection.vendor == "postgresql"
    now = DUE + dt.timedelta(seconds=3)
    results, errors = [], []
    start = threading.Barrier(4)

    def scheduler():
        try:
            start.wait(5)
            results.append(svc.launch_due(now=now))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(r["launched"] for r in results) == 6
    assert Broadcast.objects.count() == 6
    for template in BroadcastTemplate.objects.all():
        assert template.launches == 1
        assert template.next_launch_at == DUE + dt.timedelta(days=1)
        run = Broadcast.objects.get(template=template)
        assert run.launch_type == LaunchType.RECURRENT
