"""The e-mail's social, columns and wrapper blocks (spec P§5.5): what ``validate_content``
accepts and refuses (with the path of the field at fault, inside containers too), the
limits, the HTML and the plain text made from them, and contact values put into them at
send time (escaped in the HTML)."""

import re

import pytest

from messaging import content as C
from messaging.content import prepare_content, render_email_html, render_email_text, validate_content
from messaging.rendering import render_content
from portal.channel_types import Channel

EMAIL = Channel.EMAIL
URL_MESSAGE = "Give a URL that starts with http:// or https://."


def errors(blocks, prefix=""):
    return validate_content(EMAIL, {"subject": "S", "blocks": blocks}, prefix)


def social(*links, **extra):
    return {"type": "social", "links": [{"network": n, "url": u} for n, u in links], **extra}


TEXT = {"type": "text", "text": "Hi {{attribute.name}}"}
BUTTON = {"type": "button", "text": "Order", "url": "https://shop.example.com"}
IMAGE = {"type": "image", "url": "https://cdn.example.com/cake.png", "alt": "A cake"}


# --- validation --------------------------------------------------------------------------------

def test_the_new_blocks_are_accepted():
    assert errors([
        social(("facebook", "https://facebook.com/cakes"), ("x", "https://x.com/cakes"), ("website", "https://c.example")),
        {"type": "social", "align": "left", "links": [{"network": "telegram", "url": "https://t.me/c", "label": "Chat"}]},
        {"type": "columns", "columns": [[TEXT, IMAGE], [BUTTON, {"type": "divider"}]]},
        {"type": "columns", "columns": [[TEXT], [], [social(("youtube", "https://youtube.com/c")),
                                                     {"type": "spacer", "height": 8}]]},
        {"type": "wrapper", "background": "#abc", "padding": 0, "blocks": [TEXT, BUTTON]},
        {"type": "wrapper", "background": "#A0B1C2", "padding": "64", "blocks": [IMAGE]},
        {"type": "wrapper", "blocks": [TEXT]},  # background and padding have defaults
    ]) == {}


def test_every_network_of_the_list():
    networks = C.limits()["email"]["networks"]
    assert networks == ["facebook", "x", "instagram", "linkedin", "youtube", "tiktok", "whatsapp", "telegram",
                        "website"]
    assert errors([social(*[(n, f"https://{n}.example.com/cakes") for n in networks])]) == {}


def test_social_errors():
    assert errors([
        social(("myspace", "https://myspace.example.com"), ("facebook", "javascript:alert(1)"),
               ("instagram", "instagram.com/cakes"), ("x", "")),
        social(),
        {"type": "social", "links": [{"network": "x", "url": "https://x.com", "label": "l" * 51}], "align": "top"},
        social(*[("facebook", "https://facebook.com")] * 11),
        {"type": "social", "links": "https://facebook.com"},
    ]) == {
        "blocks[0].links[0].network": "“myspace” is not one of: facebook, x, instagram, linkedin, youtube, tiktok, "
                                      "whatsapp, telegram, website.",
        "blocks[0].links[1].url": URL_MESSAGE,
        "blocks[0].links[2].url": URL_MESSAGE,
        "blocks[0].links[3].url": URL_MESSAGE,
        "blocks[1].links": "Add at least one link, or delete the block.",
        "blocks[2].links[0].label": "At most 50 characters; this has 51.",
        "blocks[2].align": "“top” is not one of: left, center, right.",
        "blocks[3].links": "At most 10; there are 11.",
        "blocks[4].links": "Give a list here, not text.",
    }


