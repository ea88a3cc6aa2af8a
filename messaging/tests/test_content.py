"""The content schema of every channel (spec P§5, rules 14–16 and 19 of P§25): what
``validate_content`` accepts and refuses with which key and message, the SMS counter, and
the e-mail HTML made from blocks."""

import pytest

from messaging import content as C
from messaging.content import prepare_content, render_email_html, render_email_text, sms_counter, validate_content
from portal.channel_types import Channel

SMS, RCS, VIBER, WA, WECHAT, EMAIL, TELEGRAM, PUSH, TTS, MPUSH = (
    Channel.SMS, Channel.RCS, Channel.VIBER, Channel.WHATSAPP, Channel.WECHAT, Channel.EMAIL, Channel.TELEGRAM,
    Channel.PUSH, Channel.TTS, Channel.MOBILE_PUSH)


def ok(channel, content):
    errors = validate_content(channel, content)
    assert errors == {}, errors


def bad(channel, content, prefix=""):
    errors = validate_content(channel, content, prefix)
    assert errors, f"{content!r} was accepted"
    return errors


def reply(text="Yes"):
    return {"kind": "reply", "text": text}


def url_action(url="https://shop.example.com", text="Open"):
    return {"kind": "action", "action": "url", "text": text, "url": url}


# --- generic -----------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", ["Hi", ["Hi"], None, 3])
def test_a_payload_must_be_an_object(payload):
    assert bad(SMS, payload) == {"content": 'The content must be a JSON object, e.g. {"text": "Hello"}.'}
    assert list(bad(SMS, payload, prefix="messages[1].payload.")) == ["messages[1].payload"]


def test_prefix_is_put_before_every_key():
    errors = bad(RCS, {"type": "card", "card": {"title": "x" * 201}}, prefix="payload.")
    assert errors == {"payload.card.title": "At most 200 characters; this has 201."}


def test_unknown_channel():
    assert bad(99, {"text": "Hi"}) == {"content": "Unknown channel 99."}


def test_a_field_of_the_wrong_type_says_so():
    assert bad(SMS, {"text": 12}) == {"text": "Give text here, not a number."}
    assert bad(RCS, {"type": "card", "card": ["x"]}) == {"card": "Give an object here, not a list."}
    assert bad(RCS, {"type": "text", "text": "Hi", "suggestions": {"a": 1}}) == {
        "suggestions": "Give a list here, not an object."}


def test_unknown_keys_are_ignored():
    ok(SMS, {"text": "Hi", "note": "kept"})


# --- SMS ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [{}, {"text": ""}, {"text": "   "}, {"other": "x"}])
def test_sms_needs_a_text(payload):
    assert bad(SMS, payload) == {"text": "This channel needs a text."}


def test_sms_allows_ten_parts_and_not_eleven():
    ok(SMS, {"text": "a" * 1530})                       # 10 × 153 GSM-7
    assert bad(SMS, {"text": "a" * 1531}) == {
        "text": "This text makes 11 SMS; the maximum is 10 (7-bit extended (160) 1531 characters / 11 SMS)."}
    ok(SMS, {"text": "ж" * 670})                        # 10 × 67 UCS-2
    assert "11 SMS" in bad(SMS, {"text": "ж" * 671})["text"]


def test_sms_placeholders_count_as_typed():
    ok(SMS, {"text": "Hi {{attribute.name}}, your code is {{code}}"})


@pytest.mark.parametrize("text, label", [
    ("a" * 101 + "€", "7-bit extended (160) 103 characters / 1 SMS"),
    ("Hello", "7-bit extended (160) 5 characters / 1 SMS"),
    ("a" * 161, "7-bit extended (160) 161 characters / 2 SMS"),
    ("Привет", "UCS-2 (70) 6 characters / 1 SMS"),
    ("ж" * 71, "UCS-2 (70) 71 characters / 2 SMS"),
    ("Hi 😀", "UCS-2 (70) 5 characters / 1 SMS"),
    ("", "7-bit extended (160) 0 characters / 0 SMS"),
])
def test_sms_counter_label(text, label):
    assert sms_counter(text)["label"] == label


def test_sms_counter_fields():
    counter = sms_counter("a" * 1531)
    assert counter == {"encoding": "gsm7", "characters": 1531, "segments": 11, "limit": 153,
                       "label": "7-bit extended (160) 1531 characters / 11 SMS", "max_segments": 10,
                       "too_long": True}
    assert sms_counter("ж")["encoding"] == "ucs2"


