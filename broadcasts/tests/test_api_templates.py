"""Broadcast templates through the API (scope ``broadcast``): create with a schedule in the
company's time zone, list, get, launch now (a run with launch ``api``), moderation."""

import pytest

from broadcasts.api import examples as ex
from broadcasts.api.testing import broadcast_client, count_queries, sms_step
from broadcasts.models import Broadcast, BroadcastTemplate, LaunchType, ModerationState
from broadcasts.tests import factories as bf
from messaging.models import Message, MessageStatus
from messaging.tests import factories as mf
from portal.api.testing import assert_api_error
from portal.models import AuditEvent

URL = "/api/v1/broadcast-templates"


@pytest.fixture
def keyed(company):
    company.time_zone = "Europe/Madrid"
    company.save(update_fields=["time_zone"])
    return broadcast_client(company)


@pytest.fixture
def client(keyed):
    return keyed[1]


@pytest.fixture
def people(company):
    mf.gateway(company=None)
    mf.sender_id(company, "HERALD")
    return mf.contacts(company, 3)


def weekly(people, **fields):
    return {"name": "Monday newsletter", "recipients": {"phones": [p.phone for p in people]},
            "steps": [sms_step()], "schedule": True, "frequency": "weekly", "weekdays": [0, 0, 3], "time": "09:30",
            "effectiveFrom": "2030-03-04T00:00:00", "effectiveTill": "2030-12-31T23:59:00", **fields}


