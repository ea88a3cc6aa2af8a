"""Broadcast templates and their schedules (``broadcasts.services.templates``): validation,
the next launch, *Launch manually*, the scheduler (once per occurrence, catch-up after
downtime, expiry, a failing template not blocking the others), pause / resume, copy,
delete and moderation."""

import datetime as dt
import zoneinfo

import pytest

from broadcasts.models import (
    Broadcast,
    BroadcastStatus,
    BroadcastTemplate,
    LaunchType,
    ModerationState,
    ScheduleStatus,
)
from broadcasts.services import templates as svc
from broadcasts.services.definition import BroadcastError
from broadcasts.tests import factories as bf
from messaging.models import SenderId, SenderIdStatus
from messaging.tests import factories as mf
from portal.audit import Actor
from portal.models import AuditEvent

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
UTC = dt.UTC


def madrid(*args):
    return dt.datetime(*args, tzinfo=MADRID)


@pytest.fixture
def company(company):
    company.time_zone = "Europe/Madrid"
    company.save(update_fields=["time_zone"])
    return company


@pytest.fixture
def setup(company):
    mf.gateway(company=None)
    mf.sender_id(company, "HERALD")
    return mf.contacts(company, 3)


@pytest.fixture
def actor(admin_user):
    return Actor(user=admin_user, company=admin_user.company)


def data(**changes):
    """What the template form sends: a weekly schedule on Monday and Thursday at 09:00."""
    base = {"name": "Weekly news", "description": "", "type": "fallback",
            "recipients": {"targets": [], "tags": [], "phones": ["+34600000000", "+34600000001"]},
            "steps": [bf.step()], "rcs_check": False,
            "is_scheduled": True, "frequency": "weekly", "weekdays": [0, 3], "month_day": None,
            "time_of_day": dt.time(9, 0), "effective_from": None, "effective_till": None}
    base.update(changes)
    return base


NOW = madrid(2024, 5, 1, 12, 0)  # a Wednesday


def runs_of(template):
    return Broadcast.objects.filter(template=template).order_by("id")


# --- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, field", [
    ({"name": ""}, "name"),
    ({"weekdays": []}, "weekdays"),
    ({"weekdays": [7]}, "weekdays"),
    ({"frequency": "monthly", "month_day": 40}, "month_day"),
    ({"frequency": "monthly", "month_day": None}, "month_day"),
    ({"frequency": "daily", "time_of_day": None}, "time_of_day"),
    ({"frequency": "yearly"}, "frequency"),
    ({"frequency": "once", "effective_from": None}, "effective_from"),
    ({"frequency": "once", "effective_from": madrid(2024, 4, 30, 9, 0)}, "effective_from"),
    ({"effective_from": madrid(2024, 6, 1), "effective_till": madrid(2024, 5, 1)}, "effective_till"),
    ({"effective_till": madrid(2024, 4, 1)}, "effective_till"),  # no launch left
    ({"steps": [bf.step(sender="")]}, "steps[0].senderId"),  # rule 7: required to schedule
    ({"steps": []}, "steps"),
    ({"recipients": {"phones": []}}, "recipients"),
])
def test_invalid_templates_are_refused_with_the_field_and_nothing_saved(setup, company, actor, changes, field):
    with pytest.raises(BroadcastError) as err:
        svc.create_template(actor=actor, company=company, data=data(**changes), now=NOW)
    assert field in err.value.errors
    assert not BroadcastTemplate.objects.exists()


def test_a_template_without_schedule_may_leave_sender_ids_out(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, now=NOW,
                            data=data(is_scheduled=False, steps=[bf.step(sender="")], weekdays=[]))
    assert t.steps[0]["sender"] == "" and not t.is_scheduled and t.next_launch_at is None
    assert AuditEvent.objects.filter(action="Created broadcast template").count() == 1


def test_create_computes_the_next_launch_in_the_company_zone(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, data=data(), now=NOW)
    assert t.schedule_status == ScheduleStatus.ACTIVE
    assert t.next_launch_at == madrid(2024, 5, 2, 9, 0)  # Thursday 09:00 Madrid = 07:00 UTC
    assert t.weekdays == [0, 3] and t.launches == 0 and t.last_launch_at is None


def test_naive_and_text_dates_are_read_in_the_company_zone(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, now=NOW, data=data(
        frequency="daily", effective_from="2024-05-03T10:30", effective_till=dt.datetime(2024, 6, 1, 0, 0)))
    assert t.effective_from == madrid(2024, 5, 3, 10, 30)
    assert t.effective_till == madrid(2024, 6, 1, 0, 0)
    assert t.next_launch_at == madrid(2024, 5, 4, 9, 0)  # 09:00 on the 3rd is before Effective from