# --- RCS ---------------------------------------------------------------------------------------

def card(**fields):
    return {"title": "Spring sale", "text": "Cakes -20%", "image": {"url": "https://cdn.example.com/cake.jpg"},
            **fields}


def test_rcs_text_is_the_default_type_and_has_3072_characters():
    ok(RCS, {"text": "Hi"})
    ok(RCS, {"type": "text", "text": "x" * 3072, "suggestions": [reply()]})
    assert bad(RCS, {"type": "text", "text": "x" * 3073}) == {"text": "At most 3072 characters; this has 3073."}
    assert bad(RCS, {"type": "text"}) == {"text": "This channel needs a text."}


def test_rcs_unknown_type():
    assert bad(RCS, {"type": "video", "text": "x"}) == {"type": "“video” is not one of: text, file, card, carousel."}


def test_rcs_file_needs_an_http_url():
    ok(RCS, {"type": "file", "file": {"url": "https://cdn.example.com/menu.pdf", "name": "menu.pdf"}})
    assert bad(RCS, {"type": "file"}) == {"file": "This field is required."}
    assert bad(RCS, {"type": "file", "file": {"url": "ftp://x/menu.pdf"}}) == {
        "file.url": "Give a URL that starts with http:// or https://."}


def test_rcs_card_limits():
    ok(RCS, {"type": "card", "card": card(title="t" * 200, text="x" * 2000, layout="horizontal", height="tall")})
    errors = bad(RCS, {"type": "card", "card": card(title="t" * 201, text="x" * 2001)})
    assert errors == {"card.title": "At most 200 characters; this has 201.",
                      "card.text": "At most 2000 characters; this has 2001."}


def test_rcs_card_needs_a_title_a_text_or_an_image():
    ok(RCS, {"type": "card", "card": {"image": {"url": "https://cdn.example.com/a.png"}}})
    ok(RCS, {"type": "card", "card": {"text": "Only text"}})
    assert bad(RCS, {"type": "card", "card": {"title": " "}}) == {
        "card.title": "A card needs a title, a text or an image."}


def test_rcs_card_layout_and_height_are_choices():
    errors = bad(RCS, {"type": "card", "card": card(layout="diagonal", height="huge")})
    assert errors == {"card.layout": "“diagonal” is not one of: vertical, horizontal.",
                      "card.height": "“huge” is not one of: short, medium, tall."}


def test_rcs_card_image_url():
    assert bad(RCS, {"type": "card", "card": card(image={"url": "cake.jpg"})}) == {
        "card.image.url": "Give a URL that starts with http:// or https://."}


def test_rcs_four_suggestions_in_a_card_and_eleven_chips():
    ok(RCS, {"type": "card", "card": card(suggestions=[reply()] * 4), "suggestions": [reply()] * 11})
    errors = bad(RCS, {"type": "card", "card": card(suggestions=[reply()] * 5), "suggestions": [reply()] * 12})
    assert errors == {"card.suggestions": "At most 4; there are 5.", "suggestions": "At most 11; there are 12."}


def test_rcs_suggestion_text_is_required_and_at_most_25():
    ok(RCS, {"text": "Hi", "suggestions": [reply("x" * 25)]})
    errors = bad(RCS, {"text": "Hi", "suggestions": [reply("x" * 26), {"kind": "reply"}]})
    assert errors == {"suggestions[0].text": "At most 25 characters; this has 26.",
                      "suggestions[1].text": "This field is required."}


def test_rcs_suggestion_kind_and_action_are_choices():
    errors = bad(RCS, {"text": "Hi", "suggestions": [{"text": "a"}, {"kind": "action", "text": "b"},
                                                     {"kind": "action", "action": "fax", "text": "c"}, "x"]})
    assert errors == {"suggestions[0].kind": "Choose one of: reply, action.",
                      "suggestions[1].action": "Choose one of: url, dial, map, location_request, calendar.",
                      "suggestions[2].action": "“fax” is not one of: url, dial, map, location_request, calendar.",
                      "suggestions[3]": "Give an object here, not text."}


@pytest.mark.parametrize("url", ["https://shop.example.com", "http://shop.example.com/a?b=c",
                                 "HTTPS://SHOP.EXAMPLE.COM", "https://shop.example.com/?id={{attribute.id}}"])
