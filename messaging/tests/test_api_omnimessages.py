"""POST /api/v1/omnimessages (spec §21.2): a fallback chain of 1–10 steps with waitFor and
timeout; the 202 body; per-step validation errors named messages[i].field (from 0);
skipped steps fall through at once; Idempotency-Key (scope omni-api)."""

import pytest

from assets.tests.factories import content_template
from contacts import services as contact_services
from contacts.models import Contact
from messaging.api import examples as ex
from messaging.api.testing import active_sender, omni_client
from messaging.models import DeliveryPlan, Message, PlanState, Source
from portal.api.testing import assert_api_error
from portal.audit import Actor
from portal.channel_types import Channel

URL = "/api/v1/omnimessages"
NUMBER = "+34612345678"
SMS = {"channel": 1, "payload": {"text": "Hi {{attribute.name}}"}}
RCS = {"channel": 2, "payload": {"text": "Hi from RCS"}}
VIBER = {"channel": 3, "payload": {"text": "Hi from Viber"}}


@pytest.fixture
def keyed(company):
    return omni_client(company)


@pytest.fixture
def client(keyed):
    return keyed[1]


def chain(client, *steps, **body):
    body.setdefault("contact", NUMBER)
    return client.post(URL, {**body, "messages": list(steps)}, format="json")


def nothing_written(company):
    return not Message.objects.for_company(company).exists() and not DeliveryPlan.objects.for_company(company).exists()


@pytest.mark.django_db
class TestChain:
    def test_step_one_queued_and_the_plan_answered(self, client, company, keyed, sim_gateway):
        response = chain(client, SMS, VIBER, webhook="https://crm.example.com/hook")
        assert response.status_code == 202, response.content
        body = response.json()
        assert set(body) == set(ex.OMNI_ACCEPTED)
        assert body["state"] == "active" and body["contact"] == NUMBER and body["contactId"] is None
        [first] = body["messages"]
        assert set(first) == set(ex.OMNI_ACCEPTED["messages"][0])
        assert (first["step"], first["channel"], first["status"], first["error"]) == (1, 1, "queued", None)
        assert response["Location"] == f"http://testserver/api/v1/plans/{body['planId']}"
        plan = DeliveryPlan.objects.get(pk=body["planId"])
        assert (plan.company, plan.source, plan.source_id, plan.api_access) == (company, Source.API, keyed[0].pk,
                                                                                keyed[0])
        assert plan.webhook_url == "https://crm.example.com/hook"
        assert [s["channel"] for s in plan.steps] == [1, 3]
        assert Message.objects.get(pk=first["id"]).plan == plan

    def test_successful_first_step_sends_nothing_more(self, client, company, sim_gateway, run_commits):
        with run_commits():
            body = chain(client, SMS, VIBER).json()
        plan = client.get(f"/api/v1/plans/{body['planId']}").json()
        assert plan["state"] == "successful" and plan["currentStep"] == 1
        assert [(m["step"], m["status"]) for m in plan["messages"]] == [(1, "delivered")]

    def test_skipped_steps_fall_through_at_once(self, client, company, sim_gateway, run_commits):
        ann = contact_services.create_contact(actor=Actor.system(company), company=company, phone=NUMBER,
                                              attributes={"name": "Ann"})
        with run_commits():
            response = chain(client, RCS, {"channel": 5, "payload": {"text": "WeChat"}}, SMS)
        body = response.json()
        assert body["contactId"] == ann.pk
        assert [(m["step"], m["channel"], m["status"]) for m in body["messages"]] == [
            (1, 2, "skipped"), (2, 5, "skipped"), (3, 1, "queued")]
        assert body["messages"][0]["error"]["code"] == "no_route"
        assert body["messages"][1]["error"]["code"] == "no_address"
        plan = client.get(f"/api/v1/plans/{body['planId']}").json()
        assert plan["state"] == "successful" and plan["currentStep"] == 3
        assert plan["messages"][2]["content"]["text"] == "Hi Ann" and plan["messages"][2]["status"] == "delivered"

    def test_every_step_skipped_is_unsuccessful(self, client, company):
        body = chain(client, RCS, VIBER).json()
        assert body["state"] == "unsuccessful"
        assert [m["status"] for m in body["messages"]] == ["skipped", "skipped"]
        assert DeliveryPlan.objects.get(pk=body["planId"]).state == PlanState.UNSUCCESSFUL

    def test_wait_for_and_timeout_per_step_with_defaults(self, client, company, sim_gateway):
        template = content_template(company, channel=Channel.RCS, content={"text": "Hi {{attribute.name}}"})
        body = chain(client,
                     {"channel": 2, "template": {"id": template.pk, "params": {"attribute.name": "Ann"}},
                      "waitFor": "display", "timeout": 300},
                     {"channel": 8, "payload": {"text": "Push", "title": "T"}},
                     {**SMS, "waitFor": "submit", "timeout": 604800},
                     VIBER).json()
        steps = DeliveryPlan.objects.get(pk=body["planId"]).steps
        assert [(s["wait_for"], s["timeout"]) for s in steps] == [
            ("display", 300), ("submit", 600), ("submit", 604800), ("delivery", 600)]
        assert steps[0]["template_id"] == template.pk and steps[0]["params"] == {"attribute.name": "Ann"}
        read = client.get(f"/api/v1/plans/{body['planId']}").json()["steps"]
        assert read[0]["template"] == {"id": template.pk, "params": {"attribute.name": "Ann"}}
        assert read[1]["waitFor"] == "submit" and read[2]["payload"] == SMS["payload"]

    def test_ten_steps_are_fine(self, client, company):
        response = chain(client, *[VIBER] * 10)
        assert response.status_code == 202, response.content
        assert len(response.json()["messages"]) == 10

    def test_email_recipient_for_an_email_only_chain(self, client, company):
        step = {"channel": 6, "payload": {"subject": "Hi", "text": "Hello"}}
        body = chain(client, step, step, contact="ana@example.com").json()
        assert body["contact"] == "ana@example.com"
        assert body["messages"][0]["contact"] == "ana@example.com"

    def test_create_recipient(self, client, company, sim_gateway):
        body = chain(client, SMS, createRecipient=True).json()
        assert body["contactId"] == Contact.objects.for_company(company).get(phone=NUMBER).pk


