"""The message constructor's media endpoints: ``media:picker`` (the company's files, newest
first, by type and name) and ``media:upload`` (the same checks as the Media page; saved in
Media). Permissions: any of Manage Media, Manage Broadcasts, Manage Content templates."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from assets.models import Media
from assets.selectors import PICKER_LIMIT
from assets.tests import factories as f
from assets.tests.test_media_pages import client_with

pytestmark = pytest.mark.django_db
PICKER = "/assets/media/picker/"
UPLOAD = "/assets/media/upload/"


def test_urls_are_the_agreed_ones():
    assert reverse("media:picker") == PICKER and reverse("media:upload") == UPLOAD


def test_picker_shape_and_order(admin_client, company):
    old = f.media(company, name="old.png", content=f.png((314, 400)))
    pdf = f.media(company, name="terms.pdf", content=f.pdf())
    response = admin_client.get(PICKER)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["name"] for r in results] == ["terms.pdf", "old.png"]  # newest first
    assert results[1] == {
        "id": old.pk, "name": "old.png", "url": f"http://testserver/media/{old.file.name}",
        "thumbnail_url": f"http://testserver/media/{old.thumbnail.name}", "media_type": "image", "format": "PNG",
        "width": 314, "height": 400, "size": old.size,
    }
    assert results[0] == {
        "id": pdf.pk, "name": "terms.pdf", "url": f"http://testserver/media/{pdf.file.name}", "thumbnail_url": None,
        "media_type": "document", "format": "PDF", "width": None, "height": None, "size": len(f.pdf()),
    }


def test_picker_filters_by_type_and_text(admin_client, company):
    f.media(company, name="Summer sale.png")
    f.media(company, name="sale clip.mp4", content=f.mp4())
    f.media(company, name="terms.pdf", content=f.pdf())
    names = lambda **params: [r["name"] for r in admin_client.get(PICKER, params).json()["results"]]  # noqa: E731
    assert names(type="image") == ["Summer sale.png"]
    assert names(type="video") == ["sale clip.mp4"]
    assert names(type="audio") == []
    assert names(q="SALE") == ["sale clip.mp4", "Summer sale.png"]
    assert names(type="document", q="sale") == []
    assert names(type="", q="") == ["terms.pdf", "sale clip.mp4", "Summer sale.png"]
    response = admin_client.get(PICKER, {"type": "spreadsheet"})
    assert response.status_code == 400
    assert response.json() == {"error": "Unknown media type “spreadsheet”; use one of: image, video, audio, document."}


def test_picker_returns_at_most_100(admin_client, company):
    first = f.media(company, name="first.pdf", content=f.pdf())
    Media.objects.bulk_create([Media(company=company, name=f"doc {i}.pdf", file=first.file.name, media_type="document",
                                     format="PDF", mime_type="application/pdf", size=10) for i in range(PICKER_LIMIT)])
    results = admin_client.get(PICKER).json()["results"]
    assert len(results) == PICKER_LIMIT
    assert "first.pdf" not in [r["name"] for r in results]  # the oldest is the one left out


def test_upload_saves_and_reports(admin_client, company, settings):
    response = admin_client.post(UPLOAD, {"files": [f.upload("one.png", f.png((20, 10))), f.upload("evil.png", f.exe())]})
    assert response.status_code == 201
    body = response.json()
    one = Media.objects.get(name="one.png")
    assert body["results"] == [{
        "id": one.pk, "name": "one.png", "url": f"http://testserver/media/{one.file.name}",
        "thumbnail_url": f"http://testserver/media/{one.thumbnail.name}", "media_type": "image", "format": "PNG",
        "width": 20, "height": 10, "size": one.size}]
    assert body["errors"] == [{"name": "evil.png", "error": "the content is a Windows program, which is not accepted."}]
    assert one.company == company
    # and the constructor's upload is in Media, listed on the page and in the picker
    assert [r["id"] for r in admin_client.get(PICKER).json()["results"]] == [one.pk]


def test_upload_with_nothing_saved_is_400(admin_client, settings):
    settings.HERALD_MEDIA_MAX_BYTES = 100
    response = admin_client.post(UPLOAD, {"files": [f.upload("big.pdf", f.pdf())]})
    assert response.status_code == 400
    assert response.json() == {"errors": [{"name": "big.pdf", "error": f"the file is {len(f.pdf())} B; the most is 100 B."}]}
    response = admin_client.post(UPLOAD, {})
    assert response.status_code == 400
    assert response.json() == {"errors": [{"name": "", "error": "Choose at least one file."}]}
    assert not Media.objects.exists()


def test_upload_needs_the_csrf_token(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(UPLOAD, {"files": [f.upload("one.png", f.png())]}).status_code == 403
    assert not Media.objects.exists()


def test_picker_never_lists_another_company(admin_client, company, other_company):
    f.media(other_company, name="their.png")
    mine = f.media(company, name="mine.png")
    assert [r["id"] for r in admin_client.get(PICKER).json()["results"]] == [mine.pk]
    assert [r["id"] for r in admin_client.get(PICKER, {"q": "their"}).json()["results"]] == []


def test_upload_goes_to_the_users_company(client, company, other_company, other_admin):
    client.force_login(other_admin)
    assert client.post(UPLOAD, {"files": [f.upload("one.png", f.png())]}).status_code == 201
    assert list(Media.objects.values_list("company", flat=True)) == [other_company.pk]


@pytest.mark.parametrize("code", ["manage_media", "manage_broadcasts", "manage_content_templates"])
def test_any_of_the_three_permissions(client, company, code):
    f.media(company, name="one.png")
    client = client_with(client, company, code)
    assert client.get(PICKER).status_code == 200
    assert client.post(UPLOAD, {"files": [f.upload("two.png", f.png())]}).status_code == 201


def test_without_permission_403_json(client, company):
    f.media(company, name="one.png")
    client = client_with(client, company, "view_dashboard", "manage_contacts")
    response = client.get(PICKER)
    assert response.status_code == 403
    assert response.json() == {"error": "You do not have permission to use media."}
    assert client.post(UPLOAD, {"files": [f.upload("two.png", f.png())]}).status_code == 403
    assert Media.objects.count() == 1


def test_signed_out_401_json(client):
    response = client.get(PICKER)
    assert response.status_code == 401 and response.json() == {"error": "Sign in to use media."}
    assert client.post(UPLOAD).status_code == 401
