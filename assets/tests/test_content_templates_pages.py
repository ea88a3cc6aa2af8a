"""Assets → Content templates (spec P§11.3): the list on the data table, create / edit /
delete with the constructor, server-side validation of the content (nothing saved on a bad
payload, the messages next to the fields), permissions and tenant isolation."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from assets.models import ContentTemplate
from assets.tests.factories import content_template
from messaging.content import render_email_html
from portal.audit import Actor
from portal.channel_types import Channel
from portal.models import AuditEvent
from portal.testing import factories

LIST = "/assets/content-templates/"
NEW = "/assets/content-templates/new/"

pytestmark = pytest.mark.django_db


def edit_url(t):
    return f"/assets/content-templates/{t.pk}/edit/"


def delete_url(t):
    return f"/assets/content-templates/{t.pk}/delete/"


def cells(response, column):
    return [re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(rf'<td data-column="{column}">(.*?)</td>', response.content.decode(), re.S)]


def config_of(response) -> dict:
    """The constructor's configuration as the page gives it to the browser."""
    found = re.search(r'<script type="application/json">(.*?)</script>', response.content.decode(), re.S)
    assert found, "no constructor on the page"
    return json.loads(found.group(1))


def client_with(client, company, *codes):
    role = account_services.create_role(actor=Actor.system(company), company=company, name="Role " + "-".join(codes),
                                        permissions=list(codes))
    client.force_login(factories.user(company, roles=[role]))
    return client


def post(client, url, name="Welcome", channel=Channel.SMS, content=None):
    return client.post(url, {"name": name, "channel": int(channel),
                             "content": json.dumps({"text": "Hi {{attribute.name}}"} if content is None else content)})


def test_the_urls():
    assert reverse("content_templates:list") == LIST
    assert reverse("content_templates:create") == NEW
    assert reverse("content_templates:edit", args=[7]) == "/assets/content-templates/7/edit/"
    assert reverse("content_templates:delete", args=[7]) == "/assets/content-templates/7/delete/"
    assert reverse("content_templates:constructor") == "/assets/content-templates/constructor/"
    assert reverse("content_templates:for_channel") == "/assets/content-templates/for-channel/"
    assert reverse("content_templates:save_from_constructor") == "/assets/content-templates/save-from-constructor/"


# --- the list ----------------------------------------------------------------------------------

def test_the_list_shows_the_company_templates_with_their_columns(admin_client, company, other_company):
    company.time_zone = "Europe/Madrid"
    company.save()
    sms = content_template(company, name="Welcome")
    content_template(company, name="Spring mail", channel=Channel.EMAIL, content={"subject": "S", "html": "<p>x</p>"})
    content_template(other_company, name="Globex secret")
    ContentTemplate.objects.filter(pk=sms.pk).update(updated_at=datetime.datetime(2025, 1, 15, 9, 30, 5,
                                                                                   tzinfo=datetime.UTC))
    response = admin_client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    for header in ("ID", "Template Name", "Channel", "Last Modified", "Add filter", "Columns to show", "New Template"):
        assert header in html, header
    assert sorted(cells(response, "name")) == ["Spring mail", "Welcome"]
    assert "Globex secret" not in html
    assert sorted(cells(response, "channel")) == ["Email", "SMS"]
    # Last Modified in the company's time zone (Madrid is UTC+1 in January)
    row = dict(zip(cells(response, "name"), cells(response, "updated_at"), strict=True))
    assert row["Welcome"] == "15.01.2025 10:30:05"
    assert str(sms.pk) in cells(response, "id")
    assert f'href="{edit_url(sms)}"' in html and f'action="{delete_url(sms)}"' in html


def test_the_list_filters_by_name_and_channel(admin_client, company):
    content_template(company, name="Welcome SMS")
    content_template(company, name="Welcome push", channel=Channel.PUSH, content={"title": "Hi"})
    content_template(company, name="Invoice", channel=Channel.EMAIL, content={"subject": "S", "text": "x"})

    def names(query):
        return sorted(cells(admin_client.get(f"{LIST}?{query}"), "name"))

    assert names("name=welcome") == ["Welcome SMS", "Welcome push"]
    assert names("channel=push") == ["Welcome push"]
    assert names("channel=sms&name=welcome") == ["Welcome SMS"]
    assert names("sort=name") == ["Invoice", "Welcome SMS", "Welcome push"]