def test_once_launches_at_its_date_and_time_and_has_no_end(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, now=NOW, data=data(
        frequency="once", effective_from="2024-05-03T10:30", time_of_day="",
        effective_till=dt.datetime(2024, 5, 1, 0, 0)))  # left over from another repeat: ignored
    assert t.effective_from == madrid(2024, 5, 3, 10, 30) and t.effective_till is None
    assert t.time_of_day == dt.time(10, 30)  # a once schedule's time is its launch's
    assert t.next_launch_at == madrid(2024, 5, 3, 10, 30)
    assert svc.launch_due(now=madrid(2024, 5, 3, 10, 30, 4))["launched"] == 1
    t.refresh_from_db()
    assert t.schedule_status == ScheduleStatus.EXPIRED and t.launches == 1


def test_editing_recomputes_the_next_launch_and_an_expired_schedule_stays_editable(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, now=NOW,
                            data=data(effective_till=madrid(2024, 5, 10)))
    later = madrid(2024, 5, 20, 12, 0)
    t.schedule_status, t.next_launch_at = ScheduleStatus.EXPIRED, None
    t.save()
    t = svc.update_template(actor=actor, template=t, now=later,
                            data=data(name="Renamed", effective_till=madrid(2024, 5, 10)))
    assert t.name == "Renamed" and t.schedule_status == ScheduleStatus.EXPIRED
    t = svc.update_template(actor=actor, template=t, now=later, data=data(effective_till=None))
    assert t.schedule_status == ScheduleStatus.ACTIVE and t.next_launch_at == madrid(2024, 5, 20, 9, 0) + \
        dt.timedelta(days=3)  # Thursday 23.05
    assert AuditEvent.objects.filter(action="Edited broadcast template").count() == 2


# --- Launch manually -----------------------------------------------------------------------------

def test_launch_manually_makes_a_manual_run_and_counts_it(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, data=data(), now=NOW)
    next_before = t.next_launch_at
    run = svc.launch_manually(actor=actor, template=t)
    assert run.launch_type == LaunchType.MANUAL and run.template_id == t.pk
    assert run.status == BroadcastStatus.IN_PROGRESS and run.name == "Weekly news"
    t.refresh_from_db()
    assert t.launches == 1 and t.last_launch_at == run.launched_at
    assert t.next_launch_at == next_before  # the schedule is not moved
    svc.launch_manually(actor=actor, template=t)
    t.refresh_from_db()
    assert t.launches == 2 and runs_of(t).count() == 2


def test_launch_manually_of_an_incomplete_template_saves_nothing(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, now=NOW,
                            data=data(is_scheduled=False, steps=[bf.step(sender="")]))
    with pytest.raises(BroadcastError) as err:
        svc.launch_manually(actor=actor, template=t)
    assert "steps[0].senderId" in err.value.errors
    t.refresh_from_db()
    assert t.launches == 0 and t.last_launch_at is None and not Broadcast.objects.exists()


# --- the scheduler -------------------------------------------------------------------------------

def test_a_due_template_is_launched_once_as_recurrent(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, data=data(), now=NOW)
    assert svc.launch_due(now=madrid(2024, 5, 2, 8, 59, 59))["launched"] == 0
    at = madrid(2024, 5, 2, 9, 0, 3)
    assert svc.launch_due(now=at)["launched"] == 1
    assert svc.launch_due(now=at)["launched"] == 0  # a second beat at the same moment: nothing
    t.refresh_from_db()
    run = runs_of(t).get()
    assert run.launch_type == LaunchType.RECURRENT and run.status == BroadcastStatus.IN_PROGRESS
    assert (t.launches, t.last_launch_at) == (1, at)
    assert t.next_launch_at == madrid(2024, 5, 6, 9, 0)  # Monday
    assert svc.next_launch_display(t) == madrid(2024, 5, 6, 9, 0)
    assert AuditEvent.objects.filter(action="Launched broadcast template by its schedule").count() == 1


def test_after_downtime_only_the_latest_missed_occurrence_runs(setup, company, actor, caplog):
    t = svc.create_template(actor=actor, company=company, now=NOW, data=data(frequency="daily", weekdays=[]))
    assert t.next_launch_at == madrid(2024, 5, 2, 9, 0)
    back = madrid(2024, 5, 5, 15, 0)  # down from Thursday 08:00 to Sunday 15:00: 4 occurrences missed
    assert svc.launch_due(now=back)["launched"] == 1
    assert svc.launch_due(now=back + dt.timedelta(seconds=5))["launched"] == 0
    t.refresh_from_db()
    assert runs_of(t).count() == 1 and t.launches == 1
    assert t.next_launch_at == madrid(2024, 5, 6, 9, 0)
    assert "3 occurrence(s)" in caplog.text and "2024-05-05T07:00:00+00:00" in caplog.text
    assert AuditEvent.objects.filter(
        action="Launched broadcast template by its schedule (3 missed occurrence(s) skipped)").exists()