def test_rcs_url_action_accepts_http_urls(url):
    ok(RCS, {"text": "Hi", "suggestions": [url_action(url)]})


@pytest.mark.parametrize("url", ["shop.example.com", "ftp://shop.example.com", "javascript:alert(1)",
                                 "https://", "https://shop example.com", ""])
def test_rcs_url_action_refuses_other_urls(url):
    errors = bad(RCS, {"text": "Hi", "suggestions": [url_action(url)]})
    assert errors == {"suggestions[0].url": "Give a URL that starts with http:// or https://."}


def test_a_url_has_at_most_2048_characters():
    errors = bad(RCS, {"text": "Hi", "suggestions": [url_action("https://x.example.com/" + "a" * 2030)]})
    assert errors == {"suggestions[0].url": "A URL has at most 2048 characters."}


def test_rcs_dial_action():
    dial = {"kind": "action", "action": "dial", "text": "Call us", "phone": "+34 612-345-678",
            "dial_type": "video", "fallback_url": "https://example.com/call"}
    ok(RCS, {"text": "Hi", "suggestions": [dial]})
    errors = bad(RCS, {"text": "Hi", "suggestions": [{**dial, "phone": "call me", "dial_type": "fax",
                                                      "fallback_url": "nope"}]})
    assert errors == {"suggestions[0].dial_type": "“fax” is not one of: phone, enriched, video.",
                      "suggestions[0].phone": "Give a phone number: digits, an optional leading +, spaces or dashes.",
                      "suggestions[0].fallback_url": "Give a URL that starts with http:// or https://."}
    assert bad(RCS, {"text": "Hi", "suggestions": [{**dial, "phone": ""}]}) == {
        "suggestions[0].phone": "Give the phone number to dial."}


@pytest.mark.parametrize("lat, lng", [(40.4168, -3.7038), ("40.4168", "-3.7038"), (90, -180), ("-90", "180"), (0, 0)])
def test_rcs_map_action_by_coordinates_accepts_decimals_in_range(lat, lng):
    ok(RCS, {"text": "Hi", "suggestions": [{"kind": "action", "action": "map", "text": "Find us", "latitude": lat,
                                           "longitude": lng, "label": "Our shop"}]})


@pytest.mark.parametrize("lat, lng, errors", [
    ("40°25'", "-3.7", {"latitude": "Decimal values only, e.g. 40.4168 (no degrees, minutes or letters)."}),
    (91, 0, {"latitude": "Give a value from -90 to 90."}),
    (0, "-180.5", {"longitude": "Give a value from -180 to 180."}),
    (True, 1, {"latitude": "Decimal values only, e.g. 40.4168 (no degrees, minutes or letters)."}),
    ("", 1, {"latitude": "Give the latitude as a decimal number, e.g. 40.4168."}),
    ("1,5", "2", {"latitude": "Decimal values only, e.g. 40.4168 (no degrees, minutes or letters)."}),
])
def test_rcs_map_action_refuses_other_coordinates(lat, lng, errors):
    got = bad(RCS, {"text": "Hi", "suggestions": [{"kind": "action", "action": "map", "text": "Find us",
                                                   "latitude": lat, "longitude": lng}]})
    assert got == {f"suggestions[0].{k}": v for k, v in errors.items()}


def test_rcs_map_action_by_query():
    ok(RCS, {"text": "Hi", "suggestions": [{"kind": "action", "action": "map", "mode": "query", "text": "Find us",
                                           "query": "Cake shop Madrid"}]})
    assert bad(RCS, {"text": "Hi", "suggestions": [{"kind": "action", "action": "map", "mode": "query",
                                                    "text": "Find us"}]}) == {
        "suggestions[0].query": "Give what to search on the map."}


def test_rcs_location_request_needs_only_its_text():
    ok(RCS, {"text": "Hi", "suggestions": [{"kind": "action", "action": "location_request", "text": "Share"}]})


