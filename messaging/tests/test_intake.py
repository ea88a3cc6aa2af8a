"""Delivery-report intake (docs/messaging.md §4): by provider id or by our id, in bulk,
reports that overtake their submit response kept and matched later, provider callbacks."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from messaging.models import STATUS_RANK, Message, MessageStatus, PendingReport, StatusEvent
from messaging.providers.base import Report
from messaging.services import dispatch, intake
from messaging.services.intake import apply_reports
from messaging.tests import factories as f

pytestmark = pytest.mark.django_db
fake_provider, keep_id_clock = f.fake_provider, f.keep_id_clock  # fixtures


@pytest.fixture
def gateway(db):
    return f.gateway()


def submitted(gateway, company, n=1, prefix="p"):
    """Messages the provider accepted, with its ids ``<prefix>-<i>``."""
    return f.queued(gateway, company, n, status=MessageStatus.SUBMITTED, provider_prefix=prefix)


def delivered(pid, **kwargs):
    return Report(MessageStatus.DELIVERED, provider_message_id=pid, provider_status="DELIVRD", **kwargs)


def test_reports_are_applied_by_provider_id(company, gateway):
    a, b = submitted(gateway, company, 2)
    stats = apply_reports(gateway, [delivered("p-0"), Report(MessageStatus.UNDELIVERED, provider_message_id="p-1",
                                                             provider_status="UNDELIV", error_code="001")])
    assert (stats.received, stats.applied, stats.unchanged, stats.pending, stats.late) == (2, 2, 0, 0, 0)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.provider_status) == (MessageStatus.DELIVERED, "DELIVRD")
    assert (b.status, b.provider_status, b.error_code) == (MessageStatus.UNDELIVERED, "UNDELIV", "001")
    assert a.events.get().status == MessageStatus.DELIVERED


def test_reports_are_applied_by_our_id(company, gateway):
    (message,) = f.queued(gateway, company, 1)
    stats = apply_reports(gateway, [Report(MessageStatus.DELIVERED, message_id=message.pk)])
    assert stats.applied == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


def test_a_report_keeps_its_own_time(company, gateway):
    (message,) = submitted(gateway, company)
    at = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    apply_reports(gateway, [delivered("p-0", at=at)])
    message.refresh_from_db()
    assert message.delivered_at == at
    assert message.events.get().at == at


def test_a_provider_id_of_another_gateway_does_not_match(company, gateway):
    other = f.gateway()
    (message,) = submitted(other, company)
    stats = apply_reports(gateway, [delivered("p-0")])
    assert (stats.applied, stats.pending) == (0, 1)
    message.refresh_from_db()
    assert message.status == MessageStatus.SUBMITTED


def test_a_report_by_our_id_never_changes_another_gateways_message(company, gateway):
    other = f.gateway()
    (theirs,) = f.queued(other, company, 1, status=MessageStatus.SUBMITTED)
    stats = apply_reports(gateway, [Report(MessageStatus.DELIVERED, message_id=theirs.pk)])
    assert (stats.applied, stats.unchanged) == (0, 1)
    theirs.refresh_from_db()
    assert theirs.status == MessageStatus.SUBMITTED


def test_duplicates_and_backward_reports_are_counted_unchanged(company, gateway):
    submitted(gateway, company, 3)
    apply_reports(gateway, [delivered("p-0")])
    stats = apply_reports(gateway, [delivered("p-0"), Report(MessageStatus.SUBMITTED, provider_message_id="p-0"),
                                    delivered("p-1"), delivered("p-1")])
    assert (stats.received, stats.applied, stats.unchanged, stats.pending) == (4, 1, 3, 0)
    assert StatusEvent.objects.filter(status=MessageStatus.DELIVERED).count() == 2


def test_an_unknown_status_is_ignored(company, gateway):
    submitted(gateway, company)
    stats = apply_reports(gateway, [Report("bogus", provider_message_id="p-0")])
    assert (stats.received, stats.applied, stats.pending) == (1, 0, 0)


def test_many_reports_in_a_few_statements(company, gateway, django_assert_max_num_queries):
    submitted(gateway, company, 1200)
    reports = [delivered(f"p-{i}") for i in range(1200)]
    # 2 id look-ups (1,000 per query), 3 updates (500 rows each), the history in 2 inserts
    # (1,000 rows each; SQLite splits them further), savepoints
    with django_assert_max_num_queries(40):
        stats = apply_reports(gateway, reports)
    assert stats.applied == 1200
    assert Message.objects.filter(status=MessageStatus.DELIVERED).count() == 1200


# --- reports that overtake their message ------------------------------------------------------

def test_a_report_for_an_unknown_provider_id_is_kept_pending(company, gateway):
    stats = apply_reports(gateway, [delivered("early-1")])
    assert (stats.applied, stats.pending) == (0, 1)
    pending = PendingReport.objects.get()
    assert (pending.gateway, pending.provider_message_id) == (gateway, "early-1")
    assert Report.from_json(pending.report).provider_status == "DELIVRD"


def test_a_pending_report_is_applied_when_the_submit_response_brings_its_id(company, fake_provider):
    gateway = f.gateway(provider="fake")
    (message,) = f.queued(gateway, company, 1)
    provider_id = f"fake-{message.pk.hex}"  # what the fake provider will answer
    apply_reports(gateway, [delivered(provider_id)])
    assert PendingReport.objects.count() == 1
    outcome = dispatch.send_batch(gateway)
    assert outcome.submitted == 1
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == (MessageStatus.DELIVERED, provider_id)
    assert list(message.events.values_list("status", flat=True)) == ["submitted", "delivered"]
    assert PendingReport.objects.count() == 0


def test_match_pending_applies_reports_whose_message_now_has_the_id(company, gateway):
    (message,) = f.queued(gateway, company, 1)
    apply_reports(gateway, [delivered("late-id"), delivered("never-known")])
    Message.objects.filter(pk=message.pk).update(provider_message_id="late-id", status=MessageStatus.SUBMITTED,
                                                 status_rank=STATUS_RANK[MessageStatus.SUBMITTED])
    assert intake.match_pending() == {"matched": 1, "dropped": 0}
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert list(PendingReport.objects.values_list("provider_message_id", flat=True)) == ["never-known"]


def test_pending_reports_older_than_a_day_are_dropped(company, gateway, keep_id_clock):
    apply_reports(gateway, [delivered("old")])
    with time_machine.travel(timezone.now() + timedelta(hours=23), tick=False):
        apply_reports(gateway, [delivered("young")])
        assert intake.match_pending() == {"matched": 0, "dropped": 0}
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        assert intake.match_pending() == {"matched": 0, "dropped": 1}
    assert list(PendingReport.objects.values_list("provider_message_id", flat=True)) == ["young"]


# --- provider callbacks -----------------------------------------------------------------------

def callback(client, gateway, body):
    return client.post(reverse("callbacks:provider", args=[gateway.callback_token]), data=json.dumps(body),
                       content_type="application/json")


def test_a_provider_callback_applies_its_reports_and_inbound_messages(client, company, fake_provider):
    gateway = f.gateway(provider="fake", company=company, credentials={"secret": "s3"})
    (message,) = submitted(gateway, company)
    response = callback(client, gateway, {"secret": "s3", "reports": [{"id": "p-0", "status": "delivered",
                                                                      "raw": "DELIVRD"}],
                                          "mo": [{"from": "+34612345678", "to": "HERALD", "text": "hi", "id": "mo-1"}]})
    assert (response.status_code, response.content) == (200, b"ACK")
    message.refresh_from_db()
    assert (message.status, message.provider_status) == (MessageStatus.DELIVERED, "DELIVRD")
    mo = Message.objects.get(direction="mo")
    assert (mo.address, mo.content["text"], mo.company) == ("+34612345678", "hi", company)


def test_a_callback_with_a_bad_signature_is_refused_and_applies_nothing(client, company, fake_provider):
    gateway = f.gateway(provider="fake", company=company, credentials={"secret": "s3"})
    (message,) = submitted(gateway, company)
    response = callback(client, gateway, {"secret": "guess", "reports": [{"id": "p-0", "status": "delivered"}]})
    assert (response.status_code, response.json()) == (403, {"error": "Bad signature."})
    message.refresh_from_db()
    assert message.status == MessageStatus.SUBMITTED


def test_a_callback_to_an_unknown_or_inactive_gateway_is_404(client, company, fake_provider):
    gateway = f.gateway(provider="fake", is_active=False)
    assert callback(client, gateway, {}).status_code == 404
    response = client.post(reverse("callbacks:provider", args=["0190a0b0-0000-7000-8000-000000000000"]))
    assert response.status_code == 404


def test_a_provider_without_callbacks_answers_404(client, gateway):
    response = callback(client, gateway, {})
    assert (response.status_code, response.json()) == (404, {"error": "This provider sends no callbacks."})