def test_a_missed_occurrence_older_than_one_period_is_skipped(setup, company, actor, caplog):
    t = svc.create_template(actor=actor, company=company, now=NOW, data=data(
        frequency="once", effective_from=madrid(2024, 5, 2, 9, 0)))
    assert svc.launch_due(now=madrid(2024, 5, 4, 9, 0))["missed"] == 1  # two days late: not sent
    t.refresh_from_db()
    assert not runs_of(t).exists() and t.launches == 0
    assert t.schedule_status == ScheduleStatus.EXPIRED and t.next_launch_at is None
    assert AuditEvent.objects.filter(action="Skipped missed launches of broadcast template").exists()
    assert "older than one period" in caplog.text


def test_the_last_occurrence_expires_the_schedule_and_next_launch_shows_the_last_launch(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, now=NOW, data=data(
        frequency="daily", weekdays=[], effective_till=madrid(2024, 5, 3, 12, 0)))
    for day in (2, 3):
        at = madrid(2024, 5, day, 9, 0, 1)
        assert svc.launch_due(now=at)["launched"] == 1
    t.refresh_from_db()
    assert t.launches == 2 and t.schedule_status == ScheduleStatus.EXPIRED and t.next_launch_at is None
    assert svc.next_launch_display(t) == madrid(2024, 5, 3, 9, 0, 1)
    assert svc.launch_due(now=madrid(2024, 5, 4, 9, 0, 1))["launched"] == 0


def test_a_failing_template_does_not_stop_the_others_and_moves_on(setup, company, actor):
    mf.sender_id(company, "SHOP")
    bad = svc.create_template(actor=actor, company=company, now=NOW,
                              data=data(name="Bad", steps=[bf.step(sender="SHOP")]))
    good = svc.create_template(actor=actor, company=company, now=NOW, data=data(name="Good"))
    SenderId.objects.filter(sender_id="SHOP").update(status=SenderIdStatus.CANCELED)  # no longer active
    counts = svc.launch_due(now=madrid(2024, 5, 2, 9, 0, 2))
    assert (counts["launched"], counts["failed"]) == (1, 1)
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.launches == 1 and runs_of(good).get().status == BroadcastStatus.IN_PROGRESS
    failed = runs_of(bad).get()
    assert failed.status == BroadcastStatus.FAILED and failed.launch_type == LaunchType.RECURRENT
    assert "SHOP" in failed.error and "not an active" in failed.error
    assert bad.launches == 0 and bad.next_launch_at == madrid(2024, 5, 6, 9, 0)  # moved on
    event = AuditEvent.objects.get(action__startswith="Scheduled launch of broadcast template failed")
    assert "SHOP" in event.action