def test_the_export_has_the_channel_label(admin_client, company):
    content_template(company, name="Welcome")
    response = admin_client.get(LIST + "?export=csv")
    lines = b"".join(response.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert lines[0] == "ID,Template Name,Channel,Last Modified"
    assert ",Welcome,SMS," in lines[1]


def test_list_query_count_does_not_grow_with_rows(admin_client, company, django_assert_max_num_queries):
    content_template(company)
    admin_client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(LIST)
    for i in range(30):
        content_template(company, channel=[Channel.SMS, Channel.VIBER][i % 2], content={"text": f"Hi {i}"})
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(LIST)
    assert len(cells(response, "name")) == 31


# --- create ------------------------------------------------------------------------------------

def test_the_new_form_has_the_constructor_of_the_channel(admin_client, company):
    from contacts.models import Attribute

    Attribute.objects.create(company=company, key="loyalty_level", name="Loyalty level")
    response = admin_client.get(NEW)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-constructor="sms"' in html and 'name="content"' in html
    assert "js/constructor.js" in html and "css/constructor.css" in html
    config = config_of(response)
    assert config["channel"] == Channel.SMS and config["content"] == {}
    assert {"key": "loyalty_level", "name": "Loyalty level"} in config["attributes"]
    assert {"key": "name", "name": "Name"} in config["attributes"]  # a default attribute
    assert config["attributes"][0] == {"key": "phoneNumber", "name": "Phone number"}
    assert config["urls"]["templates"] is None and config["urls"]["save"] is None  # no template tools here
    assert 'data-testid="sms-counter"' in html
    rcs = admin_client.get(NEW + "?channel=2")
    assert 'data-constructor="rcs"' in rcs.content.decode() and config_of(rcs)["limits"]["chips"] == 11


def test_only_template_channels_are_offered(admin_client):
    html = admin_client.get(NEW).content.decode()
    for label in ("SMS", "RCS", "Viber", "WhatsApp", "Email", "Push", "TTS", "Mobile Push"):
        assert f">{label}</option>" in html, label
    assert ">WeChat</option>" not in html and ">Telegram</option>" not in html


def test_create_an_sms_template(admin_client, admin_user, company):
    response = post(admin_client, NEW, name="  Welcome  ", content={"text": "Hi {{attribute.name}}"})
    assert response.status_code == 302 and response.url == LIST
    template = ContentTemplate.objects.get(company=company)
    assert (template.name, template.channel, template.content) == ("Welcome", Channel.SMS,
                                                                   {"text": "Hi {{attribute.name}}"})
    assert template.created_by == admin_user
    event = AuditEvent.objects.get(action="Added new content template")
    assert event.user == admin_user and event.company == company
    page = admin_client.get(LIST)
    assert "Content template “Welcome” created." in page.content.decode()


def test_an_email_template_carries_the_html_made_from_its_blocks(admin_client, company):
    blocks = [{"type": "text", "text": "Hello {{attribute.name}}", "style": "heading", "align": "left"},
              {"type": "button", "text": "Order", "url": "https://shop.example.com", "color": "#4f46e5",
               "align": "center"}]
    response = post(admin_client, NEW, name="Spring", channel=Channel.EMAIL,
                    content={"subject": "Spring sale", "subtitle": "Cakes", "blocks": blocks, "html": "<script>x"})
    assert response.status_code == 302
    content = ContentTemplate.objects.get(company=company).content
    assert content["html"] == render_email_html(blocks, subtitle="Cakes")
    assert "<script>" not in content["html"]
    assert content["text"] == "Hello {{attribute.name}}\n\nOrder: https://shop.example.com"


@pytest.mark.parametrize("channel, content, key, message", [
    (Channel.SMS, {"text": ""}, "text", "This channel needs a text."),
    (Channel.RCS, {"type": "card", "card": {"title": "t" * 201}}, "card.title", "At most 200 characters; this has 201."),
    (Channel.RCS, {"type": "text", "text": "Hi", "suggestions": [{"kind": "action", "action": "url", "text": "Go",
                                                                  "url": "shop.example.com"}]},
     "suggestions[0].url", "Give a URL that starts with http:// or https://."),
    (Channel.VIBER, {"type": "text", "text": "x" * 1001}, "text", "At most 1000 characters; this has 1001."),
    (Channel.WHATSAPP, {"type": "card", "header": "h" * 21, "text": "x"}, "header", "At most 20 characters; this has 21."),
    (Channel.EMAIL, {"subject": "", "blocks": [{"type": "divider"}]}, "subject", "An e-mail needs a subject."),
    (Channel.PUSH, {}, "text", "A push needs at least one of a picture, a header or a text."),
    (Channel.MOBILE_PUSH, {"title": "Hi"}, "text", "A mobile push needs a text."),
    (Channel.TTS, {"text": "Hi", "repetitions": 5}, "repetitions", "Give a whole number from 1 to 3."),
])
def test_a_bad_payload_is_refused_with_the_field_message(admin_client, company, channel, content, key, message):
    response = post(admin_client, NEW, channel=channel, content=content)
    assert response.status_code == 422
    assert not ContentTemplate.objects.exists()
    assert not AuditEvent.objects.filter(action__icontains="content template").exists()
    config = config_of(response)
    assert config["errors"] == {key: message}
    assert config["channel"] == channel and config["content"] == content  # shown again as typed
    assert "Correct the fields marked below." in response.content.decode()


def test_name_is_required_and_at_most_100(admin_client):
    response = post(admin_client, NEW, name="   ")
    assert response.status_code == 422
    assert "Give the template a name." in response.content.decode()
    response = post(admin_client, NEW, name="n" * 101)
    assert response.status_code == 422
    assert "Ensure this value has at most 100 characters (it has 101)." in response.content.decode()
    assert not ContentTemplate.objects.exists()


def test_channels_without_templates_are_refused(admin_client):
    response = post(admin_client, NEW, channel=Channel.TELEGRAM)
    assert response.status_code == 422 and not ContentTemplate.objects.exists()
    assert "Select a valid choice." in response.content.decode()


def test_content_that_is_not_json_is_refused(admin_client):
    response = admin_client.post(NEW, {"name": "x", "channel": 1, "content": "{not json"})
    assert response.status_code == 422
    assert config_of(response)["errors"] == {"": "The content is not valid JSON."}
    assert not ContentTemplate.objects.exists()


# --- edit and delete ------------------------------------------------------------------------------

def test_edit_shows_the_template_and_saves_changes(admin_client, admin_user, company):
    template = content_template(company, name="Welcome", content={"text": "Hi"})
    response = admin_client.get(edit_url(template))
    assert response.status_code == 200
    assert 'value="Welcome"' in response.content.decode()
    assert config_of(response)["content"] == {"text": "Hi"}
    response = post(admin_client, edit_url(template), name="Welcome back", content={"text": "Hi again"})
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.name, template.content) == ("Welcome back", {"text": "Hi again"})
    event = AuditEvent.objects.get(action="Changed content template")
    assert event.user == admin_user and event.details.get().old_value["name"] == "Welcome"