def test_column_errors_name_the_column_and_the_block():
    assert errors([
        TEXT,
        {"type": "columns", "columns": [[TEXT], []]},
        {"type": "columns", "columns": [[TEXT], [{"type": "button", "text": "Go", "url": "shop.example.com"}]]},
        {"type": "columns", "columns": [[TEXT]]},
        {"type": "columns", "columns": [[TEXT], [TEXT], [TEXT], [TEXT]]},
        {"type": "columns", "columns": [[], []]},
        {"type": "columns", "columns": [[{"type": "columns", "columns": [[TEXT], [TEXT]]}], "text", [42]]},
        {"type": "columns"},
    ], prefix="payload.") == {
        "payload.blocks[2].columns[1][0].url": URL_MESSAGE,
        "payload.blocks[3].columns": "Give 2 or 3 columns, each a list of blocks.",
        "payload.blocks[4].columns": "Give 2 or 3 columns, each a list of blocks.",
        "payload.blocks[5].columns": "Put at least one block in the columns, or delete them.",
        "payload.blocks[6].columns[0][0].type": "Columns and wrappers cannot go inside columns or a wrapper.",
        "payload.blocks[6].columns[1]": "Give a list here, not text.",
        "payload.blocks[6].columns[2][0]": "Give an object here, not a number.",
        "payload.blocks[7].columns": "Give 2 or 3 columns, each a list of blocks.",
    }


def test_wrapper_errors():
    assert errors([
        {"type": "wrapper", "background": "red", "padding": 65, "blocks": [{"type": "text", "text": " "}]},
        {"type": "wrapper", "background": "#abcd", "blocks": []},
        {"type": "wrapper", "blocks": [{"type": "wrapper", "blocks": [TEXT]}, {"type": "video"}]},
        {"type": "wrapper"},
    ]) == {
        "blocks[0].background": "Give a colour as #RGB or #RRGGBB, e.g. #f4f5f7.",
        "blocks[0].padding": "Give a whole number from 0 to 64.",
        "blocks[0].blocks[0].text": "Write the text of this block, or delete the block.",
        "blocks[1].background": "Give a colour as #RGB or #RRGGBB, e.g. #f4f5f7.",
        "blocks[1].blocks": "Put at least one block in the wrapper, or delete it.",
        "blocks[2].blocks[0].type": "Columns and wrappers cannot go inside columns or a wrapper.",
        "blocks[2].blocks[1].type": "“video” is not one of: text, image, button, divider, spacer, social.",
        "blocks[3].blocks": "Put at least one block in the wrapper, or delete it.",
    }


def test_the_blocks_inside_containers_count_towards_the_limit():
    half = C.EMAIL_BLOCKS_MAX // 2
    # 1 columns block + 98 inside it + 1 text = 100: accepted
    assert errors([{"type": "columns", "columns": [[TEXT] * (half - 1), [TEXT] * (half - 1)]}, TEXT]) == {}
    assert errors([{"type": "columns", "columns": [[TEXT] * (half - 1), [TEXT] * (half - 1)]},
                   {"type": "wrapper", "blocks": [TEXT]}]) == {
        "blocks": "At most 100 blocks in all, counting those inside columns and wrappers; there are 101."}


# --- HTML and text ---------------------------------------------------------------------------

def test_social_html_shows_badges_with_labels_and_no_pictures():
    html = render_email_html([social(("facebook", "https://facebook.com/cakes"),
                                     ("website", "https://www.cakes.example.com:8080/shop?x=1"),
                                     ("myspace", "https://myspace.example.com"), ("x", "javascript:alert(1)"),
                                     align="right"),
                              {"type": "social", "links": [{"network": "x", "url": "https://x.com/c",
                                                            "label": "<Follow> us"}]}])
    assert '<div style="text-align:right;"><a href="https://facebook.com/cakes" target="_blank"' in html
    assert "background:#1877f2;" in html and ">Facebook</a>" in html
    assert ">www.cakes.example.com:8080</a>" in html  # a website shows its host
    assert ">&lt;Follow&gt; us</a>" in html and '<div style="text-align:center;">' in html
    assert "myspace" not in html and "javascript" not in html
    assert "<img" not in html  # no picture fetched from anywhere


