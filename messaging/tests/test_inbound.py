"""Inbound messages (MO, docs/messaging.md §4): a P2A message each, the contact found or
created, the opt-out / opt-in service, and the one hook conversations and chatbots use."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact, OptOut
from contacts.services import create_optout_word, may_receive
from messaging.models import Direction, Message, MessageStatus, SenderIdStatus, Source, TrafficType
from messaging.providers.base import Inbound
from messaging.services import hooks
from messaging.services.intake import receive_inbound
from messaging.tests import factories as f
from portal.audit import Actor
from portal.channel_types import Channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway(company):
    return f.gateway(company=company)


@pytest.fixture
def heard():
    """Subscribe a recording subscriber to the inbound hook (removed afterwards)."""
    calls = []

    def subscriber(message, result):
        calls.append((message, result))

    hooks.subscribe_inbound(subscriber)
    yield calls
    hooks.unsubscribe_inbound(subscriber)


def mo(text="Hello", address="+34612345678", to="HERALD", pid="", at=None):
    return Inbound(address=address, to=to, text=text, provider_message_id=pid, at=at)


def test_an_mo_becomes_a_delivered_p2a_message(company, gateway):
    at = timezone.now().replace(microsecond=0) - timedelta(seconds=30)
    (message,) = receive_inbound(gateway, [mo("Hello there", pid="mo-1", at=at)])
    message.refresh_from_db()
    assert (message.direction, message.traffic_type, message.source) == (Direction.MO, TrafficType.P2A,
                                                                         Source.INBOUND)
    assert (message.status, message.channel, message.gateway, message.company) == (
        MessageStatus.DELIVERED, Channel.SMS, gateway, company)
    assert (message.address, message.sender, message.content) == ("+34612345678", "HERALD", {"text": "Hello there"})
    assert (message.provider_message_id, message.delivered_at, message.finished_at) == ("mo-1", at, at)
    assert message.events.get().status == MessageStatus.DELIVERED


def test_the_contact_is_created_once_and_then_found(company, gateway):
    (first,) = receive_inbound(gateway, [mo(address="34612345678")])  # SMPP gives numbers without "+"
    (second,) = receive_inbound(gateway, [mo(address="+34612345678")])
    contact = Contact.objects.get(company=company)
    assert (contact.phone, contact.country) == ("+34612345678", "ES")
    assert first.contact == second.contact == contact
    assert first.address == "+34612345678"


def test_an_existing_contact_is_found(company, gateway):
    ann = f.contact(company, "+34612345678", name="Ann")
    (message,) = receive_inbound(gateway, [mo()])
    assert message.contact == ann
    assert Contact.objects.count() == 1


def test_an_opt_out_word_opts_the_contact_out_and_a_later_mo_opts_back_in(company, gateway, heard):
    ann = f.contact(company, "+34612345678")
    create_optout_word(actor=Actor.system(company), company=company, word="STOP", channel=Channel.SMS)
    receive_inbound(gateway, [mo(" stop ")])
    assert not may_receive(ann, Channel.SMS)
    optout = OptOut.objects.get(contact=ann)
    assert (optout.channel, optout.sender, optout.source) == (Channel.SMS, "", "word")
    assert heard[-1][1].opted_out
    receive_inbound(gateway, [mo("Actually, tell me more")])
    assert may_receive(ann, Channel.SMS)
    assert heard[-1][1].opted_in
    assert Message.objects.filter(direction=Direction.MO).count() == 2


def test_the_hook_gets_the_stored_message_and_the_optout_result(company, gateway, heard):
    (message,) = receive_inbound(gateway, [mo("Hi")])
    assert len(heard) == 1
    got, result = heard[0]
    assert got.pk == message.pk
    assert Message.objects.filter(pk=got.pk).exists()  # stored before the hook runs
    assert result.action == "nothing"


def test_a_raising_subscriber_does_not_break_the_intake_nor_the_other_subscribers(company, gateway, heard):
    def broken(message, result):
        raise RuntimeError("chatbot crashed")

    hooks.subscribe_inbound(broken)
    try:
        hooks.subscribe_inbound(broken)  # idempotent
        stored = receive_inbound(gateway, [mo("one", pid="a"), mo("two", pid="b")])
    finally:
        hooks.unsubscribe_inbound(broken)
    assert len(stored) == 2
    assert Message.objects.filter(direction=Direction.MO).count() == 2
    assert [m.content["text"] for m, _r in heard] == ["one", "two"]


def test_a_duplicate_mo_is_stored_once(company, gateway, heard):
    receive_inbound(gateway, [mo(pid="mo-7")])
    again = receive_inbound(gateway, [mo(pid="mo-7"), mo(pid="mo-7")])
    assert again == []
    assert Message.objects.filter(direction=Direction.MO).count() == 1
    assert len(heard) == 1
    # without a provider id there is nothing to recognise a repeat by: both are kept
    receive_inbound(gateway, [mo(), mo()])
    assert Message.objects.filter(direction=Direction.MO).count() == 3


def test_an_mo_on_a_generic_gateway_belongs_to_the_owner_of_the_active_sender_id(company, other_company):
    generic = f.gateway()
    f.sender_id(other_company, "GLOBEX", status=SenderIdStatus.CANCELED)
    f.sender_id(company, "GLOBEX")
    f.sender_id(other_company, "OTHER")
    (message,) = receive_inbound(generic, [mo(to="GLOBEX")])
    assert message.company == company
    assert message.contact.company == company
    (theirs,) = receive_inbound(generic, [mo(to="OTHER", address="+34612345679")])
    assert theirs.company == other_company
    f.sender_id(other_company, "+34911222333")  # a long number as sender ID
    (by_number,) = receive_inbound(generic, [mo(to="34911222333", address="+34612345670")])  # no "+" (SMPP)
    assert by_number.company == other_company


def test_an_mo_on_a_generic_gateway_to_an_unknown_number_goes_to_the_last_sender_to_that_address(
        company, other_company):
    generic = f.gateway()
    f.queued(generic, other_company, 1)  # other_company last wrote to +34600000000 through it
    (message,) = receive_inbound(generic, [mo(to="+34999", address="+34600000000")])
    assert message.company == other_company
    (smpp_style,) = receive_inbound(generic, [mo(to="34999", address="34600000000")])  # SMPP drops the "+"
    assert smpp_style.company == other_company
    assert receive_inbound(generic, [mo(to="+34999", address="+34612345678")]) == []  # nobody's: dropped
    assert Message.objects.filter(direction=Direction.MO).count() == 2


def test_an_mo_from_an_email_address_finds_the_contact_by_email(company):
    gateway = f.gateway(channel=Channel.EMAIL, company=company)
    ann = f.contact(company, "+34612345678", email="ann@example.com")
    (message,) = receive_inbound(gateway, [mo(address="Ann@Example.com", to="news@acme.test")])
    assert (message.contact, message.address, message.channel) == (ann, "ann@example.com", Channel.EMAIL)