@pytest.mark.django_db
class TestValidation:
    @pytest.mark.parametrize("messages", [[], [VIBER] * 11])
    def test_one_to_ten_steps(self, client, company, messages):
        body = assert_api_error(chain(client, *messages), 422)
        assert body["errors"] == {"messages": ["Give 1 to 10 messages."]}
        assert nothing_written(company)

    def test_messages_is_required_and_a_list(self, client, company):
        body = assert_api_error(client.post(URL, {"contact": NUMBER}, format="json"), 422)
        assert body["errors"] == {"messages": ["This field is required."]}
        body = assert_api_error(client.post(URL, {"contact": NUMBER, "messages": SMS}, format="json"), 422)
        assert list(body["errors"]) == ["messages"]

    def test_step_errors_are_named_by_position_from_zero(self, client, company, other_company):
        theirs = content_template(other_company, channel=Channel.SMS)
        body = assert_api_error(chain(
            client,
            SMS,
            {"channel": 12, "payload": {"text": "x"}},
            {"channel": 1},
            {"channel": 1, "template": {"id": theirs.pk}, "waitFor": "forever", "timeout": 9, "delay": 3},
        ), 422)
        assert body["errors"]["messages[1].channel"][0].startswith("Unknown channel")
        assert body["errors"]["messages[2].payload"] == [
            "Give either a payload or a template, not both and not neither."]
        assert body["errors"]["messages[3].waitFor"] == ['"forever" is not a valid choice.']
        assert body["errors"]["messages[3].timeout"] == ["Ensure this value is greater than or equal to 10."]
        assert body["errors"]["messages[3].delay"] == ["Unknown field."]
        assert "messages[0].channel" not in body["errors"]
        assert nothing_written(company)

    def test_service_errors_use_the_same_names(self, client, company, other_company):
        theirs = content_template(other_company, channel=Channel.SMS)
        active_sender(other_company, 3, "GLOBEX")
        body = assert_api_error(chain(client, SMS, {**VIBER, "senderId": "GLOBEX"},
                                      {"channel": 1, "template": {"id": theirs.pk}}), 422)
        assert set(body["errors"]) == {"messages[1].senderId", "messages[2].template.id"}
        assert body["errors"]["messages[2].template.id"] == [
            f"There is no content template {theirs.pk} in your company."]
        assert nothing_written(company)

    @pytest.mark.parametrize("wait_for", ["delivery", "display"])
    def test_push_only_waits_for_submit(self, client, company, wait_for):
        body = assert_api_error(chain(client, SMS, {"channel": 8, "payload": {"text": "x"}, "waitFor": wait_for}),
                                422)
        assert body["errors"] == {"messages[1].waitFor": ["Push has no delivery reports: wait for submit."]}
        assert nothing_written(company)

    def test_timeout_upper_bound(self, client, company):
        body = assert_api_error(chain(client, {**SMS, "timeout": 604801}), 422)
        assert body["errors"] == {"messages[0].timeout": ["Ensure this value is less than or equal to 604800."]}

    def test_contact_and_webhook_errors(self, client, company):
        body = assert_api_error(chain(client, SMS, contact="12ab", webhook="ftp://x.example.com"), 422)
        assert "webhook" in body["errors"]
        body = assert_api_error(chain(client, SMS, contact="12ab"), 422)
        assert list(body["errors"]) == ["contact"]
        body = assert_api_error(chain(client, SMS, {"channel": 6, "payload": {"subject": "s", "text": "t"}},
                                      contact="ana@example.com"), 422)
        assert body["errors"] == {"contact": ["An e-mail address can only receive e-mail; give a phone number."]}
        assert nothing_written(company)

    def test_unknown_top_level_field(self, client):
        body = assert_api_error(chain(client, SMS, channel=1), 422)
        assert body["errors"] == {"channel": ["Unknown field."]}


