"""Sending (docs/messaging.md §2): validation before any write, contacts, addresses per
channel, senders, opt-outs, priority, and broadcasts' bulk plans."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiAccess
from assets.tests.factories import content_template
from contacts.models import Contact, PushEndpoint
from contacts.services import opt_out
from messaging.models import (
    DeliveryPlan,
    Message,
    MessageStatus,
    PlanState,
    Priority,
    SenderIdStatus,
    Source,
    TrafficType,
)
from messaging.services import SendError, StepSpec, send, send_plan, send_plans_bulk
from messaging.tests import factories as f
from portal.audit import Actor
from portal.channel_types import Channel
from portal.testing import factories as portal_factories

pytestmark = pytest.mark.django_db

SMS = StepSpec(channel=Channel.SMS, content={"text": "Hi"})


def sms(**kwargs):
    return StepSpec(**{"channel": Channel.SMS, "content": {"text": "Hi {{name}}"}, **kwargs})


def refused(company, *, to="+34612345678", step=None, steps=None, **kwargs) -> dict:
    """The errors of a send that must be refused, after checking that nothing was written."""
    contacts_before = Contact.objects.count()
    with pytest.raises(SendError) as info:
        if steps is not None:
            send_plan(company=company, to=to, steps=steps, source=kwargs.pop("source", Source.API), **kwargs)
        else:
            send(company=company, to=to, step=step, source=kwargs.pop("source", Source.API), **kwargs)
    assert Message.objects.count() == 0
    assert DeliveryPlan.objects.count() == 0
    assert Contact.objects.count() == contacts_before
    assert str(info.value)  # readable as a whole too
    return info.value.errors


# --- validation ---------------------------------------------------------------------------

def test_unknown_channel(company, sim_gateway):
    errors = refused(company, step=StepSpec(channel=11, content={"text": "Hi"}))
    assert list(errors) == ["channel"]
    assert "Unknown channel 11" in errors["channel"]


def test_payload_and_template_both_or_neither_is_refused(company, sim_gateway):
    template = content_template(company)
    both = refused(company, step=StepSpec(channel=Channel.SMS, content={"text": "Hi"}, template_id=template.pk))
    neither = refused(company, step=StepSpec(channel=Channel.SMS))
    assert both == neither == {"payload": "Give either a payload or a template, not both and not neither."}


@pytest.mark.parametrize("payload", [{}, {"text": ""}, {"text": "   "}, {"other": "x"}, "Hi", ["Hi"]])
def test_an_sms_needs_a_text(company, sim_gateway, payload):
    errors = refused(company, step=StepSpec(channel=Channel.SMS, content=payload))
    assert set(errors) <= {"payload", "payload.text"} and errors


def test_an_email_needs_a_subject_and_a_body(company):
    f.gateway(channel=Channel.EMAIL)
    errors = refused(company, to="ann@example.com", step=StepSpec(channel=Channel.EMAIL, content={"html": "<p>Hi"}))
    assert errors == {"payload.subject": "An e-mail needs a subject."}
    errors = refused(company, to="ann@example.com", step=StepSpec(channel=Channel.EMAIL, content={"subject": "S"}))
    assert errors == {"payload.html": "An e-mail needs an HTML or a text body."}


@pytest.mark.parametrize("status", [SenderIdStatus.DRAFT, SenderIdStatus.CANCELED, SenderIdStatus.SUBMITTED,
                                    SenderIdStatus.BLOCKED])
def test_a_sender_id_that_is_not_active_is_refused(company, sim_gateway, status):
    f.sender_id(company, "HERALD", status=status)
    errors = refused(company, step=sms(sender="HERALD"))
    assert errors == {"senderId": "“HERALD” is not an active SMS sender ID of your company (Assets → Sender IDs)."}


def test_a_sender_id_of_another_company_or_channel_is_refused(company, other_company, sim_gateway):
    f.sender_id(other_company, "HERALD")
    f.sender_id(company, "HERALD", channel=Channel.VIBER)
    assert "senderId" in refused(company, step=sms(sender="HERALD"))


def test_an_active_sender_id_sends_and_is_the_from(company, sim_gateway, run_commits):
    sender = f.sender_id(company, "HERALD")
    with run_commits():
        plan = send(company=company, to="+34612345678", step=sms(sender="HERALD"), source=Source.API)
    message = plan.messages.get()
    assert message.sender == "HERALD"
    assert message.sender_id == sender
    assert message.status == MessageStatus.DELIVERED
    assert message.attempts.get().request["from"] == "HERALD"  # what the provider was given


def test_no_sender_uses_the_gateways_default_from(company, run_commits):
    f.gateway(default_from="Acme")
    plan = send(company=company, to="+34612345678", step=sms(), source=Source.API)
    message = plan.messages.get()
    assert (message.sender, message.sender_id) == ("Acme", None)


def test_an_api_key_may_only_send_from_its_allowed_senders(company, sim_gateway):
    f.sender_id(company, "HERALD")
    f.sender_id(company, "SHOP")
    access, _raw = portal_factories.api_access(company)
    ApiAccess.objects.filter(pk=access.pk).update(allowed_senders=["SHOP"])
    access.refresh_from_db()
    errors = refused(company, step=sms(sender="HERALD"), api_access=access)
    assert errors == {"senderId": "This API key may not send from “HERALD”."}
    plan = send(company=company, to="+34612345678", step=sms(sender="SHOP"), source=Source.API, api_access=access)
    assert plan.messages.get().sender == "SHOP"


def test_push_must_wait_for_submit(company):
    errors = refused(company, step=StepSpec(channel=Channel.PUSH, content={"title": "Hi"}, wait_for="delivery"))
    assert errors == {"waitFor": "Push has no delivery reports: wait for submit."}
    errors = refused(company, step=StepSpec(channel=Channel.SMS, content={"text": "Hi"}, wait_for="read"))
    assert errors == {"waitFor": "waitFor is delivery, submit or display."}


@pytest.mark.parametrize("timeout", [0, 9, 7 * 24 * 3600 + 1, "60", None])
def test_timeout_out_of_bounds_is_refused(company, sim_gateway, timeout):
    errors = refused(company, step=sms(timeout=timeout))
    assert errors == {"timeout": "The waiting time is 10 to 604800 seconds."}


@pytest.mark.parametrize("timeout", [10, 7 * 24 * 3600])
def test_timeout_bounds_are_inclusive(company, sim_gateway, timeout):
    assert send(company=company, to="+34612345678", step=sms(timeout=timeout), source=Source.API).pk


@pytest.mark.parametrize(("to", "why"), [
    ("12ab", "“12ab” is not a phone number: only digits, spaces, + ( ) - / are allowed."),
    ("+99912345678", "“+99912345678” does not start with a known country calling code."),
    ("+34 612", "“+34612” is not a valid number for ES (wrong length or prefix)."),
    ("", "Give the recipient: a phone number (or an e-mail address for e-mail)."),
])
def test_an_invalid_phone_is_refused_with_the_reason(company, sim_gateway, to, why):
    assert refused(company, to=to, step=sms(), create_contact=True) == {"contact": why}


def test_an_email_address_for_another_channel_is_refused(company, sim_gateway):
    errors = refused(company, to="ann@example.com", step=sms())
    assert errors == {"contact": "An e-mail address can only receive e-mail; give a phone number."}


def test_errors_of_a_chain_name_the_step(company, sim_gateway):
    f.sender_id(company, "HERALD", status=SenderIdStatus.DRAFT)
    errors = refused(company, steps=[sms(), sms(sender="HERALD"), StepSpec(channel=Channel.EMAIL, content={})])
    assert set(errors) == {"messages[1].senderId", "messages[2].payload"}


def test_a_chain_needs_one_to_ten_steps(company, sim_gateway):
    assert refused(company, steps=[]) == {"messages": "Give at least one message."}
    assert refused(company, steps=[sms()] * 11) == {"messages": "A chain has at most 10 steps."}


def test_a_contact_of_another_company_is_refused(company, other_company, sim_gateway):
    stranger = f.contact(other_company, "+34612345678")
    errors = refused(company, to=stranger, step=sms())
    assert errors == {"contact": "This contact is not in your company."}


# --- templates ----------------------------------------------------------------------------

def test_a_content_template_is_rendered_with_the_params(company, sim_gateway):
    template = content_template(company, content={"text": "Hi {{attribute.name}}, code {{1}}"})
    plan = send(company=company, to="+34612345678", source=Source.API,
                step=StepSpec(channel=Channel.SMS, template_id=template.pk, params={"name": "Ann", "1": "42"}))
    assert plan.messages.get().content == {"text": "Hi Ann, code 42"}


def test_a_template_of_another_company_or_channel_is_refused(company, other_company, sim_gateway):
    theirs = content_template(other_company)
    email = content_template(company, channel=Channel.EMAIL, content={"subject": "S", "html": "H"})
    assert refused(company, step=StepSpec(channel=Channel.SMS, template_id=theirs.pk)) == {
        "template.id": f"There is no content template {theirs.pk} in your company."}
    assert refused(company, step=StepSpec(channel=Channel.SMS, template_id=email.pk)) == {
        "template.id": f"Content template {email.pk} is for Email, not SMS."}


# --- contacts -----------------------------------------------------------------------------

def test_create_recipient_creates_the_contact_once(company, sim_gateway):
    first = send(company=company, to="612 34 56 78", step=sms(), source=Source.API, create_contact=True)
    second = send(company=company, to="+34612345678", step=sms(), source=Source.API, create_contact=True)
    contact = Contact.objects.get(company=company)
    assert (contact.phone, contact.country) == ("+34612345678", "ES")  # read in the company's region
    assert first.contact == second.contact == contact
    assert first.messages.get().contact == contact


def test_without_create_recipient_an_unknown_number_gets_a_message_but_no_contact(company, sim_gateway):
    plan = send(company=company, to="+34612345678", step=sms(), source=Source.API)
    assert Contact.objects.count() == 0
    assert (plan.contact, plan.address) == (None, "+34612345678")
    message = plan.messages.get()
    assert (message.address, message.contact, message.status) == ("+34612345678", None, MessageStatus.QUEUED)


def test_an_existing_contact_is_found_by_number_and_personalises(company, sim_gateway):
    contact = f.contact(company, "+34612345678", name="Ann")
    plan = send(company=company, to="0034 612 345 678", step=sms(), source=Source.API)
    assert plan.contact == contact
    assert plan.messages.get().content == {"text": "Hi Ann"}


def test_the_contact_found_by_number_is_the_companys_own_with_every_field_read(company, other_company, sim_gateway):
    from datetime import UTC, datetime

    contact = f.contact(company, "+34612345678", name="Ann", email="ann@example.com")
    f.contact(other_company, "+34612345678", name="Bob")  # same number, another company, newer
    Contact.objects.filter(pk=contact.pk).update(rcs_capable=True, rcs_checked_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    found = send(company=company, to="+34612345678", step=sms(), source=Source.API).contact
    expected = Contact.objects.get(pk=contact.pk)
    assert found.pk == contact.pk and not found._state.adding
    assert {f.attname: getattr(found, f.attname) for f in Contact._meta.concrete_fields} == {
        f.attname: getattr(expected, f.attname) for f in Contact._meta.concrete_fields}
    assert found.attributes == {"name": "Ann", "email": "ann@example.com"}  # JSON, not its text
    assert found.rcs_checked_at == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)  # an aware datetime on every database


@pytest.mark.parametrize(("text", "encoding", "segments"), [("Hi", "gsm7", 1), ("€" * 81, "gsm7", 2),
                                                             ("Привет", "ucs2", 1), ("😀" * 36, "ucs2", 2)])
def test_an_sms_records_its_encoding_and_segments(company, sim_gateway, text, encoding, segments):
    message = send(company=company, to="+34612345678", source=Source.API,
                   step=StepSpec(channel=Channel.SMS, content={"text": text})).messages.get()
    assert (message.encoding, message.segments) == (encoding, segments)


def test_a_missing_value_is_reported_in_the_content(company, sim_gateway):
    plan = send(company=company, to="+34612345678", step=sms(), source=Source.API)
    assert plan.messages.get().content == {"text": "Hi ", "missing": ["name"]}


# --- addresses per channel ----------------------------------------------------------------

@pytest.fixture
def all_channel_gateways(db):
    return {channel: f.gateway(channel=channel) for channel in Channel.values}


def test_each_channel_uses_its_address(company, all_channel_gateways):
    ann = f.contact(company, "+34612345678", email="Ann@Example.com", wechat_id="wx-ann")
    PushEndpoint.objects.create(contact=ann, channel=Channel.PUSH, token="https://push.test/old")
    PushEndpoint.objects.create(contact=ann, channel=Channel.PUSH, token="https://push.test/new")
    PushEndpoint.objects.create(contact=ann, channel=Channel.MOBILE_PUSH, token="fcm-token")
    expected = {
        Channel.SMS: "+34612345678", Channel.RCS: "+34612345678", Channel.VIBER: "+34612345678",
        Channel.WHATSAPP: "+34612345678", Channel.TELEGRAM: "+34612345678", Channel.TTS: "+34612345678",
        Channel.EMAIL: "Ann@Example.com", Channel.WECHAT: "wx-ann", Channel.PUSH: "https://push.test/new",
        Channel.MOBILE_PUSH: "fcm-token",
    }
    for channel, address in expected.items():
        content = {"subject": "S", "text": "Hi"} if channel == Channel.EMAIL else {"text": "Hi"}
        if channel == Channel.MOBILE_PUSH:
            content = {"title": "T", "text": "Hi"}  # rule 19: a mobile push needs both
        wait_for = "submit" if channel == Channel.PUSH else "delivery"
        plan = send(company=company, to=ann, source=Source.API,
                    step=StepSpec(channel=channel, content=content, wait_for=wait_for))
        message = plan.messages.get()
        assert (message.address, message.status) == (address, MessageStatus.QUEUED), Channel(channel).label
        assert message.gateway == all_channel_gateways[channel]


@pytest.mark.parametrize(("channel", "content"), [(Channel.EMAIL, {"subject": "S", "text": "Hi"}),
                                                  (Channel.WECHAT, {"text": "Hi"}),
                                                  (Channel.MOBILE_PUSH, {"title": "T", "text": "Hi"})])
def test_a_contact_without_an_address_on_the_channel_is_skipped_no_address(company, all_channel_gateways, channel,
                                                                           content):
    ann = f.contact(company, "+34612345678")
    plan = send(company=company, to=ann, source=Source.API, step=StepSpec(channel=channel, content=content))
    message = plan.messages.get()
    assert (message.status, message.error_code) == (MessageStatus.SKIPPED, "no_address")
    assert message.finished_at is not None
    plan.refresh_from_db()
    assert plan.state == PlanState.UNSUCCESSFUL


def test_an_email_to_a_bare_address_finds_the_contact_with_that_email(company, all_channel_gateways):
    ann = f.contact(company, "+34612345678", email="ann@example.com")
    step = StepSpec(channel=Channel.EMAIL, content={"subject": "S", "html": "<p>Hi {{name}}</p>"},
                    params={"name": "Ann"})
    plan = send(company=company, to="ANN@example.com", step=step, source=Source.API)
    assert plan.contact == ann
    assert plan.messages.get().address == "ann@example.com"
    nobody = send(company=company, to="Bob@Example.com", step=step, source=Source.API)
    assert (nobody.contact, nobody.messages.get().address) == (None, "bob@example.com")


# --- opt-outs -----------------------------------------------------------------------------

def test_an_opted_out_step_is_skipped_and_the_next_step_starts_at_once(company, all_channel_gateways):
    ann = f.contact(company, "+34612345678")
    opt_out(Actor.system(company), ann, Channel.SMS)
    plan = send_plan(company=company, to=ann, source=Source.API,
                     steps=[sms(), StepSpec(channel=Channel.VIBER, content={"text": "Hi"})])
    first, second = plan.messages.order_by("step")
    assert (first.step, first.status, first.error_code) == (0, MessageStatus.SKIPPED, "opted_out")
    assert (second.step, second.channel, second.status) == (1, Channel.VIBER, MessageStatus.QUEUED)
    plan.refresh_from_db()
    assert (plan.state, plan.current_step, plan.current_message) == (PlanState.ACTIVE, 1, second)


def test_an_opt_out_of_one_sender_only_skips_that_sender(company, sim_gateway):
    ann = f.contact(company, "+34612345678")
    f.sender_id(company, "HERALD")
    f.sender_id(company, "SHOP")
    opt_out(Actor.system(company), ann, Channel.SMS, "HERALD")
    blocked = send(company=company, to=ann, step=sms(sender="HERALD"), source=Source.API).messages.get()
    allowed = send(company=company, to=ann, step=sms(sender="SHOP"), source=Source.API).messages.get()
    assert (blocked.status, blocked.error_code) == (MessageStatus.SKIPPED, "opted_out")
    assert allowed.status == MessageStatus.QUEUED


def test_every_step_skipped_makes_the_plan_unsuccessful(company, all_channel_gateways):
    ann = f.contact(company, "+34612345678")
    opt_out(Actor.system(company), ann, Channel.SMS)
    plan = send_plan(company=company, to=ann, source=Source.API,
                     steps=[sms(), StepSpec(channel=Channel.EMAIL, content={"subject": "S", "text": "x"})])
    assert [(m.status, m.error_code) for m in plan.messages.order_by("step")] == [
        ("skipped", "opted_out"), ("skipped", "no_address")]
    plan.refresh_from_db()
    assert plan.state == PlanState.UNSUCCESSFUL
    assert plan.finished_at is not None


# --- priority -----------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "priority", "traffic"), [
    (Source.API, Priority.HIGH, TrafficType.API), (Source.OTP, Priority.HIGH, TrafficType.A2P),
    (Source.SYSTEM, Priority.HIGH, TrafficType.A2P), (Source.CONVERSATION, Priority.HIGH, TrafficType.A2P),
    (Source.CHATBOT, Priority.HIGH, TrafficType.A2P), (Source.BROADCAST, Priority.BULK, TrafficType.A2P),
])
def test_priority_and_traffic_type_follow_the_source(company, sim_gateway, source, priority, traffic):
    message = send(company=company, to="+34612345678", step=sms(), source=source).messages.get()
    assert (message.priority, message.traffic_type) == (priority, traffic)


def test_a_priority_send_starts_the_priority_lane_after_commit(company, sim_gateway, run_commits, monkeypatch):
    from messaging import tasks

    lanes = []
    monkeypatch.setattr(tasks.dispatch_priority, "delay", lambda gateway_id: lanes.append(("priority", gateway_id)))
    monkeypatch.setattr(tasks.dispatch_gateway, "delay", lambda gateway_id: lanes.append(("bulk", gateway_id)))
    with run_commits():
        send(company=company, to="+34612345678", step=sms(), source=Source.OTP)
        assert lanes == []  # nothing before the commit
    with run_commits():
        send(company=company, to="+34612345679", step=sms(), source=Source.BROADCAST)
    assert lanes == [("priority", sim_gateway.pk), ("bulk", sim_gateway.pk)]


# --- broadcasts: bulk plans ---------------------------------------------------------------

def test_send_plans_bulk_makes_one_plan_and_message_per_contact(company, other_company, sim_gateway):
    people = f.contacts(company, 30)
    f.contacts(other_company, 5, start=1000)  # never included, even when passed
    opt_out(Actor.system(company), people[3], Channel.SMS)
    made = send_plans_bulk(company=company, contacts=Contact.objects.all(), steps=[sms()],
                           source=Source.BROADCAST, source_id=7, batch_size=8)
    assert made == 30
    plans = DeliveryPlan.objects.filter(source=Source.BROADCAST, source_id=7)
    assert plans.count() == 30
    assert set(plans.values_list("contact_id", flat=True)) == {c.pk for c in people}
    messages = Message.objects.filter(source_id=7)
    assert messages.count() == 30
    assert messages.filter(status=MessageStatus.QUEUED, priority=Priority.BULK).count() == 29
    skipped = messages.get(status=MessageStatus.SKIPPED)
    assert (skipped.contact, skipped.error_code) == (people[3], "opted_out")
    assert not Message.objects.filter(company=other_company).exists()


def test_send_plans_bulk_validates_before_writing(company, sim_gateway):
    f.contacts(company, 3)
    with pytest.raises(SendError) as info:
        send_plans_bulk(company=company, contacts=Contact.objects.all(), steps=[sms(sender="NOPE")],
                        source=Source.BROADCAST)
    assert list(info.value.errors) == ["steps[0].senderId"]
    assert DeliveryPlan.objects.count() == Message.objects.count() == 0


def _bulk_queries(company, n, batch_size, start):
    people = f.contacts(company, n, start=start)
    with CaptureQueriesContext(connection) as ctx:
        made = send_plans_bulk(company=company, contacts=Contact.objects.filter(pk__in=[c.pk for c in people]),
                               steps=[sms(sender="HERALD")], source=Source.BROADCAST, batch_size=batch_size)
    assert made == n
    return len(ctx.captured_queries)


def test_send_plans_bulk_query_count_is_constant_per_batch(company, sim_gateway, django_assert_max_num_queries):
    """A batch costs the same number of statements whatever its size (no query per contact):
    100 plans in 2 batches of 50 cost no more than 20 plans in 2 batches of 10."""
    f.sender_id(company, "HERALD")
    small = _bulk_queries(company, 20, 10, start=0)
    large = _bulk_queries(company, 100, 50, start=1000)
    per_insert = 1 if connection.vendor == "postgresql" else 4  # SQLite inserts ~33 rows per statement
    assert large <= small + 2 * 2 * per_insert
    with django_assert_max_num_queries(small + 2 * 2 * per_insert):
        _bulk_queries(company, 100, 50, start=2000)
    assert Message.objects.filter(status=MessageStatus.QUEUED).count() == 220
