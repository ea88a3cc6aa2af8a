"""The BackOffice list of media: read-only, and a deletion goes through the service
(audited, the files removed after commit)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from assets.models import Media
from assets.tests import factories as f
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = User.objects.create_superuser(login="owner", email="owner@example.com", password="Str0ng!Passw0rd",
                                          first_name="Sys", last_name="Owner")
    client.force_login(staff)
    return client


def test_list_and_read_only_page(staff_client, company):
    media = f.media(company, name="Summer sale.png")
    response = staff_client.get(reverse("admin:assets_media_changelist"))
    page = response.content.decode()
    assert response.status_code == 200 and "Summer sale.png" in page and "314 x 400 px" in page and "Acme" in page
    assert staff_client.get(reverse("admin:assets_media_add")).status_code == 403
    change = staff_client.get(reverse("admin:assets_media_change", args=[media.pk]))
    assert change.status_code == 200 and 'name="name"' not in change.content.decode()  # no editable field


def test_delete_from_the_backoffice_removes_the_files(staff_client, company, settings,
                                                      django_capture_on_commit_callbacks):
    media = f.media(company, name="Summer sale.png")
    path = settings.MEDIA_ROOT / media.file.name
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("admin:assets_media_delete", args=[media.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Media.objects.exists() and not path.exists()
    event = AuditEvent.objects.get(action="Deleted media")
    assert event.company == company and event.user.login == "owner"
