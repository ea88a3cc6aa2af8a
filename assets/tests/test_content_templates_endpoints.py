"""The message constructor's endpoints (spec P§5): the editor fragment for htmx, *Load
template* (the company's templates of a channel) and *Save as template*; permissions, tenant
isolation and the ``{% constructor %}`` tag."""

from __future__ import annotations

import json
import re

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from accounts import services as account_services
from assets.models import ContentTemplate
from assets.tests.factories import content_template
from portal.audit import Actor
from portal.channel_types import Channel
from portal.models import AuditEvent
from portal.testing import factories

FRAGMENT = "/assets/content-templates/constructor/"
FOR_CHANNEL = "/assets/content-templates/for-channel/"
SAVE = "/assets/content-templates/save-from-constructor/"

pytestmark = pytest.mark.django_db


def client_with(client, company, *codes):
    role = account_services.create_role(actor=Actor.system(company), company=company, name="Role " + "-".join(codes),
                                        permissions=list(codes))
    client.force_login(factories.user(company, roles=[role]))
    return client


def config_of(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json">(.*?)</script>', html, re.S).group(1))


# --- the fragment -----------------------------------------------------------------------------

@pytest.mark.parametrize("channel, key", [(1, "sms"), (2, "rcs"), (3, "viber"), (4, "whatsapp"), (5, "wechat"),
                                          (6, "email"), (7, "telegram"), (8, "push"), (9, "tts"), (10, "mobile_push")])
def test_the_fragment_is_the_editor_of_each_channel(admin_client, channel, key):
    response = admin_client.get(FRAGMENT, {"channel": channel, "name": "steps[2].content"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-constructor="{key}"' in html
    assert '<input type="hidden" name="steps[2].content" value="{}"' in html
    assert "<html" not in html  # just the editor, for htmx
    config = config_of(html)
    assert config["channel"] == channel and config["key"] == key
    assert config["urls"]["templates"] == f"{FOR_CHANNEL}?channel={channel}"
    assert config["urls"]["save"] == SAVE


def test_the_fragment_without_template_tools(admin_client):
    config = config_of(admin_client.get(FRAGMENT, {"channel": 1, "name": "content", "tools": "0"}).content.decode())
    assert config["urls"]["templates"] is None and config["urls"]["save"] is None


@pytest.mark.parametrize("params", [{"channel": "x"}, {"channel": 11}, {}, {"channel": 1, "name": '"><script>'},
                                    {"channel": 1, "name": "a b"}])
def test_the_fragment_refuses_bad_parameters(admin_client, params):
    assert admin_client.get(FRAGMENT, params).status_code == 400


def test_a_broadcast_manager_may_use_the_constructor_but_not_save_templates(client, company):
    client_with(client, company, "manage_broadcasts")
    config = config_of(client.get(FRAGMENT, {"channel": 1, "name": "content"}).content.decode())
    assert config["urls"]["templates"] and config["urls"]["save"] is None
    assert client.get(FOR_CHANNEL, {"channel": 1}).status_code == 200
    response = client.post(SAVE, {"name": "x", "channel": 1, "content": '{"text": "Hi"}'})
    assert response.status_code == 403 and "permission" in response.json()["error"]
    assert not ContentTemplate.objects.exists()


def test_users_without_a_constructor_permission_are_refused(client, company):
    client_with(client, company, "view_dashboard")
    assert client.get(FRAGMENT, {"channel": 1, "name": "content"}).status_code == 403
    assert client.get(FOR_CHANNEL, {"channel": 1}).status_code == 403


def test_signed_out_json_endpoints_answer_401(client):
    assert client.get(FOR_CHANNEL, {"channel": 1}).status_code == 401
    assert client.post(SAVE, {"name": "x", "channel": 1, "content": "{}"}).status_code == 401


# --- Load template --------------------------------------------------------------------------------

def test_for_channel_lists_the_company_templates_of_the_channel_by_name(admin_client, company, other_company):
    b = content_template(company, name="B welcome", content={"text": "B"})
    a = content_template(company, name="A reminder", content={"text": "A {{attribute.name}}"})
    content_template(company, name="Viber one", channel=Channel.VIBER)
    content_template(other_company, name="Globex SMS")
    response = admin_client.get(FOR_CHANNEL, {"channel": 1})
    assert response.status_code == 200
    assert response.json() == {"results": [
        {"id": a.pk, "name": "A reminder", "content": {"text": "A {{attribute.name}}"}},
        {"id": b.pk, "name": "B welcome", "content": {"text": "B"}}]}
    assert [r["name"] for r in admin_client.get(FOR_CHANNEL, {"channel": 3}).json()["results"]] == ["Viber one"]
    assert admin_client.get(FOR_CHANNEL, {"channel": "sms"}).status_code == 400


# --- Save as template ---------------------------------------------------------------------------------

def test_save_from_constructor_creates_a_template(admin_client, admin_user, company):
    content = {"type": "card", "card": {"title": "Sale", "suggestions": [{"kind": "reply", "text": "Yes"}]}}
    response = admin_client.post(SAVE, {"name": "Sale card", "channel": 2, "content": json.dumps(content)})
    assert response.status_code == 201
    template = ContentTemplate.objects.get(company=company)
    assert response.json() == {"id": template.pk, "name": "Sale card"}
    assert template.channel == Channel.RCS and template.content == content and template.created_by == admin_user
    assert AuditEvent.objects.filter(action="Added new content template", user=admin_user).exists()


def test_save_from_constructor_accepts_a_json_body(admin_client, company):
    response = admin_client.post(SAVE, {"name": "Push", "channel": 8, "content": {"title": "Hi"}},
                                 content_type="application/json")
    assert response.status_code == 201
    assert ContentTemplate.objects.get(company=company).content == {"title": "Hi"}


def test_save_from_constructor_refuses_with_the_field_errors(admin_client):
    content = {"type": "card", "card": {"title": "t" * 201, "suggestions": [{"kind": "reply", "text": "x" * 26}]}}
    response = admin_client.post(SAVE, {"name": "", "channel": 2, "content": json.dumps(content)})
    assert response.status_code == 400
    assert response.json() == {"errors": {"name": "Give the template a name.",
                                          "content.card.title": "At most 200 characters; this has 201.",
                                          "content.card.suggestions[0].text": "At most 25 characters; this has 26."}}
    assert not ContentTemplate.objects.exists()


@pytest.mark.parametrize("data, errors", [
    ({"name": "x", "channel": 1, "content": "{bad"}, {"content": "The content is not valid JSON."}),
    ({"name": "x", "channel": 7, "content": '{"text": "Hi"}'},
     {"channel": "Choose the channel: SMS, RCS, Viber, WhatsApp, Email, Push, TTS, Mobile Push."}),
    ({"name": "x", "channel": 1, "content": '["Hi"]'},
     {"content": 'The content must be a JSON object, e.g. {"text": "Hello"}.'}),
])
def test_save_from_constructor_refuses_bad_input(admin_client, data, errors):
    response = admin_client.post(SAVE, data)
    assert response.status_code == 400 and response.json() == {"errors": errors}
    assert not ContentTemplate.objects.exists()


def test_saved_templates_belong_to_the_users_company(admin_client, company, other_company):
    admin_client.post(SAVE, {"name": "Mine", "channel": 1, "content": '{"text": "Hi"}'})
    assert ContentTemplate.objects.get().company == company
    assert not ContentTemplate.objects.filter(company=other_company).exists()


# --- the template tag ------------------------------------------------------------------------------

def test_the_tag_renders_the_value_errors_and_one_attribute_query_per_request(admin_user, company,
                                                                                django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = admin_user
    admin_user.permission_codes()  # computed once per request (outside the count)
    template = Template('{% load constructor %}{% constructor 2 "a" value errors=errors %}'
                        '{% constructor 1 "b" "{\\"text\\": \\"Hi\\"}" %}')
    with django_assert_num_queries(1):
        html = template.render(Context({"request": request, "value": {"type": "text", "text": "Hi <b>"},
                                        "errors": {"text": "Too long"}}))
    first, second = re.findall(r'<script type="application/json">(.*?)</script>', html, re.S)
    first, second = json.loads(first), json.loads(second)
    assert first["content"] == {"type": "text", "text": "Hi <b>"} and first["errors"] == {"text": "Too long"}
    assert second["content"] == {"text": "Hi"}
    assert "<b>" not in html  # escaped in the configuration and in the hidden input
    assert 'name="a" value="{&quot;type&quot;: &quot;text&quot;, &quot;text&quot;: &quot;Hi &lt;b&gt;&quot;}"' in html


def test_the_tag_offers_media_when_the_media_pages_exist(admin_user):
    request = RequestFactory().get("/")
    request.user = admin_user
    html = Template('{% load constructor %}{% constructor 6 "content" %}').render(Context({"request": request}))
    urls = config_of(html)["urls"]
    assert urls["picker"] == "/assets/media/picker/" and urls["upload"] == "/assets/media/upload/"


def test_constructor_assets_loads_the_script_before_alpine_starts():
    html = Template("{% load constructor %}{% constructor_assets %}").render(Context())
    assert '<script src="/static/js/constructor.js"></script>' in html  # not deferred
    assert 'href="/static/css/constructor.css"' in html
