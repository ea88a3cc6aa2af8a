"""Dispatch (docs/messaging.md §3): claiming batches (priority lane, fairness between
companies), attempts, retries, a failing driver, and batches rather than tasks per message."""

import math

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Company
from contacts.models import Contact
from messaging import tasks
from messaging.models import Attempt, Claim, Message, MessageStatus, Priority, Source, StatusEvent
from messaging.services import StepSpec, dispatch, send_plans_bulk
from messaging.tests import factories as f
from portal.channel_types import Channel
from portal.testing import factories as portal_factories

pytestmark = pytest.mark.django_db
fake_provider = f.fake_provider  # fixture


@pytest.fixture
def gateway(fake_provider):
    return f.gateway(provider="fake")


def claim(gateway, limit, **kwargs):
    """The ids of a claimed batch, in claim order."""
    with transaction.atomic():
        return [m.id for m in dispatch.claim(gateway.pk, limit, **kwargs)]


# --- claiming -----------------------------------------------------------------------------

def test_a_claim_takes_queued_messages_oldest_first_and_records_a_claim_for_each(company, gateway):
    messages = f.queued(gateway, company, 5)
    ids = claim(gateway, 3)
    assert ids == [m.pk for m in messages[:3]]
    assert set(Claim.objects.values_list("message_id", "gateway_id")) == {(pk, gateway.pk) for pk in ids}
    assert set(Message.objects.values_list("status", "attempt_count")) == {(MessageStatus.QUEUED, 0)}  # untouched
    assert claim(gateway, 10) == [m.pk for m in messages[3:]]  # never the same message twice
    assert claim(gateway, 10) == []


def test_only_the_gateways_queued_messages_are_claimed(company, gateway):
    other = f.gateway(provider="fake")
    f.queued(other, company, 3)
    f.queued(gateway, company, 2, status=MessageStatus.SUBMITTED)
    mine = f.queued(gateway, company, 1)
    assert claim(gateway, 10) == [mine[0].pk]


def test_a_priority_message_is_claimed_before_a_2000_message_backlog(company, gateway):
    f.queued(gateway, company, 2000)
    (api,) = f.queued(gateway, company, 1, priority=Priority.HIGH, source=Source.API)
    ids = claim(gateway, 500)
    assert ids[0] == api.pk
    assert len(ids) == 500


def test_the_priority_lane_claims_only_priority_messages(company, gateway):
    f.queued(gateway, company, 20)
    otp = f.queued(gateway, company, 2, priority=Priority.HIGH, source=Source.OTP)
    assert claim(gateway, 100, priority_only=True) == [m.pk for m in otp]
    assert claim(gateway, 100, priority_only=True) == []


def test_a_batch_is_shared_between_the_companies_with_bulk_messages(company, other_company, gateway):
    f.queued(gateway, company, 1000)
    theirs = f.queued(gateway, other_company, 10)
    ids = claim(gateway, 100)
    assert set(m.pk for m in theirs) <= set(ids)  # the small sender is not stuck behind the big one
    assert len(ids) == 100  # and the batch is still full
    assert len(set(ids)) == 100


def test_three_companies_share_a_batch_evenly(company, other_company, gateway):
    third = portal_factories.company("Initech")
    for c in (company, other_company, third):
        f.queued(gateway, c, 300)
    ids = claim(gateway, 90)
    counts = {c: Message.objects.filter(pk__in=ids, company=c).count() for c in (company, other_company, third)}
    assert list(counts.values()) == [30, 30, 30]


def test_a_company_that_starts_queueing_gets_its_share_once_the_company_list_is_read_again(
        company, other_company, gateway, monkeypatch):
    f.queued(gateway, company, 100)
    assert len(claim(gateway, 10)) == 10  # reads the list: one company
    theirs = f.queued(gateway, other_company, 10)
    assert not set(claim(gateway, 10)) & {m.pk for m in theirs}  # the list is a second old at most
    monkeypatch.setattr(dispatch, "_COMPANIES_TTL", 0.0)
    ids = claim(gateway, 10)
    assert len(set(ids) & {m.pk for m in theirs}) == 5  # read again: half the batch each


