"""Delivery to a real HTTP receiver on loopback: signed headers, the retry schedule with
jitter, 410 disabling the endpoint, redirects not followed, timeouts, the beat sweep, and
at-least-once after a crash."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks import services
from webhooks.models import Delivery, Endpoint, Event, EventState
from webhooks.tests.conftest import Reply, verify

pytestmark = pytest.mark.usefixtures("allow_loopback")


def emit(company, url, data=None, event_type="message.status"):
    return services.emit(company=company, event_type=event_type, data=data or {"status": "delivered"}, url=url)


def make_due(*events):
    Event.objects.filter(pk__in=[e.pk for e in events]).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_delivery_is_signed_and_logged(company, receiver):
    event = emit(company, receiver.url("/hook?x=1"), {"messageId": "m1", "text": "¡Hola!"})
    delivery = services.deliver(event)
    [got] = receiver.received
    assert got.path == "/hook?x=1"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == event.pk
    assert got.body == event.payload.encode()
    assert json.loads(got.body)["data"] == {"messageId": "m1", "text": "¡Hola!"}
    verify(services.company_secret(company).secret, got.headers, got.body)
    event.refresh_from_db()
    assert event.state == EventState.DELIVERED and event.delivered_at and event.next_attempt_at is None
    assert event.attempts == 1 and event.last_status_code == 200
    assert (delivery.attempt, delivery.status_code, delivery.response_excerpt) == (1, 200, "ok")
    assert delivery.url == receiver.url("/hook?x=1") and delivery.duration_ms is not None and delivery.finished_at
    assert services.deliver(event) is None  # delivered: nothing more to do


def test_failures_follow_the_schedule_with_jitter(company, receiver):
    receiver.default = Reply(500, b"boom " * 400)
    event = emit(company, receiver.url())
    before = timezone.now()
    first = services.deliver(event)
    event.refresh_from_db()
    assert first.status_code == 500 and len(first.response_excerpt) == 1024
    assert event.state == EventState.PENDING and event.attempts == 1 and event.last_status_code == 500
    assert before + timedelta(seconds=4) <= event.next_attempt_at <= timezone.now() + timedelta(seconds=6)
    assert services.deliver(event) is None  # not due yet: no second attempt
    make_due(event)
    services.deliver(event)
    event.refresh_from_db()
    assert event.attempts == 2
    assert timezone.now() + timedelta(seconds=240) - timedelta(seconds=1) <= event.next_attempt_at
    assert event.next_attempt_at <= timezone.now() + timedelta(seconds=360)
    assert list(Delivery.objects.filter(event=event).values_list("attempt", "status_code")) == [(1, 500), (2, 500)]
    assert len(receiver.received) == 2 and {r.headers["webhook-id"] for r in receiver.received} == {event.pk}


def test_the_tenth_failed_attempt_is_the_last(company, receiver):
    receiver.default = Reply(503)
    event = emit(company, receiver.url())
    Event.objects.filter(pk=event.pk).update(attempts=9, schedule_step=9)
    services.deliver(event)
    event.refresh_from_db()
    assert event.attempts == 10 and event.state == EventState.FAILED and event.next_attempt_at is None


def test_the_schedule_spans_about_three_days_with_ten_attempts():
    class Fixed:
        def __init__(self, value):
            self.value = value

        def uniform(self, low, high):
            return low if self.value == "low" else high

    assert services.MAX_ATTEMPTS == 10
    total = sum(services.retry_delay(step, rng=Fixed("mid")) for step in range(1, 10))
    assert 72 * 3600 <= total / 1.2 <= 76 * 3600  # 75.6 h without jitter
    assert services.retry_delay(1, rng=Fixed("low")) == pytest.approx(4.0)
    assert services.retry_delay(1, rng=Fixed("high")) == pytest.approx(6.0)
    assert services.retry_delay(10) is None
    assert services.retry_delay(1, retry_after=120, rng=Fixed("high")) == 120  # Retry-After lengthens
    assert services.retry_delay(3, retry_after=10, rng=Fixed("low")) == pytest.approx(1440)  # never shortens


def test_retry_after_is_honoured(company, receiver):
    receiver.reply(Reply(429, headers={"Retry-After": "120"}))
    event = emit(company, receiver.url())
    services.deliver(event)
    event.refresh_from_db()
    assert event.next_attempt_at >= timezone.now() + timedelta(seconds=115)


def test_410_disables_the_endpoint_and_its_pending_events(company, receiver):
    receiver.reply(Reply(410, b"gone"))
    first = emit(company, receiver.url())
    second = emit(company, receiver.url())
    elsewhere = emit(company, receiver.url("/other"))
    delivery = services.deliver(first)
    assert delivery.status_code == 410 and "disabled" in delivery.error
    endpoint = Endpoint.objects.get(pk=first.endpoint_id)
    assert endpoint.is_disabled and "410" in endpoint.disabled_reason
    assert set(Event.objects.filter(endpoint=endpoint).values_list("state", flat=True)) == {EventState.DISABLED}
    assert services.deliver(second) is None
    assert Event.objects.get(pk=elsewhere.pk).state == EventState.PENDING
    later = emit(company, receiver.url())
    assert later.state == EventState.DISABLED
    assert services.deliver_due() == 1  # only the other endpoint's event
    assert [r.path for r in receiver.received] == ["/hook", "/other"]
    from portal.models import AuditEvent

    assert AuditEvent.objects.filter(company=company, action="Disabled webhook endpoint").exists()


def test_redirects_are_not_followed(company, receiver):
    receiver.reply(Reply(302, headers={"Location": receiver.url("/elsewhere")}))
    event = emit(company, receiver.url())
    delivery = services.deliver(event)
    assert [r.path for r in receiver.wait_for(2, timeout=0.3)] == ["/hook"]
    assert delivery.status_code == 302 and "redirects are not followed" in delivery.error
    event.refresh_from_db()
    assert event.state == EventState.PENDING and event.next_attempt_at > timezone.now()


def test_a_timeout_is_a_failed_attempt_that_is_retried(company, receiver, settings):
    settings.HERALD_WEBHOOK_TIMEOUT = 0.3
    receiver.reply(Reply(200, delay=3))
    event = emit(company, receiver.url())
    delivery = services.deliver(event)
    assert delivery.status_code is None and "timeout" in delivery.error
    assert delivery.duration_ms < 2500
    event.refresh_from_db()
    assert event.state == EventState.PENDING and event.last_error.startswith("No answer within")


def test_a_closed_port_is_a_failed_attempt(company, receiver):
    url = receiver.url()
    receiver.close()
    event = emit(company, url)
    delivery = services.deliver(event)
    assert delivery.status_code is None and "refused" in delivery.error.lower()
    assert Event.objects.get(pk=event.pk).state == EventState.PENDING


def test_deliver_due_takes_only_due_pending_events(company, receiver, settings):
    settings.HERALD_WEBHOOK_WORKERS = 3
    due = [emit(company, receiver.url(f"/due{i}")) for i in range(7)]
    later = emit(company, receiver.url("/later"))
    Event.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    done = emit(company, receiver.url("/done"))
    Event.objects.filter(pk=done.pk).update(state=EventState.DELIVERED, next_attempt_at=None)
    assert services.deliver_due() == 7
    assert sorted(r.path for r in receiver.received) == sorted(f"/due{i}" for i in range(7))
    secret = services.company_secret(company).secret
    for got in receiver.received:
        verify(secret, got.headers, got.body)
    assert set(Event.objects.filter(pk__in=[e.pk for e in due]).values_list("state", flat=True)) == {"delivered"}
    assert Event.objects.get(pk=later.pk).attempts == 0
    assert services.deliver_due() == 0


def test_deliver_due_respects_its_limit(company, receiver):
    for _ in range(5):
        emit(company, receiver.url())
    assert services.deliver_due(limit=2) == 2
    assert Event.objects.filter(state=EventState.PENDING).count() == 3


def test_a_crash_after_the_post_means_the_same_webhook_is_sent_again(company, receiver):
    event = emit(company, receiver.url())
    jobs = services._claim(Event.objects.filter(pk=event.pk), 1)  # claimed, row written …
    assert len(jobs) == 1  # … and the worker dies before posting or recording
    assert services.deliver(event) is None  # the lease keeps others away
    make_due(event)  # the lease expired
    delivery = services.deliver(event)
    assert delivery.attempt == 2 and delivery.status_code == 200
    crashed = Delivery.objects.get(event=event, attempt=1)
    assert crashed.status_code is None and crashed.error == services.NO_RESULT
    assert [r.headers["webhook-id"] for r in receiver.received] == [event.pk]


def test_the_task_delivers_the_first_attempt_after_commit(company, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = emit(company, receiver.url())
    assert len(receiver.received) == 1
    assert Event.objects.get(pk=event.pk).state == EventState.DELIVERED


def test_the_beat_task_runs_the_sweep(company, receiver):
    from webhooks import tasks

    emit(company, receiver.url())
    assert tasks.deliver_due.delay().get() == 1
    assert len(receiver.received) == 1


def test_a_non_ascii_path_is_percent_encoded(company, receiver):
    event = emit(company, receiver.url("/höök?name=José"))
    assert services.deliver(event).status_code == 200
    assert receiver.received[0].path == "/h%C3%B6%C3%B6k?name=Jos%C3%A9"
