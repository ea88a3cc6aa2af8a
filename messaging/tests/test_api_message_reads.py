"""GET /api/v1/messages (the EDR: filters, cursor pagination, query counts), GET
/api/v1/messages/{id} (attempts and status history), GET /api/v1/plans/{id}; tenant
isolation and the omni-api scope on every read."""

import time
import uuid
from datetime import UTC, datetime

import pytest

from contacts import services as contact_services
from messaging.api import examples as ex
from messaging.api.testing import add_history, count_queries, make_message, omni_client
from messaging.models import DeliveryPlan, Direction, MessageStatus, PlanState, Source
from portal.api.testing import assert_api_error
from portal.audit import Actor

URL = "/api/v1/messages"


@pytest.fixture
def keyed(company):
    return omni_client(company)


@pytest.fixture
def client(keyed):
    return keyed[1]


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [row["id"] for row in response.json()["results"]]


def plan_with_messages(company, *, steps=2, **fields):
    plan = DeliveryPlan.objects.create(
        company=company, source=Source.API, source_id=7, address="+34612345678", state=PlanState.SUCCESSFUL,
        current_step=steps - 1, late_reports=1, webhook_url="https://crm.example.com/hook",
        steps=[{"channel": 2, "sender": "acme_bot", "content": None, "template_id": 17,
                "params": {"attribute.name": "Ann"}, "wait_for": "display", "timeout": 300},
               {"channel": 1, "sender": "ACME", "content": {"text": "Hi"}, "template_id": None, "params": {},
                "wait_for": "delivery", "timeout": 600}][:steps], **fields)
    messages = [make_message(company, plan=plan, step=i, channel=plan.steps[i]["channel"],
                             address=plan.address, status=MessageStatus.UNDELIVERED if i == 0 else "delivered")
                for i in range(steps)]
    return plan, messages


