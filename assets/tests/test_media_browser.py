"""Browser test of the Media main path (spec P§11.1): *+ Add Media* with one file dropped
and one chosen with *Select a file*, both listed with their preview, size and weight; the
larger view of the image; copy a file's link; the card view, remembered; delete a file."""

import re

import pytest
from playwright.sync_api import expect

from assets.models import Media
from assets.tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture
def served_media(settings):
    """``/media/`` serves this test's MEDIA_ROOT (the view reads the setting per request)."""
    return settings.MEDIA_ROOT


def _rows(page):
    return page.locator("table.dt tbody tr[data-id]")


def test_media_main_path(logged_in_page, admin_user, company, served_media, base_url):
    page = logged_in_page(admin_user)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() of delete
    page.goto("/assets/media/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Media")
    expect(page.get_by_test_id("rows-info")).to_have_text("Rows 0-0 of 0")

    # + Add Media: drop a PDF on the zone, pick a PNG with "Select a file"
    page.get_by_role("button", name="Add Media").click()
    dialog = page.get_by_role("dialog", name="Add Media")
    expect(dialog).to_be_visible()
    save = dialog.get_by_role("button", name="Save changes")
    expect(save).to_be_disabled()
    transfer = page.evaluate_handle(
        "(bytes) => { const dt = new DataTransfer();"
        " dt.items.add(new File([new Uint8Array(bytes)], 'terms.pdf', {type: 'application/pdf'})); return dt; }",
        list(f.pdf()))
    dialog.locator("[data-dropzone]").dispatch_event("drop", {"dataTransfer": transfer})
    with page.expect_file_chooser() as chooser:
        dialog.get_by_role("button", name="Select a file").click()
    chooser.value.set_files({"name": "Summer sale.png", "mimeType": "image/png", "buffer": f.png((314, 400))})
    expect(dialog.locator("[data-picked] li")).to_have_count(2)
    expect(dialog.locator("[data-picked] .media-picked-name")).to_have_text(["terms.pdf", "Summer sale.png"])
    save.click()

    expect(page).to_have_url(re.compile(r"/assets/media/$"))
    expect(page.get_by_role("status")).to_have_text("2 files uploaded.")
    expect(_rows(page)).to_have_count(2)
    picture_row = _rows(page).filter(has_text="Summer sale.png")
    expect(picture_row.locator("td[data-column=media_type]")).to_have_text("Image")
    expect(picture_row.locator("td[data-column=format]")).to_have_text("PNG")
    expect(picture_row.locator("td[data-column=dimensions]")).to_have_text("314 x 400 px")
    expect(picture_row.locator("td[data-column=weight]")).to_have_text(re.compile(r"^\d+\.\d\d KB$"))
    expect(picture_row.locator("td[data-column=created_at]")).to_have_text(
        re.compile(r"^\d\d\.\d\d\.\d{4} / \d\d:\d\d:\d\d$"))
    thumbnail = picture_row.locator("td[data-column=preview] img")
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("img => img.naturalWidth") > 0  # the thumbnail is served

    # click the image: the larger view
    picture_row.get_by_role("button", name="Larger view of Summer sale.png").click()
    lightbox = page.get_by_role("dialog", name="Larger view")
    expect(lightbox).to_be_visible()
    expect(lightbox.locator("figcaption")).to_have_text("Summer sale.png")
    page.wait_for_function("() => document.querySelector('[data-lightbox-image]').naturalWidth === 314")
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()

    # copy link: the absolute public URL of the file
    pdf = Media.objects.get(name="terms.pdf")
    pdf_row = _rows(page).filter(has_text="terms.pdf")
    pdf_row.hover()
    pdf_row.get_by_role("button", name="Copy link terms.pdf").click()
    expect(page.get_by_test_id("copy-feedback")).to_have_text("Link copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == f"{base_url}/media/{pdf.file.name}"

    # the card view, remembered on the next visit
    page.get_by_role("link", name="Cards").click()
    cards = page.locator("[data-card]")
    expect(cards).to_have_count(2)
    expect(page.locator("table.dt thead")).to_be_hidden()
    page.goto("/assets/media/")
    expect(cards).to_have_count(2)
    card = cards.filter(has_text="terms.pdf")
    expect(card).to_contain_text("Document · PDF")

    # delete one (confirmed): gone from the page, its file gone from the storage
    pdf_file = served_media / pdf.file.name
    assert pdf_file.exists()
    card.get_by_role("button", name="Delete terms.pdf").click()
    expect(page.get_by_role("status")).to_have_text("“terms.pdf” deleted.")
    expect(cards).to_have_count(1)
    expect(cards).to_contain_text("Summer sale.png")
    assert not pdf_file.exists()
    assert list(Media.objects.values_list("name", flat=True)) == ["Summer sale.png"]