def test_priority_messages_come_before_the_shared_bulk_part(company, other_company, gateway):
    f.queued(gateway, company, 50)
    f.queued(gateway, other_company, 50)
    high = f.queued(gateway, other_company, 3, priority=Priority.HIGH, source=Source.API)
    ids = claim(gateway, 20)
    assert ids[:3] == [m.pk for m in high]
    assert len(ids) == 20
    assert Message.objects.filter(pk__in=ids[3:], company=company).exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="concurrent claims need two database connections and row locks (PostgreSQL)")
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_once_never_get_the_same_message(company, gateway):
    from django.db import connections

    f.queued(gateway, company, 30)
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:  # worker 2 claims 10 and has not committed yet
            cursor.execute(dispatch._claim_sql("", 10), [gateway.pk])
            theirs = {row[1] for row in cursor.fetchall() if not row[0]}  # the ids it claimed
        mine = set(claim(gateway, 100))  # does not wait for worker 2, skips its rows
        other.commit()
    finally:
        other.close()
    assert len(theirs) == 10 and len(mine) == 20
    assert not theirs & mine


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the pick-then-claim statement (PostgreSQL)")
def test_a_message_picked_after_another_claim_committed_is_not_sent(company, gateway, monkeypatch):
    """The race the claim's key closes: a dispatcher whose snapshot predates another's claim
    picks the message once that claim's lock is gone. Reproduced by leaving the claim test
    out of the pick: the message is picked, its claim conflicts, and it is not returned."""
    messages = f.queued(gateway, company, 3)
    Claim.objects.create(message_id=messages[1].pk, gateway_id=gateway.pk, since=timezone.now())
    monkeypatch.setattr(dispatch, "_waiting", lambda: "TRUE")
    assert claim(gateway, 10) == [messages[0].pk, messages[2].pk]
    assert Claim.objects.count() == 3


# --- sending batches ----------------------------------------------------------------------

def test_a_batch_is_sent_and_settled(company, gateway, fake_provider):
    messages = f.queued(gateway, company, 3)
    outcome = dispatch.send_batch(gateway)
    assert (outcome.claimed, outcome.submitted, outcome.failed, outcome.requeued) == (3, 3, 0, 0)
    assert len(fake_provider.calls) == 1
    sent = fake_provider.calls[0]
    assert [m.id for m in sent] == [m.pk for m in messages]
    assert (sent[0].address, sent[0].text, sent[0].attempt) == ("+34600000000", "Hi", 1)
    for message in Message.objects.all():
        assert (message.status, message.provider_message_id) == (MessageStatus.SUBMITTED, f"fake-{message.pk.hex}")
        assert message.submitted_at is not None and message.attempt_count == 1
        attempt = message.attempts.get()
        assert (attempt.number, attempt.ok, attempt.error) == (1, True, "")
        assert attempt.finished_at >= attempt.started_at
        assert attempt.gateway == gateway
        assert attempt.request == {"to": message.address}
        assert attempt.response == {"provider_message_id": f"fake-{message.pk.hex}", "provider_status": "0"}
    assert StatusEvent.objects.filter(status=MessageStatus.SUBMITTED).count() == 3


def test_1200_queued_messages_go_out_in_three_driver_calls(company, gateway, fake_provider):
    f.queued(gateway, company, 1200)
    assert dispatch.run(gateway.pk, seconds=60) == 1200
    assert [len(call) for call in fake_provider.calls] == [500, 500, 200]
    assert len(fake_provider.calls) == math.ceil(1200 / 500)
    assert Message.objects.filter(status=MessageStatus.SUBMITTED).count() == 1200


