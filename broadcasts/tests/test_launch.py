"""Launching a broadcast: validation, recipients resolved in the worker (targets, tags,
typed numbers, each contact once), plans and messages made, counters, completion."""

import pytest

from broadcasts.models import Broadcast, BroadcastStatus, LaunchType
from broadcasts.selectors import statistics
from broadcasts.services import recipients, runs
from broadcasts.services.definition import BroadcastError
from broadcasts.tests import factories as bf
from contacts.models import Contact, ContactTag, Tag, Target
from messaging.models import DeliveryPlan, Message, MessageStatus, PlanState, Source
from messaging.services import dispatch
from messaging.tests import factories as mf
from messaging.tests.factories import fake_provider as fake_provider_fixture  # noqa: F401 - registers "fake"
from messaging.tests.factories import keep_id_clock  # noqa: F401 - a fixture
from portal.audit import Actor


@pytest.fixture
def setup(company, admin_user):
    gw = mf.gateway(company=None)
    mf.sender_id(company, "HERALD")
    people = mf.contacts(company, 6)
    return gw, people


def _actor(user):
    return Actor(user=user, company=user.company)


@pytest.fixture
def launch_queued(admin_user, django_capture_on_commit_callbacks):
    """Launch and resolve, leaving the messages queued (no dispatch yet)."""
    def go(b):
        with django_capture_on_commit_callbacks(execute=False):
            runs.launch(actor=_actor(admin_user), broadcast=b)
            recipients.resolve(b.pk)
    return go


def test_launch_resolves_targets_tags_and_numbers_once(setup, company, admin_user, run_commits):
    gw, people = setup
    tag = Tag.objects.create(company=company, name="vip")
    ContactTag.objects.bulk_create([ContactTag(contact=c, tag=tag) for c in people[:3]])
    target = Target.objects.create(company=company, name="ES", filters=[
        {"field": "country", "mode": "value", "value": "ES"}])
    Contact.objects.filter(pk__in=[c.pk for c in people[4:]]).update(country="FR")
    b = bf.broadcast(company, recipients={"targets": [target.pk], "tags": [tag.pk],
                                          "phones": [people[0].phone, "+34699000111"]})
    with run_commits():
        runs.launch(actor=_actor(admin_user), broadcast=b)
    b.refresh_from_db()
    # ES target = first 4, tag = first 3, numbers = first + a new one → 5 distinct contacts
    assert b.total_contacts == 5 and b.resolved
    assert Contact.objects.filter(company=company, phone="+34699000111").exists()
    plans = DeliveryPlan.objects.filter(source=Source.BROADCAST, source_id=b.pk)
    assert plans.count() == 5 and len(set(plans.values_list("contact_id", flat=True))) == 5
    stats = statistics(b)
    assert stats["total"] == 5 and stats["initiated"] == 5 and stats["not_initiated"] == 0
    assert stats["steps"][0]["sent"] == 5  # and dispatched at once (eager Celery in tests)
    assert stats["steps"][0]["delivered"] == 5


def test_delivery_completes_the_broadcast(setup, company, admin_user, run_commits):
    gw, people = setup
    b = bf.broadcast(company, recipients={"phones": [c.phone for c in people]})
    with run_commits():
        runs.launch(actor=_actor(admin_user), broadcast=b)
    with run_commits():
        dispatch.run(gw.pk)
    assert Message.objects.filter(source_id=b.pk, status=MessageStatus.DELIVERED).count() == 6
    assert runs.refresh_progress() == 1
    b.refresh_from_db()
    assert b.status == BroadcastStatus.COMPLETE and b.finished_at
    stats = statistics(b)
    assert (stats["successful"], stats["unsuccessful"], stats["successful_pct"]) == (6, 0, 100.0)
    assert stats["steps"][0]["delivered"] == 6 and stats["steps"][0]["submitted"] == 6
    assert stats["steps"][0]["queued"] == 0


def test_launch_refuses_incomplete_broadcast(company, admin_user):
    b = bf.broadcast(company, steps=[bf.step(sender="")], recipients={"phones": []})
    with pytest.raises(BroadcastError) as err:
        runs.launch(actor=_actor(admin_user), broadcast=b)
    assert "recipients" in err.value.errors
    assert "steps[0].senderId" in err.value.errors
    b.refresh_from_db()
    assert b.status == BroadcastStatus.DRAFT


