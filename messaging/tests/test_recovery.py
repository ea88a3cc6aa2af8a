"""Exactly once towards the provider (docs/messaging.md §3): a worker that dies between
the provider call and the settle leaves claimed messages; the recovery sweep asks the
driver (``reconcile``) and never sends a message twice."""

from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from messaging import tasks
from messaging.models import Attempt, Claim, Message, MessageStatus
from messaging.providers.simulator import SimulatorProvider
from messaging.services import dispatch
from messaging.tests import factories as f

pytestmark = pytest.mark.django_db
keep_id_clock = f.keep_id_clock  # fixture


class WorkerKilled(BaseException):
    """``kill -9`` as seen from inside the worker: nothing after it runs."""


@pytest.fixture
def die_after(monkeypatch):
    """``die_after(n)``: the next simulator call hands its first ``n`` messages to the
    provider, then the worker dies (before the results are settled)."""
    real = SimulatorProvider.send_batch

    def arm(n):
        def send_batch(self, messages):
            monkeypatch.setattr(SimulatorProvider, "send_batch", real)  # only once
            if n:
                real(self, messages[:n])
            raise WorkerKilled

        monkeypatch.setattr(SimulatorProvider, "send_batch", send_batch)

    return arm


def ledger_ids(path):
    return Counter(line.strip() for line in path.read_text().splitlines()) if path.exists() else Counter()


def crash(gateway, die_after, n):
    die_after(n)
    with pytest.raises(WorkerKilled):
        dispatch.run(gateway.pk, seconds=10)


def later():
    return time_machine.travel(timezone.now() + timedelta(seconds=settings.HERALD_INFLIGHT_TIMEOUT_SECONDS + 5),
                               tick=False)


def test_a_dead_workers_claims_are_left_in_flight(company, die_after):
    gateway = f.gateway()
    f.queued(gateway, company, 4)
    crash(gateway, die_after, 2)
    assert Message.objects.filter(status=MessageStatus.QUEUED, claim__isnull=False).count() == 4
    assert dispatch.send_batch(gateway).claimed == 0  # a claimed message is never claimed again
    assert dispatch.recover() == {"confirmed": 0, "requeued": 0, "unknown": 0}  # not old enough yet


def test_with_a_ledger_received_messages_are_confirmed_and_the_rest_sent_once(company, tmp_path, die_after,
                                                                               keep_id_clock):
    ledger = tmp_path / "ledger.txt"
    gateway = f.gateway(settings={"seed": 1, "ledger": str(ledger)})
    messages = f.queued(gateway, company, 6)
    crash(gateway, die_after, 4)  # the provider got 4 of the 6 before the worker died
    assert sum(ledger_ids(ledger).values()) == 4

    with later():
        stats = dispatch.recover()
    assert stats == {"confirmed": 4, "requeued": 2, "unknown": 0}
    by_status = Counter(Message.objects.values_list("status", flat=True))
    assert by_status == {"delivered": 4, "queued": 2}
    assert not Claim.objects.exists()

    assert dispatch.run(gateway.pk, seconds=10) == 2  # the two the provider never got
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.DELIVERED}
    assert ledger_ids(ledger) == Counter({str(m.pk): 1 for m in messages})  # each exactly once
    for message in Message.objects.all():
        statuses = list(message.events.values_list("status", flat=True))
        assert statuses == ["submitted", "delivered"], statuses  # one final state, reached once
    # the confirmed ones: one attempt (the interrupted call); the others: the interrupted one + the resend
    attempts = Counter(Attempt.objects.values_list("message_id", flat=True))
    assert sorted(attempts.values()) == [1, 1, 1, 1, 2, 2]
    for attempt in Attempt.objects.filter(number=1):
        assert "The worker stopped" in attempt.error
    assert list(Attempt.objects.filter(number=2).values_list("ok", flat=True)) == [True, True]

    with later():
        assert dispatch.recover() == {"confirmed": 0, "requeued": 0, "unknown": 0}  # nothing left to settle


def test_without_a_ledger_the_outcome_is_unknown_and_the_message_is_not_resent(company, die_after,
                                                                                 keep_id_clock):
    gateway = f.gateway()
    f.queued(gateway, company, 3)
    crash(gateway, die_after, 1)
    with later():
        assert dispatch.recover() == {"confirmed": 0, "requeued": 0, "unknown": 3}
    assert dispatch.run(gateway.pk, seconds=10) == 0
    for message in Message.objects.all():
        assert (message.status, message.error_code, message.attempt_count) == (MessageStatus.FAILED,
                                                                              "outcome_unknown", 1)
        assert not Claim.objects.filter(pk=message.pk).exists()
        assert "not sent again" in message.error_text
        assert message.finished_at is not None
        assert list(message.events.values_list("status", flat=True)) == ["failed"]
        attempt = message.attempts.get()
        assert (attempt.number, attempt.ok) == (1, False)
        assert "The worker stopped" in attempt.error


def test_a_reconcile_that_fails_counts_as_unknown(company, die_after, keep_id_clock, monkeypatch, tmp_path):
    gateway = f.gateway(settings={"seed": 1, "ledger": str(tmp_path / "ledger.txt")})
    f.queued(gateway, company, 2)
    crash(gateway, die_after, 2)

    def broken(self, messages):
        raise OSError("lookup API down")

    monkeypatch.setattr(SimulatorProvider, "reconcile", broken)
    with later():
        assert dispatch.recover() == {"confirmed": 0, "requeued": 0, "unknown": 2}
    assert set(Message.objects.values_list("error_code", flat=True)) == {"outcome_unknown"}


def test_the_recovery_task_also_matches_pending_reports(company, die_after, keep_id_clock):
    gateway = f.gateway()
    f.queued(gateway, company, 2)
    crash(gateway, die_after, 0)
    with later():
        stats = tasks.recover()
    assert stats == {"confirmed": 0, "requeued": 0, "unknown": 2, "rerouted": 0, "skipped": 0, "matched": 0,
                     "dropped": 0, "holding": 0, "releasing": 0}


def test_many_messages_of_a_dead_worker_each_reach_exactly_one_final_state(company, tmp_path, die_after,
                                                                            keep_id_clock, settings):
    """A small version of the kill -9 scenario: 1,200 messages, the worker dies in the middle
    of the second batch; recovery, then dispatch again."""
    settings.HERALD_DISPATCH_BATCH = 500  # three batches: one sent, one cut short, one left
    ledger = tmp_path / "ledger.txt"
    gateway = f.gateway(settings={"seed": 1, "ledger": str(ledger), "deliver_rate": 0.8})
    messages = f.queued(gateway, company, 1200)
    assert dispatch.send_batch(gateway).submitted == 500
    crash(gateway, die_after, 123)
    with later():
        assert dispatch.recover() == {"confirmed": 123, "requeued": 377, "unknown": 0}
    dispatch.run(gateway.pk, seconds=60)
    statuses = Counter(Message.objects.values_list("status", flat=True))
    assert set(statuses) <= {"delivered", "undelivered"} and sum(statuses.values()) == 1200
    assert ledger_ids(ledger) == Counter({str(m.pk): 1 for m in messages})
    finals = Counter(Message.objects.filter(events__status__in=["delivered", "undelivered"])
                     .values_list("id", flat=True))
    assert len(finals) == 1200 and set(finals.values()) == {1}
