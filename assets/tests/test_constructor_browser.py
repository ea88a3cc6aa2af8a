"""Browser tests of the message constructor itself (spec P§5): the SMS counter ported to
JavaScript agrees with ``messaging.encoding``; an editor inserted later by htmx works, with
*Load template* and *Save as template*; images picked from Media or uploaded; the Viber,
WhatsApp and TTS fields and previews."""

import json

import pytest
from playwright.sync_api import expect

from assets.models import ContentTemplate, Media
from assets.tests import factories as f
from messaging.encoding import analyze

pytestmark = pytest.mark.browser

NEW = "/assets/content-templates/new/"
SAMPLES = ["", "Hello", "Price: 5€", "{curly} [square] ~tilde~ |pipe| ^caret\\", "a" * 160, "a" * 161,
           "€" * 80, "€" * 81, "a" * 159 + "€", "Привет, мир", "ж" * 70, "ж" * 71, "Hi 😀", "😀" * 35, "😀" * 36,
           "a" * 69 + "😀", "ÄÖÑÜ§¿äöñüà èéùìò", "line\nbreak\r", "¥£$@_Δ", "Ç and ç"]


@pytest.fixture
def served_media(settings):
    """``/media/`` serves this test's MEDIA_ROOT (the view reads the setting per request)."""
    return settings.MEDIA_ROOT


def test_the_sms_counter_agrees_with_the_server(logged_in_page, admin_user):
    page = logged_in_page(admin_user)
    page.goto(NEW)
    results = page.evaluate("(samples) => samples.map((s) => window.HeraldConstructor.analyze(s))", SAMPLES)
    for text, got in zip(SAMPLES, results, strict=True):
        want = analyze(text).as_dict()
        assert got == want, (text, got, want)
    # and what a user types shows the same label
    box, counter = page.get_by_label("Message text"), page.get_by_test_id("sms-counter")
    for text in ("Price: 5€ {{attribute.name}}", "Hi 😀", "€" * 81, "Привет"):
        box.fill(text)
        expect(counter).to_have_text(analyze(text).label)
    box.fill("a" * 1531)
    expect(counter).to_have_text("7-bit extended (160) 1531 characters / 11 SMS")
    expect(counter).to_have_class("ctor-sms-counter is-over")  # past the 10 SMS the server accepts


def test_an_editor_inserted_by_htmx_loads_and_saves_templates(logged_in_page, admin_user, company):
    f.content_template(company, name="Reminder", content={"text": "See you {{attribute.name}}"})
    f.content_template(company, name="A Viber one", channel=3, content={"text": "Viber"})
    page = logged_in_page(admin_user)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(NEW)  # a page that has the constructor's assets
    page.evaluate("""() => { const slot = document.createElement('div'); slot.id = 'step-slot';
        document.querySelector('[data-testid=content-template-form]').after(slot);
        htmx.ajax('GET', '/assets/content-templates/constructor/?channel=1&name=steps-0-content',
                  {target: '#step-slot', swap: 'innerHTML'}); }""")
    step = page.locator("#step-slot [data-testid=constructor]")
    expect(step).to_be_visible()
    box = step.get_by_label("Message text")
    box.fill("Hello")
    expect(step.get_by_test_id("sms-counter")).to_have_text("7-bit extended (160) 5 characters / 1 SMS")
    hidden = step.locator("input[name=steps-0-content]")
    expect(hidden).to_have_value('{"text":"Hello"}')

    # Load template: only this channel's templates; filling the editor
    load = step.get_by_label("Load template")
    load.click()
    expect(load.locator("option")).to_have_text(["Load template…", "Reminder"])
    load.select_option("Reminder")
    expect(box).to_have_value("See you {{attribute.name}}")
    assert json.loads(hidden.input_value()) == {"text": "See you {{attribute.name}}"}

    # Save as template: refused with the field message, then saved
    box.fill("")
    step.get_by_role("button", name="Save as template").click()
    panel = step.locator("[data-panel=save-as-template]")
    panel.get_by_label("Template name").fill("From a step")
    panel.get_by_role("button", name="Save", exact=True).click()
    expect(step.locator(".ctor-field .ctor-error:visible")).to_have_text(["This channel needs a text."])
    expect(panel.locator(".ctor-error")).to_have_text(
        "The template was not saved: see the messages next to the fields.")
    assert not ContentTemplate.objects.filter(name="From a step").exists()
    box.fill("Saved from a step")
    panel.get_by_role("button", name="Save", exact=True).click()
    expect(step.get_by_role("status")).to_have_text("Saved as template “From a step”.")
    saved = ContentTemplate.objects.get(name="From a step")
    assert (saved.company, saved.channel, saved.content) == (company, 1, {"text": "Saved from a step"})
    load.click()
    expect(load.locator("option")).to_have_text(["Load template…", "From a step", "Reminder"])  # read again
    assert errors == []


