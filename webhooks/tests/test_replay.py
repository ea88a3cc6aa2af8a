"""Replay: one event or all since a time, same webhook id and body, fresh schedule,
audited; refused for disabled endpoints; endpoint enable / disable."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.models import AuditEvent
from webhooks import services
from webhooks.models import Delivery, Endpoint, Event, EventState
from webhooks.tests.conftest import Reply

pytestmark = pytest.mark.usefixtures("allow_loopback")


def emit(company, url):
    return services.emit(company=company, event_type="message.status", data={"status": "delivered"}, url=url)


def test_replay_sends_a_delivered_event_again_with_the_same_id(company, receiver, actor,
                                                               django_capture_on_commit_callbacks):
    event = emit(company, receiver.url())
    services.deliver(event)
    with django_capture_on_commit_callbacks(execute=True):
        services.replay(actor=actor, event=event)
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.pk
    assert first.body == second.body
    event.refresh_from_db()
    assert event.state == EventState.DELIVERED and event.attempts == 2
    assert list(Delivery.objects.filter(event=event).values_list("attempt", flat=True)) == [1, 2]
    assert AuditEvent.objects.filter(company=company, action="Replayed webhook event").count() == 1


def test_replay_of_a_failed_event_restarts_the_schedule(company, receiver, actor):
    receiver.default = Reply(500)
    event = emit(company, receiver.url())
    Event.objects.filter(pk=event.pk).update(state=EventState.FAILED, attempts=10, schedule_step=10,
                                             next_attempt_at=None)
    services.replay(actor=actor, event=event)
    services.deliver(event)
    event.refresh_from_db()
    assert event.state == EventState.PENDING and event.attempts == 11 and event.schedule_step == 1
    assert event.next_attempt_at <= timezone.now() + timedelta(seconds=6)  # back to the 5 s step


def test_replay_is_refused_while_the_endpoint_is_disabled(company, actor):
    event = emit(company, "https://crm.example.com/hook")
    services.disable_endpoint(actor=actor, endpoint=event.endpoint)
    with pytest.raises(ValidationError, match="is disabled: enable it"):
        services.replay(actor=actor, event=event)
    assert Event.objects.get(pk=event.pk).state == EventState.DISABLED


def test_replay_since_takes_the_events_from_that_time(company, other_company, receiver, actor,
                                                      django_capture_on_commit_callbacks):
    old = emit(company, receiver.url("/a"))
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2), state="delivered")
    recent = [emit(company, receiver.url("/a")), emit(company, receiver.url("/b"))]
    Event.objects.filter(pk__in=[e.pk for e in recent]).update(state=EventState.FAILED, next_attempt_at=None)
    foreign = emit(other_company, receiver.url("/a"))
    Event.objects.filter(pk=foreign.pk).update(state=EventState.FAILED, next_attempt_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        replayed, skipped = services.replay_since(actor=actor, company=company,
                                                  since=timezone.now() - timedelta(days=1))
    assert (replayed, skipped) == (2, 0)
    assert sorted(r.path for r in receiver.received) == ["/a", "/b"]
    assert Event.objects.get(pk=old.pk).attempts == 0
    assert Event.objects.get(pk=foreign.pk).state == EventState.FAILED
    audit = AuditEvent.objects.get(company=company, action="Replayed webhook events")
    assert audit.details.get().new_value["events"] == 2


def test_replay_since_one_endpoint_and_skipping_disabled_ones(company, actor):
    a = emit(company, "https://a.example.com/h")
    b = emit(company, "https://b.example.com/h")
    c = emit(company, "https://c.example.com/h")
    Event.objects.update(state=EventState.DELIVERED, next_attempt_at=None)
    since = timezone.now() - timedelta(minutes=1)
    assert services.replay_since(actor=actor, company=company, since=since, endpoint=a.endpoint) == (1, 0)
    assert Event.objects.get(pk=b.pk).state == EventState.DELIVERED
    services.disable_endpoint(actor=actor, endpoint=c.endpoint)
    Event.objects.filter(pk=a.pk).update(state=EventState.DELIVERED)
    assert services.replay_since(actor=actor, company=company, since=since) == (2, 1)
    assert Event.objects.get(pk=c.pk).state == EventState.DELIVERED


def test_replay_since_rejects_bad_input(company, other_company, actor):
    with pytest.raises(ValidationError, match="in the future"):
        services.replay_since(actor=actor, company=company, since=timezone.now() + timedelta(hours=1))
    foreign = Endpoint.objects.create(company=other_company, url="https://x.example.com")
    with pytest.raises(ValidationError, match="Unknown endpoint"):
        services.replay_since(actor=actor, company=company, since=timezone.now(), endpoint=foreign)


def test_enable_endpoint_reports_held_events_and_is_audited(company, actor):
    event = emit(company, "https://crm.example.com/hook")
    assert services.disable_endpoint(actor=actor, endpoint=event.endpoint) == 1
    held = emit(company, "https://crm.example.com/hook")
    assert held.state == EventState.DISABLED
    assert services.enable_endpoint(actor=actor, endpoint=event.endpoint) == 2
    endpoint = Endpoint.objects.get(pk=event.endpoint_id)
    assert not endpoint.is_disabled and endpoint.disabled_reason == ""
    actions = list(AuditEvent.objects.filter(company=company).values_list("action", flat=True))
    assert "Disabled webhook endpoint" in actions and "Enabled webhook endpoint" in actions
    assert emit(company, "https://crm.example.com/hook").state == EventState.PENDING
