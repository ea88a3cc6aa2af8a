"""The Sender IDs pages (spec P§11.2, gap G22): the list on the data table, the SMS and RCS
registration forms with their limits, a record's page with the actions its status allows,
permissions and tenant isolation."""

from __future__ import annotations

import io
import os
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from accounts import services as account_services
from messaging.models import SenderId, SenderIdStatus
from messaging.services import senders as services
from portal.audit import Actor
from portal.channel_types import Channel
from portal.models import AuditEvent
from portal.testing import factories

S = SenderIdStatus
LIST = "/assets/sender-ids/"
NEW_SMS = "/assets/sender-ids/new/sms/"
NEW_RCS = "/assets/sender-ids/new/rcs/"
SMS_DATA = {"name": "Herald", "description": "", "agreement": "", "sample_message": "", "action": "submit"}
RCS_DATA = {"name": "Herald Bot", "description": "", "agreement": "", "contact_name": "", "phones": "",
            "phones_label": "", "websites": "", "websites_label": "", "emails": "", "emails_label": "",
            "color": "#000000", "privacy_url": "", "terms_url": "", "action": "submit"}


def html_of(response) -> str:
    return response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')


def png(width, height, noise=False, name="image.png"):
    picture = (Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)) if noise
               else Image.new("RGB", (width, height), (200, 30, 30)))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = name
    return buffer


def make(company, channel=Channel.SMS, status=S.DRAFT, name="Herald", sender_id="", **fields):
    return SenderId.objects.create(company=company, channel=channel, status=status, name=name, sender_id=sender_id,
                                   **fields)


def url(name, sender):
    return reverse(f"sender_ids:{name}", args=[sender.pk])


def cells(response, column):
    return re.findall(rf'<td data-column="{column}">(.*?)</td>', response.content.decode(), re.S)


def client_with(client, company, *codes):
    if codes:
        role = account_services.create_role(actor=Actor.system(company), company=company, name="Role " + "-".join(codes),
                                            permissions=list(codes))
        user = factories.user(company, roles=[role])
    else:
        user = factories.user(company, roles=[factories.system_role("finance_manager")])
    client.force_login(user)
    return client


def test_the_urls():
    assert reverse("sender_ids:list") == LIST
    assert reverse("sender_ids:create", args=["sms"]) == NEW_SMS
    assert reverse("sender_ids:detail", args=[7]) == "/assets/sender-ids/7/"
    assert reverse("sender_ids:edit", args=[7]) == "/assets/sender-ids/7/edit/"


# --- the list ---------------------------------------------------------------------------------------------

