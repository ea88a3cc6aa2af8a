"""The actions of a broadcast as POST endpoints (spec P§4.1; rule 11 of P§25; gap G4):
pause, resume, stop, relaunch for failed, copy, delete — each through the services (a
refusal shows their message), company-scoped (another company's broadcast is a 404),
behind *Manage Broadcasts*, and audited."""

from __future__ import annotations

import pytest

from broadcasts.models import Broadcast, BroadcastStatus
from broadcasts.services import runs
from broadcasts.tests import factories as bf
from contacts.models import OptOut
from messaging.models import DeliveryPlan, Message, MessageStatus
from messaging.tests import factories as mf
from portal.audit import Actor
from portal.models import AuditEvent
from portal.testing import factories

S = BroadcastStatus
ACTIONS = ("pause", "resume", "stop", "relaunch", "copy", "delete")


def html_of(response) -> str:
    return response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')


@pytest.fixture
def running(company, admin_user, django_capture_on_commit_callbacks):
    """A run in progress whose messages are queued (not dispatched yet)."""
    mf.gateway(company=None)
    mf.sender_id(company, "HERALD")
    people = mf.contacts(company, 4)
    b = bf.broadcast(company, name="Spring", recipients={"phones": [c.phone for c in people]})
    from broadcasts.services import recipients
    with django_capture_on_commit_callbacks(execute=False):
        runs.launch(actor=Actor(user=admin_user, company=company), broadcast=b)
        recipients.resolve(b.pk)
    b.refresh_from_db()
    return b


def test_pause_and_resume(admin_client, running, run_commits):
    url = f"/broadcasts/{running.pk}/"
    with run_commits():
        response = admin_client.post(url + "pause/", {"next": url})
    assert response.status_code == 302 and response["Location"] == url
    running.refresh_from_db()
    assert running.status == S.PAUSED
    assert Message.objects.filter(source_id=running.pk, held=True).count() == 4
    assert "Broadcast “Spring” paused." in html_of(admin_client.get(url))
    with run_commits():
        response = admin_client.post(url + "resume/", {"next": "/broadcasts/"})
    assert response["Location"] == "/broadcasts/"
    running.refresh_from_db()
    assert running.status == S.IN_PROGRESS
    assert Message.objects.filter(source_id=running.pk, held=True).count() == 0
    assert AuditEvent.objects.filter(action__in=["Paused broadcast", "Resumed broadcast"]).count() == 2


def test_stop_cancels_what_was_not_sent(admin_client, running, run_commits):
    with run_commits():
        response = admin_client.post(f"/broadcasts/{running.pk}/stop/")
    assert response.status_code == 302 and response["Location"] == f"/broadcasts/{running.pk}/"
    running.refresh_from_db()
    assert running.status == S.ABORTED and running.finished_at
    assert Message.objects.filter(source_id=running.pk, status=MessageStatus.SKIPPED).count() == 4
    assert "Broadcast “Spring” stopped." in html_of(admin_client.get(response["Location"]))


def test_relaunch_for_failed_makes_a_new_run_for_the_unsuccessful(admin_client, company, admin_user, run_commits):
    mf.gateway(company=None)
    mf.sender_id(company, "HERALD")
    people = mf.contacts(company, 5)
    OptOut.objects.bulk_create([OptOut(company=company, contact=c, channel=1) for c in people[:2]])
    b = bf.broadcast(company, name="Spring", recipients={"phones": [c.phone for c in people]})
    with run_commits():
        runs.launch(actor=Actor(user=admin_user, company=company), broadcast=b)
    runs.refresh_progress()
    OptOut.objects.all().delete()
    with run_commits():
        response = admin_client.post(f"/broadcasts/{b.pk}/relaunch/")
    run = Broadcast.objects.exclude(pk=b.pk).get()
    assert response["Location"] == f"/broadcasts/{run.pk}/"
    assert run.relaunch_of_id == b.pk and run.total_contacts == 2
    assert set(DeliveryPlan.objects.filter(source_id=run.pk).values_list("contact_id", flat=True)) == {
        c.pk for c in people[:2]}
    html = html_of(admin_client.get(response["Location"]))
    assert f"Relaunched “Spring” for its unsuccessful recipients: broadcast {run.pk}." in html
    assert f'href="/broadcasts/{b.pk}/"' in html and "the unsuccessful recipients of broadcast" in html


