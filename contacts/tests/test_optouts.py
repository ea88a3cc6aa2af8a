"""Opt-out rules (spec P§6.9, rule 6 of P§25, G7, G8): words, contact opt-outs, the MO
hook ``handle_inbound`` and the send check."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts import services
from contacts.models import OptOut, OptOutSource, OptOutWord
from contacts.selectors import contacts_for
from contacts.services.optouts import InboundAction, normalize_mo_text
from portal.audit import Actor
from portal.channel_types import Channel
from portal.models import AuditDetail, AuditEvent
from portal.testing import factories

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
UTC = datetime.UTC


def madrid(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=MADRID)


@pytest.fixture
def company(db):
    return factories.company("Acme", time_zone="Europe/Madrid")


@pytest.fixture
def actor(company):
    return Actor.system(company)


@pytest.fixture
def contact(company):
    return services.create_contact(actor=Actor.system(company), company=company, phone="+34612345678")


def make_contact(company, phone):
    return services.create_contact(actor=Actor.system(company), company=company, phone=phone)


def word(company, text="STOP", channel=Channel.SMS, sender="", **kwargs):
    return services.create_optout_word(actor=Actor.system(company), company=company, word=text, channel=channel,
                                       sender=sender, **kwargs)


def scopes(contact):
    return sorted((o.channel, o.sender) for o in OptOut.objects.filter(contact=contact))


# --- opt-out words ------------------------------------------------------------------------------


def test_create_trims_and_audits(company, actor):
    w = services.create_optout_word(actor=actor, company=company, word="  Stop  all ", channel=Channel.SMS,
                                    sender=" Herald ")
    assert (w.word, w.channel, w.sender, w.effective_from, w.effective_till) == ("Stop all", 1, "Herald", None, None)
    detail = AuditDetail.objects.get(event__action="Added new opt-out word")
    assert detail.new_value["word"] == "Stop all" and detail.object_id == str(w.pk)


@pytest.mark.parametrize("kwargs, field, message", [
    ({"word": "   "}, "word", "Enter the opt-out word."),
    ({"word": "x" * 65}, "word", "at most 64 characters"),
    ({"channel": 99}, "channel", "Choose a channel."),
    ({"channel": "sms"}, "channel", "Choose a channel."),
    ({"sender": "s" * 65}, "sender", "at most 64 characters"),
    ({"effective_from": madrid(2025, 3, 1, 10), "effective_till": madrid(2025, 3, 1, 10)}, "effective_till",
     "must be after"),
    ({"effective_from": madrid(2025, 3, 2), "effective_till": madrid(2025, 3, 1)}, "effective_till", "must be after"),
    ({"effective_from": "tomorrow"}, "effective_from", "valid date and time"),
])
def test_invalid_words_are_refused_with_a_reason(company, actor, kwargs, field, message):
    data = {"word": "STOP", "channel": Channel.SMS, "sender": "", **kwargs}
    with pytest.raises(ValidationError) as exc:
        services.create_optout_word(actor=actor, company=company, **data)
    assert message in " ".join(exc.value.message_dict[field])
    assert not OptOutWord.objects.exists()


def test_word_of_exactly_64_characters_is_accepted(company):
    assert len(word(company, "x" * 64).word) == 64


def test_duplicates_are_refused_case_insensitively_per_channel_and_sender(company):
    word(company, "STOP")
    with pytest.raises(ValidationError) as exc:
        word(company, " stop ")
    assert "already exists for SMS / Whole channel" in exc.value.message_dict["word"][0]
    word(company, "stop", sender="Herald")  # another sender: fine
    word(company, "stop", channel=Channel.VIBER)  # another channel: fine
    with pytest.raises(ValidationError):
        word(company, "Stop", sender="Herald")
    word(factories.company("Globex"), "STOP")  # another company: fine
    assert OptOutWord.objects.filter(company=company).count() == 3


def test_non_ascii_words_are_duplicates_whatever_the_case(company):
    word(company, "БАЖА")
    with pytest.raises(ValidationError):
        word(company, "бажа")


def test_naive_dates_are_read_in_the_company_time_zone(company):
    w = word(company, effective_from=datetime.datetime(2025, 3, 1, 10, 0))
    assert w.effective_from == datetime.datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_update_checks_the_same_rules_but_not_against_itself(company, actor):
    w = word(company, "STOP")
    other = word(company, "END")
    services.update_optout_word(actor=actor, optout_word=w, word="stop", channel=Channel.SMS, sender="")
    w.refresh_from_db()
    assert w.word == "stop"
    with pytest.raises(ValidationError):
        services.update_optout_word(actor=actor, optout_word=other, word="STOP", channel=Channel.SMS)
    services.update_optout_word(actor=actor, optout_word=other, word="END", channel=Channel.WHATSAPP,
                                sender="Shop", effective_from=madrid(2025, 1, 1))
    other.refresh_from_db()
    assert (other.channel, other.sender, other.effective_from) == (Channel.WHATSAPP, "Shop", madrid(2025, 1, 1))
    assert AuditEvent.objects.filter(action="Changed opt-out word").count() == 2


def test_deleting_a_word_keeps_the_opt_outs_it_caused(company, actor, contact):
    w = word(company)
    services.handle_inbound(company, contact, Channel.SMS, "Herald", "STOP")
    services.delete_optout_word(actor=actor, optout_word=w)
    record = OptOut.objects.get(contact=contact)
    assert record.word is None and record.source == OptOutSource.WORD
    assert AuditEvent.objects.filter(action="Deleted opt-out word").exists()


# --- contact opt-outs ---------------------------------------------------------------------------


def test_opt_out_is_idempotent_and_opt_in_removes_the_record(company, contact):
    user = factories.admin(company)
    actor = Actor(user=user, company=company)
    first = services.opt_out(actor, contact, Channel.SMS, "Herald")
    assert first.is_new and first.user == user and first.source == OptOutSource.USER
    again = services.opt_out(Actor.system(company), contact, Channel.SMS, " Herald ", source=OptOutSource.API)
    assert not again.is_new and again.pk == first.pk and again.source == OptOutSource.USER and again.user == user
    services.opt_out(actor, contact, Channel.SMS)
    assert scopes(contact) == [(1, ""), (1, "Herald")]
    assert services.opt_in(actor, contact, Channel.SMS, "Herald") == 1
    assert services.opt_in(actor, contact, Channel.SMS, "Herald") == 0
    assert scopes(contact) == [(1, "")]
    assert AuditEvent.objects.filter(action="Opted contact out").count() == 2
    assert AuditEvent.objects.filter(action="Opted contact back in").count() == 1


def test_optouts_of_lists_the_contact_records_with_their_origin(company, contact):
    other = make_contact(company, "+34612345679")
    w = word(company)
    services.opt_out(Actor.system(company), contact, Channel.VIBER)
    services.handle_inbound(company, contact, Channel.SMS, "", "stop")
    services.opt_out(Actor.system(company), other, Channel.SMS)
    rows = list(services.optouts_of(contact))
    assert [(r.channel, r.sender, r.source, r.word_id) for r in rows] == [
        (Channel.SMS, "", OptOutSource.WORD, w.pk), (Channel.VIBER, "", OptOutSource.USER, None)]


def test_opt_out_refuses_wrong_input_and_another_companys_word(company, contact):
    with pytest.raises(ValidationError):
        services.opt_out(Actor.system(company), contact, 0)
    with pytest.raises(ValidationError):
        services.opt_out(Actor.system(company), contact, Channel.SMS, source="nonsense")
    theirs = word(factories.company("Globex"))
    with pytest.raises(ValueError):
        services.opt_out(Actor.system(company), contact, Channel.SMS, source=OptOutSource.WORD, word=theirs)
    assert not OptOut.objects.exists()


# --- handle_inbound -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["STOP", "stop", "Stop", "  stop ", "\tSTOP\r\n", "sToP"])
def test_a_word_matches_trimmed_and_case_insensitively(company, contact, text):
    w = word(company, "Stop")
    result = services.handle_inbound(company, contact, Channel.SMS, "Herald", text)
    assert result.action == InboundAction.OPTED_OUT and result.opted_out
    assert result.word == w and result.changed and result.sender == ""
    record = OptOut.objects.get(contact=contact)
    assert (record.channel, record.sender, record.source, record.word, record.user) == (
        Channel.SMS, "", OptOutSource.WORD, w, None)
    assert "opted out of SMS" in result.describe()


@pytest.mark.parametrize("text", ["stop please", "please stop", "stopp", "sto p", "STOP!", "", "   "])
def test_only_the_whole_message_matches(company, contact, text):
    word(company, "stop")
    result = services.handle_inbound(company, contact, Channel.SMS, "Herald", text)
    assert result.action == InboundAction.NOTHING
    assert not OptOut.objects.exists()


def test_inner_white_space_is_read_as_one_space(company, contact):
    word(company, "stop all")
    assert services.handle_inbound(company, contact, Channel.SMS, "", "STOP \n ALL").opted_out


def test_non_ascii_words_match_whatever_the_case(company, contact):
    word(company, "Baja", channel=Channel.WHATSAPP)
    word(company, "ОТПИСКА", channel=Channel.WHATSAPP)
    assert services.handle_inbound(company, contact, Channel.WHATSAPP, "", "отписка").opted_out


def test_a_word_is_active_only_between_its_effective_dates_in_the_company_time_zone(company, contact):
    # 10:00 in Madrid on 1 March 2025 is 09:00 UTC (winter); 12:00 on 31 March is 10:00 UTC (summer).
    word(company, effective_from=datetime.datetime(2025, 3, 1, 10, 0), effective_till=madrid(2025, 3, 31, 12))
    before = datetime.datetime(2025, 3, 1, 8, 59, 59, tzinfo=UTC)  # 09:59:59 Madrid
    start = datetime.datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    assert services.handle_inbound(company, contact, Channel.SMS, "", "stop", at=before).action == "nothing"
    assert services.handle_inbound(company, contact, Channel.SMS, "", "stop", at=start).opted_out
    services.opt_in(Actor.system(company), contact, Channel.SMS)
    # naive ``at`` is company time: 09:30 Madrid is before 10:00
    assert services.handle_inbound(company, contact, Channel.SMS, "", "stop",
                                   at=datetime.datetime(2025, 3, 1, 9, 30)).action == "nothing"
    last = datetime.datetime(2025, 3, 31, 9, 59, 59, tzinfo=UTC)  # 11:59:59 Madrid (summer time)
    till = datetime.datetime(2025, 3, 31, 10, 0, tzinfo=UTC)  # 12:00 Madrid: the end is exclusive
    assert services.handle_inbound(company, contact, Channel.SMS, "", "stop", at=till).action == "nothing"
    assert services.handle_inbound(company, contact, Channel.SMS, "", "stop", at=last).opted_out


def test_open_ended_words_and_the_default_time(company, contact):
    now = timezone.now()
    word(company, "STOP", effective_from=now - datetime.timedelta(minutes=1))
    word(company, "END", effective_till=now + datetime.timedelta(hours=1))
    word(company, "QUIT", effective_till=now - datetime.timedelta(seconds=1))
    word(company, "LATER", effective_from=now + datetime.timedelta(hours=1))
    assert services.handle_inbound(company, contact, Channel.SMS, "", "stop").opted_out
    assert services.handle_inbound(company, contact, Channel.SMS, "", "end").opted_out  # already: kept
    assert services.handle_inbound(company, contact, Channel.SMS, "", "quit").opted_in
    assert services.handle_inbound(company, contact, Channel.SMS, "", "later").action == "nothing"


def test_a_sender_word_opts_out_of_that_sender_only(company, contact):
    w = word(company, "STOP", sender="Herald")
    assert services.handle_inbound(company, contact, Channel.SMS, "Other", "STOP").action == "nothing"
    result = services.handle_inbound(company, contact, Channel.SMS, "Herald", "STOP")
    assert result.opted_out and result.word == w and result.sender == "Herald"
    assert scopes(contact) == [(Channel.SMS, "Herald")]
    assert not services.may_receive(contact, Channel.SMS, "Herald")
    assert services.may_receive(contact, Channel.SMS, "Other")


def test_a_whole_channel_word_opts_out_of_the_whole_channel_from_any_sender(company, contact):
    word(company, "STOP")
    assert services.handle_inbound(company, contact, Channel.SMS, "Herald", "STOP").sender == ""
    assert scopes(contact) == [(Channel.SMS, "")]
    assert not services.may_receive(contact, Channel.SMS, "Other")
    assert services.may_receive(contact, Channel.VIBER, "Herald")


def test_when_both_match_the_whole_channel_word_wins(company, contact):
    word(company, "STOP", sender="Herald")
    whole = word(company, "stop")
    result = services.handle_inbound(company, contact, Channel.SMS, "Herald", "Stop")
    assert result.word == whole and scopes(contact) == [(Channel.SMS, "")]


def test_a_word_of_another_channel_does_not_match(company, contact):
    word(company, "STOP", channel=Channel.VIBER)
    assert services.handle_inbound(company, contact, Channel.SMS, "", "STOP").action == "nothing"
    assert not OptOut.objects.exists()


def test_another_companys_words_never_apply(company, contact):
    word(factories.company("Globex"), "STOP")
    assert services.handle_inbound(company, contact, Channel.SMS, "", "STOP").action == "nothing"
    assert not OptOut.objects.exists()


def test_the_contact_must_belong_to_the_company(company, contact):
    other = factories.company("Globex")
    with pytest.raises(ValueError):
        services.handle_inbound(other, contact, Channel.SMS, "", "STOP")


def test_a_second_stop_is_idempotent(company, contact):
    word(company, "STOP")
    first = services.handle_inbound(company, contact, Channel.SMS, "", "STOP")
    second = services.handle_inbound(company, contact, Channel.SMS, "", "stop")
    assert first.opted_out and first.changed
    assert second.opted_out and not second.changed and second.optout.pk == first.optout.pk
    assert "already opted out" in second.describe()
    assert OptOut.objects.filter(contact=contact).count() == 1
    assert AuditEvent.objects.filter(action="Opted contact out").count() == 1


def test_any_other_message_opts_back_in_for_that_channel_and_sender(company, contact):
    actor = Actor.system(company)
    services.opt_out(actor, contact, Channel.SMS, "Herald")
    services.opt_out(actor, contact, Channel.SMS)
    services.opt_out(actor, contact, Channel.SMS, "Shop")
    services.opt_out(actor, contact, Channel.VIBER, "Herald")
    result = services.handle_inbound(company, contact, Channel.SMS, "Herald", "Hello, what is my order status?")
    assert result.action == InboundAction.OPTED_IN and result.opted_in and result.changed
    assert sorted((r.channel, r.sender) for r in result.lifted) == [(Channel.SMS, ""), (Channel.SMS, "Herald")]
    # the block of another sender on the channel and of another channel stay
    assert scopes(contact) == [(Channel.SMS, "Shop"), (Channel.VIBER, "Herald")]
    assert services.may_receive(contact, Channel.SMS, "Herald")
    assert "Opted back in to SMS" in result.describe()
    event = AuditEvent.objects.get(action="Opted contact back in by an inbound message")
    assert event.detail_count == 2 and event.user is None


def test_a_word_opt_out_is_lifted_by_the_next_message_on_any_channel_type(company, contact):
    for channel in (Channel.WHATSAPP, Channel.EMAIL, Channel.TELEGRAM):
        word(company, "STOP", channel=channel)
        services.handle_inbound(company, contact, channel, "", "STOP")
        assert not services.may_receive(contact, channel, "Any")
        assert services.handle_inbound(company, contact, channel, "Any", "stop please").opted_in
        assert services.may_receive(contact, channel, "Any")


def test_a_message_without_a_sender_lifts_only_the_whole_channel_block(company, contact):
    services.opt_out(Actor.system(company), contact, Channel.SMS, "Herald")
    services.opt_out(Actor.system(company), contact, Channel.SMS)
    assert services.handle_inbound(company, contact, Channel.SMS, "", "hi").opted_in
    assert scopes(contact) == [(Channel.SMS, "Herald")]


def test_a_message_from_a_contact_who_is_not_opted_out_does_nothing(company, contact):
    with CaptureQueriesContext(connection) as queries:
        result = services.handle_inbound(company, contact, Channel.SMS, "Herald", "hello")
    assert result.action == InboundAction.NOTHING and not result.changed and result.describe() == ""
    assert len(queries) <= 4  # the words, the opt-outs (plus savepoints)
    assert not AuditEvent.objects.filter(action__icontains="opted").exists()


def test_normalize_mo_text():
    assert normalize_mo_text("  Stop\n\tALL  ") == "stop all"
    assert normalize_mo_text(None) == ""
    assert normalize_mo_text("STRASSE") == normalize_mo_text("straße")


# --- the send check -----------------------------------------------------------------------------


def test_may_receive(company, contact, django_assert_num_queries):
    actor = Actor.system(company)
    assert services.may_receive(contact, Channel.SMS, "Herald")
    services.opt_out(actor, contact, Channel.SMS, "Herald")
    with django_assert_num_queries(1):
        assert not services.may_receive(contact, Channel.SMS, "Herald")
    assert services.may_receive(contact, Channel.SMS, "Other")
    assert services.may_receive(contact, Channel.SMS, "")
    services.opt_out(actor, contact, Channel.SMS)
    assert not services.may_receive(contact, Channel.SMS, "Other")
    assert not services.may_receive(contact, Channel.SMS, "")
    assert services.may_receive(contact, Channel.RCS, "Herald")


@pytest.fixture
def base(company):
    """Twelve contacts: 0–3 opted out of SMS/Herald, 4–5 of the whole SMS channel,
    6 of SMS/Shop, 7 of Viber; 8–11 not opted out."""
    actor = Actor.system(company)
    contacts = [make_contact(company, f"+3461234{i:04d}") for i in range(12)]
    for c in contacts[:4]:
        services.opt_out(actor, c, Channel.SMS, "Herald")
    for c in contacts[4:6]:
        services.opt_out(actor, c, Channel.SMS)
    services.opt_out(actor, contacts[6], Channel.SMS, "Shop")
    services.opt_out(actor, contacts[7], Channel.VIBER)
    return contacts


def test_opted_out_contact_ids_from_a_list_of_ids(company, base, django_assert_num_queries):
    ids = [c.pk for c in base]
    with django_assert_num_queries(1):
        found = services.opted_out_contact_ids(company, Channel.SMS, "Herald", ids)
    assert found == set(ids[:6])
    with django_assert_num_queries(1):
        assert services.opted_out_contact_ids(company, Channel.SMS, "Herald", ids[:2] + ids[8:]) == set(ids[:2])
    assert services.opted_out_contact_ids(company, Channel.SMS, "", ids) == set(ids[4:6])
    assert services.opted_out_contact_ids(company, Channel.VIBER, "Herald", ids) == {ids[7]}
    assert services.opted_out_contact_ids(company, Channel.SMS, "Herald", []) == set()


def test_opted_out_contact_ids_from_a_queryset_is_one_query_whatever_the_size(company, base,
                                                                               django_assert_num_queries):
    ids = [c.pk for c in base]
    all_contacts = contacts_for(company)
    with django_assert_num_queries(1):
        assert set(services.opted_out_contact_ids(company, Channel.SMS, "Herald", all_contacts)) == set(ids[:6])
    with django_assert_num_queries(1):
        assert set(services.opted_out_contact_ids(company, Channel.SMS, "Herald",
                                                  all_contacts.filter(pk__in=ids[3:5]))) == {ids[3], ids[4]}
    with django_assert_num_queries(1):  # ids as a values queryset, and as a subquery of the send query
        opted = services.opted_out_contact_ids(company, Channel.SMS, "Herald", all_contacts.values_list("pk"))
        assert set(all_contacts.exclude(pk__in=opted).values_list("pk", flat=True)) == set(ids[6:])


def test_exclude_opted_out_is_one_query(company, base, django_assert_num_queries):
    ids = [c.pk for c in base]
    with django_assert_num_queries(1):
        left = set(services.exclude_opted_out(contacts_for(company), Channel.SMS, "Herald")
                   .values_list("pk", flat=True))
    assert left == set(ids[6:])


def test_the_set_wise_check_never_reads_another_companys_opt_outs(company, base):
    other = factories.company("Globex")
    theirs = make_contact(other, "+34699999999")
    services.opt_out(Actor.system(other), theirs, Channel.SMS)
    ids = [c.pk for c in base] + [theirs.pk]
    assert theirs.pk not in services.opted_out_contact_ids(company, Channel.SMS, "Herald", ids)
    assert services.opted_out_contact_ids(other, Channel.SMS, "Herald", ids) == {theirs.pk}


def test_the_set_wise_check_agrees_with_may_receive(company, base):
    ids = [c.pk for c in base]
    for channel, sender in [(Channel.SMS, "Herald"), (Channel.SMS, "Shop"), (Channel.SMS, ""),
                            (Channel.VIBER, "x"), (Channel.RCS, "Herald")]:
        expected = {c.pk for c in base if not services.may_receive(c, channel, sender)}
        assert services.opted_out_contact_ids(company, channel, sender, ids) == expected