def test_a_broadcast_is_dispatched_by_one_task_in_batches(company, gateway, fake_provider, run_commits,
                                                          monkeypatch):
    f.contacts(company, 1200)
    started = []
    real = tasks.dispatch_gateway.delay
    monkeypatch.setattr(tasks.dispatch_gateway, "delay", lambda gid: started.append(gid) or real(gid))
    with run_commits():
        made = send_plans_bulk(company=company, contacts=Contact.objects.all(), source=Source.BROADCAST,
                               steps=[StepSpec(channel=Channel.SMS, content={"text": "Sale!"})], batch_size=500)
    assert made == 1200
    # three transactions kicked (de-duplicated for a second); never a task per message
    assert 1 <= len(started) <= 3 and set(started) == {gateway.pk}
    assert [len(call) for call in fake_provider.calls] == [500, 500, 200]
    assert Message.objects.filter(status=MessageStatus.SUBMITTED).count() == 1200


def test_a_connection_error_is_retried_as_a_new_attempt_up_to_three_times(company, gateway, fake_provider):
    fake_provider.script.update({1: "connection_error", 2: "connection_error", 3: "connection_error"})
    (message,) = f.queued(gateway, company, 1)
    dispatch.run(gateway.pk, seconds=10)
    assert len(fake_provider.calls) == 3
    assert [m.attempt for call in fake_provider.calls for m in call] == [1, 2, 3]
    message.refresh_from_db()
    assert (message.status, message.error_code, message.attempt_count) == (MessageStatus.FAILED, "connection_error", 3)
    assert not Claim.objects.exists()
    attempts = list(message.attempts.values_list("number", "ok", "error"))
    assert attempts == [(n, False, "simulated connection_error") for n in (1, 2, 3)]
    assert list(message.events.values_list("status", flat=True)) == ["failed"]  # re-queues are not statuses


def test_a_retry_that_succeeds_submits_the_message(company, gateway, fake_provider):
    fake_provider.script.update({1: "connection_error"})
    (message,) = f.queued(gateway, company, 1)
    dispatch.run(gateway.pk, seconds=10)
    message.refresh_from_db()
    assert message.status == MessageStatus.SUBMITTED
    assert list(message.attempts.values_list("number", "ok")) == [(1, False), (2, True)]


def test_a_final_error_is_not_retried(company, gateway, fake_provider):
    fake_provider.script.update({1: "invalid_number"})
    (message,) = f.queued(gateway, company, 1)
    dispatch.run(gateway.pk, seconds=10)
    assert len(fake_provider.calls) == 1
    message.refresh_from_db()
    assert (message.status, message.error_code, message.error_text) == (MessageStatus.FAILED, "invalid_number",
                                                                        "simulated invalid_number")


def test_a_driver_that_raises_fails_the_whole_batch_once_and_records_why(company, gateway, fake_provider):
    fake_provider.script.update({1: "raise"})
    f.queued(gateway, company, 4)
    outcome = dispatch.send_batch(gateway)
    assert (outcome.claimed, outcome.failed) == (4, 4)
    assert dispatch.send_batch(gateway).claimed == 0  # not sent again: the provider may have got them
    assert len(fake_provider.calls) == 1
    for message in Message.objects.all():
        assert (message.status, message.error_code) == (MessageStatus.FAILED, "provider_error")
        assert "peer reset the connection" in message.error_text
        attempt = message.attempts.get()
        assert (attempt.ok, attempt.finished_at is not None) == (False, True)
        assert "peer reset the connection" in attempt.error


def test_a_driver_returning_the_wrong_number_of_results_fails_the_batch(company, gateway, monkeypatch):
    from messaging.tests.factories import FakeProvider

    monkeypatch.setattr(FakeProvider, "send_batch", lambda self, messages: [])
    f.queued(gateway, company, 2)
    assert dispatch.send_batch(gateway).failed == 2
    assert set(Message.objects.values_list("error_code", flat=True)) == {"provider_error"}


def test_attempts_never_hold_credentials(company):
    gateway = f.gateway(credentials={"username": "acme", "password": "s3cret-pw"})
    f.queued(gateway, company, 2)
    dispatch.run(gateway.pk, seconds=10)
    for attempt in Attempt.objects.all():
        assert "s3cret-pw" not in str(attempt.request) + str(attempt.response)
    assert Message.objects.filter(status=MessageStatus.DELIVERED).count() == 2