def test_copy_makes_a_draft_and_opens_it(admin_client, company):
    b = bf.broadcast(company, name="Spring", status=S.COMPLETE)
    response = admin_client.post(f"/broadcasts/{b.pk}/copy/")
    copy = Broadcast.objects.exclude(pk=b.pk).get()
    assert response["Location"] == f"/broadcasts/{copy.pk}/edit/"
    assert (copy.name, copy.status, copy.steps) == ("Spring (copy)", S.DRAFT, b.steps)
    assert "copied as the draft “Spring (copy)”" in html_of(admin_client.get(response["Location"]))


def test_delete_a_draft(admin_client, company):
    b = bf.broadcast(company, name="Old")
    response = admin_client.post(f"/broadcasts/{b.pk}/delete/", {"next": f"/broadcasts/{b.pk}/"})
    assert response["Location"] == "/broadcasts/"  # its own page is gone
    assert not Broadcast.objects.filter(pk=b.pk).exists()
    assert "Broadcast “Old” deleted." in html_of(admin_client.get("/broadcasts/"))
    assert AuditEvent.objects.filter(action="Deleted broadcast").exists()


@pytest.mark.parametrize("action, status", [
    ("pause", S.DRAFT), ("resume", S.IN_PROGRESS), ("stop", S.COMPLETE), ("relaunch", S.IN_PROGRESS),
    ("delete", S.COMPLETE),
])
def test_a_refused_action_shows_why(admin_client, company, action, status):
    b = bf.broadcast(company, status=status)
    response = admin_client.post(f"/broadcasts/{b.pk}/{action}/")
    assert response.status_code == 302 and response["Location"] == f"/broadcasts/{b.pk}/"
    b.refresh_from_db()
    assert b.status == status
    html = html_of(admin_client.get(response["Location"]))
    assert f"A broadcast with status {S(status).label} cannot be" in html
    assert 'class="alert alert-error"' in html


def test_relaunch_with_nobody_failed_says_so(admin_client, company):
    b = bf.broadcast(company, status=S.COMPLETE)
    admin_client.post(f"/broadcasts/{b.pk}/relaunch/")
    assert "there is nobody to relaunch for" in html_of(admin_client.get(f"/broadcasts/{b.pk}/"))
    assert Broadcast.objects.count() == 1


def test_next_must_be_a_path_of_this_site(admin_client, company):
    b = bf.broadcast(company, status=S.IN_PROGRESS)
    response = admin_client.post(f"/broadcasts/{b.pk}/pause/", {"next": "https://evil.example.com/"})
    assert response["Location"] == f"/broadcasts/{b.pk}/"


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_are_posts(admin_client, company, action):
    b = bf.broadcast(company, status=S.IN_PROGRESS)
    assert admin_client.get(f"/broadcasts/{b.pk}/{action}/").status_code == 405


@pytest.mark.parametrize("action, status", [
    ("pause", S.IN_PROGRESS), ("resume", S.PAUSED), ("stop", S.IN_PROGRESS), ("relaunch", S.COMPLETE),
    ("copy", S.DRAFT), ("delete", S.DRAFT),
])
def test_another_companys_broadcast_is_a_404(admin_client, other_company, action, status):
    theirs = bf.broadcast(other_company, status=status)
    assert admin_client.post(f"/broadcasts/{theirs.pk}/{action}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == status
    assert Broadcast.objects.count() == 1


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_need_manage_broadcasts(client, company, action):
    b = bf.broadcast(company, status=S.IN_PROGRESS)
    client.force_login(factories.user(company, roles=[factories.system_role("finance_manager")]))
    assert client.post(f"/broadcasts/{b.pk}/{action}/").status_code == 403
    b.refresh_from_db()
    assert b.status == S.IN_PROGRESS


def test_actions_need_the_csrf_token(company, admin_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    b = bf.broadcast(company, status=S.IN_PROGRESS)
    assert client.post(f"/broadcasts/{b.pk}/pause/").status_code == 403
    b.refresh_from_db()
    assert b.status == S.IN_PROGRESS