def test_pause_holds_and_resume_releases(setup, company, admin_user, run_commits, launch_queued):
    gw, people = setup
    b = bf.broadcast(company, recipients={"phones": [c.phone for c in people]})
    launch_queued(b)
    with run_commits():
        runs.pause(actor=_actor(admin_user), broadcast=b)
    assert dispatch.run(gw.pk) == 0
    assert Message.objects.filter(source_id=b.pk, held=True).count() == 6
    with run_commits():
        runs.resume(actor=_actor(admin_user), broadcast=b)
    with run_commits():
        dispatch.run(gw.pk)
    assert Message.objects.filter(source_id=b.pk, status=MessageStatus.DELIVERED).count() == 6


def test_a_pause_stops_claims_at_its_commit_and_the_queue_is_flagged_after_it(setup, company, admin_user,
                                                                              launch_queued, run_commits):
    """Pausing a million-recipient run answers at once: the hold takes effect when it
    commits (claims skip a held source), the queued messages are flagged in batches by a
    task after the commit (D71)."""
    from messaging.services import holds

    gw, people = setup
    b = bf.broadcast(company, recipients={"phones": [c.phone for c in people]})
    launch_queued(b)
    runs.pause(actor=_actor(admin_user), broadcast=b)  # its after-commit task has not run
    assert Message.objects.filter(source_id=b.pk, held=True).count() == 0
    assert dispatch.run(gw.pk) == 0  # …and still nothing goes out
    assert holds.apply_hold(Source.BROADCAST, b.pk, batch=4) == 6  # the task, in batches of 4 plans
    assert holds.apply_hold(Source.BROADCAST, b.pk, batch=4) == 0  # idempotent
    assert holds.apply_release(Source.BROADCAST, b.pk) == 0  # a release task late for a paused run does nothing
    assert Message.objects.filter(source_id=b.pk, held=True).count() == 6
    with run_commits():
        runs.resume(actor=_actor(admin_user), broadcast=b)
    assert Message.objects.filter(source_id=b.pk, held=True).count() == 0
    with run_commits():
        dispatch.run(gw.pk)
    assert Message.objects.filter(source_id=b.pk, status=MessageStatus.DELIVERED).count() == 6


def test_a_stop_sends_nothing_more_from_its_commit(setup, company, admin_user, launch_queued):
    from messaging.models import HeldSource
    from messaging.services import holds

    gw, people = setup
    b = bf.broadcast(company, recipients={"phones": [c.phone for c in people]})
    launch_queued(b)
    runs.stop(actor=_actor(admin_user), broadcast=b)  # the cancel task has not run yet
    b.refresh_from_db()
    assert b.status == BroadcastStatus.ABORTED
    assert dispatch.run(gw.pk) == 0
    assert Message.objects.filter(source_id=b.pk, status=MessageStatus.QUEUED).count() == 6
    assert holds.cancel(Source.BROADCAST, b.pk) == {"plans": 6, "messages": 6}  # the task
    assert Message.objects.filter(source_id=b.pk, status=MessageStatus.SKIPPED, error_code="canceled").count() == 6
    assert not HeldSource.objects.filter(source_id=b.pk).exists()


def test_the_sweep_finishes_a_lost_hold_and_a_lost_release(setup, company, admin_user, launch_queued):
    """The hold / release tasks are lost (the broker lost them, a worker died): the
    engine's recovery tick finishes their work."""
    from django.core.cache import cache

    from messaging.services import holds

    gw, people = setup
    b = bf.broadcast(company, recipients={"phones": [c.phone for c in people]})
    launch_queued(b)
    keys = [f"herald:hold-sweep:broadcast:{b.pk}", f"herald:release-sweep:broadcast:{b.pk}"]
    cache.delete_many(keys)
    runs.pause(actor=_actor(admin_user), broadcast=b)  # task lost
    assert holds.sweep() == {"holding": 1, "releasing": 0}  # tasks run eagerly in tests
    assert Message.objects.filter(source_id=b.pk, held=True).count() == 6
    runs.resume(actor=_actor(admin_user), broadcast=b)  # task lost: the messages stay flagged
    assert dispatch.run(gw.pk) == 0
    assert holds.sweep() == {"holding": 0, "releasing": 1}
    assert Message.objects.filter(source_id=b.pk, held=True).count() == 0
    assert dispatch.run(gw.pk) == 6
    cache.delete_many(keys)


