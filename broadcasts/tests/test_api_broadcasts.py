"""The Broadcasts API (scope ``broadcast``): create a draft or launch through the simulator,
validation errors with the API's field names, the list (filters, progress, query counts),
one broadcast with its statistics, the recipients, Idempotency-Key, the audit log."""

import datetime

import pytest
from django.utils import timezone

from broadcasts.api import examples as ex
from broadcasts.api.testing import broadcast_client, count_queries, sms_step
from broadcasts.models import Broadcast, BroadcastStatus, LaunchType
from broadcasts.services import runs
from broadcasts.tests import factories as bf
from contacts.models import Contact, OptOut, Tag
from messaging.models import DeliveryPlan, Message, MessageStatus, SenderId
from messaging.tests import factories as mf
from portal.api.testing import assert_api_error
from portal.models import AuditEvent

URL = "/api/v1/broadcasts"


@pytest.fixture
def keyed(company):
    return broadcast_client(company)


@pytest.fixture
def client(keyed):
    return keyed[1]


@pytest.fixture
def people(company):
    mf.gateway(company=None)  # the simulator: every SMS is delivered
    mf.sender_id(company, "HERALD")
    return mf.contacts(company, 4)


def body_for(people, **fields):
    return {"name": "Spring sale", "recipients": {"phones": [p.phone for p in people]},
            "steps": [sms_step()], **fields}


def nothing_written(company):
    return not Broadcast.objects.for_company(company).exists() and not DeliveryPlan.objects.for_company(company).exists()


