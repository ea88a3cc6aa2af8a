"""Browser test of the Content templates main path (spec P§11.3 with the constructor of P§5):
a new SMS template with the attribute picker and the live counter, an RCS rich card with a
suggestion and its preview (refused first for a bad URL, shown next to the field), an e-mail
of two blocks with its preview; all listed; one edited, one deleted."""

import json
import re

import pytest
from playwright.sync_api import expect

from assets.models import ContentTemplate
from messaging.content import render_email_html
from messaging.encoding import analyze

pytestmark = pytest.mark.browser

LIST = "/assets/content-templates/"


def _rows(page):
    return page.locator("table.dt tbody tr[data-id]")


def _editor(page):
    return page.get_by_test_id("constructor")


def _hidden_content(page) -> dict:
    return json.loads(page.locator("input[name=content]").input_value())


def test_content_templates_main_path(logged_in_page, admin_user, company):
    page = logged_in_page(admin_user)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() of delete
    page.goto(LIST)
    expect(page.get_by_role("heading", level=1)).to_have_text("Content templates")
    expect(page.get_by_test_id("rows-info")).to_have_text("Rows 0-0 of 0")

    # --- SMS: the attribute picker and the live counter ---------------------------------------
    page.get_by_role("link", name="New Template").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New template")
    page.get_by_label("Name").fill("Welcome SMS")
    expect(page.locator("[data-counter=name]")).to_have_text("11 / 100")
    text = page.get_by_label("Message text")
    counter = page.get_by_test_id("sms-counter")
    expect(counter).to_have_text("7-bit extended (160) 0 characters / 0 SMS")
    text.fill("Hi ")
    text.press("End")
    page.get_by_role("button", name="(x) Personalization").click()
    page.locator("[data-panel=personalize] [data-attribute=name]").click()
    expect(text).to_have_value("Hi {{attribute.name}}")
    text.press("End")
    text.press_sequentially(", cakes -20% today only for 5€!")
    value = "Hi {{attribute.name}}, cakes -20% today only for 5€!"
    expect(text).to_have_value(value)
    # the counter agrees with the server's (the euro sign and the braces take two septets each)
    expect(counter).to_have_text(analyze(value).label)
    assert analyze(value).label == "7-bit extended (160) 57 characters / 1 SMS"
    expect(_editor(page).locator(".pv-bubble")).to_have_text(value)  # the preview
    text.press_sequentially(" 😀")
    expect(counter).to_have_text(analyze(value + " 😀").label)
    assert analyze(value + " 😀").label.startswith("UCS-2 (70)")
    text.fill(value)
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(re.compile(r"/assets/content-templates/$"))
    expect(page.get_by_role("status")).to_have_text("Content template “Welcome SMS” created.")
    assert ContentTemplate.objects.get(name="Welcome SMS").content == {"text": value}

    # --- RCS: a rich card with a suggestion, and its preview -----------------------------------
    page.get_by_role("link", name="New Template").click()
    page.get_by_label("Name").fill("Spring card")
    page.get_by_label("Channel").select_option("RCS")
    expect(_editor(page)).to_have_attribute("data-constructor", "rcs")  # swapped in by htmx
    page.get_by_label("Format").select_option("Rich Card")
    page.get_by_label("Image", exact=True).fill("https://cdn.example.com/cake.png")
    page.get_by_label("Title").fill("Spring sale")
    expect(_editor(page).locator(".ctor-card .ctor-counter").first).to_have_text("11 / 200")
    page.get_by_label("Message text").fill("All cakes -20% for {{attribute.name}}")
    cards = _editor(page).get_by_test_id("card-suggestions")
    cards.get_by_role("button", name="Add suggestion").click()
    cards.get_by_label("Suggestion 1 type").select_option("Action")
    cards.get_by_label("Suggestion 1 action").select_option("URL action")
    cards.get_by_label("CTA text").fill("Order now")
    cards.get_by_label("URL", exact=True).fill("shop.example.com")  # refused by the server below
    chips = _editor(page).get_by_test_id("chips")
    chips.get_by_role("button", name="Add chip").click()
    chips.get_by_label("CTA text").fill("Call me")
    preview = _editor(page).get_by_test_id("constructor-preview")
    card = preview.get_by_test_id("preview-card")
    expect(card.locator(".pv-card-title")).to_have_text("Spring sale")
    expect(card.locator(".pv-card-text")).to_have_text("All cakes -20% for {{attribute.name}}")
    expect(card.locator(".pv-card-action")).to_have_text("🔗 Order now")
    expect(card.locator("img")).to_have_attribute("src", "https://cdn.example.com/cake.png")
    expect(preview.locator(".pv-chip")).to_have_text(["Call me"])
    page.get_by_role("button", name="Save changes").click()
    # refused: the message next to the field, what was typed kept, nothing saved
    expect(page.get_by_test_id("constructor-errors")).to_be_visible()
    cards = _editor(page).get_by_test_id("card-suggestions")
    expect(cards.locator(".ctor-error:visible")).to_have_text(["Give a URL that starts with http:// or https://."])
    assert not ContentTemplate.objects.filter(name="Spring card").exists()
    expect(page.get_by_label("Name")).to_have_value("Spring card")
    expect(page.get_by_label("Title")).to_have_value("Spring sale")
    url = cards.get_by_label("URL", exact=True)
    url.fill("https://shop.example.com")
    expect(cards.locator(".ctor-error:visible")).to_have_count(0)  # cleared as the field is edited
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Content template “Spring card” created.")
    assert ContentTemplate.objects.get(name="Spring card").content == {
        "type": "card",
        "card": {"title": "Spring sale", "text": "All cakes -20% for {{attribute.name}}",
                 "image": {"url": "https://cdn.example.com/cake.png"}, "layout": "vertical", "height": "medium",
                 "suggestions": [{"kind": "action", "text": "Order now", "action": "url",
                                  "url": "https://shop.example.com"}]},
        "suggestions": [{"kind": "reply", "text": "Call me"}]}

    # --- Email: two blocks and the preview -------------------------------------------------------
    page.get_by_role("link", name="New Template").click()
    page.get_by_label("Name").fill("Newsletter")
    page.get_by_label("Channel").select_option("Email")
    expect(_editor(page)).to_have_attribute("data-constructor", "email")
    page.get_by_label("Subject").fill("Spring sale")
    page.get_by_label("Subtitle").fill("Cakes -20%")
    page.get_by_role("button", name="+ Button").click()
    page.get_by_role("button", name="+ Text").click()
    blocks = page.get_by_test_id("email-blocks")
    blocks.get_by_label("Text", exact=True).fill("Hello {{attribute.name}},\n\nour cakes <b>are</b> -20%.")
    blocks.get_by_label("Button text").fill("Order")
    blocks.get_by_label("Button URL").fill("https://shop.example.com")
    blocks.get_by_role("button", name="Move up Block 2").click()  # the text first, the button after
    expect(blocks.locator(".ctor-block")).to_have_count(2)
    expect(blocks.locator(".ctor-block").first).to_have_attribute("data-block", "text")
    frame = page.frame_locator("[data-testid=preview-email-frame]")
    expect(frame.locator("p").first).to_have_text("Hello {{attribute.name}},")
    expect(frame.locator("p").nth(1)).to_have_text("our cakes <b>are</b> -20%.")  # escaped, as sent
    expect(frame.get_by_role("link", name="Order")).to_have_attribute("href", "https://shop.example.com")
    expect(page.get_by_test_id("preview-email-subject")).to_have_text("Spring sale")
    payload = _hidden_content(page)
    srcdoc = page.get_by_test_id("preview-email-frame").get_attribute("srcdoc")
    # the preview is exactly the HTML the server makes from the same blocks
    assert srcdoc == render_email_html(payload["blocks"], subtitle="Cakes -20%")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Content template “Newsletter” created.")
    saved = ContentTemplate.objects.get(name="Newsletter").content
    assert [b["type"] for b in saved["blocks"]] == ["text", "button"]
    assert saved["html"] == srcdoc and saved["subject"] == "Spring sale"

    # --- the table, edit one, delete one ---------------------------------------------------------
    expect(_rows(page)).to_have_count(3)
    expect(page.locator("td[data-column=name]")).to_have_text(["Newsletter", "Spring card", "Welcome SMS"])
    expect(page.locator("td[data-column=channel]")).to_have_text(["Email", "RCS", "SMS"])
    expect(page.locator("td[data-column=updated_at]").first).to_have_text(
        re.compile(r"^\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d$"))
    _rows(page).filter(has_text="Welcome SMS").get_by_role("link", name="Edit Welcome SMS").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit template Welcome SMS")
    expect(page.get_by_label("Message text")).to_have_value(value)
    page.get_by_label("Message text").fill("Hi {{attribute.name}}, see you soon")
    expect(page.get_by_test_id("sms-counter")).to_have_text("7-bit extended (160) 39 characters / 1 SMS")  # 35 + 4 braces
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Content template “Welcome SMS” saved.")
    assert ContentTemplate.objects.get(name="Welcome SMS").content == {"text": "Hi {{attribute.name}}, see you soon"}
    _rows(page).filter(has_text="Spring card").get_by_role("button", name="Delete Spring card").click()
    expect(page.get_by_role("status")).to_have_text("Content template “Spring card” deleted.")
    expect(_rows(page)).to_have_count(2)
    assert not ContentTemplate.objects.filter(name="Spring card").exists()
    assert errors == []