def test_stop_cancels_queued_messages(setup, company, admin_user, run_commits, launch_queued):
    gw, people = setup
    b = bf.broadcast(company, recipients={"phones": [c.phone for c in people]})
    launch_queued(b)
    with run_commits():
        runs.stop(actor=_actor(admin_user), broadcast=b)
    b.refresh_from_db()
    assert b.status == BroadcastStatus.ABORTED
    assert Message.objects.filter(source_id=b.pk, status=MessageStatus.SKIPPED, error_code="canceled").count() == 6
    assert DeliveryPlan.objects.filter(source_id=b.pk, state=PlanState.CANCELED).count() == 6
    stats = statistics(b)
    assert stats["unsuccessful"] == 6 and stats["steps"][0]["skipped"] == 6 and stats["steps"][0]["queued"] == 0


def test_relaunch_for_failed_targets_only_the_unsuccessful(setup, company, admin_user, run_commits):
    gw, people = setup
    from contacts.models import OptOut
    # two recipients opted out of SMS: their only step is skipped → unsuccessful
    OptOut.objects.bulk_create([OptOut(company=company, contact=c, channel=1) for c in people[:2]])
    b = bf.broadcast(company, recipients={"phones": [c.phone for c in people]})
    with run_commits():
        runs.launch(actor=_actor(admin_user), broadcast=b)
    assert runs.refresh_progress() == 1
    b.refresh_from_db()
    assert b.status == BroadcastStatus.COMPLETE
    stats = statistics(b)
    assert (stats["successful"], stats["unsuccessful"]) == (4, 2)
    assert stats["steps"][0]["skipped"] == 2 and stats["steps"][0]["delivered"] == 4
    OptOut.objects.all().delete()
    with run_commits():
        run = runs.relaunch_failed(actor=_actor(admin_user), broadcast=b)
    run.refresh_from_db()
    assert run.relaunch_of_id == b.pk and run.launch_type == LaunchType.MANUAL
    assert run.total_contacts == 2
    assert set(DeliveryPlan.objects.filter(source_id=run.pk).values_list("contact_id", flat=True)) == {
        c.pk for c in people[:2]}