def test_media_pick_and_upload_fill_the_image(logged_in_page, admin_user, company, served_media, base_url):
    picture = f.media(company, name="cake.png", content=f.png((200, 120)), user=admin_user)
    page = logged_in_page(admin_user)
    page.goto(NEW + "?channel=8")  # Push: a picture, a header, a text
    page.get_by_label("Header").fill("Spring sale")
    page.get_by_role("button", name="Media…").click()
    picker = page.locator("[data-panel=media-picker]")
    expect(picker.locator("[data-media]")).to_have_count(1)
    picker.locator(f"[data-media='{picture.pk}']").click()
    expect(picker).to_be_hidden()
    url = f"{base_url}{picture.file.url}"
    expect(page.get_by_label("Picture")).to_have_value(url)
    preview = page.get_by_test_id("preview-push")
    expect(preview.locator("img")).to_have_attribute("src", url)
    expect(preview.locator(".pv-card-title")).to_have_text("Spring sale")

    # upload from the device: saved in Media and used at once
    page.get_by_role("button", name="Media…").click()
    page.locator("[data-panel=media-picker] input[type=file]").set_input_files(
        {"name": "banner.jpg", "mimeType": "image/jpeg", "buffer": f.jpg((320, 200))})
    expect(page.locator("[data-panel=media-picker]")).to_be_hidden()
    uploaded = Media.objects.get(company=company, name="banner.jpg")
    expect(page.get_by_label("Picture")).to_have_value(f"{base_url}{uploaded.file.url}")
    page.locator("input[name=name]").fill("Push with picture")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Content template “Push with picture” created.")
    assert ContentTemplate.objects.get(name="Push with picture").content == {
        "title": "Spring sale", "image": {"url": f"{base_url}{uploaded.file.url}"}}


def test_viber_whatsapp_and_tts_fields_and_previews(logged_in_page, admin_user, company):
    page = logged_in_page(admin_user)
    page.goto(NEW + "?channel=3")
    page.locator("input[name=name]").fill("Viber promo")
    page.get_by_label("Message type").select_option("Text + Media + Button")
    page.get_by_label("Message text").fill("Fresh cakes")
    page.get_by_label("Image").fill("https://cdn.example.com/cake.png")
    page.get_by_label("Button text").fill("x" * 31)
    expect(page.locator(".ctor-counter.is-over")).to_have_text("31 / 30")
    page.get_by_label("Button text").fill("Order")
    page.get_by_label("Button URL").fill("https://shop.example.com")
    preview = page.get_by_test_id("preview-viber")
    expect(preview.locator(".pv-button")).to_have_text("Order")
    expect(preview.locator("img")).to_have_attribute("src", "https://cdn.example.com/cake.png")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Content template “Viber promo” created.")
    assert ContentTemplate.objects.get(name="Viber promo").content == {
        "type": "text_media_button", "text": "Fresh cakes", "image": {"url": "https://cdn.example.com/cake.png"},
        "button": {"text": "Order", "url": "https://shop.example.com"}}

    page.goto(NEW + "?channel=4")  # WhatsApp starts as a template
    page.locator("input[name=name]").fill("Order ready")
    expect(page.get_by_label("Message type")).to_have_value("template")
    page.get_by_label("Template name").fill("order_ready")
    page.get_by_label("Language").fill("en_US")
    page.get_by_role("button", name="Add parameter").click()
    page.get_by_role("button", name="Add parameter").click()
    param = page.get_by_label("Parameter {{1}}")
    param.click()
    page.get_by_role("button", name="(x) Personalization").click()
    page.locator("[data-panel=personalize]").get_by_label("Search attributes").fill("sur")
    page.locator("[data-panel=personalize] [data-attribute=surname]").click()
    expect(param).to_have_value("{{attribute.surname}}")
    page.get_by_label("Parameter {{2}}").fill("42")
    expect(page.get_by_test_id("preview-whatsapp")).to_contain_text("order_ready")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Content template “Order ready” created.")
    assert ContentTemplate.objects.get(name="Order ready").content == {
        "type": "template", "template": {"name": "order_ready", "language": "en_US",
                                         "params": ["{{attribute.surname}}", "42"]}}

    page.goto(NEW + "?channel=9")
    page.locator("input[name=name]").fill("Call")
    page.get_by_label("Language").select_option("Spanish")
    page.get_by_label("Repetitions").select_option("Twice")
    page.get_by_label("Message text").fill("Su código es 1 2 3")
    expect(page.get_by_test_id("preview-tts")).to_contain_text("Spanish · Twice")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Content template “Call” created.")
    assert ContentTemplate.objects.get(name="Call").content == {"text": "Su código es 1 2 3", "language": "es",
                                                                "repetitions": 2}
