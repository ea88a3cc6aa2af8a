"""The Media pages (spec P§11.1): the table and its columns and formats, filters, the card
view remembered per user, *+ Add Media* with several files, a file's page, download,
delete, tenant isolation, permissions and the list's query count."""

from __future__ import annotations

import datetime
import html
import re

import pytest
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Role
from assets.models import Media
from assets.tests import factories as f
from portal.audit import Actor
from portal.testing import factories

pytestmark = pytest.mark.django_db
LIST = "/assets/media/"
ADD = "/assets/media/add/"


def client_with(client, company, *codes):
    name = ("Role " + "-".join(codes))[:40]
    role = (Role.objects.filter(company=company, name=name).first()
            or account_services.create_role(actor=Actor.system(company), company=company, name=name,
                                            permissions=list(codes)))
    client.force_login(factories.user(company, roles=[role]))
    return client


def cells(response, column) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(rf'<td data-column="{column}">(.*?)</td>', response.content.decode(), re.S)]


def headers(response) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", h)).strip(" ▲▼")
            for h in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', response.content.decode(), re.S)]


def stored_files(settings) -> list[str]:
    root = settings.MEDIA_ROOT
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def at(media, when):
    Media.objects.filter(pk=media.pk).update(created_at=when)


def test_table_columns_and_formats(admin_client, company, admin_user):
    company.time_zone = "Europe/Madrid"
    company.save()
    picture = f.media(company, name="Summer sale.png", content=f.png((314, 400)), user=admin_user)
    terms = f.media(company, name="terms.pdf", content=b"%PDF-1.4\n" + b"%" * (269875 - 9))
    at(picture, datetime.datetime(2024, 7, 1, 10, 0, 5, tzinfo=datetime.UTC))
    at(terms, datetime.datetime(2024, 1, 15, 23, 30, 0, tzinfo=datetime.UTC))
    response = admin_client.get(LIST)
    assert response.status_code == 200
    assert headers(response) == ["Preview", "Filename", "Media type", "Format", "Size", "Weight", "Date of upload",
                                 "Actions"]
    assert cells(response, "name") == ["Summer sale.png", "terms.pdf"]  # newest first
    assert cells(response, "media_type") == ["Image", "Document"]
    assert cells(response, "format") == ["PNG", "PDF"]
    assert cells(response, "dimensions") == ["314 x 400 px", ""]
    assert cells(response, "weight")[1] == "263.55 KB"
    # in the company's time zone (Madrid: UTC+2 in July, UTC+1 in January)
    assert cells(response, "created_at") == ["01.07.2024 / 12:00:05", "16.01.2024 / 00:30:00"]
    page = response.content.decode()
    assert f'src="/media/{picture.thumbnail.name}"' in page  # the preview is the thumbnail
    assert f'data-lightbox="/media/{picture.file.name}"' in page  # a click opens the full image
    assert f'data-copy-url="http://testserver/media/{picture.file.name}"' in page  # copy: the absolute public link
    assert reverse("media:download", args=[terms.pk]) in page
    assert reverse("media:delete", args=[terms.pk]) in page


def test_filters_and_sorting(admin_client, company):
    f.media(company, name="Summer sale.png", content=f.png((20, 20)))
    f.media(company, name="clip.mp4", content=f.mp4())
    f.media(company, name="terms.pdf", content=f.pdf())
    f.media(company, name="winter sale.gif", content=f.gif())
    assert cells(admin_client.get(LIST, {"name": "SALE"}), "name") == ["winter sale.gif", "Summer sale.png"]
    assert cells(admin_client.get(LIST, {"media_type": "vid"}), "name") == ["clip.mp4"]
    assert cells(admin_client.get(LIST, {"media_type": "image"}), "name") == ["winter sale.gif", "Summer sale.png"]
    assert cells(admin_client.get(LIST, {"format": "pd"}), "name") == ["terms.pdf"]
    assert cells(admin_client.get(LIST, {"media_type": "image", "format": "gif"}), "name") == ["winter sale.gif"]
    lightest_first = [m.name for m in Media.objects.order_by("size", "id")]
    assert len({m.size for m in Media.objects.all()}) == 4
    assert cells(admin_client.get(LIST, {"sort": "weight"}), "name") == lightest_first
    assert cells(admin_client.get(LIST, {"sort": "-weight"}), "name") == lightest_first[::-1]
    response = admin_client.get(LIST, {"created_at": datetime.date.today().isoformat()})
    assert len(cells(response, "name")) == 4