def test_resolution_resumes_after_a_crash_without_doubling(setup, company, admin_user, monkeypatch,
                                                           django_capture_on_commit_callbacks):
    gw, people = setup
    b = bf.broadcast(company, recipients={"phones": [c.phone for c in people]})
    with django_capture_on_commit_callbacks(execute=False):
        runs.launch(actor=_actor(admin_user), broadcast=b)
    from messaging.services import sending
    real, calls = sending.create_plans, []

    def dying(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(**kwargs)

    monkeypatch.setattr(sending, "create_plans", dying)
    with pytest.raises(RuntimeError):
        recipients.resolve(b.pk, batch_size=2)
    b.refresh_from_db()
    assert b.total_contacts == 2 and not b.resolved
    monkeypatch.setattr(sending, "create_plans", real)
    recipients.resolve(b.pk, batch_size=2)
    b.refresh_from_db()
    assert b.total_contacts == 6 and b.resolved
    assert DeliveryPlan.objects.filter(source_id=b.pk).values("contact_id").distinct().count() == 6
    assert DeliveryPlan.objects.filter(source_id=b.pk).count() == 6


def test_a_stop_cut_short_is_finished_by_the_beat(setup, company, admin_user, launch_queued, monkeypatch):
    """The stop's cancel task is lost (or its worker dies half-way): the run shows Aborted
    but plans are still going on. The beat's tick queues the cancel again, once."""
    from broadcasts import tasks
    from messaging.services import holds

    gw, people = setup
    b = bf.broadcast(company, recipients={"phones": [c.phone for c in people]})
    launch_queued(b)
    monkeypatch.setattr(holds, "cancel", lambda *a, **k: None)  # the cancel never ran
    runs.stop(actor=_actor(admin_user), broadcast=b)
    assert DeliveryPlan.objects.filter(source_id=b.pk, state=PlanState.ACTIVE).count() == 6
    monkeypatch.undo()
    assert tasks.tick()["canceled"] == 1
    assert DeliveryPlan.objects.filter(source_id=b.pk, state=PlanState.CANCELED).count() == 6
    assert Message.objects.filter(source_id=b.pk, status=MessageStatus.QUEUED).count() == 0
    assert tasks.tick()["canceled"] == 0  # nothing left to do


def test_completion_checks_every_running_broadcast_oldest_first(setup, company, admin_user, run_commits):
    """More running broadcasts than any batch: the old ones still complete."""
    gw, people = setup
    done = []
    for i in range(3):
        b = bf.broadcast(company, recipients={"phones": [people[i].phone]})
        with run_commits():
            runs.launch(actor=_actor(admin_user), broadcast=b)
        done.append(b)
    assert runs.refresh_progress() == 3
    assert {b.status for b in Broadcast.objects.filter(pk__in=[b.pk for b in done])} == {
        BroadcastStatus.COMPLETE}


@pytest.mark.usefixtures("fake_provider_fixture")
def test_retries_of_a_paused_broadcast_wait_and_those_of_a_stopped_one_end(company, admin_user, launch_queued,
                                                                          run_commits):
    """A provider call fails with a retryable error while the run is paused (or stopped):
    the messages go back to the queue held (paused) or end skipped/canceled (stopped),
    never out behind the user's back."""
    gw = mf.gateway(provider="fake")
    mf.sender_id(company, "HERALD")
    people = mf.contacts(company, 4)
    b = bf.broadcast(company, recipients={"phones": [c.phone for c in people]})
    launch_queued(b)
    from messaging.services import dispatch

    batch = dispatch.claim(gw.pk, 10)  # a dispatcher took them…
    with run_commits():
        runs.pause(actor=_actor(admin_user), broadcast=b)  # …the user pauses meanwhile
    from messaging.providers.base import SendResult
    dispatch.settle(gw, batch, [SendResult(m.id, MessageStatus.FAILED, error_code="connection_error")
                                for m in batch])
    assert Message.objects.filter(source_id=b.pk, status=MessageStatus.QUEUED, held=True).count() == 4
    assert dispatch.run(gw.pk) == 0  # nothing goes out while paused
    with run_commits():
        runs.stop(actor=_actor(admin_user), broadcast=b)
    assert Message.objects.filter(source_id=b.pk, status=MessageStatus.SKIPPED, error_code="canceled").count() == 4


@pytest.mark.usefixtures("fake_provider_fixture", "keep_id_clock")
def test_a_runs_plans_share_one_stored_chain_and_fall_back_from_it(company, admin_user, run_commits):
    """D83: the run's steps are stored once (the plans point to them), across resolution
    batches; a plan read back from the database (the deadline sweep) still finds its next
    step there."""
    from datetime import timedelta

    import time_machine

    from messaging.models import StepChain
    from messaging.services import fallback
    from portal.channel_types import Channel

    mf.gateway(channel=Channel.RCS, provider="fake")  # submits, never reports: step 1 times out
    mf.gateway(channel=Channel.SMS)
    mf.sender_id(company, "BOT", channel=Channel.RCS)
    mf.sender_id(company, "HERALD")
    people = mf.contacts(company, 5)
    steps = [bf.step(Channel.RCS, sender="BOT", content={"type": "text", "text": "Hi"}, timeout=60),
             bf.step(Channel.SMS, text="Hi {{attribute.name}}, by SMS")]
    b = bf.broadcast(company, recipients={"phones": [c.phone for c in people]}, steps=steps)
    with run_commits():
        runs.launch(actor=_actor(admin_user), broadcast=b)
        recipients.resolve(b.pk, batch_size=2)  # three batches
    (chain,) = StepChain.objects.filter(company=company)
    assert (chain.source, chain.source_id, chain.steps) == (Source.BROADCAST, b.pk, steps)
    plans = DeliveryPlan.objects.filter(source=Source.BROADCAST, source_id=b.pk)
    assert plans.count() == 5
    assert list(plans.values_list("chain_id", "steps")) == [(chain.pk, [])] * 5  # no copy per recipient
    deadline = plans.first().deadline
    with time_machine.travel(deadline + timedelta(seconds=1), tick=False), run_commits():
        assert fallback.sweep() == 5
    second = Message.objects.filter(company=company, step=1).order_by("contact_id")
    assert [(m.channel, m.content["text"]) for m in second] == [
        (Channel.SMS, f"Hi {c.attributes.get('name', '')}, by SMS") for c in sorted(people, key=lambda c: c.pk)]
    assert stats_successful(b) == 5


def stats_successful(b):
    return statistics(b)["successful"]
