from messaging.models import MessageStatus, PlanState, Source
from messaging.services import StepSpec, send


def test_an_sms_goes_from_queued_to_delivered_through_the_simulator(company, sim_gateway, run_commits):
    with run_commits():
        plan = send(company=company, to="+34612345678", source=Source.API,
                    step=StepSpec(channel=1, content={"text": "Hello {{name}}"}, params={"name": "Ann"}))
    message = plan.messages.get()
    assert message.status == MessageStatus.DELIVERED
    assert message.content["text"] == "Hello Ann"
    assert message.provider_status == "DELIVRD"
    assert message.attempts.get().ok is True
    assert list(message.events.values_list("status", flat=True)) == ["submitted", "delivered"]
    plan.refresh_from_db()
    assert plan.state == PlanState.SUCCESSFUL