@pytest.mark.django_db
class TestIdempotencyAndAccess:
    def test_a_retried_chain_makes_one_plan(self, client, company, sim_gateway):
        first = client.post(URL, {"contact": NUMBER, "messages": [SMS, VIBER]}, format="json",
                            HTTP_IDEMPOTENCY_KEY="chain-1")
        again = client.post(URL, {"contact": NUMBER, "messages": [SMS, VIBER]}, format="json",
                            HTTP_IDEMPOTENCY_KEY="chain-1")
        assert first.status_code == again.status_code == 202
        assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
        assert DeliveryPlan.objects.for_company(company).count() == 1
        swapped = client.post(URL, {"contact": NUMBER, "messages": [VIBER, SMS]}, format="json",
                              HTTP_IDEMPOTENCY_KEY="chain-1")
        assert_api_error(swapped, 422)  # the order of the steps is part of the request
        assert DeliveryPlan.objects.for_company(company).count() == 1

    def test_a_key_without_the_scope_is_403(self, company):
        _access, crm = omni_client(company, scopes=("recipients",))
        assert_api_error(chain(crm, SMS), 403)
        assert nothing_written(company)

    def test_plans_of_another_company_stay_hidden(self, client, company, other_company, sim_gateway):
        _a, theirs = omni_client(other_company, name="Globex key")
        their_plan = chain(theirs, SMS).json()["planId"]
        assert_api_error(client.get(f"/api/v1/plans/{their_plan}"), 404)
        assert client.get("/api/v1/messages").json()["results"] == []
        assert DeliveryPlan.objects.get(pk=their_plan).company == other_company
