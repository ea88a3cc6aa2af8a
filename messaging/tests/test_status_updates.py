"""Status updates in bulk, never backwards (docs/messaging.md §1, §4):
``messaging.services.status.apply_updates``."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import STATUS_RANK, Message, MessageStatus, Source, StatusEvent
from messaging.services.status import Update, apply_updates, record_changes
from messaging.tests import factories as f
from portal.channel_types import Channel

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def gateway(db):
    return f.gateway()


@pytest.fixture
def message(company, gateway):
    return f.queued(gateway, company, 1)[0]


def apply(*updates):
    """Apply updates and what follows them (history), as the dispatcher and the intake do."""
    changed = apply_updates(list(updates))
    record_changes(changed)
    return changed


def status_of(message):
    message.refresh_from_db()
    return message.status


def test_an_update_moves_the_status_forward_and_sets_its_rank(message):
    changed = apply(Update(message.pk, MessageStatus.SUBMITTED, provider_message_id="p-1", at=T0))
    assert [c.id for c in changed] == [message.pk]
    assert changed[0].status == MessageStatus.SUBMITTED
    message.refresh_from_db()
    assert (message.status, message.status_rank) == (MessageStatus.SUBMITTED, STATUS_RANK[MessageStatus.SUBMITTED])
    assert message.provider_message_id == "p-1"


@pytest.mark.parametrize(("first", "then", "final"), [
    ("delivered", "submitted", "delivered"),     # a late submit response
    ("delivered", "undelivered", "delivered"),   # equal ranks: the first final report wins
    ("undelivered", "delivered", "undelivered"),
    ("undelivered", "seen", "seen"),             # opened on the device: seen outranks every outcome
    ("seen", "delivered", "seen"),
    ("rejected", "submitted", "rejected"),
    ("failed", "delivered", "delivered"),        # a failed submit that was delivered after all
    ("skipped", "delivered", "skipped"),         # never sent: nothing moves it
])
def test_the_status_never_moves_backwards(message, first, then, final):
    apply(Update(message.pk, first, at=T0))
    changed = apply(Update(message.pk, then, at=T0 + timedelta(seconds=5)))
    assert status_of(message) == final
    assert bool(changed) == (final == then)
    assert list(message.events.values_list("status", flat=True)) == ([first, then] if changed else [first])


def test_a_duplicate_report_changes_nothing_and_writes_one_event(message):
    report = Update(message.pk, MessageStatus.DELIVERED, provider_status="DELIVRD", at=T0)
    assert len(apply(report)) == 1
    assert apply(report) == []
    assert apply(Update(message.pk, MessageStatus.DELIVERED, provider_status="DELIVRD", at=T0)) == []
    assert StatusEvent.objects.filter(message=message).count() == 1


def test_the_times_are_set_as_the_message_goes(message):
    apply(Update(message.pk, MessageStatus.SUBMITTED, at=T0))
    message.refresh_from_db()
    assert (message.submitted_at, message.delivered_at, message.seen_at, message.finished_at) == (T0, None, None, None)
    apply(Update(message.pk, MessageStatus.DELIVERED, at=T0 + timedelta(seconds=3)))
    apply(Update(message.pk, MessageStatus.SEEN, at=T0 + timedelta(seconds=60)))
    message.refresh_from_db()
    assert message.submitted_at == T0
    assert message.delivered_at == T0 + timedelta(seconds=3)
    assert message.finished_at == T0 + timedelta(seconds=3)   # the first final status
    assert message.seen_at == T0 + timedelta(seconds=60)


def test_a_report_that_skips_steps_fills_the_earlier_times(message):
    apply(Update(message.pk, MessageStatus.SEEN, at=T0))
    message.refresh_from_db()
    assert message.submitted_at == message.delivered_at == message.seen_at == message.finished_at == T0


def test_a_failure_sets_finished_but_not_delivered(message):
    apply(Update(message.pk, MessageStatus.REJECTED, provider_status="0x0000000B", error_code="invalid_dest",
                 error_text="Invalid destination address", at=T0))
    message.refresh_from_db()
    assert (message.finished_at, message.submitted_at, message.delivered_at) == (T0, None, None)


def test_the_raw_provider_status_and_error_are_kept_beside_the_status(message):
    apply(Update(message.pk, MessageStatus.SUBMITTED, provider_status="ACCEPTD", provider_message_id="p-9", at=T0))
    apply(Update(message.pk, MessageStatus.UNDELIVERED, provider_status="UNDELIV", error_code="001",
                 error_text="The handset was unreachable.", at=T0))
    message.refresh_from_db()
    assert (message.status, message.provider_status, message.error_code, message.error_text) == (
        MessageStatus.UNDELIVERED, "UNDELIV", "001", "The handset was unreachable.")
    assert message.provider_message_id == "p-9"  # a report without one keeps it
    event = message.events.get(status=MessageStatus.UNDELIVERED)
    assert (event.provider_status, event.error_code, event.at) == ("UNDELIV", "001", T0)



def test_twelve_hundred_updates_take_three_statements(company, gateway, django_assert_max_num_queries):
    messages = f.queued(gateway, company, 1200)
    updates = [Update(m.pk, MessageStatus.DELIVERED, provider_status="DELIVRD", at=T0) for m in messages]
    with django_assert_max_num_queries(3):
        changed = apply_updates(updates)
    assert len(changed) == 1200
    assert Message.objects.filter(status=MessageStatus.DELIVERED, delivered_at=T0).count() == 1200
    # half of them again, with a backwards update among them: nothing changes
    with django_assert_max_num_queries(2):
        again = apply_updates(updates[:600] + [Update(messages[0].pk, MessageStatus.SUBMITTED)])
    assert again == []


def test_duplicates_of_one_message_in_a_batch_collapse_to_the_highest_rank(company, gateway):
    a, b, c = f.queued(gateway, company, 3)
    changed = apply(*[
        Update(a.pk, MessageStatus.SUBMITTED, at=T0), Update(a.pk, MessageStatus.DELIVERED, at=T0),
        Update(a.pk, MessageStatus.SUBMITTED, at=T0),
        Update(b.pk, MessageStatus.UNDELIVERED, provider_status="UNDELIV", at=T0),
        Update(b.pk, MessageStatus.DELIVERED, provider_status="DELIVRD", at=T0),  # equal rank: first wins
        Update(c.pk, MessageStatus.SEEN, at=T0), Update(c.pk, MessageStatus.EXPIRED, at=T0),
    ])
    assert sorted((x.id, x.status) for x in changed) == sorted([(a.pk, "delivered"), (b.pk, "undelivered"),
                                                               (c.pk, "seen")])
    assert (status_of(a), status_of(b), status_of(c)) == ("delivered", "undelivered", "seen")
    assert b.provider_status == "UNDELIV"
    assert StatusEvent.objects.count() == 3


def test_no_updates_is_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert apply_updates([]) == []


def test_status_changes_of_api_messages_and_mos_are_announced_to_the_clients_webhooks(company, run_commits,
                                                                                      monkeypatch):
    """The one test with webhook URLs: what the engine hands to the webhooks app."""
    from accounts.models import ApiAccess
    from messaging.providers.base import Inbound
    from messaging.services import StepSpec, notify, send
    from messaging.services.intake import receive_inbound
    from portal.testing import factories as portal_factories

    emitted = []
    monkeypatch.setattr(notify, "_emit", emitted.extend)
    gateway = f.gateway(company=company)
    access, _raw = portal_factories.api_access(company)
    ApiAccess.objects.filter(pk=access.pk).update(webhook_url="https://client.example/all")
    with run_commits():
        plan = send(company=company, to="+34612345678", source=Source.API, api_access=access,
                    webhook_url="https://client.example/this-one",
                    step=StepSpec(channel=Channel.SMS, content={"text": "Hi"}))
        send(company=company, to="+34612345679", source=Source.BROADCAST,  # not an API message: no webhook
             step=StepSpec(channel=Channel.SMS, content={"text": "Hi"}))
    message = plan.messages.get()
    assert [(s.event_type, s.data["status"]) for s in emitted] == [("message.status", "submitted"),
                                                                  ("message.status", "delivered")]
    spec = emitted[-1]
    assert (spec.company, spec.url, spec.api_access.pk) == (company.pk, "https://client.example/this-one", access.pk)
    assert spec.data == {"messageId": str(message.pk), "planId": plan.pk, "step": 1, "contact": "+34612345678",
                         "channel": Channel.SMS, "status": "delivered", "providerStatus": "DELIVRD", "late": False,
                         "error": None, "timestamp": spec.data["timestamp"]}
    assert spec.data["timestamp"].endswith("Z")

    emitted.clear()
    f.gateway(channel=Channel.VIBER, settings={"seed": 1, "deliver_rate": 0})
    with run_commits():
        send(company=company, to="+34612345678", source=Source.API, api_access=access,
             step=StepSpec(channel=Channel.VIBER, content={"text": "Hi"}))
    assert [(s.data["status"], s.url, s.data["error"]) for s in emitted] == [
        ("submitted", "", None),  # no URL of its own: the API access's webhook is used
        ("undelivered", "", {"code": "001", "text": "Simulated: the handset was unreachable."})]

    emitted.clear()
    (mo,) = receive_inbound(gateway, [Inbound(address="+34612345678", to="HERALD", text="Thanks")])
    (spec,) = emitted
    assert (spec.event_type, spec.api_access.pk, spec.url) == ("message.inbound", access.pk, "")
    assert spec.data == {"messageId": str(mo.pk), "contact": "+34612345678", "channel": Channel.SMS, "to": "HERALD",
                         "text": "Thanks", "timestamp": spec.data["timestamp"]}