def test_edit_may_change_the_channel(admin_client, company):
    template = content_template(company)
    response = post(admin_client, edit_url(template), channel=Channel.VIBER,
                    content={"type": "text_button", "text": "Cakes", "button": {"text": "Buy",
                                                                                "url": "https://x.example.com"}})
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.channel == Channel.VIBER and template.content["type"] == "text_button"


def test_a_bad_edit_changes_nothing(admin_client, company):
    template = content_template(company, name="Welcome", content={"text": "Hi"})
    before = template.updated_at
    response = post(admin_client, edit_url(template), name="Renamed", content={"text": ""})
    assert response.status_code == 422
    template.refresh_from_db()
    assert (template.name, template.content, template.updated_at) == ("Welcome", {"text": "Hi"}, before)
    assert config_of(response)["errors"] == {"text": "This channel needs a text."}


def test_delete(admin_client, admin_user, company):
    template = content_template(company, name="Old")
    response = admin_client.post(delete_url(template))
    assert response.status_code == 302 and response.url == LIST
    assert not ContentTemplate.objects.filter(pk=template.pk).exists()
    event = AuditEvent.objects.get(action="Deleted content template")
    assert event.details.get().old_value["name"] == "Old"
    assert admin_client.get(delete_url(template)).status_code == 405  # POST only


# --- tenant isolation and permissions -----------------------------------------------------------------

def test_another_company_template_is_404(admin_client, other_company):
    theirs = content_template(other_company, name="Globex")
    assert admin_client.get(edit_url(theirs)).status_code == 404
    assert post(admin_client, edit_url(theirs), name="Hacked").status_code == 404
    assert admin_client.post(delete_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Globex"
    assert admin_client.get("/assets/content-templates/999999/edit/").status_code == 404


def test_pages_need_manage_content_templates(client, company):
    client_with(client, company, "manage_broadcasts")
    template = content_template(company)
    assert client.get(LIST).status_code == 403
    assert client.get(NEW).status_code == 403
    assert post(client, NEW).status_code == 403
    assert client.get(edit_url(template)).status_code == 403
    assert client.post(delete_url(template)).status_code == 403
    assert ContentTemplate.objects.count() == 1


def test_a_role_with_the_permission_may_manage(client, company):
    client_with(client, company, "manage_content_templates")
    assert client.get(LIST).status_code == 200
    assert post(client, NEW).status_code == 302


def test_signed_out_users_go_to_the_login(client):
    response = client.get(LIST)
    assert response.status_code == 302 and "/login" in response.url


def test_dates_use_the_company_time_zone_in_the_export_too(admin_client, company):
    company.time_zone = "America/New_York"
    company.save()
    template = content_template(company, name="Welcome")
    stamp = timezone.make_aware(datetime.datetime(2025, 7, 1, 12, 0, 0), datetime.UTC)
    ContentTemplate.objects.filter(pk=template.pk).update(updated_at=stamp)
    body = b"".join(admin_client.get(LIST + "?export=csv").streaming_content).decode("utf-8-sig")
    assert "01.07.2025 08:00:00" in body