@pytest.mark.django_db
class TestList:
    def test_newest_first_with_every_field(self, client, company):
        older = make_message(company)
        newer = make_message(company, status=MessageStatus.SKIPPED, error_code="opted_out",
                             error_text="The contact opted out of this channel or sender.")
        response = client.get(URL)
        assert ids(response) == [str(newer.pk), str(older.pk)]
        first = response.json()["results"][0]
        assert set(first) == set(ex.MESSAGE)
        assert first["error"] == {"code": "opted_out", "text": "The contact opted out of this channel or sender."}
        assert first["step"] is None and first["planId"] is None

    def test_other_company_messages_are_never_listed(self, client, company, other_company):
        mine = make_message(company)
        their_plan, theirs = plan_with_messages(other_company)
        assert ids(client.get(URL)) == [str(mine.pk)]
        assert ids(client.get(URL, {"planId": their_plan.pk})) == []
        assert ids(client.get(URL, {"contact": theirs[0].address})) == []

    def test_a_delivery_report_code_is_not_an_error(self, client, company):
        make_message(company, status="delivered", error_code="000", provider_status="DELIVRD")
        row = client.get(URL).json()["results"][0]
        assert row["error"] is None and row["providerStatus"] == "DELIVRD"

    def test_filters(self, client, company):
        sms = make_message(company, channel=1, status="delivered")
        viber = make_message(company, channel=3, status="undelivered", source=Source.BROADCAST, source_id=4)
        mo = make_message(company, channel=1, status="delivered", direction=Direction.MO, source=Source.INBOUND)
        email = make_message(company, channel=6, address="ana@example.com", status="skipped")
        assert set(ids(client.get(URL, {"channel": 3}))) == {str(viber.pk)}
        assert set(ids(client.get(f"{URL}?channel=3&channel=6"))) == {str(viber.pk), str(email.pk)}
        assert set(ids(client.get(URL, {"status": "delivered"}))) == {str(sms.pk), str(mo.pk)}
        assert set(ids(client.get(f"{URL}?status=skipped&status=undelivered"))) == {str(viber.pk), str(email.pk)}
        assert set(ids(client.get(URL, {"direction": "mo"}))) == {str(mo.pk)}
        assert set(ids(client.get(URL, {"source": "broadcast"}))) == {str(viber.pk)}
        assert set(ids(client.get(URL, {"contact": "ANA@example.com"}))) == {str(email.pk)}
        assert set(ids(client.get(URL, {"channel": 1, "direction": "mt"}))) == {str(sms.pk)}

    def test_contact_filter_normalises_the_number(self, client, company):
        message = make_message(company, address="+34612000111")
        make_message(company, address="+34612000112")
        assert ids(client.get(URL, {"contact": "0034 612 000 111"})) == [str(message.pk)]
        assert ids(client.get(URL, {"contact": "+34612000111"})) == [str(message.pk)]
        token = make_message(company, channel=10, address="fcm:abc123")
        assert ids(client.get(URL, {"contact": "fcm:abc123"})) == [str(token.pk)]

    def test_plan_filter(self, client, company):
        plan, messages = plan_with_messages(company)
        make_message(company)
        assert ids(client.get(URL, {"planId": plan.pk})) == [str(m.pk) for m in reversed(messages)]

    def test_since_and_until_select_by_creation_time(self, client, company):
        def ms(text):
            return int(datetime.fromisoformat(text).timestamp() * 1000)

        jan = make_message(company, at_ms=ms("2025-01-15T10:00:00+00:00"))
        feb = make_message(company, at_ms=ms("2025-02-01T00:00:00+00:00"))
        mar = make_message(company, at_ms=ms("2025-03-02T17:04:11+00:00"))
        assert ids(client.get(URL, {"since": "2025-02-01T00:00:00Z"})) == [str(mar.pk), str(feb.pk)]
        assert ids(client.get(URL, {"until": "2025-02-01T00:00:00Z"})) == [str(jan.pk)]
        assert ids(client.get(URL, {"since": "2025-01-01T00:00:00Z", "until": "2025-03-01T00:00:00+01:00"})) == [
            str(feb.pk), str(jan.pk)]
        now = make_message(company)
        assert ids(client.get(URL, {"since": datetime.fromtimestamp(time.time() - 60, UTC).isoformat()})) == [
            str(now.pk)]

    @pytest.mark.parametrize("params, field", [
        ({"status": "lost"}, "status"), ({"channel": 11}, "channel"), ({"channel": "sms"}, "channel"),
        ({"direction": "up"}, "direction"), ({"since": "yesterday"}, "since"), ({"until": "2025-13-01"}, "until"),
        ({"planId": "x"}, "planId"), ({"source": "fax"}, "source"),
    ])
    def test_bad_filter_values_are_422_naming_the_parameter(self, client, company, params, field):
        body = assert_api_error(client.get(URL, params), 422)
        assert field in body["errors"]

    def test_cursor_pagination_walks_every_message_once(self, client, company):
        made = [make_message(company) for _ in range(7)]
        seen, url = [], f"{URL}?page_size=3"
        pages = 0
        while url:
            body = client.get(url).json()
            seen += [row["id"] for row in body["results"]]
            url, pages = body["next"], pages + 1
        assert pages == 3
        assert seen == [str(m.pk) for m in reversed(made)]

    def test_query_count_does_not_grow_with_the_page(self, client, company):
        for _ in range(5):
            make_message(company, contact=None)
        few, body = count_queries(client, URL)
        assert len(body["results"]) == 5
        for _ in range(45):
            make_message(company)
        many, body = count_queries(client, URL)
        assert len(body["results"]) == 50
        assert few == many
        filtered, _body = count_queries(client, URL, {"status": "delivered", "since": "2020-01-01T00:00:00Z"})
        assert filtered == few


