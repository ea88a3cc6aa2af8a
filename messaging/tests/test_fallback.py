"""The fallback engine (spec §0.5, docs/messaging.md §5): criteria, failing over at once
on a final failure, deadlines swept in bulk, late reports."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection  # noqa: F401 - read by a skipif condition
from django.utils import timezone

from messaging.models import DeliveryPlan, Message, MessageStatus, PlanState, SenderIdStatus, Source, StatusEvent
from messaging.providers.base import Report
from messaging.services import StepSpec, fallback, send_plan
from messaging.services.intake import apply_reports
from messaging.tests import factories as f
from portal.channel_types import Channel

pytestmark = pytest.mark.django_db
fake_provider, keep_id_clock = f.fake_provider, f.keep_id_clock  # fixtures


def step(channel=Channel.SMS, wait_for="delivery", timeout=60, **kwargs):
    return StepSpec(channel=channel, content={"text": f"Hi ({channel})"}, wait_for=wait_for, timeout=timeout, **kwargs)


def chain(company, steps, to="+34612345678", source=Source.API):
    plan = send_plan(company=company, to=to, steps=steps, source=source)
    plan.refresh_from_db()
    return plan


def messages_of(plan):
    return list(Message.objects.filter(plan=plan).order_by("step"))


@pytest.fixture
def sms(db):
    return f.gateway(channel=Channel.SMS)  # the simulator: every message delivered


@pytest.fixture
def dead_rcs(db):
    return f.gateway(channel=Channel.RCS, settings={"seed": 1, "deliver_rate": 0})  # every message undelivered


@pytest.fixture
def silent_rcs(fake_provider):
    return f.gateway(channel=Channel.RCS, provider="fake")  # submits, never reports


def deliver(gateway, message, status=MessageStatus.DELIVERED):
    message.refresh_from_db()
    return apply_reports(gateway, [Report(status, provider_message_id=message.provider_message_id)])


def test_a_failed_step_starts_the_next_step_at_once(company, sms, dead_rcs, run_commits):
    with run_commits():
        plan = chain(company, [step(Channel.RCS), step(Channel.SMS)])
    plan.refresh_from_db()
    first, second = messages_of(plan)
    assert (first.channel, first.status, first.provider_status) == (Channel.RCS, "undelivered", "UNDELIV")
    assert (second.channel, second.status) == (Channel.SMS, MessageStatus.DELIVERED)
    assert (plan.state, plan.current_step, plan.current_message) == (PlanState.SUCCESSFUL, 1, second)
    assert plan.finished_at is not None and plan.late_reports == 0


def test_the_last_step_failing_makes_the_plan_unsuccessful(company, dead_rcs, run_commits):
    with run_commits():
        plan = chain(company, [step(Channel.RCS), step(Channel.RCS)])
    plan.refresh_from_db()
    assert [m.status for m in messages_of(plan)] == ["undelivered", "undelivered"]
    assert (plan.state, plan.deadline) == (PlanState.UNSUCCESSFUL, None)
    assert plan.finished_at is not None


def test_wait_for_submit_succeeds_when_the_provider_accepts(company, silent_rcs, sms, run_commits):
    with run_commits():
        plan = chain(company, [step(Channel.RCS, wait_for="submit"), step(Channel.SMS)])
    plan.refresh_from_db()
    (first,) = messages_of(plan)  # no second step was ever sent
    assert first.status == MessageStatus.SUBMITTED
    assert (plan.state, plan.deadline) == (PlanState.SUCCESSFUL, None)


def test_wait_for_delivery_sets_the_deadline_at_submit_plus_timeout(company, silent_rcs, sms, run_commits):
    with run_commits():
        plan = chain(company, [step(Channel.RCS, timeout=90), step(Channel.SMS)])
    plan.refresh_from_db()
    (first,) = messages_of(plan)
    assert (first.status, plan.state, plan.current_step) == (MessageStatus.SUBMITTED, PlanState.ACTIVE, 0)
    assert plan.deadline == first.submitted_at + timedelta(seconds=90)
    deliver(silent_rcs, first)
    plan.refresh_from_db()
    assert (plan.state, plan.deadline) == (PlanState.SUCCESSFUL, None)


def test_wait_for_display_needs_seen(company, silent_rcs, sms, run_commits):
    with run_commits():
        plan = chain(company, [step(Channel.RCS, wait_for="display"), step(Channel.SMS)])
    (first,) = messages_of(plan)
    deliver(silent_rcs, first)
    plan.refresh_from_db()
    assert plan.state == PlanState.ACTIVE  # delivered is not displayed
    deliver(silent_rcs, first, MessageStatus.SEEN)
    plan.refresh_from_db()
    assert plan.state == PlanState.SUCCESSFUL


def test_when_the_deadline_passes_the_sweep_sends_the_next_step(company, silent_rcs, sms, run_commits,
                                                                 keep_id_clock):
    with run_commits():
        plan = chain(company, [step(Channel.RCS, timeout=60), step(Channel.SMS)])
    plan.refresh_from_db()
    deadline = plan.deadline
    with time_machine.travel(deadline - timedelta(seconds=1), tick=False):
        assert fallback.sweep() == 0
    assert Message.objects.filter(plan=plan).count() == 1
    with time_machine.travel(deadline + timedelta(seconds=1), tick=False), run_commits():
        assert fallback.sweep() == 1
    plan.refresh_from_db()
    first, second = messages_of(plan)
    assert first.status == MessageStatus.SUBMITTED  # still waiting for a report: it stays as it is
    assert (second.channel, second.status) == (Channel.SMS, MessageStatus.DELIVERED)
    assert (plan.state, plan.current_step) == (PlanState.SUCCESSFUL, 1)


def test_a_deadline_passing_on_the_last_step_makes_the_plan_unsuccessful(company, silent_rcs, run_commits):
    with run_commits():
        plan = chain(company, [step(Channel.RCS, timeout=60)])
    plan.refresh_from_db()
    assert fallback.sweep(now=plan.deadline + timedelta(seconds=1)) == 1
    plan.refresh_from_db()
    assert (plan.state, plan.deadline) == (PlanState.UNSUCCESSFUL, None)
    assert Message.objects.filter(plan=plan).count() == 1


def test_the_sweep_moves_a_plan_once(company, silent_rcs, sms, run_commits, keep_id_clock):
    with run_commits():
        plan = chain(company, [step(Channel.RCS, timeout=60), step(Channel.RCS, timeout=60), step(Channel.SMS)])
    plan.refresh_from_db()
    later = plan.deadline + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        with run_commits():
            assert fallback.sweep() == 1
        assert fallback.sweep() == 0  # after step 2 went out
    assert [(m.step, m.channel, m.status) for m in messages_of(plan)] == [(0, Channel.RCS, "submitted"),
                                                                          (1, Channel.RCS, "submitted")]
    plan.refresh_from_db()
    assert (plan.current_step, plan.state) == (1, PlanState.ACTIVE)
    assert plan.deadline == later + timedelta(seconds=60)  # the new step's own deadline, from its own submit


@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite runs one writer at a time")
@pytest.mark.django_db(transaction=True)
def test_a_plan_locked_by_another_sweeper_is_skipped_not_waited_for(company, silent_rcs, sms):
    from django.db import connections

    plan = chain(company, [step(Channel.RCS, timeout=60), step(Channel.SMS)])
    plan.refresh_from_db()
    later = plan.deadline + timedelta(seconds=1)
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT id FROM messaging_deliveryplan WHERE id = %s FOR UPDATE", [plan.pk])
        assert fallback.sweep(now=later) == 0  # at once, not after the other transaction
        other.rollback()
    finally:
        other.close()
    assert fallback.sweep(now=later) == 1
    assert [(m.step, m.status) for m in messages_of(plan)] == [(0, "submitted"), (1, "delivered")]


def test_the_sweep_only_touches_due_plans(company, silent_rcs, sms, run_commits):
    with run_commits():
        due = chain(company, [step(Channel.RCS, timeout=60), step(Channel.SMS)], to="+34612345671")
        not_due = chain(company, [step(Channel.RCS, timeout=3600), step(Channel.SMS)], to="+34612345672")
        submit_only = chain(company, [step(Channel.RCS, wait_for="submit", timeout=10), step(Channel.SMS)],
                            to="+34612345673")
    with run_commits():
        assert fallback.sweep(now=timezone.now() + timedelta(seconds=120)) == 1
    for plan in (due, not_due, submit_only):
        plan.refresh_from_db()
    assert (due.current_step, due.state) == (1, PlanState.SUCCESSFUL)
    assert (not_due.current_step, not_due.state) == (0, PlanState.ACTIVE)
    assert (submit_only.current_step, submit_only.state) == (0, PlanState.SUCCESSFUL)


def test_the_sweep_works_in_batches_until_no_plan_is_due(company, silent_rcs, sms, run_commits):
    with run_commits():
        plans = [chain(company, [step(Channel.RCS, timeout=60), step(Channel.SMS)], to=f"+3461234567{i}")
                 for i in range(5)]
    with run_commits():
        assert fallback.sweep(now=timezone.now() + timedelta(seconds=61), limit=2) == 5
    assert DeliveryPlan.objects.filter(pk__in=[p.pk for p in plans], current_step=1).count() == 5


def test_a_report_for_an_earlier_step_is_applied_flagged_late_and_counted(company, silent_rcs, fake_provider,
                                                                          run_commits):
    silent_sms = f.gateway(channel=Channel.SMS, provider="fake")
    with run_commits():
        plan = chain(company, [step(Channel.RCS, timeout=60), step(Channel.SMS)])
    plan.refresh_from_db()
    with run_commits():
        fallback.sweep(now=plan.deadline + timedelta(seconds=1))
    first, second = messages_of(plan)
    assert (second.gateway, second.status) == (silent_sms, MessageStatus.SUBMITTED)
    plan.refresh_from_db()
    before = (plan.state, plan.current_step, plan.current_message_id, plan.deadline)

    stats = deliver(silent_rcs, first)
    assert (stats.applied, stats.late) == (1, 1)
    first.refresh_from_db()
    assert (first.status, first.late) == (MessageStatus.DELIVERED, True)  # its status is true
    assert StatusEvent.objects.get(message=first, status=MessageStatus.DELIVERED).late is True
    plan.refresh_from_db()
    assert plan.late_reports == 1
    assert (plan.state, plan.current_step, plan.current_message_id, plan.deadline) == before
    # a duplicate of the late report is not counted twice
    assert deliver(silent_rcs, first).late == 0
    plan.refresh_from_db()
    assert plan.late_reports == 1


def test_a_late_report_in_the_same_batch_as_the_current_steps_failure_is_counted(company, fake_provider,
                                                                                   run_commits):
    gateway = f.gateway(channel=Channel.SMS, provider="fake")
    with run_commits():
        plan = chain(company, [step(timeout=60), step(timeout=60), step(timeout=60)])
    plan.refresh_from_db()
    with run_commits():
        fallback.sweep(now=plan.deadline + timedelta(seconds=1))
    first, second = messages_of(plan)
    with run_commits():
        stats = apply_reports(gateway, [
            Report(MessageStatus.UNDELIVERED, provider_message_id=first.provider_message_id),
            Report(MessageStatus.UNDELIVERED, provider_message_id=second.provider_message_id)])
    assert (stats.applied, stats.late) == (2, 1)
    plan.refresh_from_db()
    assert (plan.current_step, plan.late_reports, plan.state) == (2, 1, PlanState.ACTIVE)


def test_a_step_whose_sender_was_deactivated_since_is_skipped_no_sender(company, dead_rcs, sms, run_commits):
    herald = f.sender_id(company, "HERALD")
    plan = chain(company, [step(Channel.RCS), step(Channel.SMS, sender="HERALD"), step(Channel.SMS)],
                 source=Source.BROADCAST)
    herald.status = SenderIdStatus.BLOCKED
    herald.save()
    with run_commits():
        from messaging.services import dispatch

        dispatch.kick({(dead_rcs.pk, 0)})
    plan.refresh_from_db()
    assert [(m.status, m.error_code) for m in messages_of(plan)] == [
        ("undelivered", "001"), ("skipped", "no_sender"), ("delivered", "000")]
    assert plan.state == PlanState.SUCCESSFUL
