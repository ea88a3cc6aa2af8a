"""Deleting what messages point to (D80): the event tables have no database foreign keys,
so Django's ``on_delete`` is what keeps the history consistent — a deleted contact, sender
ID, gateway or API key leaves the messages and plans in place with the link cleared; a
deleted company takes its whole history with it and nothing of another company's."""

import pytest
from django.db import connection

from accounts.models import ApiAccess
from accounts.services import create_api_access
from messaging.models import Attempt, DeliveryPlan, Message, StatusEvent
from messaging.services import StepSpec, send
from messaging.services.senders import delete_sender_id
from messaging.tests import factories
from portal.audit import Actor


@pytest.fixture
def sent(company, sim_gateway, run_commits):
    """One SMS per company, delivered through the simulator (attempt + history written)."""
    factories.sender_id(company, "HERALD")
    person = factories.contact(company, "+34612345678")
    with run_commits():
        plan = send(company=company, to=person, source="api", step=StepSpec(channel=1, sender="HERALD",
                                                                           content={"text": "Hi"}))
    message = plan.messages.get()
    assert message.attempts.exists() and message.events.exists()
    return plan, message, person


def test_the_event_tables_have_no_database_foreign_keys(db):
    if connection.vendor != "postgresql":
        pytest.skip("reads PostgreSQL's catalogue (CI runs it)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text"
                       " IN ('messaging_message', 'messaging_deliveryplan', 'messaging_attempt',"
                       " 'messaging_statusevent')")
        assert cursor.fetchall() == []


def test_deleting_a_contact_keeps_its_messages_and_plans_without_the_link(sent):
    plan, message, person = sent
    person.delete()
    message.refresh_from_db()
    plan.refresh_from_db()
    assert message.contact_id is None and message.address == "+34612345678"
    assert plan.contact_id is None
    assert message.attempts.count() == 1 and message.events.count() == 2


def test_deleting_a_sender_id_or_a_gateway_clears_them_on_the_messages(company, sent, sim_gateway):
    _plan, message, _person = sent
    sender = message.sender_id
    sender.status = "rejected"
    sender.save(update_fields=["status"])
    delete_sender_id(actor=Actor.system(company), sender=sender)
    sim_gateway.delete()
    message.refresh_from_db()
    assert message.sender_id_id is None and message.gateway_id is None
    assert message.sender == "HERALD"  # the text sent stays in the history
    assert Attempt.objects.get(message=message).gateway_id is None


def test_deleting_an_api_key_keeps_the_plans_it_sent(company, sim_gateway, run_commits):
    access, _key = create_api_access(actor=Actor.system(company), company=company, name="k", scopes=["omni-api"])
    with run_commits():
        plan = send(company=company, to="+34612345670", source="api", api_access=access,
                    step=StepSpec(channel=1, content={"text": "Hi"}))
    ApiAccess.objects.filter(pk=access.pk).delete()
    plan.refresh_from_db()
    assert plan.api_access_id is None and plan.messages.count() == 1


def test_deleting_a_company_removes_its_history_and_only_its_own(company, other_company, sent, sim_gateway,
                                                                  run_commits):
    with run_commits():
        theirs = send(company=other_company, to="+34612345679", source="api",
                      step=StepSpec(channel=1, content={"text": "Hi"}))
    mine = sent[1]
    company.delete()
    assert not Message.objects.filter(pk=mine.pk).exists()
    assert not DeliveryPlan.objects.filter(company_id=mine.company_id).exists()
    assert not Attempt.objects.filter(message_id=mine.pk).exists()
    assert not StatusEvent.objects.filter(message_id=mine.pk).exists()
    kept = theirs.messages.get()
    assert kept.attempts.count() == 1 and kept.events.count() == 2
