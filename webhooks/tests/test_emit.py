"""Emitting stores events before anything is sent: the URL is the message's webhook,
else the API access's; no URL, no event; bulk emits use one insert."""

import json

import pytest
from django.core.exceptions import ValidationError

from portal.testing import factories
from webhooks import services
from webhooks.models import Endpoint, Event, EventState

STATUS = {"messageId": "0190e7c2-7d2a-7b3c-9f00-000000000001", "planId": 7, "contact": 12, "channel": "sms",
          "status": "delivered", "error": None, "timestamp": "2025-06-01T10:00:00Z"}


def test_emit_stores_a_pending_event_with_the_standard_payload(company):
    event = services.emit(company=company, event_type="message.status", data=STATUS,
                          url="https://crm.example.com/hook")
    event.refresh_from_db()
    assert event.state == EventState.PENDING and event.attempts == 0 and event.next_attempt_at is not None
    assert event.id.startswith("msg_") and "." not in event.id
    body = json.loads(event.payload)
    assert body["type"] == "message.status" and body["data"] == STATUS
    assert body["timestamp"].endswith("Z")
    assert event.endpoint.url == "https://crm.example.com/hook" and event.endpoint.company == company


def test_the_message_webhook_wins_over_the_api_access_webhook(company):
    access, _raw = factories.api_access(company, webhook_url="https://access.example.com/wh")
    own = services.emit(company=company, event_type="message.status", data=STATUS,
                        url="https://message.example.com/wh", api_access=access)
    fallback = services.emit(company=company, event_type="message.inbound", data={"text": "hi"}, api_access=access)
    assert own.endpoint.url == "https://message.example.com/wh"
    assert fallback.endpoint.url == "https://access.example.com/wh"


def test_no_url_means_no_event(company):
    access, _raw = factories.api_access(company)  # no webhook
    assert services.emit(company=company, event_type="message.status", data=STATUS) is None
    assert services.emit(company=company, event_type="message.status", data=STATUS, api_access=access) is None
    assert not Event.objects.exists()


def test_a_malformed_url_is_not_stored(company):
    assert services.emit(company=company, event_type="message.status", data=STATUS, url="ftp://files.example.com") is None
    assert services.emit(company=company, event_type="message.status", data=STATUS, url="not a url") is None
    assert not Event.objects.exists() and not Endpoint.objects.exists()


def test_event_types_are_dot_separated_words(company):
    with pytest.raises(ValueError, match="event type"):
        services.emit(company=company, event_type="message status", data={}, url="https://x.example.com")


def test_emit_many_uses_one_insert_and_reuses_endpoints(company, other_company, django_assert_max_num_queries):
    Endpoint.objects.create(company=company, url="https://a.example.com/h")
    specs = [services.EventSpec(company=company, event_type="message.status", data={**STATUS, "n": i},
                                url="https://a.example.com/h") for i in range(300)]
    specs += [services.EventSpec(company=other_company.pk, event_type="message.status", data={"n": i},
                                 url="https://b.example.com/h") for i in range(3)]
    specs.append(services.EventSpec(company=company, event_type="message.status", data={}, url=""))
    # endpoints (1) + get_or_create of the new one (4 with its savepoint) + the bulk insert (1 on
    # PostgreSQL; SQLite splits it by its parameter limit): a handful, never one per event.
    with django_assert_max_num_queries(10):
        events = services.emit_many(specs)
    assert len(events) == 303
    assert Event.objects.filter(company=company).count() == 300
    assert Endpoint.objects.filter(company=company).count() == 1
    assert Event.objects.get(pk=events[-1].pk).endpoint.url == "https://b.example.com/h"
    ids = [e.pk for e in events]
    assert len(set(ids)) == 303 and ids == sorted(ids)  # unique and time-ordered


def test_the_same_url_is_a_separate_endpoint_per_company(company, other_company):
    a = services.emit(company=company, event_type="message.status", data={}, url="https://same.example.com")
    b = services.emit(company=other_company, event_type="message.status", data={}, url="https://same.example.com")
    assert a.endpoint_id != b.endpoint_id


def test_events_for_a_disabled_endpoint_are_kept_but_not_queued(company):
    from django.utils import timezone

    Endpoint.objects.create(company=company, url="https://gone.example.com", disabled_at=timezone.now())
    event = services.emit(company=company, event_type="message.status", data={}, url="https://gone.example.com")
    assert event.state == EventState.DISABLED and event.next_attempt_at is None


def test_the_first_attempt_is_queued_after_commit(company, django_capture_on_commit_callbacks, monkeypatch):
    from webhooks import tasks

    sent = []
    monkeypatch.setattr(tasks.deliver_event, "delay", lambda pk: sent.append(pk))
    monkeypatch.setattr(tasks.deliver_events, "delay", lambda ids: sent.append(list(ids)))
    with django_capture_on_commit_callbacks() as callbacks:
        event = services.emit(company=company, event_type="message.status", data={}, url="https://x.example.com")
        services.emit_many([services.EventSpec(company=company, event_type="message.inbound", data={},
                                               url="https://x.example.com") for _ in range(2)])
        assert sent == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()
    assert sent[0] == event.pk and len(sent[1]) == 2


@pytest.mark.parametrize("url,message", [
    ("ftp://example.com/x", r"valid http\(s\) URL"),
    ("https://example.com/" + "x" * 500, "too long"),
    ("http://10.0.0.1/hook", "private, loopback or internal"),
    ("http://[::1]/hook", "private, loopback or internal"),
])
def test_validate_url_explains_what_is_wrong(url, message):
    with pytest.raises(ValidationError, match=message):
        services.validate_url(url)


def test_validate_url_accepts_a_public_url():
    assert services.validate_url("  https://crm.example.com/herald  ") == "https://crm.example.com/herald"
