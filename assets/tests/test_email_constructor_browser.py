"""Browser tests of the e-mail constructor (spec P§5.5): blocks moved by drag and drop (also
into a column, and in the Layers view), two columns and social links, the preview for
regular / wide / smartphone screens (the columns stack on the phone), the template saved
with the HTML the server makes; the JavaScript port of ``render_email_html`` gives the same
HTML as the server on fixtures; errors inside columns and a wrapper are shown next to their
fields."""

import json

import pytest
from playwright.sync_api import expect

from assets.models import ContentTemplate
from messaging.content import render_email_html, render_email_text

pytestmark = pytest.mark.browser

NEW = "/assets/content-templates/new/?channel=6"


def _content(page) -> dict:
    return json.loads(page.locator("input[name=content]").input_value())


def _top_blocks(page):
    return page.locator("[data-testid=email-blocks] > .ctor-block")


def _drag(page, source, target, *, where="top"):
    """Drag ``source`` (a handle or an *Add block* button) with the mouse onto the upper or
    lower part of ``target`` (a block, a column), in steps as a hand does (the browser starts
    a drag on the first move, drops where the last one ended)."""
    source.scroll_into_view_if_needed()
    start = source.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 8, start["y"] + start["height"] / 2 + 8, steps=3)
    box = target.bounding_box()
    y = box["y"] + (6 if where == "top" else box["height"] - 6)
    page.mouse.move(box["x"] + box["width"] / 2, y, steps=6)
    page.mouse.move(box["x"] + box["width"] / 2 + 2, y, steps=2)
    page.mouse.up()


