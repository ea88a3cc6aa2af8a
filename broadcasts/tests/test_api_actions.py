"""Broadcast actions through the API: launch, pause, resume, stop, relaunch for failed — each
changing what the engine does, and each refused with 409 (the service's message) from a
status that does not allow it."""

import pytest

from broadcasts.api import examples as ex
from broadcasts.api.testing import broadcast_client
from broadcasts.models import Broadcast, BroadcastStatus, LaunchType
from broadcasts.services import recipients, runs
from broadcasts.tests import factories as bf
from contacts.models import OptOut
from messaging.models import DeliveryPlan, Message, MessageStatus, PlanState
from messaging.services import dispatch
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
def gw(company):
    mf.sender_id(company, "HERALD")
    return mf.gateway(company=None)


@pytest.fixture
def people(company, gw):
    return mf.contacts(company, 4)


def draft_for(company, people, **fields):
    return bf.broadcast(company, recipients={"targets": [], "tags": [], "phones": [p.phone for p in people]},
                        **fields)


@pytest.fixture
def queued(client, company, people, django_capture_on_commit_callbacks):
    """A broadcast launched through the API and resolved, its messages queued (not
    dispatched yet)."""
    with django_capture_on_commit_callbacks(execute=False):
        body = client.post(f"{URL}/{draft_for(company, people).pk}/launch", format="json").json()
        recipients.resolve(body["id"])
    return Broadcast.objects.get(pk=body["id"])


def post(client, broadcast, action, data=None):
    return client.post(f"{URL}/{broadcast.pk}/{action}", data or {}, format="json")


@pytest.mark.django_db
class TestLaunch:
    def test_a_draft_made_in_the_portal(self, client, company, people, run_commits):
        draft = draft_for(company, people)
        with run_commits():
            response = post(client, draft, "launch")
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == set(ex.BROADCAST_DETAIL)
        assert body["status"] == "in_progress" and body["launch"] == "manual"  # created in the portal
        assert Message.objects.filter(source_id=draft.pk, status=MessageStatus.DELIVERED).count() == 4
        assert AuditEvent.objects.filter(company=company, action="Launched broadcast",
                                         api_access__isnull=False).count() == 1

    def test_scheduled(self, client, company, people):
        draft = draft_for(company, people)
        body = post(client, draft, "launch", {"scheduledFor": "2030-01-01T10:00:00Z"}).json()
        assert body["status"] == "scheduled" and body["scheduledFor"] == "2030-01-01T10:00:00Z"

    def test_incomplete_draft_names_what_is_missing(self, client, company, people):
        draft = bf.broadcast(company, steps=[bf.step(sender="")])
        errors = assert_api_error(post(client, draft, "launch"), 422)["errors"]
        assert set(errors) == {"recipients", "steps[0].senderId"}
        draft.refresh_from_db()
        assert draft.status == BroadcastStatus.DRAFT

    def test_already_running_is_a_conflict(self, client, queued):
        body = assert_api_error(post(client, queued, "launch"), 409)
        assert body["message"] == ("A broadcast with status In progress cannot be launched; only Draft, Rejected by "
                                   "moderation, Scheduled ones can.")

    def test_unknown_field(self, client, company, people):
        errors = assert_api_error(post(client, draft_for(company, people), "launch", {"when": "now"}), 422)["errors"]
        assert errors == {"when": ["Unknown field."]}