def test_card_view_is_remembered_per_user(client, company, settings):
    media = f.media(company, name="Summer sale.png")
    first = client_with(client, company, "manage_media")
    response = first.get(LIST, {"view": "cards"})
    page = response.content.decode()
    assert 'data-media-view="cards"' in page and page.count("data-card") == 1
    assert "Summer sale.png" in page and "314 x 400 px" in page
    assert f'data-lightbox="/media/{media.file.name}"' in page
    # the next visit without ?view= keeps the cards
    assert 'data-media-view="cards"' in first.get(LIST).content.decode()
    # another user still sees the table
    from django.test import Client

    other = client_with(Client(), company, "manage_media")
    assert 'data-media-view="table"' in other.get(LIST).content.decode()
    # back to the table
    assert 'data-media-view="table"' in first.get(LIST, {"view": "table"}).content.decode()
    assert 'data-media-view="table"' in first.get(LIST).content.decode()


def test_add_media_saves_good_files_and_names_the_refused(admin_client, company, settings):
    settings.HERALD_MEDIA_MAX_BYTES = 50_000
    response = admin_client.post(ADD, {"files": [f.upload("one.png", f.png()), f.upload("evil.png", f.exe()),
                                                 f.upload("huge.pdf", b"%PDF-1.4\n" + b"%" * 60_000),
                                                 f.upload("two.pdf", f.pdf())]}, follow=True)
    assert response.redirect_chain == [(LIST, 302)]
    notes = [str(m) for m in response.context["messages"]]
    assert notes == ["2 files uploaded.",
                     "“evil.png” was not uploaded: the content is a Windows program, which is not accepted.",
                     "“huge.pdf” was not uploaded: the file is 58.60 KB; the most is 48.83 KB."]
    assert cells(response, "name") == ["two.pdf", "one.png"]
    assert sorted(Media.objects.values_list("name", flat=True)) == ["one.png", "two.pdf"]
    assert len(stored_files(settings)) == 3  # two files and a thumbnail: nothing of the refused ones