@pytest.mark.django_db
class TestCreate:
    def test_weekly_schedule_in_the_company_time_zone(self, client, keyed, company, people):
        response = client.post(URL, weekly(people), format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == set(ex.TEMPLATE)
        assert (body["schedule"], body["frequency"], body["weekdays"], body["time"]) == (True, "weekly", [0, 3],
                                                                                        "09:30")
        assert body["timezone"] == "Europe/Madrid" and body["scheduleStatus"] == "active"
        assert body["effectiveFrom"] == "2030-03-03T23:00:00Z"  # midnight in Madrid (CET)
        # the first Monday at 09:30 Madrid time from 4 March 2030 (a Monday), in UTC
        assert body["nextLaunchAt"] == "2030-03-04T08:30:00Z"
        assert (body["launches"], body["lastLaunchAt"], body["moderation"]) == (0, None, "")
        assert response["Location"] == f"http://testserver{URL}/{body['id']}"
        template = BroadcastTemplate.objects.get(pk=body["id"])
        assert template.company == company and template.steps[0]["sender"] == "HERALD"
        assert AuditEvent.objects.get(company=company, action="Created broadcast template").api_access == keyed[0]

    def test_without_schedule_is_checked_as_a_draft(self, client, people):
        response = client.post(URL, {"name": "Later", "steps": [{"channel": 1}]}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["schedule"] is False and body["nextLaunchAt"] is None
        assert body["steps"][0]["payload"] is None and body["steps"][0]["senderId"] == ""

    def test_schedule_errors_use_the_api_names(self, client, company, people):
        response = client.post(URL, weekly(people, weekdays=[], time=None, effectiveTill="2030-01-01T00:00:00",
                                           steps=[sms_step(sender="")]), format="json")
        errors = assert_api_error(response, 422)["errors"]
        assert set(errors) == {"weekdays", "time", "effectiveTill", "steps[0].senderId"}
        assert errors["weekdays"] == ["Choose at least one weekday."]
        assert not BroadcastTemplate.objects.for_company(company).exists()

    def test_shape_errors(self, client, people):
        errors = assert_api_error(client.post(URL, weekly(people, frequency="yearly", weekdays=[7], monthDay=0,
                                                          time="25:00"), format="json"), 422)["errors"]
        assert set(errors) == {"frequency", "weekdays[0]", "monthDay", "time"}

    def test_a_key_limited_to_other_senders(self, company, people):
        _access, limited = broadcast_client(company, name="Limited", allowed_senders=["PROMO"])
        errors = assert_api_error(limited.post(URL, weekly(people, weekdays=[]), format="json"), 422)["errors"]
        assert errors == {"weekdays": ["Choose at least one weekday."],
                          "steps[0].senderId": ["This API key may not send from “HERALD”."]}

    def test_moderated_company_sends_it_to_moderation_on_request(self, client, company, people):
        company.moderation = True
        company.save(update_fields=["moderation"])
        kept = client.post(URL, weekly(people), format="json").json()
        sent = client.post(URL, weekly(people, sendToModeration=True), format="json").json()
        assert (kept["moderation"], sent["moderation"]) == ("", "pending")


@pytest.mark.django_db
class TestRead:
    def test_list_and_filters(self, client, company, other_company, people):
        plain = bf.template(company, name="Plain")
        scheduled = client.post(URL, weekly(people), format="json").json()
        bf.template(other_company, name="Theirs")
        body = client.get(URL).json()
        assert [t["id"] for t in body["results"]] == [scheduled["id"], plain.pk]
        assert [t["id"] for t in client.get(URL, {"schedule": "true"}).json()["results"]] == [scheduled["id"]]
        assert [t["id"] for t in client.get(URL, {"name": "plai"}).json()["results"]] == [plain.pk]
        assert [t["id"] for t in client.get(URL, {"scheduleStatus": "active", "schedule": "false"}).json()[
            "results"]] == [plain.pk]
        got = client.get(f"{URL}/{scheduled['id']}").json()
        assert got == scheduled

    def test_list_query_count_does_not_grow(self, client, company):
        for _ in range(5):
            bf.template(company)
        few, body = count_queries(client, URL)
        for _ in range(45):
            bf.template(company)
        many, body = count_queries(client, URL)
        assert len(body["results"]) == 50 and few == many


@pytest.mark.django_db
class TestLaunch:
    def test_a_run_with_launch_api(self, client, keyed, company, people, run_commits):
        template = client.post(URL, weekly(people), format="json").json()
        with run_commits():
            response = client.post(f"{URL}/{template['id']}/launch", format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == set(ex.BROADCAST_DETAIL)
        assert (body["templateId"], body["launch"], body["status"]) == (template["id"], "api", "in_progress")
        assert response["Location"] == f"http://testserver/api/v1/broadcasts/{body['id']}"
        run = Broadcast.objects.get(pk=body["id"])
        assert (run.launch_type, run.api_access) == (LaunchType.API, keyed[0])
        assert Message.objects.filter(source_id=run.pk, status=MessageStatus.DELIVERED).count() == 3
        after = client.get(f"{URL}/{template['id']}").json()
        assert after["launches"] == 1 and after["lastLaunchAt"]
        assert after["nextLaunchAt"] == template["nextLaunchAt"]  # the schedule is not changed
        assert [r["id"] for r in client.get("/api/v1/broadcasts", {"templateId": template["id"]}).json()[
            "results"]] == [body["id"]]

    def test_incomplete_template(self, client, company, people):
        template = bf.template(company, steps=[bf.step(sender="")])
        errors = assert_api_error(client.post(f"{URL}/{template.pk}/launch", format="json"), 422)["errors"]
        assert set(errors) == {"recipients", "steps[0].senderId"}
        assert not Broadcast.objects.for_company(company).exists()
        template.refresh_from_db()
        assert template.launches == 0

    def test_not_approved_in_a_moderated_company(self, client, company, people):
        company.moderation = True
        company.save(update_fields=["moderation"])
        template = bf.template(company, recipients={"phones": [p.phone for p in people]},
                               moderation=ModerationState.PENDING)
        body = assert_api_error(client.post(f"{URL}/{template.pk}/launch", format="json"), 409)
        assert "moderated" in body["message"]
        assert not Broadcast.objects.for_company(company).exists()

    def test_a_key_limited_to_other_senders(self, company, people):
        template = bf.template(company, recipients={"phones": [p.phone for p in people]})
        _access, limited = broadcast_client(company, name="Limited", allowed_senders=["PROMO"])
        errors = assert_api_error(limited.post(f"{URL}/{template.pk}/launch", format="json"), 422)["errors"]
        assert errors == {"steps[0].senderId": ["This API key may not send from “HERALD”."]}
        assert not Broadcast.objects.for_company(company).exists()

    def test_launched_twice_with_the_same_key_makes_one_run(self, client, company, people):
        template = bf.template(company, recipients={"phones": [p.phone for p in people]})
        one = client.post(f"{URL}/{template.pk}/launch", format="json", HTTP_IDEMPOTENCY_KEY="tpl-1")
        two = client.post(f"{URL}/{template.pk}/launch", format="json", HTTP_IDEMPOTENCY_KEY="tpl-1")
        assert one.status_code == two.status_code == 201 and one.content == two.content
        assert Broadcast.objects.for_company(company).count() == 1