@pytest.mark.django_db
class TestDetail:
    def test_message_with_attempts_and_status_history(self, client, company):
        message = make_message(company, provider_status="DELIVRD", provider_message_id="sim-1")
        add_history(message, attempts=2)
        response = client.get(f"{URL}/{message.pk}")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == set(ex.MESSAGE_DETAIL)
        assert [a["number"] for a in body["attempts"]] == [1, 2]
        first = body["attempts"][0]
        assert set(first) == set(ex.MESSAGE_DETAIL["attempts"][0])
        assert (first["ok"], first["error"], first["durationMs"]) == (False, "timeout", 12)
        assert body["attempts"][1]["error"] is None
        assert [e["status"] for e in body["events"]] == ["submitted", "delivered"]
        assert set(body["events"][0]) == {"status", "providerStatus", "errorCode", "at", "late"}
        assert body["events"][1]["providerStatus"] == "DELIVRD" and body["events"][0]["providerStatus"] is None

    def test_query_count_does_not_grow_with_the_history(self, client, company):
        short = make_message(company)
        add_history(short, attempts=1, events=("submitted",))
        long = make_message(company)
        add_history(long, attempts=5, events=("submitted", "delivered", "seen", "seen"))
        assert count_queries(client, f"{URL}/{short.pk}")[0] == count_queries(client, f"{URL}/{long.pk}")[0]

    def test_another_company_message_is_404(self, client, other_company):
        theirs = make_message(other_company)
        body = assert_api_error(client.get(f"{URL}/{theirs.pk}"), 404)
        assert body["message"] == "Not found."

    def test_unknown_and_malformed_ids_are_404(self, client):
        assert_api_error(client.get(f"{URL}/{uuid.uuid4()}"), 404)
        assert_api_error(client.get(f"{URL}/12"), 404)
        assert_api_error(client.get(f"{URL}/not-a-uuid"), 404)


@pytest.mark.django_db
class TestPlan:
    def test_plan_with_steps_state_and_messages(self, client, company):
        plan, messages = plan_with_messages(company)
        response = client.get(f"/api/v1/plans/{plan.pk}")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == set(ex.PLAN)
        assert (body["state"], body["currentStep"], body["lateReports"]) == ("successful", 2, 1)
        assert body["contact"] == "+34612345678" and body["contactId"] is None
        assert body["steps"] == [
            {"step": 1, "channel": 2, "senderId": "acme_bot", "template": {"id": 17, "params": {"attribute.name": "Ann"}},
             "payload": None, "waitFor": "display", "timeout": 300},
            {"step": 2, "channel": 1, "senderId": "ACME", "template": None, "payload": {"text": "Hi"},
             "waitFor": "delivery", "timeout": 600}]
        assert [m["id"] for m in body["messages"]] == [str(m.pk) for m in messages]
        assert [m["step"] for m in body["messages"]] == [1, 2]
        assert body["webhook"] == "https://crm.example.com/hook"

    def test_a_contact_plan_shows_the_contact(self, client, company):
        ann = contact_services.create_contact(actor=Actor.system(company), company=company, phone="+34612000222")
        plan, _messages = plan_with_messages(company, steps=1, contact=ann)
        plan.address = ""
        plan.save()
        body = client.get(f"/api/v1/plans/{plan.pk}").json()
        assert (body["contact"], body["contactId"]) == ("+34612000222", ann.pk)

    def test_query_count_does_not_grow_with_the_steps(self, client, company):
        one, _m = plan_with_messages(company, steps=1)
        two, _m = plan_with_messages(company, steps=2)
        assert count_queries(client, f"/api/v1/plans/{one.pk}")[0] == count_queries(client, f"/api/v1/plans/{two.pk}")[0]

    def test_another_company_plan_is_404(self, client, other_company):
        theirs, _messages = plan_with_messages(other_company)
        assert_api_error(client.get(f"/api/v1/plans/{theirs.pk}"), 404)
        assert_api_error(client.get("/api/v1/plans/999999"), 404)

    def test_there_is_no_plan_list_or_write(self, client, company):
        plan, _m = plan_with_messages(company)
        assert_api_error(client.get("/api/v1/plans"), 404)
        assert_api_error(client.delete(f"/api/v1/plans/{plan.pk}"), 405)


@pytest.mark.django_db
def test_every_read_needs_the_omni_api_scope(company):
    plan, messages = plan_with_messages(company)
    _access, crm = omni_client(company, scopes=("recipients", "crm", "broadcast", "dids"))
    for url in (URL, f"{URL}/{messages[0].pk}", f"/api/v1/plans/{plan.pk}"):
        body = assert_api_error(crm.get(url), 403)
        assert body["message"] == "This API key lacks the 'omni-api' scope."
    body = assert_api_error(crm.post("/api/v1/omnimessages", {}, format="json"), 403)
    assert "omni-api" in body["message"]