def test_the_list_shows_every_channel_with_its_columns(admin_client, company, other_company):
    make(company, Channel.SMS, S.ACTIVE, "Herald", "HERALD", agreement="AG-7")
    make(company, Channel.RCS, S.SUBMITTED, "Herald Bot")
    make(company, Channel.VIBER, S.IN_PROGRESS, "Herald Viber", "herald-viber")
    make(other_company, Channel.SMS, S.ACTIVE, "Globex", "GLOBEX")
    response = admin_client.get(LIST)
    assert response.status_code == 200
    html = html_of(response)
    for header in ("Sender ID", "Sender ID Name", "Channel", "Status", "Agreement", "Created", "Columns to show",
                   "Add filter", "Export", "New sender ID"):
        assert header in html, header
    assert sorted(re.sub(r"<[^>]+>", "", c) for c in cells(response, "name")) == [
        "Herald", "Herald Bot", "Herald Viber"]
    assert "Globex" not in html and "GLOBEX" not in html
    assert sorted(cells(response, "channel")) == ["RCS", "SMS", "Viber"]
    assert sorted(re.sub(r"<[^>]+>", "", c) for c in cells(response, "status")) == ["Active", "In progress",
                                                                                    "Submitted"]
    assert "AG-7" in cells(response, "agreement")
    assert re.match(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d", cells(response, "created_at")[0])
    # "+" offers SMS and RCS only
    assert f'href="{NEW_SMS}"' in html and f'href="{NEW_RCS}"' in html
    assert "/new/viber/" not in html


def test_the_list_filters_by_channel_and_status_labels(admin_client, company):
    make(company, Channel.SMS, S.ACTIVE, "Alpha", "ALPHA")
    make(company, Channel.RCS, S.IN_PROGRESS, "Bravo")
    make(company, Channel.WHATSAPP, S.IN_PROGRESS, "Charlie")

    def names(query):
        return sorted(re.sub(r"<[^>]+>", "", c) for c in cells(admin_client.get(f"{LIST}?{query}"), "name"))

    assert names("channel=rc") == ["Bravo"]
    assert names("status=progress") == ["Bravo", "Charlie"]
    assert names("status=progress&channel=whats") == ["Charlie"]
    assert names("sender_id__empty=true") == ["Bravo", "Charlie"]
    assert names("status__empty=true") == []
    assert names("sort=name") == ["Alpha", "Bravo", "Charlie"]


def test_the_export_has_the_labels(admin_client, company):
    make(company, Channel.SMS, S.ACTIVE, "Alpha", "ALPHA", agreement="=SUM(A1)")
    response = admin_client.get(LIST + "?export=csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0] == "Sender ID,Sender ID Name,Channel,Status,Agreement,Created"
    assert lines[1].startswith("ALPHA,Alpha,SMS,Active,'=SUM(A1),")
    assert admin_client.get(LIST + "?export=xlsx").status_code == 200


def test_list_query_count_does_not_grow_with_rows(admin_client, company):
    make(company)
    admin_client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(LIST).status_code == 200
    for i in range(30):
        make(company, [Channel.SMS, Channel.RCS, Channel.VIBER][i % 3], list(S)[i % len(S)], f"Sender {i}")
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(LIST)
    assert len(cells(response, "name")) == 31
    assert len(many.captured_queries) == len(few.captured_queries)


def test_row_actions_follow_the_status_rules(admin_client, company):
    draft = make(company, status=S.DRAFT, name="Draft one")
    active = make(company, status=S.ACTIVE, name="Active one", sender_id="ACT")
    blocked = make(company, status=S.BLOCKED, name="Blocked one")
    html = html_of(admin_client.get(LIST))
    assert f'href="{url("edit", draft)}"' in html and f'action="{url("delete", draft)}"' in html
    assert f'href="{url("edit", active)}"' in html and f'action="{url("delete", active)}"' not in html
    assert f'href="{url("edit", blocked)}"' not in html and f'action="{url("delete", blocked)}"' not in html


# --- creating ----------------------------------------------------------------------------------------------

def test_the_sms_form(admin_client):
    html = html_of(admin_client.get(NEW_SMS))
    for text in ("New SMS sender ID", "Sender ID Name", "Description", "Agreement", "Sample message",
                 "Send application", "Save as draft", "Exit without saving", "0 / 100",
                 "Up to 11 letters, digits and spaces", "a number of up to 15 digits"):
        assert text in html, text
    assert "Logo" not in html and "Webhook URL" not in html and "/ 40" not in html


def test_the_rcs_form(admin_client):
    html = html_of(admin_client.get(NEW_RCS))
    for text in ("New RCS sender ID", "Bot information", "Sender ID Name", "0 / 40", "0 / 100", "Logo",
                 "exactly 240x240 pixels, at most 90 KB", "exactly 1440x448 pixels, at most 120 KB",
                 "Phone numbers", "Add extra phone number", "Contact name", "Websites", "Add extra website",
                 "E-mails", "Add extra e-mail", "Color", "Privacy policy URL", "Terms of service URL", "Webhook URL",
                 "Example", "Send application", "Save as draft", "Exit without saving", "js/sender-ids.js"):
        assert text in html, text
    assert 'value="#000000"' in html and 'type="color"' in html
    assert re.search(r'<input[^>]*name="webhook_url"[^>]*disabled', html)  # only after approval
    assert 'accept="image/png,image/jpeg"' in html
    assert 'maxlength="25"' in html


def test_create_sms_application_and_draft(admin_client, company, admin_user):
    response = admin_client.post(NEW_SMS, {**SMS_DATA, "name": "Herald", "description": "Brand",
                                           "agreement": "AG-1", "sample_message": "Your code is 1234"})
    assert response.status_code == 302 and response["Location"] == LIST
    sender = SenderId.objects.get(company=company)
    assert (sender.channel, sender.status, sender.name, sender.description, sender.agreement,
            sender.sample_message, sender.created_by) == (
        Channel.SMS, S.SUBMITTED, "Herald", "Brand", "AG-1", "Your code is 1234", admin_user)
    assert "Application for sender ID “Herald” sent." in html_of(admin_client.get(LIST))
    admin_client.post(NEW_SMS, {**SMS_DATA, "name": "Shop", "action": "draft"})
    assert SenderId.objects.get(name="Shop").status == S.DRAFT
    assert AuditEvent.objects.filter(user=admin_user, action="Added new sender ID draft").exists()


def test_create_rcs_with_images_and_entries(admin_client, company):
    response = admin_client.post(NEW_RCS, {
        **RCS_DATA, "description": "Fresh cakes every day", "contact_name": "Ana",
        "phones": ["612 34 56 78", "+34911234567"], "phones_label": ["Call us", ""],
        "websites": ["https://example.com", ""], "websites_label": ["Shop", ""],
        "emails": ["help@example.com"], "emails_label": ["Write"], "color": "#1a73e8",
        "privacy_url": "https://example.com/privacy", "terms_url": "https://example.com/terms",
        "logo": png(240, 240, name="logo.png"), "background": png(1440, 448, name="bg.png")})
    assert response.status_code == 302, html_of(response)
    sender = SenderId.objects.get(company=company)
    assert sender.status == S.SUBMITTED and sender.channel == Channel.RCS
    assert sender.registration["phones"] == [{"value": "+34612345678", "label": "Call us"},
                                             {"value": "+34911234567", "label": ""}]
    assert sender.registration["websites"] == [{"value": "https://example.com", "label": "Shop"}]
    assert sender.registration["emails"] == [{"value": "help@example.com", "label": "Write"}]
    assert sender.registration["color"] == "#1a73e8" and sender.logo and sender.background
    page = html_of(admin_client.get(url("detail", sender)))
    for text in ("Herald Bot", "Fresh cakes every day", "+34612345678", "Call us", "https://example.com",
                 "help@example.com", "#1a73e8", "Example", sender.logo.url):
        assert text in page, text


@pytest.mark.parametrize("data, message", [
    ({"name": "n" * 41}, "Ensure this value has at most 40 characters (it has 41)."),
    ({"name": ""}, "This field is required."),
    ({"description": "d" * 101}, "Ensure this value has at most 100 characters (it has 101)."),
    ({"logo": "wrong size"}, "Logo: the image is 300x300 pixels; it must be exactly 240x240."),
    ({"logo": "too big"}, "the most is 90 KB."),
    ({"logo": "text"}, "Logo: the file is not a JPG or PNG image."),
    ({"background": "wrong size"}, "Background image: the image is 300x300 pixels; it must be exactly 1440x448."),
    ({"phones": ["+34612345671", "+34612345672", "+34612345673"], "phones_label": ["", "", ""]},
     "At most 2 phone numbers; remove 1."),
    ({"phones": ["+34612345671"], "phones_label": ["x" * 26]},
     "Phone number 1: the button text has at most 25 characters; this one has 26."),
    ({"phones": ["99"]}, "Phone number 1: “99” has 2 digits: a phone number has 3 to 17."),
    ({"websites": ["https://a.example", "https://b.example", "https://c.example"]}, "At most 2 websites; remove 1."),
    ({"emails": ["a@example.com", "b@example.com", "c@example.com"]}, "At most 2 e-mails; remove 1."),
    ({"emails": ["nope"]}, "E-mail 1: “nope” is not an e-mail address."),
    ({"color": "red"}, "Color: “red” is not a color; use the #RRGGBB form, e.g. #1A73E8."),
    ({"privacy_url": "not a url"}, "Privacy policy URL: “not a url” is not a web address"),
    ({"terms_url": "www.example.com"}, "Terms of service URL: “www.example.com” is not a web address"),
])
def test_rcs_limits_are_refused_with_a_message(admin_client, data, message):
    files = {"wrong size": lambda: png(300, 300), "too big": lambda: png(240, 240, noise=True),
             "text": lambda: io.BytesIO(b"plain text pretending to be a picture")}
    post = {**RCS_DATA, **data}
    for key in ("logo", "background"):
        if key in post:
            upload = files[post[key]]()
            upload.name = "picture.png"
            post[key] = upload
    response = admin_client.post(NEW_RCS, post)
    assert response.status_code == 422
    assert message in html_of(response)
    assert not SenderId.objects.exists()


@pytest.mark.parametrize("name, message", [
    ("HeraldShop12", "An alphanumeric sender ID has at most 11 characters; this one has 12."),
    ("1234567890123456", "A numeric sender ID has at most 15 digits; this one has 16."),
    ("Señal", "not allowed: “ñ”"),
])
def test_sms_name_rules_are_explained(admin_client, name, message):
    response = admin_client.post(NEW_SMS, {**SMS_DATA, "name": name})
    assert response.status_code == 422 and message in html_of(response)
    assert not SenderId.objects.exists()


def test_the_form_keeps_what_was_typed_after_an_error(admin_client):
    response = admin_client.post(NEW_RCS, {**RCS_DATA, "name": "Cake Bot", "color": "bad",
                                           "phones": ["+34612345671", "+34612345672"],
                                           "phones_label": ["Call", "Hotline"]})
    html = html_of(response)
    assert 'value="Cake Bot"' in html and 'value="+34612345672"' in html and 'value="Hotline"' in html
    assert "8 / 40" in html  # the counter of what was typed
    assert "--bot-color: #000000" in html  # an invalid color never reaches the preview's style


def test_other_channels_have_no_portal_form(admin_client):
    assert admin_client.get("/assets/sender-ids/new/viber/").status_code == 404
    assert admin_client.post("/assets/sender-ids/new/whatsapp/", SMS_DATA).status_code == 404
    assert not SenderId.objects.exists()


# --- a record -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", list(S))
def test_the_record_page_offers_what_the_status_allows(admin_client, company, status):
    sender = make(company, Channel.SMS, status, sender_id="HERALD")
    html = html_of(admin_client.get(url("detail", sender)))
    assert "Herald" in html and str(status.label) in html
    assert (f'href="{url("edit", sender)}"' in html) == (status in services.EDITABLE)
    assert (f'action="{url("cancel", sender)}"' in html) == (status in services.CANCELABLE)
    assert (f'action="{url("delete", sender)}"' in html) == (status in services.DELETABLE)
    assert (f'action="{url("submit", sender)}"' in html) == (status == S.DRAFT)


def test_a_viber_record_is_shown_but_not_edited(admin_client, company):
    sender = make(company, Channel.VIBER, S.ACTIVE, "Herald Viber", "herald-viber")
    html = html_of(admin_client.get(url("detail", sender)))
    assert "Herald Viber" in html and "herald-viber" in html and "Viber" in html
    assert f'href="{url("edit", sender)}"' not in html
    response = admin_client.get(url("edit", sender), follow=True)
    assert "Viber sender IDs are registered by the system owner in the BackOffice" in html_of(response)


@pytest.mark.parametrize("status", list(S))
def test_edit_per_status(admin_client, company, status):
    sender = make(company, Channel.SMS, status, sender_id="HERALD")
    response = admin_client.post(url("edit", sender), {**SMS_DATA, "name": "Changed", "action": "save"})
    sender.refresh_from_db()
    if status in services.EDITABLE:
        assert response.status_code == 302 and response["Location"] == url("detail", sender)
        assert sender.name == "Changed" and sender.status == status
        assert admin_client.get(url("edit", sender)).status_code == 200
    else:
        assert response.status_code == 302 and response["Location"] == url("detail", sender)
        assert sender.name == "Herald"
        page = html_of(admin_client.get(url("edit", sender), follow=True))
        assert f"A sender ID with status {status.label!s} cannot be edited; only Draft, Submitted, Done, Active" in page


def test_edit_a_draft_and_send_its_application(admin_client, company):
    sender = make(company, Channel.SMS, S.DRAFT)
    html = html_of(admin_client.get(url("edit", sender)))
    assert "Send application" in html and "Save as draft" in html and 'value="Herald"' in html
    admin_client.post(url("edit", sender), {**SMS_DATA, "action": "draft"})
    sender.refresh_from_db()
    assert sender.status == S.DRAFT
    response = admin_client.post(url("edit", sender), {**SMS_DATA, "action": "submit"}, follow=True)
    sender.refresh_from_db()
    assert sender.status == S.SUBMITTED and "Application for sender ID “Herald” sent." in html_of(response)
    html = html_of(admin_client.get(url("edit", sender)))
    assert "Save changes" in html and "Save as draft" not in html  # a submitted one never goes back to draft


def test_the_webhook_url_is_editable_once_approved(admin_client, company):
    sender = make(company, Channel.RCS, S.ACTIVE, "Herald Bot", "bot@rbm.goog", registration={"color": "#112233"})
    html = html_of(admin_client.get(url("edit", sender)))
    assert not re.search(r'<input[^>]*name="webhook_url"[^>]*disabled', html)
    assert 'value="#112233"' in html
    response = admin_client.post(url("edit", sender), {**RCS_DATA, "color": "#112233", "action": "save",
                                                       "webhook_url": "https://hooks.example.com/rcs"})
    assert response.status_code == 302
    sender.refresh_from_db()
    assert sender.registration["webhook_url"] == "https://hooks.example.com/rcs" and sender.status == S.ACTIVE
    submitted = make(company, Channel.RCS, S.SUBMITTED, "Other Bot")
    html = html_of(admin_client.get(url("edit", submitted)))
    assert re.search(r'<input[^>]*name="webhook_url"[^>]*disabled', html)
    admin_client.post(url("edit", submitted), {**RCS_DATA, "action": "save", "webhook_url": "https://evil.example"})
    submitted.refresh_from_db()
    assert submitted.registration.get("webhook_url", "") == ""  # a disabled field ignores what is posted


@pytest.mark.parametrize("status", list(S))
def test_cancel_per_status(admin_client, company, status):
    sender = make(company, Channel.SMS, status, sender_id="HERALD")
    response = admin_client.post(url("cancel", sender), follow=True)
    sender.refresh_from_db()
    if status in services.CANCELABLE:
        assert sender.status == S.CANCELED and "Request for sender ID “Herald” canceled." in html_of(response)
    else:
        assert sender.status == status
        assert f"A sender ID with status {status.label!s} cannot be canceled" in html_of(response)


@pytest.mark.parametrize("status", list(S))
def test_delete_per_status(admin_client, company, status):
    sender = make(company, Channel.SMS, status, sender_id="HERALD")
    response = admin_client.post(url("delete", sender), follow=True)
    if status in services.DELETABLE:
        assert not SenderId.objects.filter(pk=sender.pk).exists()
        assert response.redirect_chain[-1][0] == LIST
        assert "Sender ID “Herald” deleted." in html_of(response)
    else:
        assert SenderId.objects.filter(pk=sender.pk).exists()
        assert f"A sender ID with status {status.label!s} cannot be deleted; cancel the request first" in html_of(
            response)


def test_actions_answer_post_only(admin_client, company):
    sender = make(company, Channel.SMS, S.CANCELED)
    assert admin_client.get(url("delete", sender)).status_code == 405
    assert admin_client.get(url("cancel", sender)).status_code == 405
    assert SenderId.objects.filter(pk=sender.pk).exists()


# --- permissions and tenancy ------------------------------------------------------------------------------------

def test_view_permission_sees_but_does_not_change(client, company):
    sender = make(company, Channel.SMS, S.DRAFT)
    client_with(client, company, "view_sender_ids")
    html = html_of(client.get(LIST))
    assert "Herald" in html and "New sender ID" not in html and url("edit", sender) not in html
    detail = html_of(client.get(url("detail", sender)))
    assert url("edit", sender) not in detail and url("delete", sender) not in detail
    assert client.get(NEW_SMS).status_code == 403
    assert client.post(NEW_RCS, RCS_DATA).status_code == 403
    assert client.get(url("edit", sender)).status_code == 403
    for action in ("submit", "cancel", "delete"):
        assert client.post(url(action, sender)).status_code == 403
    sender.refresh_from_db()
    assert sender.status == S.DRAFT and SenderId.objects.count() == 1


def test_manage_permission_alone_is_enough(client, company):
    client_with(client, company, "manage_sender_ids")
    assert client.get(LIST).status_code == 200
    assert client.post(NEW_SMS, SMS_DATA).status_code == 302
    assert SenderId.objects.filter(company=company).count() == 1


def test_without_a_sender_id_permission_every_page_is_forbidden(client, company):
    sender = make(company)
    client_with(client, company)  # finance manager: neither permission
    for path in (LIST, url("detail", sender), NEW_SMS, url("edit", sender)):
        assert client.get(path).status_code == 403, path
    assert client.post(url("delete", sender)).status_code == 403
    assert SenderId.objects.filter(pk=sender.pk).exists()


def test_a_signed_out_visitor_is_sent_to_login(client, company):
    response = client.get(LIST)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_another_companys_sender_id_is_not_found(admin_client, company, other_company):
    theirs = make(other_company, Channel.SMS, S.DRAFT, "Globex")
    assert "Globex" not in html_of(admin_client.get(LIST))
    for name in ("detail", "edit"):
        assert admin_client.get(url(name, theirs)).status_code == 404
    assert admin_client.post(url("edit", theirs), {**SMS_DATA, "action": "save"}).status_code == 404
    for name in ("submit", "cancel", "delete"):
        assert admin_client.post(url(name, theirs)).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.name, theirs.status) == ("Globex", S.DRAFT)