def test_rcs_calendar_action():
    event = {"kind": "action", "action": "calendar", "text": "Save the date", "title": "Cake day",
             "start": "2025-05-01T10:00", "end": "2025-05-01T12:00", "description": "Free cake"}
    ok(RCS, {"text": "Hi", "suggestions": [event]})
    ok(RCS, {"text": "Hi", "suggestions": [{**event, "start": "2025-05-01T10:00:00+02:00",
                                           "end": "2025-05-01T08:30:00Z"}]})
    errors = bad(RCS, {"text": "Hi", "suggestions": [{**event, "title": "", "end": "2025-05-01T09:00"}]})
    assert errors == {"suggestions[0].title": "A calendar event needs a title.",
                      "suggestions[0].end": "The end must be after the start."}
    assert bad(RCS, {"text": "Hi", "suggestions": [{**event, "start": "tomorrow"}]}) == {
        "suggestions[0].start": "Give a date and time, e.g. 2025-05-01T10:00."}
    assert bad(RCS, {"text": "Hi", "suggestions": [{**event, "end": "2025-05-01T12:00+02:00"}]}) == {
        "suggestions[0].end": "Give both times with a UTC offset, or both without."}
    assert bad(RCS, {"text": "Hi", "suggestions": [{**event, "description": "d" * 501}]}) == {
        "suggestions[0].description": "At most 500 characters; this has 501."}


def test_rcs_carousel_has_2_to_12_cards_of_4_suggestions():
    ok(RCS, {"type": "carousel", "cards": [card(suggestions=[reply()] * 4)] * 2, "suggestions": [reply()]})
    ok(RCS, {"type": "carousel", "cards": [card()] * 12})
    assert bad(RCS, {"type": "carousel", "cards": [card()]}) == {"cards": "A carousel has 2 to 12 cards."}
    assert bad(RCS, {"type": "carousel"}) == {"cards": "A carousel has 2 to 12 cards."}
    assert bad(RCS, {"type": "carousel", "cards": [card()] * 13}) == {"cards": "At most 12; there are 13."}
    errors = bad(RCS, {"type": "carousel", "cards": [card(), card(title="", text="", image=None,
                                                                  suggestions=[reply()] * 5)]})
    assert errors == {"cards[1].title": "A card needs a title, a text or an image.",
                      "cards[1].suggestions": "At most 4; there are 5."}


# --- Viber -------------------------------------------------------------------------------------

def test_viber_text_up_to_1000():
    ok(VIBER, {"text": "Hi"})
    ok(VIBER, {"type": "text", "text": "x" * 1000})
    assert bad(VIBER, {"type": "text", "text": "x" * 1001}) == {"text": "At most 1000 characters; this has 1001."}
    assert bad(VIBER, {"type": "text"}) == {"text": "This channel needs a text."}


@pytest.mark.parametrize("name", ["menu.pdf", "a.JPG", "clip.mp4", "table.xlsx", "x.pdax", "doc.dotx"])
def test_viber_file_accepts_the_listed_extensions(name):
    ok(VIBER, {"type": "file", "file": {"url": f"https://cdn.example.com/{name}", "name": name}})


def test_viber_file_extension_comes_from_the_name_else_the_url():
    ok(VIBER, {"type": "file", "file": {"url": "https://cdn.example.com/files/42", "name": "menu.pdf"}})
    ok(VIBER, {"type": "file", "file": {"url": "https://cdn.example.com/menu.pdf?v=2"}})
    errors = bad(VIBER, {"type": "file", "file": {"url": "https://cdn.example.com/setup.exe"}})
    assert list(errors) == ["file.url"] and errors["file.url"].startswith("This file type is not accepted; use one")
    assert ".pdf" in errors["file.url"]


def test_viber_file_is_at_most_200_mb():
    ok(VIBER, {"type": "file", "file": {"url": "https://c.example.com/a.mp4", "size": 200 * 1024 * 1024}})
    assert bad(VIBER, {"type": "file", "file": {"url": "https://c.example.com/a.mp4",
                                                "size": 200 * 1024 * 1024 + 1}}) == {
        "file.size": "The file is larger than 200 MB."}


def test_viber_text_and_button():
    button = {"text": "Order now", "url": "https://shop.example.com"}
    ok(VIBER, {"type": "text_button", "text": "Cakes!", "button": button})
    assert bad(VIBER, {"type": "text_button", "text": "Cakes!"}) == {"button": "This field is required."}
    errors = bad(VIBER, {"type": "text_button", "text": "Cakes!", "button": {"text": "x" * 31, "url": "shop"}})
    assert errors == {"button.text": "At most 30 characters; this has 31.",
                      "button.url": "Give a URL that starts with http:// or https://."}