@pytest.mark.django_db
class TestPauseResumeStop:
    def test_pause_holds_and_resume_sends(self, client, gw, queued, run_commits):
        with run_commits():
            response = post(client, queued, "pause")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "paused" and response.json()["actions"] == ["resume", "stop"]
        assert dispatch.run(gw.pk) == 0  # nothing goes out while paused
        assert Message.objects.filter(source_id=queued.pk, held=True).count() == 4  # flagged after the commit
        with run_commits():
            response = post(client, queued, "resume")
        assert response.json()["status"] == "in_progress"
        with run_commits():
            dispatch.run(gw.pk)
        assert Message.objects.filter(source_id=queued.pk, status=MessageStatus.DELIVERED).count() == 4

    def test_stop_cancels_what_is_queued(self, client, queued, run_commits):
        with run_commits():  # the cancel runs after the commit (a task)
            body = post(client, queued, "stop").json()
        assert body["status"] == "aborted" and body["finishedAt"] and body["actions"] == []
        body = client.get(f"{URL}/{queued.pk}").json()
        assert body["statistics"]["unsuccessful"] == 4 and body["statistics"]["canceled"] == 4
        assert body["progress"]["unsuccessfulPct"] == 100.0
        assert Message.objects.filter(source_id=queued.pk, status=MessageStatus.SKIPPED,
                                      error_code="canceled").count() == 4

    @pytest.mark.parametrize("action, message", [
        ("pause", "A broadcast with status Draft cannot be paused; only In progress ones can."),
        ("resume", "A broadcast with status Draft cannot be resumed; only Paused ones can."),
        ("relaunch-failed", "A broadcast with status Draft cannot be relaunched; only Complete ones can."),
    ])
    def test_a_draft_cannot(self, client, company, people, action, message):
        draft = draft_for(company, people)
        assert assert_api_error(post(client, draft, action), 409)["message"] == message
        draft.refresh_from_db()
        assert draft.status == BroadcastStatus.DRAFT

    def test_stop_a_draft_or_resume_a_running_one(self, client, company, people, queued):
        body = assert_api_error(post(client, draft_for(company, people), "stop"), 409)
        assert body["message"].startswith("A broadcast with status Draft cannot be stopped; only ")
        assert "In progress" in body["message"] and "Scheduled" in body["message"]
        assert assert_api_error(post(client, queued, "resume"), 409)["message"] == (
            "A broadcast with status In progress cannot be resumed; only Paused ones can.")

    def test_a_scheduled_broadcast_can_be_stopped(self, client, company, people):
        scheduled = draft_for(company, people)
        post(client, scheduled, "launch", {"scheduledFor": "2030-01-01T10:00:00Z"})
        assert post(client, scheduled, "stop").json()["status"] == "aborted"
        assert runs.start_due() == 0


@pytest.mark.django_db
class TestRelaunchFailed:
    def test_a_new_run_for_the_unsuccessful_only(self, client, company, people, run_commits):
        OptOut.objects.bulk_create([OptOut(company=company, contact=p, channel=1) for p in people[:2]])
        first = draft_for(company, people)
        with run_commits():
            post(client, first, "launch")
        runs.refresh_progress()
        OptOut.objects.all().delete()
        with run_commits():
            response = post(client, first, "relaunch-failed")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["relaunchOf"] == first.pk and body["recipients"]["relaunchOf"] == first.pk
        assert body["id"] != first.pk and body["status"] == "in_progress"
        assert response["Location"] == f"http://testserver{URL}/{body['id']}"
        plans = DeliveryPlan.objects.filter(source_id=body["id"])
        assert {p.contact_id for p in plans} == {p.pk for p in people[:2]}
        assert set(plans.values_list("state", flat=True)) == {PlanState.SUCCESSFUL}
        run = Broadcast.objects.get(pk=body["id"])
        assert run.launch_type == LaunchType.API and run.api_access is not None

    def test_nobody_failed_is_a_conflict(self, client, company, people, run_commits):
        first = draft_for(company, people)
        with run_commits():
            post(client, first, "launch")
        runs.refresh_progress()
        body = assert_api_error(post(client, first, "relaunch-failed"), 409)
        assert body["message"] == "Every recipient of this broadcast was successful: there is nobody to relaunch for."
        assert Broadcast.objects.for_company(company).count() == 1

    def test_relaunch_replayed_with_the_same_key_makes_one_run(self, client, company, people, run_commits):
        OptOut.objects.create(company=company, contact=people[0], channel=1)
        first = draft_for(company, people)
        with run_commits():
            post(client, first, "launch")
        runs.refresh_progress()
        one = client.post(f"{URL}/{first.pk}/relaunch-failed", format="json", HTTP_IDEMPOTENCY_KEY="again")
        two = client.post(f"{URL}/{first.pk}/relaunch-failed", format="json", HTTP_IDEMPOTENCY_KEY="again")
        assert one.status_code == two.status_code == 201 and one.content == two.content
        assert Broadcast.objects.for_company(company).filter(relaunch_of=first).count() == 1

