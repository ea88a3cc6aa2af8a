"""The BackOffice moderation queue (spec §4.2, rule 10, gap G9): the system owner approves
or rejects broadcasts and templates sent to moderation; approval launches (or schedules)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from broadcasts.models import BroadcastStatus, ModerationState
from broadcasts.services import runs
from broadcasts.tests import factories as bf
from messaging.models import DeliveryPlan
from messaging.tests import factories as mf
from portal.audit import Actor


@pytest.fixture
def owner_client(client, db):
    owner = get_user_model().objects.create_superuser("owner", "Owner!Passw0rd", email="owner@example.com")
    client.force_login(owner)
    return client


@pytest.fixture
def moderated(company, admin_user):
    company.moderation = True
    company.save(update_fields=["moderation"])
    mf.gateway()
    mf.sender_id(company)
    people = mf.contacts(company, 3)
    b = bf.broadcast(company, recipients={"phones": [c.phone for c in people]})
    runs.launch(actor=Actor(user=admin_user, company=company), broadcast=b)
    b.refresh_from_db()
    assert b.status == BroadcastStatus.ON_MODERATION
    assert not DeliveryPlan.objects.filter(source_id=b.pk).exists()  # nothing goes out before approval
    return b


def _act(client, action, obj, model="broadcast"):
    return client.post(reverse(f"admin:broadcasts_{model}_changelist"),
                       {"action": action, "_selected_action": [obj.pk]}, follow=True)


def test_the_queue_lists_broadcasts_on_moderation(owner_client, moderated):
    html = owner_client.get(reverse("admin:broadcasts_broadcast_changelist") + "?moderation=pending").content.decode()
    assert moderated.name in html


def test_approve_launches_the_broadcast(owner_client, moderated, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _act(owner_client, "approve", moderated)
    assert "1 broadcast(s) approved." in response.content.decode()
    moderated.refresh_from_db()
    assert moderated.status in (BroadcastStatus.IN_PROGRESS, BroadcastStatus.COMPLETE)
    assert moderated.moderated_by.login == "owner"
    assert DeliveryPlan.objects.filter(source_id=moderated.pk).count() == 3


def test_reject_keeps_it_editable_and_unsent(owner_client, moderated):
    _act(owner_client, "reject", moderated)
    moderated.refresh_from_db()
    assert moderated.status == BroadcastStatus.REJECTED and runs.can_edit(moderated)
    assert not DeliveryPlan.objects.filter(source_id=moderated.pk).exists()


def test_approving_twice_says_why_not(owner_client, moderated):
    _act(owner_client, "reject", moderated)
    html = _act(owner_client, "approve", moderated).content.decode()
    assert "cannot be approved" in html


def test_templates_are_approved_and_rejected_in_the_admin(owner_client, company):
    template = bf.template(company, moderation=ModerationState.PENDING)
    _act(owner_client, "approve_templates", template, model="broadcasttemplate")
    template.refresh_from_db()
    assert template.moderation == ModerationState.APPROVED
    other = bf.template(company, moderation=ModerationState.PENDING)
    _act(owner_client, "reject_templates", other, model="broadcasttemplate")
    other.refresh_from_db()
    assert other.moderation == ModerationState.REJECTED