def test_an_email_with_columns_and_social_links_built_by_drag_and_drop(logged_in_page, admin_user, company):
    page = logged_in_page(admin_user)
    page.set_viewport_size({"width": 1366, "height": 1700})  # the whole editor in view: nothing scrolls while dragging
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(NEW)
    page.locator("input[name=name]").fill("Spring newsletter")
    page.get_by_label("Subject").fill("Spring sale")
    page.get_by_label("Subtitle").fill("Cakes -20%")
    blocks = page.get_by_test_id("email-blocks")

    # a text, two columns (an image | a button), social links
    page.get_by_role("button", name="+ Text").click()
    blocks.get_by_label("Text", exact=True).fill("Hello {{attribute.name}},\n\nour <b>cakes</b> are -20%.")
    page.get_by_role("button", name="+ 2 columns").click()
    page.get_by_label("Add to column 1 of block 2").select_option("Image")
    page.get_by_label("Add to column 2 of block 2").select_option("Button")
    columns = blocks.locator("[data-block=columns] .ctor-column")
    columns.nth(0).get_by_label("Image URL").fill("https://cdn.example.com/cake.png")
    columns.nth(0).get_by_label("Alternative text").fill("A cake")
    columns.nth(1).get_by_label("Button text").fill("Order")
    columns.nth(1).get_by_label("Button URL").fill("https://shop.example.com/?c={{attribute.name}}")
    page.get_by_role("button", name="+ Social").click()
    social = blocks.locator("[data-block=social]")
    social.get_by_label("Block 3 link 1 URL").fill("https://facebook.com/cakes")
    social.get_by_role("button", name="+ Add link").click()
    social.get_by_label("Block 3 link 2 network").select_option("Website")
    social.get_by_label("Block 3 link 2 URL").fill("https://www.cakes.example.com/shop")
    expect(page.get_by_test_id("email-block-count")).to_have_text("5 / 100")  # the blocks in columns count

    # drag and drop: the social links to the top, then the text into the second column, under the button
    _drag(page, social.locator("[data-action=block-drag]").first, _top_blocks(page).first, where="top")
    expect(_top_blocks(page)).to_have_count(3)
    expect(_top_blocks(page).nth(0)).to_have_attribute("data-block", "social")
    expect(_top_blocks(page).nth(1)).to_have_attribute("data-block", "text")
    text_handle = _top_blocks(page).nth(1).locator("[data-action=block-drag]").first
    button = columns.nth(1).locator(".ctor-child").first
    _drag(page, text_handle, button, where="bottom")
    expect(_top_blocks(page)).to_have_count(2)
    expect(columns.nth(1).locator(".ctor-child")).to_have_count(2)
    expect(columns.nth(1).locator(".ctor-child").nth(1)).to_have_attribute("data-block", "text")
    # the keyboard way still works: the text back above the button
    columns.nth(1).get_by_role("button", name="Move up Block 2.2.2").click()
    expect(columns.nth(1).locator(".ctor-child").nth(0)).to_have_attribute("data-block", "text")

    payload = _content(page)
    assert payload["blocks"] == [
        {"type": "social", "align": "center",
         "links": [{"network": "facebook", "url": "https://facebook.com/cakes"},
                   {"network": "website", "url": "https://www.cakes.example.com/shop"}]},
        {"type": "columns", "columns": [
            [{"type": "image", "url": "https://cdn.example.com/cake.png", "alt": "A cake"}],
            [{"type": "text", "text": "Hello {{attribute.name}},\n\nour <b>cakes</b> are -20%.", "style": "paragraph",
              "align": "left"},
             {"type": "button", "text": "Order", "url": "https://shop.example.com/?c={{attribute.name}}",
              "color": "#4f46e5", "align": "center"}]]}]

    # the Layers view: the outline, where blocks can be dragged too; a click shows a block's properties
    page.get_by_role("button", name="Layers").click()
    layers = page.get_by_test_id("email-layers")
    expect(blocks).to_be_hidden()
    expect(layers.locator(".ctor-layer-name")).to_have_text(
        ["1. Social", "2. Columns", "2.1.1 Image", "2.2.1 Text", "2.2.2 Button"])
    expect(layers.locator(".ctor-layer-summary")).to_have_text(
        ["Facebook, Website", "", "A cake", "Hello {{attribute.name}}, our <b>cakes</b> are …", "Order"])  # cut at 48
    _drag(page, layers.locator("> li").nth(1).locator("[data-action=block-drag]").first, layers.locator("> li").first)
    expect(layers.locator(".ctor-layer-name")).to_have_text(
        ["1. Columns", "1.1.1 Image", "1.2.1 Text", "1.2.2 Button", "2. Social"])
    layers.get_by_role("button", name="1.2.2 Button").click()
    expect(blocks).to_be_visible()
    expect(blocks.locator("[data-block-path='blocks[0].columns[1][1]']").get_by_label("Button text")).to_be_focused()
    blocks.get_by_role("button", name="Move down Block 1", exact=True).click()  # back as it was
    assert _content(page) == payload

    # the preview: regular screens show the columns side by side, a smartphone one under the other
    frame_el = page.get_by_test_id("preview-email-frame")
    frame = page.frame_locator("[data-testid=preview-email-frame]")
    expect(page.locator("[data-preview-size=regular]")).to_have_attribute("aria-pressed", "true")
    assert frame_el.evaluate("el => el.offsetWidth") == 600
    cells = frame.locator("td.h-col")
    expect(cells).to_have_count(2)
    first, second = cells.nth(0).bounding_box(), cells.nth(1).bounding_box()
    assert second["x"] > first["x"] + 10 and abs(second["y"] - first["y"]) < 2
    expect(frame.get_by_role("link", name="Facebook")).to_have_attribute("href", "https://facebook.com/cakes")
    expect(frame.get_by_role("link", name="www.cakes.example.com")).to_be_visible()
    expect(frame.locator("p").first).to_have_text("Hello {{attribute.name}},")
    expect(frame.locator("p").nth(1)).to_have_text("our <b>cakes</b> are -20%.")  # escaped, as sent
    page.get_by_role("button", name="Wide").click()
    assert frame_el.evaluate("el => el.offsetWidth") == 800
    page.get_by_role("button", name="Smartphone").click()
    expect(page.locator("[data-preview-size=phone]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".pv-email-width")).to_have_text("375 px")
    assert frame_el.evaluate("el => el.offsetWidth") == 375
    first, second = cells.nth(0).bounding_box(), cells.nth(1).bounding_box()
    assert second["y"] > first["y"] + first["height"] - 2 and abs(second["x"] - first["x"]) < 2  # stacked

    srcdoc = frame_el.get_attribute("srcdoc")
    assert srcdoc == render_email_html(payload["blocks"], subtitle="Cakes -20%")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Content template “Spring newsletter” created.")
    saved = ContentTemplate.objects.get(name="Spring newsletter", company=company).content
    assert saved["blocks"] == payload["blocks"] and saved["html"] == srcdoc
    assert saved["text"] == render_email_text(payload["blocks"]) == (
        "Facebook: https://facebook.com/cakes\nwww.cakes.example.com: https://www.cakes.example.com/shop\n\n"
        "[A cake]\n\nHello {{attribute.name}},\n\nour <b>cakes</b> are -20%.\n\n"
        "Order: https://shop.example.com/?c={{attribute.name}}")
    assert errors == []


# the same HTML from Python and from the page's JavaScript, on every block and the edge cases
PARITY_FIXTURES = [
    ([{"type": "text", "text": "Hi <b>{{attribute.name}}</b> & 'you'\r\nline two\n \nnext", "align": "center"},
      {"type": "text", "text": "A heading\nin two lines ", "style": "heading", "align": "bogus"},
      {"type": "image", "url": " https://cdn.example.com/a.png?x=1&y=\"2\" ", "alt": "<A>", "link": "javascript:x()",
       "width": 320},
      {"type": "button", "text": "Go <now>", "url": "https://x.example.com", "color": "#ABCDEF", "align": "right"},
      {"type": "button", "text": "Bad", "url": "ftp://x", "color": "red"},
      {"type": "divider"}, {"type": "spacer", "height": "300"}, {"type": "spacer", "height": True},
      {"type": "spacer"}, {"type": "video"}, "not a block", None], "Sub <title> & 'more'"),
    ([{"type": "social", "align": "left", "links": [
        {"network": "facebook", "url": "https://fb.example.com/x"},
        {"network": "x", "url": "https://x.com/herald", "label": "  Follow <us>  "},
        {"network": "website", "url": "HTTPS://www.shop.example.com:8080/a/b?c#d"},
        {"network": "website", "url": "https://{{attribute.site}}/promo"},
        {"network": "myspace", "url": "https://myspace.example.com"},
        {"network": "instagram", "url": "javascript:alert(1)"}, "junk",
        {"network": "linkedin", "url": "https://linkedin.example.com"}, {"network": "youtube", "url": "https://yt.example"},
        {"network": "tiktok", "url": "https://tt.example"}, {"network": "whatsapp", "url": "https://wa.me/1"},
        {"network": "telegram", "url": "https://t.me/herald"}]},
      {"type": "social", "links": [{"network": "myspace", "url": "https://x.example"}]},
      {"type": "social", "links": "nope"}], ""),
    ([{"type": "columns", "columns": [
        [{"type": "image", "url": "https://cdn.example.com/a.png"}, {"type": "text", "text": "Left"}],
        [{"type": "image", "url": "https://cdn.example.com/b.png", "width": 500}, {"type": "columns", "columns": []}],
        [{"type": "wrapper", "blocks": [{"type": "text", "text": "no"}]}, {"type": "button", "text": "B",
                                                                            "url": "https://b.example"}]]},
      {"type": "columns", "columns": [[{"type": "divider"}], []]},
      {"type": "columns", "columns": [[], []]},
      {"type": "columns", "columns": [[{"type": "text", "text": "1"}], "x", [{"type": "spacer", "height": 8}],
                                      [{"type": "text", "text": "dropped"}]]},
      {"type": "columns", "columns": "x"}], ""),
    ([{"type": "wrapper", "background": "#AbC", "padding": 0, "blocks": [
        {"type": "text", "text": "In a box"}, {"type": "image", "url": "https://cdn.example.com/w.png", "width": 200},
        {"type": "social", "links": [{"network": "telegram", "url": "https://t.me/x"}]},
        {"type": "wrapper", "blocks": [{"type": "text", "text": "nested: left out"}]}]},
      {"type": "wrapper", "background": "blue", "padding": "80", "blocks": [{"type": "divider"}]},
      {"type": "wrapper", "background": "#123456", "padding": "12", "blocks": []},
      {"type": "wrapper", "blocks": "x"}], "Wrapped"),
    ([], ""),
]


def test_the_javascript_email_html_is_the_servers(logged_in_page, admin_user):
    page = logged_in_page(admin_user)
    page.goto(NEW)
    got = page.evaluate("(fixtures) => fixtures.map(([blocks, subtitle]) => "
                        "window.HeraldConstructor.emailHtml(blocks, subtitle))", PARITY_FIXTURES)
    for (blocks, subtitle), html in zip(PARITY_FIXTURES, got, strict=True):
        assert html == render_email_html(blocks, subtitle=subtitle), blocks


def test_errors_inside_columns_and_wrappers_are_shown_by_their_fields(logged_in_page, admin_user, company):
    page = logged_in_page(admin_user)
    page.set_viewport_size({"width": 1366, "height": 1700})
    page.goto(NEW)
    page.locator("input[name=name]").fill("Boxed")
    page.get_by_label("Subject").fill("Hello")
    page.get_by_role("button", name="+ 3 columns").click()
    page.get_by_label("Add to column 3 of block 1").select_option("Button")
    column = page.locator("[data-block=columns] .ctor-column").nth(2)
    column.get_by_label("Button text").fill("Order")
    column.get_by_label("Button URL").fill("shop.example.com")
    page.get_by_role("button", name="+ Wrapper").click()
    wrapper = page.locator("[data-testid=email-blocks] > [data-block=wrapper]")
    wrapper.get_by_label("Block 2 padding").fill("99")
    # an e-mail may not be saved with an empty wrapper: add a social block into it by drag and drop
    _drag(page, page.get_by_role("button", name="+ Social"), wrapper.locator(".ctor-wrapper-body"))
    expect(wrapper.locator(".ctor-child")).to_have_count(1)
    expect(wrapper.locator(".ctor-child")).to_have_attribute("data-block", "social")
    wrapper.get_by_label("Block 2.1 link 1 network").select_option("Instagram")
    wrapper.get_by_label("Block 2.1 link 1 URL").fill("instagram.com/cakes")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_test_id("constructor-errors")).to_be_visible()
    assert not ContentTemplate.objects.filter(name="Boxed").exists()
    url_message = "Give a URL that starts with http:// or https://."
    column = page.locator("[data-block=columns] .ctor-column").nth(2)
    expect(column.locator(".ctor-error:visible")).to_have_text([url_message])
    wrapper = page.locator("[data-testid=email-blocks] > [data-block=wrapper]")
    expect(wrapper.locator(".ctor-child .ctor-error:visible")).to_have_text([url_message])
    expect(wrapper.locator(":scope > div > .ctor-error:visible")).to_have_text(["Give a whole number from 0 to 64."])
    # what was typed is kept; corrected, it saves
    column.get_by_label("Button URL").fill("https://shop.example.com")
    expect(column.locator(".ctor-error:visible")).to_have_count(0)  # cleared as the field is edited
    wrapper.get_by_label("Block 2.1 link 1 URL").fill("https://instagram.com/cakes")
    wrapper.get_by_label("Block 2 padding").fill("24")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("Content template “Boxed” created.")
    saved = ContentTemplate.objects.get(name="Boxed", company=company).content
    assert saved["blocks"] == [
        {"type": "columns", "columns": [[], [], [{"type": "button", "text": "Order", "url": "https://shop.example.com",
                                                  "color": "#4f46e5", "align": "center"}]]},
        {"type": "wrapper", "background": "#f4f5f7", "padding": 24, "blocks": [
            {"type": "social", "align": "center", "links": [{"network": "instagram",
                                                             "url": "https://instagram.com/cakes"}]}]}]
    assert saved["html"] == render_email_html(saved["blocks"])
