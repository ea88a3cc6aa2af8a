"""Personalisation: one renderer for every placeholder dialect (docs/messaging.md §2.4)."""

from types import SimpleNamespace

from messaging.rendering import build_values, placeholders, render_content, render_text


def _contact(**attributes):
    return SimpleNamespace(phone="+34612345678", attributes=attributes)


def render(text, contact=None, params=None):
    missing = []
    return render_text(text, build_values(contact, params), missing), missing


def test_attribute_placeholder_uses_the_contacts_attribute():
    assert render("Hi {{attribute.name}}!", _contact(name="Ann")) == ("Hi Ann!", [])


def test_bare_key_is_the_same_attribute():
    assert render("Hi {{name}}!", _contact(name="Ann")) == ("Hi Ann!", [])


def test_keys_are_case_insensitive_and_spaces_inside_braces_are_allowed():
    contact = _contact(firstName="Ann")
    assert render("Hi {{ attribute.Name }} {{ATTRIBUTE.FIRSTNAME}}", _contact(name="Ann")) == ("Hi Ann ", [
        "ATTRIBUTE.FIRSTNAME"])
    assert render("Hi {{ attribute.FirstName }}", contact) == ("Hi Ann", [])


def test_phone_number_is_available_as_attribute_phone_number():
    assert render("{{attribute.phoneNumber}}", _contact()) == ("+34612345678", [])


def test_numbered_whatsapp_parameters_and_otp_code_come_from_params():
    text, missing = render("Your code is {{code}}. Order {{1}} ships {{2}}.", params={"code": "123456", "1": "A-7",
                                                                                   "2": "today"})
    assert text == "Your code is 123456. Order A-7 ships today."
    assert missing == []


def test_params_win_over_the_contacts_attributes():
    contact = _contact(name="Ann")
    assert render("Hi {{attribute.name}} / {{name}}", contact, {"name": "Annie"}) == ("Hi Annie / Annie", [])
    assert render("Hi {{attribute.name}} / {{name}}", contact, {"attribute.name": "Annie"}) == (
        "Hi Annie / Annie", [])
    # both spellings given: each keeps its own value
    assert render("{{attribute.name}} / {{name}}", contact, {"name": "A", "attribute.name": "B"}) == ("B / A", [])


def test_missing_values_render_empty_and_are_reported_once():
    text, missing = render("Hi {{attribute.name}}, {{city}} {{city}} {{1}}", _contact())
    assert text == "Hi ,   "
    assert missing == ["attribute.name", "city", "1"]


def test_booleans_and_numbers_render_as_text():
    assert render("{{vip}} {{age}} {{none}}", _contact(vip=True, age=42, none=None)) == ("yes 42 ", [])


def test_nested_payloads_are_rendered_everywhere_and_non_strings_are_kept():
    content = {"title": "Hi {{name}}", "buttons": [{"text": "Track {{1}}", "url": "https://x.test/{{1}}"}],
               "ttl": 60, "flags": [True, None], "meta": {"deep": {"deeper": "{{missing}}"}}}
    missing = []
    result = render_content(content, build_values(_contact(name="Ann"), {"1": "A7"}), missing)
    assert result == {"title": "Hi Ann", "buttons": [{"text": "Track A7", "url": "https://x.test/A7"}],
                      "ttl": 60, "flags": [True, None], "meta": {"deep": {"deeper": ""}}}
    assert missing == ["missing"]
    assert content["title"] == "Hi {{name}}"  # the step's own payload is left as it was


def test_odd_braces_are_left_alone_and_never_crash():
    values = build_values(_contact(name="Ann"))
    for text in ["{{", "}}", "{{}}", "{ {name} }", "{{{name}}}", "{{name", "name}}", "{{ }}", "{{na me}}",
                 "{{%}}", "{{name}}}}", "{{{{name}}"]:
        missing = []
        out = render_text(text, values, missing)
        assert isinstance(out, str)
    assert render_text("{{{name}}}", values) == "{Ann}"
    assert render_text("{{na me}}", values) == "{{na me}}"  # not a placeholder: kept as typed
    assert render("{{", _contact()) == ("{{", [])


def test_no_contact_and_no_params_renders_every_placeholder_empty():
    assert render("Hi {{name}}") == ("Hi ", ["name"])


def test_placeholders_lists_the_names_a_payload_uses():
    assert placeholders({"a": "{{name}} {{1}}", "b": ["{{ code }}", {"c": "{{name}}"}], "d": 3}) == [
        "name", "1", "code"]


def test_values_put_in_an_email_html_are_escaped():
    """A contact's value is text in an e-mail's HTML, never markup (no injection)."""
    from messaging.rendering import render_content

    content = {"subject": "Hi {{attribute.name}}", "html": "<p>Hi {{attribute.name}}</p>",
               "text": "Hi {{attribute.name}}"}
    out = render_content(content, {"attribute.name": '<a href="https://evil.example">Ann</a>'})
    assert out["html"] == '<p>Hi &lt;a href=&quot;https://evil.example&quot;&gt;Ann&lt;/a&gt;</p>'
    assert out["text"] == 'Hi <a href="https://evil.example">Ann</a>'  # plain text stays as typed
    assert out["subject"] == 'Hi <a href="https://evil.example">Ann</a>'