def test_an_unexpected_error_is_recorded_the_same_way(setup, company, actor, monkeypatch):
    from broadcasts.services import runs

    t = svc.create_template(actor=actor, company=company, data=data(), now=NOW)

    def boom(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(runs, "run_template", boom)
    assert svc.launch_due(now=madrid(2024, 5, 2, 9, 0, 2))["failed"] == 1
    t.refresh_from_db()
    assert runs_of(t).get().error == "RuntimeError: database hiccup"
    assert t.next_launch_at == madrid(2024, 5, 6, 9, 0)


# --- pause / resume ------------------------------------------------------------------------------

def test_pause_stops_launches_and_resume_plans_from_now(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, data=data(), now=NOW)
    t = svc.pause_schedule(actor=actor, template=t)
    assert t.schedule_status == ScheduleStatus.PAUSED and t.next_launch_at is None
    assert svc.launch_due(now=madrid(2024, 5, 2, 9, 0, 1))["launched"] == 0
    t = svc.resume_schedule(actor=actor, template=t, now=madrid(2024, 5, 7, 10, 0))
    assert t.schedule_status == ScheduleStatus.ACTIVE
    assert t.next_launch_at == madrid(2024, 5, 9, 9, 0)  # occurrences while paused are not made up
    assert not Broadcast.objects.exists()
    with pytest.raises(BroadcastError):
        svc.resume_schedule(actor=actor, template=t)  # Active: only Paused resumes


def test_resume_after_effective_till_expires_and_an_expired_one_can_be_paused(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, now=NOW, data=data(effective_till=madrid(2024, 5, 31)))
    t = svc.pause_schedule(actor=actor, template=t)
    t = svc.resume_schedule(actor=actor, template=t, now=madrid(2024, 6, 2))
    assert t.schedule_status == ScheduleStatus.EXPIRED and t.next_launch_at is None
    t = svc.pause_schedule(actor=actor, template=t)  # Expired → Paused (spec §4.4)
    assert t.schedule_status == ScheduleStatus.PAUSED


def test_a_template_without_schedule_has_nothing_to_pause(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, data=data(is_scheduled=False), now=NOW)
    with pytest.raises(BroadcastError) as err:
        svc.pause_schedule(actor=actor, template=t)
    assert "no schedule" in err.value.errors["schedule_status"]


def test_expire_ended_marks_schedules_past_their_end(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, now=NOW, data=data(effective_till=madrid(2024, 5, 31)))
    BroadcastTemplate.objects.filter(pk=t.pk).update(next_launch_at=None)  # e.g. planned by an older version
    assert svc.launch_due(now=madrid(2024, 6, 1))["expired"] == 1
    t.refresh_from_db()
    assert t.schedule_status == ScheduleStatus.EXPIRED


# --- copy, delete --------------------------------------------------------------------------------

def test_copy_keeps_definition_and_schedule_but_starts_paused(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, data=data(), now=NOW)
    svc.launch_manually(actor=actor, template=t)
    copy = svc.copy_template(actor=actor, template=t)
    assert copy.pk != t.pk and copy.name == "Weekly news (copy)"
    assert (copy.steps, copy.recipients, copy.weekdays, copy.time_of_day) == (t.steps, t.recipients, [0, 3],
                                                                             dt.time(9, 0))
    assert copy.schedule_status == ScheduleStatus.PAUSED and copy.next_launch_at is None
    assert copy.launches == 0 and copy.last_launch_at is None


def test_delete_keeps_the_runs(setup, company, actor):
    t = svc.create_template(actor=actor, company=company, data=data(), now=NOW)
    run = svc.launch_manually(actor=actor, template=t)
    svc.delete_template(actor=actor, template=t)
    assert not BroadcastTemplate.objects.exists()
    run.refresh_from_db()
    assert run.template_id is None
    assert AuditEvent.objects.filter(action="Deleted broadcast template").exists()


# --- moderation ----------------------------------------------------------------------------------

@pytest.fixture
def moderated(company):
    company.moderation = True
    company.save(update_fields=["moderation"])
    return company


def test_a_moderated_template_launches_only_once_approved(setup, moderated, actor):
    draft = svc.create_template(actor=actor, company=moderated, data=data(name="Draft"), submit=False, now=NOW)
    assert draft.moderation == ModerationState.NONE
    t = svc.create_template(actor=actor, company=moderated, data=data(), submit=True, now=NOW)
    assert t.moderation == ModerationState.PENDING
    assert svc.launch_due(now=madrid(2024, 5, 2, 9, 0, 1))["launched"] == 0
    with pytest.raises(BroadcastError) as err:
        svc.launch_manually(actor=actor, template=t)
    assert "moderation" in err.value.errors
    t = svc.approve_template(actor=Actor.system(), template=t, now=madrid(2024, 5, 2, 10, 0))
    assert t.moderation == ModerationState.APPROVED
    assert t.next_launch_at == madrid(2024, 5, 6, 9, 0)  # planned from the approval
    assert svc.launch_due(now=madrid(2024, 5, 6, 9, 0, 1))["launched"] == 1
    assert not runs_of(draft).exists()
    # an edit needs a new approval
    t = svc.update_template(actor=actor, template=t, data=data(name="Changed"), submit=True, now=NOW)
    assert t.moderation == ModerationState.PENDING
    t = svc.reject_template(actor=Actor.system(), template=t, note="No links, please")
    assert (t.moderation, t.moderation_note) == (ModerationState.REJECTED, "No links, please")
    with pytest.raises(BroadcastError):
        svc.approve_template(actor=Actor.system(), template=t)  # only pending ones


def test_sending_to_moderation_checks_the_template_as_for_a_launch(setup, moderated, actor):
    with pytest.raises(BroadcastError) as err:
        svc.create_template(actor=actor, company=moderated, submit=True, now=NOW,
                            data=data(is_scheduled=False, steps=[bf.step(sender="")]))
    assert "steps[0].senderId" in err.value.errors


# --- the beat task -------------------------------------------------------------------------------

def test_the_beat_task_launches_what_is_due_now(setup, company, actor):
    from django.utils import timezone

    from broadcasts.tasks_templates import launch_due_templates

    t = svc.create_template(actor=actor, company=company, data=data(frequency="hourly", weekdays=[]))
    BroadcastTemplate.objects.filter(pk=t.pk).update(next_launch_at=timezone.now() - dt.timedelta(seconds=2))
    result = launch_due_templates.delay().get()
    assert result["launched"] == 1
    t.refresh_from_db()
    assert t.launches == 1 and t.next_launch_at > timezone.now()
    assert runs_of(t).get().launch_type == LaunchType.RECURRENT
