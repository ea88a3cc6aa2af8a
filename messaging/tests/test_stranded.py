"""Messages queued on a gateway that is then deactivated (or deleted) are routed again or,
with no other route, end skipped so that the fallback chain moves on."""

from messaging.models import Gateway, Message, MessageStatus, PlanState, Source
from messaging.services import StepSpec, dispatch, send_plan
from portal.channel_types import Channel


def _queued_plan(company, monkeypatch):
    monkeypatch.setattr(dispatch, "kick", lambda pairs: None)  # leave it queued
    return send_plan(company=company, to="+34612345678", source=Source.API, steps=[
        StepSpec(channel=Channel.SMS, content={"text": "Step one"}),
        StepSpec(channel=Channel.RCS, content={"text": "Step two"})])


def test_a_message_stranded_on_a_deactivated_gateway_is_routed_again(company, monkeypatch, run_commits):
    first = Gateway.objects.create(name="First", channel=Channel.SMS, provider="simulator", tps=1000)
    plan = _queued_plan(company, monkeypatch)
    message = plan.messages.get()
    assert message.gateway == first and message.status == MessageStatus.QUEUED
    first.is_active = False
    first.save()
    second = Gateway.objects.create(name="Second", channel=Channel.SMS, provider="simulator", tps=1000)
    monkeypatch.undo()
    with run_commits():
        assert dispatch.reroute_stranded() == {"rerouted": 1, "skipped": 0}
    message.refresh_from_db()
    assert message.gateway == second
    assert message.status == MessageStatus.DELIVERED  # the kick after commit sent it


def test_without_another_route_it_is_skipped_and_the_plan_falls_back(company, monkeypatch, run_commits):
    sms = Gateway.objects.create(name="SMS", channel=Channel.SMS, provider="simulator", tps=1000)
    Gateway.objects.create(name="RCS", channel=Channel.RCS, provider="simulator", tps=1000)
    plan = _queued_plan(company, monkeypatch)
    sms.delete()  # the message's gateway becomes empty
    monkeypatch.undo()
    with run_commits():
        assert dispatch.reroute_stranded() == {"rerouted": 0, "skipped": 1}
    step_one, step_two = plan.messages.order_by("step")
    assert (step_one.status, step_one.error_code) == (MessageStatus.SKIPPED, "no_route")
    assert step_two.channel == Channel.RCS and step_two.status == MessageStatus.DELIVERED
    plan.refresh_from_db()
    assert plan.state == PlanState.SUCCESSFUL


def test_messages_on_active_gateways_are_left_alone(company, monkeypatch):
    Gateway.objects.create(name="SMS", channel=Channel.SMS, provider="simulator", tps=1000)
    plan = _queued_plan(company, monkeypatch)
    assert dispatch.reroute_stranded() == {"rerouted": 0, "skipped": 0}
    assert Message.objects.get(plan=plan).status == MessageStatus.QUEUED