def test_an_inactive_gateway_is_not_dispatched(company, fake_provider):
    gateway = f.gateway(provider="fake", is_active=False)
    f.queued(gateway, company, 2)
    assert dispatch.run(gateway.pk) == 0
    assert fake_provider.calls == []


def test_the_sweep_starts_a_dispatcher_for_each_gateway_with_work(company, fake_provider, monkeypatch):
    busy, idle = f.gateway(provider="fake"), f.gateway(provider="fake")
    f.queued(busy, company, 3)
    f.queued(idle, company, 1, status=MessageStatus.SUBMITTED)
    started = []
    monkeypatch.setattr(tasks.dispatch_gateway, "delay", started.append)
    assert tasks.dispatch_sweep() == 1
    assert started == [busy.pk]


def test_dispatch_is_cross_tenant_neutral(company, other_company, gateway, fake_provider):
    """One generic gateway carries every company's messages, each as its own."""
    f.queued(gateway, company, 2)
    f.queued(gateway, other_company, 2, address_start=100)
    dispatch.run(gateway.pk, seconds=10)
    sent = {m.id: m.company_id for call in fake_provider.calls for m in call}
    assert sorted(sent.values()) == sorted([company.pk] * 2 + [other_company.pk] * 2)
    assert Company.objects.count() == 2
    assert connection.vendor in ("postgresql", "sqlite")


def test_a_report_by_our_id_that_overtakes_the_submit_response_keeps_the_provider_id(company, gateway,
                                                                                    monkeypatch):
    """Providers that echo our id can call back before their own HTTP response arrives."""
    from messaging.providers.base import Report
    from messaging.services.intake import apply_reports
    from messaging.tests.factories import FakeProvider

    real = FakeProvider.send_batch

    def fast_callback(self, messages):
        apply_reports(self.gateway, [Report(MessageStatus.DELIVERED, message_id=m.id, provider_status="DELIVRD")
                                     for m in messages])
        return real(self, messages)

    monkeypatch.setattr(FakeProvider, "send_batch", fast_callback)
    (message,) = f.queued(gateway, company, 1)
    assert dispatch.send_batch(gateway).submitted == 1
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == (MessageStatus.DELIVERED, f"fake-{message.pk.hex}")
    assert message.submitted_at is not None and message.attempt_count == 1
    assert not Claim.objects.exists()  # the settle drops the claim though the report had moved the status on
    assert message.attempts.get().ok is True


def test_live_counters_stay_exact_when_reports_overtake_part_of_a_batch(company, gateway, monkeypatch):
    """The settle counts each message's move from the status it really had: ``queued`` for
    the messages only it changes, the report's status for those a report moved first."""
    from messaging.providers.base import Report
    from messaging.services import counters
    from messaging.services.intake import apply_reports
    from messaging.tests.factories import FakeProvider

    messages = f.queued(gateway, company, 6)
    Message.objects.filter(pk__in=[m.pk for m in messages]).update(source_id=77, step=0)
    overtaken = {m.pk for m in messages[:2]}
    real = FakeProvider.send_batch

    def early_reports(self, batch):  # the provider's "accepted" callback beats its own answer
        apply_reports(self.gateway, [Report(MessageStatus.SUBMITTED, message_id=m.id, provider_status="ACCEPTD")
                                     for m in batch if m.id in overtaken])
        return real(self, batch)

    def delivered_with_the_submit(self, results):  # as the simulator: the delivery comes with the submit
        return {r.message_id: Report(MessageStatus.DELIVERED, message_id=r.message_id, provider_status="DELIVRD")
                for r in results}

    monkeypatch.setattr(FakeProvider, "send_batch", early_reports)
    monkeypatch.setattr(FakeProvider, "inline_reports", delivered_with_the_submit, raising=False)
    assert dispatch.send_batch(gateway).claimed == 6
    statuses = set(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("status", flat=True))
    assert statuses == {MessageStatus.DELIVERED}
    moves = {k: v for k, v in counters.totals(Source.BROADCAST, 77)[0].items() if v}
    assert moves == {"queued": -6, "delivered": 6}  # submitted: +2 by the reports, -2 by the settle
