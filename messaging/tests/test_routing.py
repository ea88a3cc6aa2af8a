"""Routing (seed note 002, docs/messaging.md §2.6): which gateway carries a message."""

import pytest

from messaging.models import MessageStatus, PlanState, RouteField, Source
from messaging.services import StepSpec, send
from messaging.services.routing import Router, route
from messaging.tests import factories as f
from portal.channel_types import Channel

pytestmark = pytest.mark.django_db


def test_a_company_specific_gateway_beats_a_generic_one_with_a_lower_id(company):
    generic = f.gateway()
    specific = f.gateway(company=company)
    assert generic.pk < specific.pk
    assert route(company.pk, Channel.SMS) == specific


def test_among_equal_gateways_the_lowest_id_wins(company):
    first, second = f.gateway(), f.gateway()
    assert route(company.pk, Channel.SMS) == first
    own1, own2 = f.gateway(company=company), f.gateway(company=company)
    assert route(company.pk, Channel.SMS) == own1
    assert {second.pk, own2.pk}.isdisjoint({route(company.pk, Channel.SMS).pk})


def test_only_gateways_of_the_messages_channel_are_candidates(company):
    sms = f.gateway(channel=Channel.SMS)
    viber = f.gateway(channel=Channel.VIBER)
    assert route(company.pk, Channel.VIBER) == viber
    assert route(company.pk, Channel.SMS) == sms
    assert route(company.pk, Channel.EMAIL) is None


def test_country_filter(company):
    spain = f.gateway(filter1_field=RouteField.COUNTRY, filter1_values=["ES", "PT"])
    rest = f.gateway()
    assert route(company.pk, Channel.SMS, country="ES") == spain
    assert route(company.pk, Channel.SMS, country="pt") == spain  # case does not matter
    assert route(company.pk, Channel.SMS, country="DE") == rest
    assert route(company.pk, Channel.SMS, country="") == rest


def test_mno_and_sender_filters_must_both_match(company):
    both = f.gateway(filter1_field=RouteField.MNO, filter1_values=["Movistar"],
                     filter2_field=RouteField.SENDER, filter2_values=["BANK"])
    mno_only = f.gateway(filter1_field=RouteField.MNO, filter1_values=["Movistar"])
    assert route(company.pk, Channel.SMS, mno="Movistar", sender="BANK") == both
    assert route(company.pk, Channel.SMS, mno="Movistar", sender="SHOP") == mno_only
    assert route(company.pk, Channel.SMS, mno="Vodafone", sender="BANK") is None


def test_a_filter_with_no_values_matches_everything(company):
    open_gateway = f.gateway(filter1_field=RouteField.COUNTRY, filter1_values=[])
    assert route(company.pk, Channel.SMS, country="FR") == open_gateway


def test_a_specific_gateway_whose_filter_does_not_match_leaves_the_generic_one(company):
    f.gateway(company=company, filter1_field=RouteField.COUNTRY, filter1_values=["FR"])
    generic = f.gateway()
    assert route(company.pk, Channel.SMS, country="ES") == generic


def test_inactive_gateways_are_ignored(company):
    f.gateway(company=company, is_active=False)
    active = f.gateway()
    assert route(company.pk, Channel.SMS) == active
    active.is_active = False
    active.save()
    assert route(company.pk, Channel.SMS) is None


def test_another_companys_gateway_is_never_used(company, other_company):
    f.gateway(company=other_company)
    assert route(company.pk, Channel.SMS) is None
    generic = f.gateway()
    assert route(company.pk, Channel.SMS) == generic


def test_one_router_reads_the_gateways_once(company, django_assert_num_queries):
    f.gateway(filter1_field=RouteField.COUNTRY, filter1_values=["ES"])
    f.gateway()
    with django_assert_num_queries(1):
        router = Router(company.pk)
        for country in ["ES", "DE", "ES", "FR"] * 50:
            router.route(Channel.SMS, country=country)


def test_a_message_with_no_route_is_skipped_with_the_reason_no_route(company, other_company, run_commits):
    f.gateway(company=other_company)  # exists, but not for this company
    with run_commits():
        plan = send(company=company, to="+34612345678", source=Source.API,
                    step=StepSpec(channel=Channel.SMS, content={"text": "Hi"}))
    message = plan.messages.get()
    assert message.status == MessageStatus.SKIPPED
    assert message.error_code == "no_route"
    assert message.gateway is None
    assert message.events.get().status == MessageStatus.SKIPPED
    plan.refresh_from_db()
    assert plan.state == PlanState.UNSUCCESSFUL


def test_a_sent_message_is_routed_by_the_contacts_country_and_operator(company, run_commits):
    f.gateway(filter1_field=RouteField.COUNTRY, filter1_values=["DE"])
    spain_vodafone = f.gateway(filter1_field=RouteField.COUNTRY, filter1_values=["ES"],
                               filter2_field=RouteField.MNO, filter2_values=["Vodafone"])
    spain = f.gateway(filter1_field=RouteField.COUNTRY, filter1_values=["ES"])
    with run_commits():
        vodafone = send(company=company, to="+34600000001", source=Source.API,
                        step=StepSpec(channel=Channel.SMS, content={"text": "Hi"})).messages.get()
        movistar = send(company=company, to="+34699999999", source=Source.API,
                        step=StepSpec(channel=Channel.SMS, content={"text": "Hi"})).messages.get()
    vodafone.refresh_from_db()
    movistar.refresh_from_db()
    assert vodafone.gateway == spain_vodafone
    assert movistar.gateway == spain
    assert vodafone.status == movistar.status == MessageStatus.DELIVERED