def test_columns_html_is_a_table_that_stacks_on_phones():
    html = render_email_html([{"type": "columns", "columns": [[IMAGE, TEXT], [BUTTON], []]}])
    assert "@media only screen and (max-width:480px)" in html
    assert ".h-col{display:block !important;width:100% !important;padding:0 !important;}" in html
    cells = re.findall(r'<td class="h-col" width="33.33%" valign="top" style="([^"]*)">', html)
    assert cells == ["width:33.33%;vertical-align:top;padding:0 8px 0 0;",
                     "width:33.33%;vertical-align:top;padding:0 8px 0 8px;",
                     "width:33.33%;vertical-align:top;padding:0 0 0 8px;"]
    assert 'alt="A cake" width="168"' in html  # an image is made for its column
    assert ">Hi {{attribute.name}}</p>" in html and ">Order</a>" in html
    two = render_email_html([{"type": "columns", "columns": [[{**IMAGE, "width": 400}], [TEXT]]}])
    assert 'width="260"' in two and 'width="50%"' in two
    assert 'class="h-col"' not in render_email_html([{"type": "columns", "columns": [[], []]}])  # nothing to show


def test_wrapper_html_is_a_coloured_cell():
    html = render_email_html([{"type": "wrapper", "background": "#AbC", "padding": 24, "blocks": [TEXT, BUTTON]}])
    assert ('<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" bgcolor="#AAbbCC" '
            'style="width:100%;background:#AAbbCC;border-radius:6px;"><tr><td style="padding:24px;">') in html
    assert html.index(">Hi {{attribute.name}}</p>") < html.index(">Order</a>")
    assert "bgcolor=\"#f4f5f7\"" in render_email_html([{"type": "wrapper", "blocks": [TEXT]}])


def test_the_plain_text_reads_columns_one_after_the_other():
    blocks = [social(("facebook", "https://facebook.com/c"), ("website", "https://shop.example.com/x")),
              {"type": "columns", "columns": [[IMAGE, {"type": "text", "text": "Left"}], [BUTTON]]},
              {"type": "wrapper", "blocks": [{"type": "text", "text": "Boxed\n\ntext"}, {"type": "divider"}]}]
    assert render_email_text(blocks) == (
        "Facebook: https://facebook.com/c\nshop.example.com: https://shop.example.com/x\n\n[A cake]\n\nLeft\n\n"
        "Order: https://shop.example.com\n\nBoxed\n\ntext\n\n" + "-" * 40)


@pytest.mark.parametrize("container", [
    lambda inner: {"type": "columns", "columns": [[inner], [TEXT]]},
    lambda inner: {"type": "wrapper", "blocks": [inner]},
])
def test_contact_values_in_new_blocks_are_escaped_in_the_html(container):
    blocks = [container({"type": "text", "text": "Dear {{attribute.name}}"}),
              {"type": "social", "links": [{"network": "website", "url": "https://shop.example.com/?r={{attribute.ref}}",
                                            "label": "Shop of {{attribute.name}}"}]}]
    payload = prepare_content(EMAIL, {"subject": "Hi {{attribute.name}}", "blocks": blocks})
    assert validate_content(EMAIL, payload) == {}
    sent = render_content(payload, {"attribute.name": '<a href="https://evil.example">Ann</a>', "attribute.ref": "7"})
    assert "Dear &lt;a href=&quot;https://evil.example&quot;&gt;Ann&lt;/a&gt;</p>" in sent["html"]
    assert ">Shop of &lt;a href=&quot;https://evil.example&quot;&gt;Ann&lt;/a&gt;</a>" in sent["html"]
    assert 'href="https://shop.example.com/?r=7"' in sent["html"]
    assert '<a href="https://evil.example">' not in sent["html"]
    assert sent["text"].startswith('Dear <a href="https://evil.example">Ann</a>')  # plain text: as it is


def test_the_limits_given_to_the_constructor():
    email = C.limits()["email"]
    assert (email["social_links"], email["social_label"], email["columns"], email["wrapper_padding_max"],
            email["wrapper_background"], email["blocks"]) == (10, 50, [2, 3], 64, "#f4f5f7", 100)