def test_add_media_without_files(admin_client):
    response = admin_client.post(ADD, {}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Choose at least one file."]
    assert not Media.objects.exists()


def test_list_page_has_the_upload_dialog(admin_client, settings):
    settings.HERALD_MEDIA_MAX_BYTES = 500 * 1024 * 1024
    page = admin_client.get(LIST).content.decode()
    assert 'data-action="add-media"' in page and 'action="/assets/media/add/"' in page
    assert 'enctype="multipart/form-data"' in page and 'name="files" multiple' in page
    assert "Select a file" in page and "Drag and drop files here" in page
    assert 'data-max-bytes="524288000"' in page and "up to 500.00 MB per file" in page


def test_detail_page(admin_client, company, admin_user):
    media = f.media(company, name="Summer sale.png", user=admin_user)
    response = admin_client.get(reverse("media:detail", args=[media.pk]))
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert f'<img src="/media/{media.file.name}" alt="Summer sale.png">' in page
    assert f"http://testserver/media/{media.file.name}" in page
    assert "314 x 400 px" in page and admin_user.full_name in page


def test_download_has_the_original_name(admin_client, company):
    content = f.pdf()
    media = f.media(company, name="Términos y condiciones.pdf", content=content)
    response = admin_client.get(reverse("media:download", args=[media.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''T%C3%A9rminos%20y%20condiciones.pdf")
    assert b"".join(response.streaming_content) == content
    plain = f.media(company, name="logo.png")
    assert admin_client.get(reverse("media:download", args=[plain.pk]))["Content-Disposition"] == (
        'attachment; filename="logo.png"')


def test_public_link_serves_the_file(client, company, settings):
    """The link needs no sign-in (the channels fetch it), served with the type of the content."""
    media = f.media(company, name="logo.png")
    response = client.get(f"/media/{media.file.name}")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"


def test_delete_removes_the_row_and_its_files(admin_client, company, settings, django_capture_on_commit_callbacks):
    media = f.media(company, name="one.png")
    keep = f.media(company, name="two.pdf", content=f.pdf())
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("media:delete", args=[media.pk]), follow=True)
    assert [str(m) for m in response.context["messages"]] == ["“one.png” deleted."]
    assert cells(response, "name") == ["two.pdf"]
    assert stored_files(settings) == [keep.file.name]
    assert admin_client.get(reverse("media:delete", args=[media.pk])).status_code == 405


def test_another_companys_media_is_404(admin_client, company, other_company, settings):
    theirs = f.media(other_company, name="their secret.png")
    mine = f.media(company, name="mine.png")
    response = admin_client.get(LIST)
    assert cells(response, "name") == ["mine.png"]
    assert "their secret" not in response.content.decode()
    assert admin_client.get(reverse("media:detail", args=[theirs.pk])).status_code == 404
    assert admin_client.get(reverse("media:download", args=[theirs.pk])).status_code == 404
    assert admin_client.post(reverse("media:delete", args=[theirs.pk])).status_code == 404
    assert Media.objects.filter(pk=theirs.pk).exists()
    assert (settings.MEDIA_ROOT / theirs.file.name).exists()
    assert admin_client.get(reverse("media:detail", args=[mine.pk])).status_code == 200


@pytest.mark.parametrize("codes", [("view_dashboard",), ("manage_broadcasts", "manage_content_templates")])
def test_pages_need_manage_media(client, company, codes):
    media = f.media(company, name="one.png")
    client = client_with(client, company, *codes)
    for path in (LIST, reverse("media:detail", args=[media.pk]), reverse("media:download", args=[media.pk])):
        assert client.get(path).status_code == 403, path
    assert client.post(ADD, {"files": [f.upload("two.png", f.png())]}).status_code == 403
    assert client.post(reverse("media:delete", args=[media.pk])).status_code == 403
    assert list(Media.objects.values_list("name", flat=True)) == ["one.png"]


def test_signed_out_goes_to_login(client, company):
    response = client.get(LIST)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_manage_media_alone_is_enough(client, company):
    client = client_with(client, company, "manage_media")
    assert client.get(LIST).status_code == 200
    response = client.post(ADD, {"files": [f.upload("two.png", f.png())]}, follow=True)
    assert cells(response, "name") == ["two.png"]


@pytest.mark.parametrize("view", ["table", "cards"])
def test_list_query_count_does_not_grow_with_rows(admin_client, company, django_assert_max_num_queries, view):
    admin_client.get(LIST, {"view": view})  # the view preference is saved on the first visit
    for i in range(3):
        f.media(company, name=f"small {i}.png", content=f.png((10, 10)))
    with django_assert_max_num_queries(8) as few:
        admin_client.get(LIST)
    for i in range(30):
        f.media(company, name=f"more {i}.pdf", content=f.pdf())
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(LIST)
    assert response.context["view"] == view


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_in_the_company_time_zone(admin_client, company, fmt):
    company.time_zone = "America/New_York"
    company.save()
    media = f.media(company, name="one.png")
    at(media, datetime.datetime(2024, 7, 1, 3, 0, 0, tzinfo=datetime.UTC))
    response = admin_client.get(LIST, {"export": fmt})
    if fmt == "csv":
        lines = b"".join(response.streaming_content).decode("utf-8-sig").strip().splitlines()
        rows = [line.split(",") for line in lines]
    else:
        import io

        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
        rows = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["Preview", "Filename", "Media type", "Format", "Size", "Weight", "Date of upload"]
    assert rows[1] == [f"http://testserver/media/{media.thumbnail.name}", "one.png", "Image", "PNG", "314 x 400 px",
                       media.weight, "30.06.2024 / 23:00:00"]


def test_assets_tabs_follow_the_permissions(admin_client, client, company):
    page = admin_client.get(LIST).content.decode()
    tabs = re.findall(r'<a href="([^"]+)" data-nav="([a-z_]+)"( class="is-active")?', page)
    assert [(href, key, bool(active)) for href, key, active in tabs] == [
        ("/assets/sender-ids/", "sender_ids", False), ("/assets/media/", "media", True),
        ("/assets/content-templates/", "content_templates", False)]
    alone = client_with(client, company, "manage_media").get(LIST).content.decode()
    assert 'data-nav="' not in alone  # one page only: no tab bar