def test_viber_text_media_button_needs_the_image():
    button = {"text": "Order now", "url": "https://shop.example.com"}
    ok(VIBER, {"type": "text_media_button", "text": "Cakes!", "button": button,
               "image": {"url": "https://cdn.example.com/cake.png"}})
    assert bad(VIBER, {"type": "text_media_button", "text": "Cakes!", "button": button}) == {
        "image": "This field is required."}


# --- WhatsApp ----------------------------------------------------------------------------------

def test_whatsapp_template():
    ok(WA, {"type": "template", "template": {"name": "order_ready_2", "language": "en_US",
                                             "params": ["{{attribute.name}}", "42"]}})
    ok(WA, {"template": {"name": "otp", "language": {"policy": "deterministic", "code": "en"},
                         "components": [{"type": "body", "parameters": [{"type": "text", "text": "123"}]}]}})
    errors = bad(WA, {"type": "template", "template": {"name": "Order-Ready", "language": "english",
                                                       "params": ["ok", " ", {"x": 1}]}})
    assert errors == {"template.name": "A template name has only lower-case letters, digits and underscores.",
                      "template.language": "Give a language code such as en or en_US.",
                      "template.params[1]": "Fill in parameter {{2}}.",
                      "template.params[2]": "Give text here, not an object."}
    assert bad(WA, {"type": "template", "template": {}}) == {
        "template.name": "Give the WhatsApp template's name.",
        "template.language": "Give the template's language code, e.g. en or en_US."}
    assert bad(WA, {"type": "template"}) == {"template": "This field is required."}


def test_whatsapp_text_is_the_default_and_has_4096():
    ok(WA, {"text": "Hi"})
    ok(WA, {"type": "text", "text": "x" * 4096, "preview_url": True})
    assert bad(WA, {"type": "text", "text": "x" * 4097}) == {"text": "At most 4096 characters; this has 4097."}


def test_whatsapp_card_limits():
    ok(WA, {"type": "card", "header": "h" * 20, "text": "x" * 1024, "footer": "f" * 60,
            "media": {"url": "https://cdn.example.com/a.png"}, "buttons": [{"text": "Yes"}, {"text": "No"}]})
    errors = bad(WA, {"type": "card", "header": "h" * 21, "text": "x" * 1025, "footer": "f" * 61,
                      "buttons": [{"text": "b" * 21}, {"text": "Yes"}, {"text": "yes"}, {"text": "4"}]})
    assert errors == {"header": "At most 20 characters; this has 21.", "text": "At most 1024 characters; this has 1025.",
                      "footer": "At most 60 characters; this has 61.", "buttons": "At most 3; there are 4.",
                      "buttons[0].text": "At most 20 characters; this has 21.",
                      "buttons[2].text": "Two buttons have the same text."}
    assert bad(WA, {"type": "card"}) == {"text": "A card needs a message text."}


def list_message(options=3, sections=1, **fields):
    return {"type": "list", "text": "Pick a cake", "button": "Cakes", **fields,
            "sections": [{"title": f"S{s}", "options": [{"title": f"Cake {i}", "description": "Yummy"}
                                                        for i in range(options)]} for s in range(sections)]}


def test_whatsapp_list_up_to_ten_options_of_24():
    ok(WA, list_message(options=10))
    ok(WA, list_message(options=5, sections=2, header="h" * 60, footer="f" * 60))
    assert bad(WA, list_message(options=11)) == {"sections": "A list has at most 10 options; there are 11."}
    assert bad(WA, list_message(options=6, sections=2)) == {"sections": "A list has at most 10 options; there are 12."}
    message = list_message(options=1)
    message["sections"][0]["options"][0] = {"title": "t" * 25, "description": "d" * 73}
    assert bad(WA, message) == {"sections[0].options[0].title": "At most 24 characters; this has 25.",
                                "sections[0].options[0].description": "At most 72 characters; this has 73."}


def test_whatsapp_list_required_parts():
    assert bad(WA, {"type": "list"}) == {"text": "A list message needs a message text.",
                                         "button": "Give the header of the list (the button that opens it).",
                                         "sections": "A list needs at least one option."}
    message = list_message(options=1, sections=2)
    message["sections"][1]["title"] = ""
    message["sections"][0]["options"] = []
    assert bad(WA, message) == {"sections[1].title": "With several sections, each needs a title.",
                                "sections[0].options": "A section needs at least one option."}
    one = list_message(options=2)
    one["sections"][0]["title"] = ""
    ok(WA, one)  # one section needs no title


