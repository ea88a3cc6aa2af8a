"""Browser test of the Sender IDs main path (spec P§11.2): open the list, request an RCS
sender ID filling the bot form (the live counter and the profile preview follow the typing),
send the application, see it listed as Submitted, cancel the request, delete it."""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from messaging.models import SenderId, SenderIdStatus

pytestmark = pytest.mark.browser


def _png(width, height) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (26, 115, 232)).save(buffer, "PNG")
    return buffer.getvalue()


def _rows(page):
    return page.locator("table.dt tbody tr[data-id]")


def test_rcs_sender_id_main_path(logged_in_page, admin_user, company):
    page = logged_in_page(admin_user)
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() of cancel and delete
    page.goto("/assets/sender-ids/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sender IDs")
    expect(page.get_by_test_id("rows-info")).to_have_text("Rows 0-0 of 0")

    # "+" → RCS
    page.get_by_role("button", name="New sender ID").click()
    panel = page.locator("[data-panel=new-sender-id]")
    expect(panel.get_by_role("link", name="SMS", exact=True)).to_be_visible()
    panel.get_by_role("link", name="RCS", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New RCS sender ID")
    preview = page.get_by_test_id("rcs-preview")

    # the name: live counter and preview
    name = page.get_by_label("Sender ID Name")
    expect(page.locator("[data-counter-for=id_name]")).to_have_text("0 / 40")
    name.fill("Cake Bot")
    expect(page.locator("[data-counter-for=id_name]")).to_have_text("8 / 40")
    expect(preview.locator("[data-preview-name]")).to_have_text("Cake Bot")
    page.get_by_label("Description").fill("Fresh cakes every day")
    expect(page.locator("[data-counter-for=id_description]")).to_have_text("21 / 100")
    expect(preview.locator("[data-preview-description]")).to_have_text("Fresh cakes every day")

    # phone numbers: two at most, each with a button text
    page.get_by_label("Phone number 1", exact=True).fill("+34 612 34 56 78")
    page.get_by_label("Button text of Phone number 1").fill("Call us")
    expect(preview.locator("[data-preview-actions] span")).to_have_text(["Call us"])
    add_phone = page.get_by_role("button", name="Add extra phone number")
    add_phone.click()
    expect(add_phone).to_be_hidden()  # the limit is two
    page.get_by_label("Phone number 2", exact=True).fill("+34 911 23 45 67")
    expect(preview.locator("[data-preview-actions] span")).to_have_text(["Call us", "Call"])
    page.get_by_label("Website 1", exact=True).fill("https://cakes.example.com")
    page.get_by_label("Button text of Website 1").fill("Order online")
    expect(page.locator("[data-entries=websites] .counter")).to_have_text("12 / 25")
    expect(preview.locator("[data-preview-actions] span")).to_have_text(["Call us", "Call", "Order online"])
    page.get_by_label("E-mail 1", exact=True).fill("hello@cakes.example.com")

    # color and logo
    page.get_by_label("Color").fill("#1a73e8")
    expect(preview.locator("[data-preview]")).to_have_attribute("style", re.compile(r"--bot-color:\s*#1a73e8"))
    page.get_by_label("Logo").set_input_files({"name": "logo.png", "mimeType": "image/png",
                                              "buffer": _png(240, 240)})
    expect(preview.locator("[data-preview-logo] img")).to_be_visible()
    page.get_by_label("Privacy policy URL").fill("https://cakes.example.com/privacy")
    expect(page.get_by_label("Webhook URL")).to_be_disabled()  # only once approved

    # send the application → listed as Submitted
    page.get_by_role("button", name="Send application").click()
    expect(page).to_have_url(re.compile(r"/assets/sender-ids/$"))
    expect(page.get_by_role("status")).to_have_text("Application for sender ID “Cake Bot” sent.")
    row = _rows(page).filter(has_text="Cake Bot")
    expect(row.locator("td[data-column=channel]")).to_have_text("RCS")
    expect(row.locator("td[data-column=status]")).to_have_text("Submitted")
    sender = SenderId.objects.get(name="Cake Bot")
    assert sender.status == SenderIdStatus.SUBMITTED
    assert [p["value"] for p in sender.registration["phones"]] == ["+34612345678", "+34911234567"]
    assert sender.registration["color"] == "#1a73e8" and sender.logo.name.endswith(".png")

    # the record → cancel the request → delete it
    row.get_by_role("link", name="Cake Bot", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sender ID Cake Bot")
    expect(page.locator("[data-field=phones]")).to_contain_text("+34612345678")
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    page.get_by_role("button", name="Cancel request").click()
    expect(page.get_by_role("status")).to_have_text("Request for sender ID “Cake Bot” canceled.")
    expect(page.locator("[data-field=status]")).to_have_text("Canceled")
    expect(page.get_by_role("button", name="Cancel request")).to_have_count(0)
    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/assets/sender-ids/$"))
    expect(page.get_by_role("status")).to_have_text("Sender ID “Cake Bot” deleted.")
    expect(_rows(page)).to_have_count(0)
    assert not SenderId.objects.exists()