@pytest.mark.django_db
class TestCreate:
    def test_draft_by_default(self, client, keyed, company, people):
        response = client.post(URL, {"name": "Black Friday", "description": "wave 1",
                                     "recipients": {"phones": ["612 000 111", "+34612000111"]},
                                     "steps": [{"channel": 1, "payload": {"text": "Hi"}}]}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == set(ex.BROADCAST_DETAIL)
        assert (body["status"], body["launch"], body["type"], body["actions"]) == ("draft", "api", "fallback",
                                                                                 ["launch"])
        assert body["recipients"] == {"targets": [], "tags": [], "phones": ["+34612000111"], "relaunchOf": None}
        assert body["steps"] == [{"step": 1, "channel": 1, "senderId": "", "template": None,
                                  "payload": {"text": "Hi"}, "waitFor": "delivery", "timeout": 600}]
        assert response["Location"] == f"http://testserver{URL}/{body['id']}"
        b = Broadcast.objects.get(pk=body["id"])
        assert (b.company, b.api_access, b.launch_type, b.status) == (company, keyed[0], LaunchType.API,
                                                                      BroadcastStatus.DRAFT)
        assert not DeliveryPlan.objects.for_company(company).exists()
        event = AuditEvent.objects.get(company=company, action="Created broadcast")
        assert event.api_access == keyed[0] and event.actor_label == "API: Campaign tool"

    def test_launch_sends_through_the_simulator(self, client, company, people, run_commits):
        with run_commits():
            response = client.post(URL, body_for(people, launch=True), format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["status"] == "in_progress" and body["launch"] == "api" and body["launchedAt"]
        assert set(body["actions"]) == {"pause", "stop"}
        assert Message.objects.filter(source_id=body["id"], status=MessageStatus.DELIVERED).count() == 4
        assert runs.refresh_progress() == 1
        got = client.get(f"{URL}/{body['id']}").json()
        assert got["status"] == "complete" and got["actions"] == ["relaunch-failed"]
        assert got["contacts"] == 4 and got["recipientsResolved"] is True
        stats = got["statistics"]
        assert (stats["total"], stats["initiated"], stats["successful"], stats["successfulPct"]) == (4, 4, 4, 100.0)
        assert [(s["step"], s["sent"], s["delivered"], s["failed"]) for s in stats["steps"]] == [(1, 4, 4, 0)]
        assert got["progress"] == {"successfulPct": 100.0, "unsuccessfulPct": 0.0, "donePct": 100.0}

    def test_scheduled_in_the_company_time_zone(self, client, company, people):
        company.time_zone = "Europe/Madrid"
        company.save(update_fields=["time_zone"])
        response = client.post(URL, body_for(people, launch=True, scheduledFor="2030-07-01T09:00:00"), format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["status"] == "scheduled" and body["actions"] == ["launch", "stop"]
        assert body["scheduledFor"] == "2030-07-01T07:00:00Z"  # 09:00 CEST
        assert not DeliveryPlan.objects.for_company(company).exists()

    def test_moderated_company_sends_it_to_moderation(self, client, company, people):
        company.moderation = True
        company.save(update_fields=["moderation"])
        response = client.post(URL, body_for(people, launch=True), format="json")
        assert response.status_code == 201
        assert response.json()["status"] == "moderation"
        assert not DeliveryPlan.objects.for_company(company).exists()

    def test_idempotent_replay_creates_once(self, client, company, people):
        first = client.post(URL, body_for(people), format="json", HTTP_IDEMPOTENCY_KEY="bc-1")
        again = client.post(URL, body_for(people), format="json", HTTP_IDEMPOTENCY_KEY="bc-1")
        assert first.status_code == again.status_code == 201
        assert again["Idempotent-Replayed"] == "true" and again.content == first.content
        assert Broadcast.objects.for_company(company).count() == 1
        other = client.post(URL, body_for(people, name="Other"), format="json", HTTP_IDEMPOTENCY_KEY="bc-1")
        assert_api_error(other, 422)


@pytest.mark.django_db
class TestCreateRefused:
    def test_every_problem_named_and_nothing_written(self, client, company, people):
        SenderId.objects.filter(company=company).update(status="blocked")
        response = client.post(URL, {
            "name": "Bad", "recipients": {"phones": ["12", people[0].phone], "tags": [999]},
            "steps": [sms_step(), {"channel": 1, "senderId": "HERALD", "payload": {"text": " "}}], "launch": True,
        }, format="json")
        errors = assert_api_error(response, 422)["errors"]
        assert set(errors) == {"recipients.phones", "recipients.tags", "steps[0].senderId", "steps[1].senderId",
                               "steps[1].payload.text"}
        assert "12" in errors["recipients.phones"][0]
        assert errors["recipients.tags"] == ["There is no tag 999 in your company."]
        assert "not an active SMS sender ID" in errors["steps[0].senderId"][0]
        assert nothing_written(company)

    def test_launch_lists_what_a_launch_needs(self, client, company, people):
        response = client.post(URL, {"name": "Incomplete", "steps": [{"channel": 1, "payload": {"text": "Hi"}}],
                                     "rcsCheck": True, "launch": True}, format="json")
        errors = assert_api_error(response, 422)["errors"]
        assert set(errors) == {"recipients", "steps[0].senderId", "rcsCheck"}
        assert errors["rcsCheck"] == ["The RCS capability check needs an RCS step in the chain."]
        assert nothing_written(company)

    def test_shape_errors_use_the_api_names(self, client, company, people):
        response = client.post(URL, {"recipients": {"phones": "+34612345678"}, "colour": "red",
                                     "steps": [{"channel": 12, "payload": {"text": "x"}},
                                               {"channel": 1, "payload": {"text": "x"}, "template": {"id": 1}},
                                               {"channel": 1, "payload": {"text": "x"}, "timeout": 5}]},
                               format="json")
        errors = assert_api_error(response, 422)["errors"]
        assert set(errors) == {"name", "colour", "recipients.phones", "steps[0].channel", "steps[1].payload",
                               "steps[2].timeout"}
        assert errors["colour"] == ["Unknown field."]
        assert "Broadcasts send on 1 (SMS)" in errors["steps[0].channel"][0]

    def test_channel_and_type_a_broadcast_cannot_use(self, client, company, people):
        response = client.post(URL, {"name": "x", "type": "chatbot",
                                     "steps": [{"channel": 7, "payload": {"text": "Telegram"}}]}, format="json")
        errors = assert_api_error(response, 422)["errors"]
        assert "chatbots" in errors["type"][0]
        assert "Broadcasts send on" in errors["steps[0].channel"][0]

    def test_launch_time_must_be_ahead_and_needs_launch(self, client, company, people):
        past = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
        errors = assert_api_error(client.post(URL, body_for(people, launch=True, scheduledFor=past), format="json"),
                                  422)["errors"]
        assert set(errors) == {"scheduledFor"} and "in the past" in errors["scheduledFor"][0]
        errors = assert_api_error(client.post(URL, body_for(people, scheduledFor="2030-01-01T10:00:00Z"),
                                              format="json"), 422)["errors"]
        assert "launch: true" in errors["scheduledFor"][0]
        assert nothing_written(company)

    def test_no_contact_to_send_to(self, client, company, people):
        tag = Tag.objects.create(company=company, name="empty")
        response = client.post(URL, {**body_for(people, launch=True), "recipients": {"tags": [tag.pk]}}, format="json")
        errors = assert_api_error(response, 422)["errors"]
        assert errors == {"recipients": ["These recipients match no contact: there is nobody to send to."]}
        assert nothing_written(company)  # the draft made before the launch was rolled back

    def test_a_key_limited_to_other_senders(self, company, people):
        mf.sender_id(company, "PROMO")
        _access, limited = broadcast_client(company, name="Limited", allowed_senders=["PROMO"])
        response = limited.post(URL, body_for(people, steps=[sms_step("HERALD"), sms_step("PROMO")]), format="json")
        errors = assert_api_error(response, 422)["errors"]
        assert errors == {"steps[0].senderId": ["This API key may not send from “HERALD”."]}
        assert limited.post(URL, body_for(people, steps=[sms_step("PROMO")]), format="json").status_code == 201


@pytest.mark.django_db
class TestRead:
    def test_list_newest_first_with_filters_and_progress(self, client, company, other_company, people, run_commits):
        draft = bf.broadcast(company, name="Autumn draft")
        with run_commits():
            sent = client.post(URL, body_for(people, name="Spring sale", launch=True), format="json").json()
        bf.broadcast(other_company, name="Their broadcast")
        body = client.get(URL).json()
        assert [r["id"] for r in body["results"]] == [sent["id"], draft.pk]
        assert set(body["results"][0]) == set(ex.BROADCAST)
        assert body["results"][0]["progress"]["successfulPct"] == 100.0  # delivered; not complete yet
        assert body["next"] is None
        assert [r["id"] for r in client.get(URL, {"status": "draft"}).json()["results"]] == [draft.pk]
        assert [r["id"] for r in client.get(URL, {"status": ["draft", "in_progress"]}).json()["results"]] == [
            sent["id"], draft.pk]
        assert [r["id"] for r in client.get(URL, {"launch": "api"}).json()["results"]] == [sent["id"]]
        assert [r["id"] for r in client.get(URL, {"name": "autumn"}).json()["results"]] == [draft.pk]
        assert client.get(URL, {"type": "rcs_check"}).json()["results"] == []
        errors = assert_api_error(client.get(URL, {"status": "sent"}), 422)["errors"]
        assert "status" in errors

    def test_cursor_pages(self, client, company):
        made = [bf.broadcast(company) for _ in range(3)]
        first = client.get(URL, {"page_size": 2}).json()
        assert [r["id"] for r in first["results"]] == [made[2].pk, made[1].pk]
        second = client.get(first["next"]).json()
        assert [r["id"] for r in second["results"]] == [made[0].pk] and second["next"] is None

    def test_list_query_count_does_not_grow_with_the_page(self, client, company):
        for _ in range(5):
            bf.broadcast(company, status=BroadcastStatus.COMPLETE, resolved=True, total_contacts=10)
        few, body = count_queries(client, URL)
        assert len(body["results"]) == 5
        for _ in range(45):
            bf.broadcast(company, status=BroadcastStatus.COMPLETE, resolved=True, total_contacts=10)
        many, body = count_queries(client, URL)
        assert len(body["results"]) == 50
        assert few == many <= 3  # the key, the page, the progress of the page (one query)

    def test_get_with_statistics_of_a_fallback(self, client, company, people, run_commits):
        OptOut.objects.create(company=company, contact=people[0], channel=1)
        mf.sender_id(company, "HERALD", channel=3)
        viber = {"channel": 3, "senderId": "HERALD", "payload": {"text": "Viber hi"}}
        with run_commits():
            created = client.post(URL, body_for(people, launch=True, steps=[sms_step(), viber]), format="json").json()
        stats = client.get(f"{URL}/{created['id']}").json()["statistics"]
        assert set(stats) == set(ex.BROADCAST_DETAIL["statistics"])
        assert (stats["total"], stats["successful"]) == (4, 3)
        sms, viber_step = stats["steps"]
        assert (sms["step"], sms["channel"], sms["sent"], sms["delivered"], sms["skipped"]) == (1, 1, 3, 3, 1)
        # no Viber gateway: the opted-out recipient's fallback step is skipped too
        assert (viber_step["step"], viber_step["channel"], viber_step["skipped"]) == (2, 3, 1)
        assert stats["unsuccessful"] == 1 and stats["unsuccessfulPct"] == 25.0

    def test_get_query_count_is_fixed(self, client, company):
        small, big = bf.broadcast(company), bf.broadcast(company, steps=[bf.step() for _ in range(5)])
        assert count_queries(client, f"{URL}/{small.pk}")[0] == count_queries(client, f"{URL}/{big.pk}")[0]


@pytest.mark.django_db
class TestRecipients:
    def test_each_recipient_with_its_step_state_and_message(self, client, company, people, run_commits):
        OptOut.objects.create(company=company, contact=people[1], channel=1)
        with run_commits():
            created = client.post(URL, body_for(people, launch=True), format="json").json()
        body = client.get(f"{URL}/{created['id']}/recipients").json()
        rows = body["results"]
        assert [r["phone"] for r in rows] == [p.phone for p in people]  # the order they were resolved in
        assert set(rows[0]) == set(ex.RECIPIENT)
        assert rows[0]["contactId"] == people[0].pk and rows[0]["state"] == "successful" and rows[0]["step"] == 1
        assert rows[0]["message"]["status"] == "delivered" and rows[0]["message"]["error"] is None
        opted = rows[1]
        assert opted["state"] == "unsuccessful" and opted["message"]["status"] == "skipped"
        assert opted["message"]["error"]["code"] == "opted_out"
        only = client.get(f"{URL}/{created['id']}/recipients", {"state": "unsuccessful"}).json()["results"]
        assert [r["contactId"] for r in only] == [people[1].pk]
        assert "state" in assert_api_error(client.get(f"{URL}/{created['id']}/recipients", {"state": "x"}),
                                           422)["errors"]

    def test_recipients_query_count_does_not_grow(self, client, company, people, run_commits):
        more = mf.contacts(company, 40, start=100)
        with run_commits():
            few = client.post(URL, body_for(people, launch=True), format="json").json()
            many = client.post(URL, body_for(people + more, launch=True), format="json").json()
        small, body = count_queries(client, f"{URL}/{few['id']}/recipients")
        assert len(body["results"]) == 4
        big, body = count_queries(client, f"{URL}/{many['id']}/recipients")
        assert len(body["results"]) == 44
        assert small == big

    def test_a_draft_has_none(self, client, company):
        draft = bf.broadcast(company)
        assert client.get(f"{URL}/{draft.pk}/recipients").json()["results"] == []


@pytest.mark.django_db
class TestContactsLeftAlone:
    def test_typed_numbers_become_contacts_only_when_launched(self, client, company, people, run_commits):
        client.post(URL, body_for(people, recipients={"phones": ["+34699000111"]}), format="json")
        assert not Contact.objects.filter(company=company, phone="+34699000111").exists()
        with run_commits():
            client.post(URL, body_for(people, recipients={"phones": ["+34699000111"]}, launch=True), format="json")
        assert Contact.objects.filter(company=company, phone="+34699000111").exists()