@pytest.mark.parametrize("name, accepted", [("a.webp", True), ("voice.ogg", True), ("deck.pptx", True),
                                            ("song.mp3", True), ("a.gif", False), ("a.txt", False)])
def test_whatsapp_file_types(name, accepted):
    payload = {"type": "file", "file": {"url": f"https://cdn.example.com/{name}"}, "caption": "See"}
    assert (validate_content(WA, payload) == {}) is accepted


def test_whatsapp_locations():
    ok(WA, {"type": "location_request", "text": "Where shall we deliver?"})
    assert bad(WA, {"type": "location_request"}) == {"text": "Give the text that asks for the location."}
    ok(WA, {"type": "location", "latitude": "40.4168", "longitude": -3.7038, "name": "Shop", "address": "Gran Vía 1"})
    assert set(bad(WA, {"type": "location", "latitude": 100})) == {"latitude", "longitude"}


# --- Email -------------------------------------------------------------------------------------

BLOCKS = [{"type": "text", "text": "Hello {{attribute.name}}", "style": "heading"},
          {"type": "image", "url": "https://cdn.example.com/cake.png", "alt": "A cake", "link": "https://x.example.com",
           "width": 300},
          {"type": "button", "text": "Order", "url": "https://shop.example.com", "color": "#ff0000", "align": "left"},
          {"type": "divider"}, {"type": "spacer", "height": 40}]


def test_email_with_blocks():
    ok(EMAIL, {"subject": "Spring sale", "subtitle": "Cakes -20%", "blocks": BLOCKS})


def test_email_with_html_or_text_body_as_the_api_sends():
    ok(EMAIL, {"subject": "S", "html": "<p>Hi</p>"})
    ok(EMAIL, {"subject": "S", "text": "Hi"})


def test_email_needs_a_subject_and_a_body():
    assert bad(EMAIL, {"html": " "}) == {"subject": "An e-mail needs a subject.",
                                         "html": "An e-mail needs an HTML or a text body."}
    assert bad(EMAIL, {"subject": "S", "blocks": []}) == {"blocks": "Add at least one block to the e-mail body."}
    assert bad(EMAIL, {"subject": "s" * 201, "subtitle": "t" * 201, "html": "x"}) == {
        "subject": "At most 200 characters; this has 201.", "subtitle": "At most 200 characters; this has 201."}


def test_email_block_errors():
    blocks = [{"type": "text", "text": ""}, {"type": "image", "url": "cake.png", "width": 900},
              {"type": "button", "text": "", "url": "https://x.example.com", "color": "red"},
              {"type": "spacer", "height": 500}, {"type": "video"}, {"type": "text", "text": "x", "align": "justify"}]
    assert bad(EMAIL, {"subject": "S", "blocks": blocks}) == {
        "blocks[0].text": "Write the text of this block, or delete the block.",
        "blocks[1].url": "Give a URL that starts with http:// or https://.",
        "blocks[1].width": "Give a whole number from 1 to 600.",
        "blocks[2].text": "This field is required.",
        "blocks[2].color": "Give a colour as #RRGGBB, e.g. #4f46e5.",
        "blocks[3].height": "Give a whole number from 4 to 200.",
        "blocks[4].type": "“video” is not one of: text, image, button, divider, spacer, social, columns, wrapper.",
        "blocks[5].align": "“justify” is not one of: left, center, right."}


def test_email_has_at_most_100_blocks():
    assert bad(EMAIL, {"subject": "S", "blocks": [{"type": "divider"}] * 101}) == {
        "blocks": "At most 100; there are 101."}


def test_email_html_escapes_text_and_keeps_placeholders():
    html = render_email_html([{"type": "text", "text": "Hi <b>{{attribute.name}}</b> & 'you'\nline two\n\nnext"}])
    assert "Hi &lt;b&gt;{{attribute.name}}&lt;/b&gt; &amp; &#x27;you&#x27;<br>line two</p>" in html
    assert html.count("<p ") == 2 and "<b>" not in html


def test_email_html_of_every_block():
    html = render_email_html(BLOCKS, subtitle="Cakes <-20%>")
    assert html.startswith("<!DOCTYPE html>") and html.endswith("</html>")
    assert '<div style="display:none;max-height:0;overflow:hidden;opacity:0;">Cakes &lt;-20%&gt;</div>' in html
    assert ">Hello {{attribute.name}}</h1>" in html
    assert ('<a href="https://x.example.com" target="_blank"><img src="https://cdn.example.com/cake.png" '
            'alt="A cake" width="300"') in html
    assert 'background:#ff0000;"><a href="https://shop.example.com"' in html and ">Order</a>" in html
    assert 'align="left" style="margin:0;"' in html
    assert '<hr style="border:0;border-top:1px solid #dfe3ec;margin:8px 0;">' in html
    assert '<div style="height:40px;line-height:40px;font-size:1px;">&nbsp;</div>' in html


def test_email_html_drops_unsafe_urls():
    html = render_email_html([{"type": "image", "url": "javascript:alert(1)"},
                              {"type": "button", "text": "x", "url": "javascript:alert(1)"}])
    assert "javascript" not in html


def test_email_text_part():
    assert render_email_text(BLOCKS) == ("Hello {{attribute.name}}\n\n[A cake]\n\nOrder: https://shop.example.com\n\n"
                                         + "-" * 40)


def test_prepare_content_makes_the_html_from_blocks():
    payload = {"subject": "S", "subtitle": "Sub", "blocks": BLOCKS, "html": "<p>stale</p>"}
    prepared = prepare_content(EMAIL, payload)
    assert prepared["html"] == render_email_html(BLOCKS, subtitle="Sub")
    assert prepared["text"].startswith("Hello")
    assert payload["html"] == "<p>stale</p>"  # the input is not changed
    assert prepare_content(EMAIL, {"subject": "S", "html": "<p>API</p>"})["html"] == "<p>API</p>"
    assert prepare_content(SMS, {"text": "Hi"}) == {"text": "Hi"}


# --- Push, Mobile Push, TTS, WeChat, Telegram ----------------------------------------------------

@pytest.mark.parametrize("payload", [{"title": "Hi"}, {"text": "Hi"}, {"image": {"url": "https://c.example.com/a.png"}},
                                     {"title": "t" * 100, "text": "x" * 1000}])
def test_push_needs_one_of_picture_header_text(payload):
    ok(PUSH, payload)


def test_push_refusals():
    assert bad(PUSH, {}) == {"text": "A push needs at least one of a picture, a header or a text."}
    assert bad(PUSH, {"title": " ", "text": ""}) == {"text": "A push needs at least one of a picture, a header or a text."}
    assert bad(PUSH, {"title": "t" * 101}) == {"title": "At most 100 characters; this has 101."}
    assert bad(PUSH, {"image": {"url": "a.png"}}) == {"image.url": "Give a URL that starts with http:// or https://."}


def test_mobile_push_needs_header_and_body():
    ok(MPUSH, {"title": "Parcel", "text": "It is here"})
    assert bad(MPUSH, {"title": "Parcel"}) == {"text": "A mobile push needs a text."}
    assert bad(MPUSH, {"text": "x"}) == {"title": "A mobile push needs a header."}


def test_tts():
    ok(TTS, {"text": "Your code is 1 2 3"})
    ok(TTS, {"text": "Hola", "language": "es", "repetitions": 3})
    ok(TTS, {"text": "Hola", "language": "es", "repetitions": "2"})
    assert bad(TTS, {"text": "Hi", "language": "fr", "repetitions": 4}) == {
        "language": "“fr” is not one of: en, es.", "repetitions": "Give a whole number from 1 to 3."}
    assert bad(TTS, {"text": "x" * 1001}) == {"text": "At most 1000 characters; this has 1001."}
    assert bad(TTS, {"language": "en"}) == {"text": "This channel needs a text."}


def test_wechat_and_telegram_need_a_text():
    ok(WECHAT, {"text": "x" * 2048})
    ok(TELEGRAM, {"text": "x" * 4096})
    assert bad(WECHAT, {"text": "x" * 2049}) == {"text": "At most 2048 characters; this has 2049."}
    assert bad(TELEGRAM, {}) == {"text": "This channel needs a text."}


def test_limits_are_the_validators_limits():
    limits = C.limits()
    assert limits["rcs"]["title"] == 200 and limits["rcs"]["chips"] == 11 and limits["viber"]["text"] == 1000
    assert limits["whatsapp"]["card_header"] == 20 and limits["whatsapp"]["options"] == 10
    assert set(C.CHANNEL_KEYS.values()) == set(limits)
