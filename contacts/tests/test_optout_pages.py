"""Opt-out words page (spec P§6.9) and the contact opt-outs block (spec P§6.4): forms,
time zone, permissions and tenant isolation."""

from __future__ import annotations

import datetime

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from contacts import services
from contacts.models import OptOut, OptOutSource, OptOutWord
from portal.audit import Actor
from portal.channel_types import Channel
from portal.models import AuditEvent
from portal.testing import factories

UTC = datetime.UTC
LIST = "/contacts/opt-out-words/"
CREATE = "/contacts/opt-out-words/new/"
DATA = {"word": "STOP", "channel": Channel.SMS, "sender": "", "effective_from": "", "effective_till": ""}


@pytest.fixture
def company(db):
    return factories.company("Acme", time_zone="Europe/Madrid")


@pytest.fixture
def contact(company):
    return services.create_contact(actor=Actor.system(company), company=company, phone="+34612345678")


def html_of(response) -> str:
    return response.content.decode()


def add_word(company, text="STOP", **kwargs):
    kwargs.setdefault("channel", Channel.SMS)
    return services.create_optout_word(actor=Actor.system(company), company=company, word=text, **kwargs)


def edit_url(obj):
    return reverse("contacts:optout_word_edit", args=[obj.pk])


def delete_url(obj):
    return reverse("contacts:optout_word_delete", args=[obj.pk])


def add_optout_url(contact):
    return reverse("contacts:contact_optout_add", args=[contact.pk])


def remove_optout_url(contact, optout):
    return reverse("contacts:contact_optout_remove", args=[contact.pk, optout.pk])


# --- Opt-out words page --------------------------------------------------------------------------


def test_the_urls():
    assert reverse("contacts:optout_words") == LIST and reverse("contacts:optout_word_create") == CREATE
    assert reverse("contacts:optout_word_edit", args=[7]) == "/contacts/opt-out-words/7/edit/"


def test_the_list_shows_the_columns_and_dates_in_the_company_time_zone(admin_client, company):
    add_word(company, "STOP", sender="Herald", effective_from=datetime.datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
             effective_till=datetime.datetime(2025, 7, 1, 22, 0, 5, tzinfo=UTC))
    add_word(company, "BAJA", channel=Channel.WHATSAPP)
    response = admin_client.get(LIST)
    assert response.status_code == 200
    html = html_of(response)
    for header in ("Opt-out word", "Channel", "Sender ID Name", "Effective from", "Effective till",
                   "New opt-out word", "Columns to show"):
        assert header in html, header
    assert "01.03.2025 10:00:00" in html  # 09:00 UTC = 10:00 in Madrid (winter)
    assert "02.07.2025 00:00:05" in html  # 22:00 UTC = 00:00 next day in Madrid (summer)
    assert "Whole channel" in html and "WhatsApp" in html and "Herald" in html
    assert "Europe/Madrid" in html


def test_the_export_shows_dates_in_the_company_time_zone(company):
    user = factories.admin(company)
    client = Client()
    client.force_login(user)
    add_word(company, "STOP", effective_from=datetime.datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    response = client.get(LIST + "?export=csv")
    body = b"".join(response.streaming_content).decode()
    assert "STOP" in body and "01.03.2025 10:00:00" in body and "Whole channel" in body
    response = client.get(LIST + "?export=xlsx")
    assert response.status_code == 200


def test_the_list_filters_by_day_in_the_company_time_zone(admin_client, company):
    # 23:30 UTC on 28 Feb is 00:30 on 1 March in Madrid.
    add_word(company, "STOP", effective_from=datetime.datetime(2025, 2, 28, 23, 30, tzinfo=UTC))
    add_word(company, "END", effective_from=datetime.datetime(2025, 2, 28, 12, 0, tzinfo=UTC))
    html = html_of(admin_client.get(LIST + "?effective_from=2025-03-01"))
    assert ">STOP<" in html and ">END<" not in html


def test_create_reads_the_dates_in_the_company_time_zone(admin_client, company):
    response = admin_client.post(CREATE, {**DATA, "word": " Stop ", "sender": "Herald",
                                          "effective_from": "2025-03-01T10:00",
                                          "effective_till": "2025-08-01T12:30:15"})
    assert response.status_code == 302 and response["Location"] == LIST
    w = OptOutWord.objects.get(company=company)
    assert (w.word, w.channel, w.sender) == ("Stop", Channel.SMS, "Herald")
    assert w.effective_from == datetime.datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    assert w.effective_till == datetime.datetime(2025, 8, 1, 10, 30, 15, tzinfo=UTC)
    assert AuditEvent.objects.filter(action="Added new opt-out word", user__isnull=False).exists()
    page = html_of(admin_client.get(edit_url(w)))
    assert 'value="2025-03-01T10:00:00"' in page and 'value="2025-08-01T12:30:15"' in page
    assert 'type="datetime-local"' in page


def test_the_new_form_offers_every_channel_and_an_empty_sender_means_whole_channel(admin_client, company):
    html = html_of(admin_client.get(CREATE))
    for label in Channel.labels:
        assert f">{label}</option>" in html
    assert 'placeholder="Whole channel"' in html
    assert admin_client.post(CREATE, {**DATA, "channel": Channel.VIBER}).status_code == 302
    assert OptOutWord.objects.get(company=company).sender == ""


@pytest.mark.parametrize("data, message", [
    ({"word": ""}, "This field is required."),
    ({"word": "x" * 65}, "Ensure this value has at most 64 characters"),
    ({"channel": "99"}, "Select a valid choice."),
    ({"effective_from": "2025-03-02T10:00", "effective_till": "2025-03-01T10:00"},
     "Effective till must be after Effective from."),
    ({"effective_from": "not a date"}, "Enter a valid date/time."),
    ({"effective_from": "2025-03-30T02:30"}, "may be ambiguous or it may not exist"),  # DST gap in Madrid
])
def test_invalid_input_is_refused_with_a_message(admin_client, company, data, message):
    response = admin_client.post(CREATE, {**DATA, **data})
    assert response.status_code == 422
    assert message in html_of(response).replace("&#x27;", "'").replace("’", "'").replace("&quot;", '"')
    assert not OptOutWord.objects.exists()


def test_a_duplicate_is_refused_with_a_message(admin_client, company):
    add_word(company, "STOP", sender="Herald")
    response = admin_client.post(CREATE, {**DATA, "word": "stop", "sender": "Herald"})
    assert response.status_code == 422
    assert "already exists for SMS / Herald" in html_of(response)
    assert OptOutWord.objects.count() == 1


def test_edit_and_delete(admin_client, company):
    w = add_word(company, "STOP")
    other = add_word(company, "END")
    response = admin_client.post(edit_url(w), {**DATA, "word": "QUIT", "channel": Channel.RCS, "sender": "Shop",
                                               "effective_till": "2026-01-01T00:00"})
    assert response.status_code == 302
    w.refresh_from_db()
    assert (w.word, w.channel, w.sender) == ("QUIT", Channel.RCS, "Shop")
    assert w.effective_till == datetime.datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    response = admin_client.post(edit_url(other), {**DATA, "word": "quit", "channel": Channel.RCS, "sender": "Shop"})
    assert response.status_code == 422 and "already exists" in html_of(response)
    assert admin_client.post(delete_url(w)).status_code == 302
    assert list(OptOutWord.objects.values_list("word", flat=True)) == ["END"]
    assert AuditEvent.objects.filter(action="Deleted opt-out word").exists()


def test_the_contacts_tabs_are_included_when_they_exist(admin_client, company, settings, tmp_path):
    nav = tmp_path / "contacts" / "_nav.html"
    nav.parent.mkdir(parents=True)
    nav.write_text('<nav data-testid="contacts-nav-test">tabs</nav>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    assert 'data-testid="contacts-nav-test"' in html_of(admin_client.get(LIST))
    assert 'data-testid="contacts-nav-test"' in html_of(admin_client.get(CREATE))


# --- the contact's opt-outs block ------------------------------------------------------------------


def test_the_block_lists_the_opt_outs_with_when_and_by_whom(admin_client, admin_user, company, contact):
    w = add_word(company, "STOP")
    services.handle_inbound(company, contact, Channel.SMS, "", "stop",
                            at=datetime.datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    services.opt_out(Actor(user=admin_user, company=company), contact, Channel.VIBER, "Herald")
    services.opt_out(Actor.system(company), contact, Channel.RCS, source=OptOutSource.API)
    OptOut.objects.filter(contact=contact, channel=Channel.SMS).update(
        created_at=datetime.datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    html = render_to_string("contacts/optouts/_contact_optouts.html", {"contact": contact})
    assert "Opt-out word “STOP”" in html and admin_user.full_name in html and ">API<" in html
    assert "01.03.2025 10:00:00" in html  # the company's time zone
    assert "Whole channel" in html and "Herald" in html and "Viber" in html
    assert add_optout_url(contact) in html
    for o in OptOut.objects.filter(contact=contact):
        assert remove_optout_url(contact, o) in html
    assert "<form" not in html  # safe inside the contact's own form
    w.delete()
    html = render_to_string("contacts/optouts/_contact_optouts.html", {"contact": contact})
    assert "Opt-out word (deleted)" in html


def test_the_block_says_when_there_is_no_opt_out(contact):
    html = render_to_string("contacts/optouts/_contact_optouts.html", {"contact": contact})
    assert 'data-testid="no-optouts"' in html


def test_add_an_opt_out_redirects_to_the_contact_page(admin_client, admin_user, contact):
    page = admin_client.get(add_optout_url(contact))
    assert page.status_code == 200 and "Opt-out channel" in html_of(page)
    response = admin_client.post(add_optout_url(contact), {"optout-channel": Channel.SMS, "optout-sender": "Herald"})
    assert response.status_code == 302 and response["Location"] == f"/contacts/{contact.pk}/edit/"
    record = OptOut.objects.get(contact=contact)
    assert (record.channel, record.sender, record.source, record.user) == (
        Channel.SMS, "Herald", OptOutSource.USER, admin_user)
    # again: idempotent, the record is kept
    admin_client.post(add_optout_url(contact), {"optout-channel": Channel.SMS, "optout-sender": " Herald "})
    assert OptOut.objects.filter(contact=contact).count() == 1


def test_add_with_wrong_input_shows_the_form_again(admin_client, contact):
    response = admin_client.post(add_optout_url(contact), {"optout-channel": "42", "optout-sender": "x" * 65})
    assert response.status_code == 422
    html = html_of(response)
    assert "Select a valid choice." in html and "at most 64 characters" in html
    assert not OptOut.objects.exists()


def test_htmx_add_and_remove_answer_with_the_block(admin_client, contact):
    hx = {"HTTP_HX_REQUEST": "true"}
    form = admin_client.get(add_optout_url(contact), **hx)
    assert form.status_code == 200
    assert 'name="optout-channel"' in html_of(form) and 'data-testid="contact-optout-add"' in html_of(form)
    response = admin_client.post(add_optout_url(contact), {"optout-channel": Channel.WHATSAPP}, **hx)
    assert response.status_code == 200
    html = html_of(response)
    assert 'data-testid="contact-optouts"' in html and "Opted out of WhatsApp (Whole channel)." in html
    record = OptOut.objects.get(contact=contact)
    bad = admin_client.post(add_optout_url(contact), {"optout-channel": "0"}, **hx)
    assert bad.status_code == 200 and "Select a valid choice." in html_of(bad)
    response = admin_client.post(remove_optout_url(contact, record), **hx)
    assert response.status_code == 200 and "removed" in html_of(response)
    assert not OptOut.objects.exists()
    cancel = admin_client.get(reverse("contacts:contact_optouts", args=[contact.pk]), **hx)
    assert cancel.status_code == 200 and 'data-testid="contact-optouts"' in html_of(cancel)
    plain = admin_client.get(reverse("contacts:contact_optouts", args=[contact.pk]))
    assert plain.status_code == 302 and plain["Location"] == f"/contacts/{contact.pk}/edit/"


def test_remove_an_opt_out_asks_then_redirects(admin_client, company, contact):
    record = services.opt_out(Actor.system(company), contact, Channel.SMS, "Herald")
    page = admin_client.get(remove_optout_url(contact, record))
    assert page.status_code == 200 and "SMS (Herald)" in html_of(page)
    assert OptOut.objects.exists()
    response = admin_client.post(remove_optout_url(contact, record))
    assert response.status_code == 302 and response["Location"] == f"/contacts/{contact.pk}/edit/"
    assert not OptOut.objects.exists()
    assert AuditEvent.objects.filter(action="Opted contact back in", user__isnull=False).exists()


# --- permissions -----------------------------------------------------------------------------------


def client_with(company, permissions):
    role = account_services.create_role(actor=Actor.system(company), company=company,
                                        name=f"Role {'-'.join(permissions) or 'none'}", permissions=permissions)
    client = Client()
    client.force_login(factories.user(company, roles=[role]))
    return client


def test_the_opt_out_words_pages_need_their_permission(company, contact):
    w = add_word(company)
    client = client_with(company, ["manage_contacts", "export_entities"])
    for method, url in [("get", LIST), ("get", LIST + "?export=csv"), ("get", CREATE), ("post", CREATE),
                        ("get", edit_url(w)), ("post", edit_url(w)), ("post", delete_url(w))]:
        assert getattr(client, method)(url, DATA).status_code == 403, (method, url)
    assert OptOutWord.objects.filter(pk=w.pk, word="STOP").exists() and OptOutWord.objects.count() == 1
    allowed = client_with(company, ["manage_optout_words"])
    assert allowed.get(LIST).status_code == 200
    assert allowed.get(edit_url(w)).status_code == 200


def test_the_contact_opt_out_actions_need_manage_contacts(company, contact):
    record = services.opt_out(Actor.system(company), contact, Channel.SMS)
    client = client_with(company, ["manage_optout_words"])
    for method, url in [("get", add_optout_url(contact)), ("post", add_optout_url(contact)),
                        ("get", remove_optout_url(contact, record)), ("post", remove_optout_url(contact, record)),
                        ("get", reverse("contacts:contact_optouts", args=[contact.pk]))]:
        assert getattr(client, method)(url, {"optout-channel": Channel.VIBER}).status_code == 403, (method, url)
    assert list(OptOut.objects.values_list("channel", flat=True)) == [Channel.SMS]
    assert client_with(company, ["manage_contacts"]).post(remove_optout_url(contact, record)).status_code == 302


def test_anonymous_users_are_sent_to_sign_in(client, company, contact):
    for url in (LIST, CREATE, add_optout_url(contact)):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"]


# --- tenant isolation --------------------------------------------------------------------------------


@pytest.fixture
def theirs(other_company):
    actor = Actor.system(other_company)
    word = services.create_optout_word(actor=actor, company=other_company, word="GLOBEXSTOP", channel=Channel.SMS,
                                       sender="GlobexSender")
    contact = services.create_contact(actor=actor, company=other_company, phone="+34699999999")
    optout = services.opt_out(actor, contact, Channel.SMS, "GlobexSender")
    return {"word": word, "contact": contact, "optout": optout}


def _state():
    return (sorted(OptOutWord.objects.values_list("pk", "word", "channel", "sender")),
            sorted(OptOut.objects.values_list("pk", "contact_id", "channel", "sender")))


def test_another_companys_ids_answer_404_and_change_nothing(admin_client, company, contact, theirs):
    mine = services.opt_out(Actor.system(company), contact, Channel.SMS)
    cases = [
        ("get", edit_url(theirs["word"])), ("post", edit_url(theirs["word"])), ("post", delete_url(theirs["word"])),
        ("get", add_optout_url(theirs["contact"])), ("post", add_optout_url(theirs["contact"])),
        ("get", reverse("contacts:contact_optouts", args=[theirs["contact"].pk])),
        # their contact and their opt-out
        ("get", remove_optout_url(theirs["contact"], theirs["optout"])),
        ("post", remove_optout_url(theirs["contact"], theirs["optout"])),
        # my contact with their opt-out id, and their contact with my opt-out id
        ("get", remove_optout_url(contact, theirs["optout"])),
        ("post", remove_optout_url(contact, theirs["optout"])),
        ("post", remove_optout_url(theirs["contact"], mine)),
    ]
    before = _state()
    data = {**DATA, "word": "pwned", "optout-channel": Channel.VIBER}
    for method, url in cases:
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = getattr(admin_client, method)(url, data, **headers)
            assert response.status_code == 404, (method, url, headers)
    assert _state() == before


def test_an_opt_out_of_another_contact_of_the_same_company_is_404(admin_client, company, contact):
    other = services.create_contact(actor=Actor.system(company), company=company, phone="+34612345679")
    record = services.opt_out(Actor.system(company), other, Channel.SMS)
    assert admin_client.post(remove_optout_url(contact, record)).status_code == 404
    assert OptOut.objects.filter(pk=record.pk).exists()


def test_lists_and_exports_never_show_another_companys_words(admin_client, theirs):
    html = html_of(admin_client.get(LIST))
    assert "GLOBEXSTOP" not in html and "GlobexSender" not in html
    body = b"".join(admin_client.get(LIST + "?export=csv").streaming_content).decode()
    assert "GLOBEXSTOP" not in body


def test_a_duplicate_check_ignores_another_companys_words(admin_client, company, theirs):
    assert admin_client.post(CREATE, {**DATA, "word": "globexstop", "sender": "GlobexSender"}).status_code == 302
    assert OptOutWord.objects.filter(company=company, word="globexstop").exists()


# --- in a browser: the block inside the contact's own form ---------------------------------------

HOST_PAGE = """{% extends "shell.html" %}{% block content %}
<form method="post" action="/nowhere/" data-testid="contact-form">{% csrf_token %}
  <input name="name" required aria-label="Name">
  {% include "contacts/optouts/_contact_optouts.html" %}
  <button type="submit">Save contact</button>
</form>{% endblock %}"""


def _host(request, pk):
    from django.http import HttpResponse
    from django.template import engines

    from contacts.selectors import contacts_for

    contact = contacts_for(request.user.company).get(pk=pk)
    return HttpResponse(engines["django"].from_string(HOST_PAGE).render({"contact": contact}, request))


def __getattr__(name):
    """``urlpatterns`` of this module (a URLconf for the browser test), built on first use."""
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.urls import path

    from portal.urls import urlpatterns as portal_urlpatterns

    return [path("test-host/<int:pk>/", _host), *portal_urlpatterns]


@pytest.mark.browser
@pytest.mark.urls(__name__)
def test_in_a_browser_the_block_adds_and_removes_opt_outs_without_submitting_the_contact_form(
        logged_in_page, admin_user, company, contact):
    from playwright.sync_api import expect

    page = logged_in_page(admin_user)
    page.goto(f"/test-host/{contact.pk}/")
    block = page.get_by_test_id("contact-optouts")
    expect(block.get_by_test_id("no-optouts")).to_be_visible()
    block.locator("[data-action=add-optout]").click()
    block.get_by_label("Opt-out channel").select_option(label="Viber")
    block.get_by_label("Sender ID").fill("Herald")
    block.get_by_label("Sender ID").press("Enter")  # saves the opt-out, does not submit the contact form
    expect(block.get_by_text("Opted out of Viber (Herald).")).to_be_visible()
    expect(block.locator("tr[data-optout] td[data-column=sender]")).to_have_text(["Herald"])
    assert page.url.endswith(f"/test-host/{contact.pk}/")
    record = OptOut.objects.get(contact=contact)
    assert (record.channel, record.sender, record.user_id) == (Channel.VIBER, "Herald", admin_user.pk)

    block.locator("[data-action=add-optout]").click()
    block.get_by_label("Opt-out channel").select_option(label="SMS")
    block.locator("[data-action=save-optout]").click()
    expect(block.locator("tr[data-optout]")).to_have_count(2)
    expect(block.get_by_role("cell", name="Whole channel", exact=True)).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    block.locator(f"tr[data-optout='{record.pk}'] [data-action=remove-optout]").click()
    expect(block.get_by_text("Opt-out of Viber (Herald) removed.")).to_be_visible()
    expect(block.locator("tr[data-optout]")).to_have_count(1)
    assert list(OptOut.objects.filter(contact=contact).values_list("channel", "sender")) == [(Channel.SMS, "")]
    assert page.url.endswith(f"/test-host/{contact.pk}/")


@pytest.mark.browser
def test_in_a_browser_a_new_word_is_typed_and_shown_in_the_company_time_zone(logged_in_page, admin_user, company):
    from playwright.sync_api import expect

    page = logged_in_page(admin_user)
    page.goto(LIST)
    page.locator("[data-action=new-optout-word]").click()
    page.get_by_label("Opt-out word").fill("Baja")
    page.get_by_label("Channel").select_option(label="WhatsApp")
    page.get_by_label("Effective from").fill("2025-03-01T10:00:30")
    page.locator("[data-action=save]").click()
    expect(page.get_by_text("Opt-out word “Baja” added.")).to_be_visible()
    row = page.locator("table.dt tbody tr").first
    expect(row.locator("td[data-column=word]")).to_have_text("Baja")
    expect(row.locator("td[data-column=channel]")).to_have_text("WhatsApp")
    expect(row.locator("td[data-column=sender]")).to_have_text("Whole channel")
    expect(row.locator("td[data-column=effective_from]")).to_have_text("01.03.2025 10:00:30")
    assert OptOutWord.objects.get().effective_from == datetime.datetime(2025, 3, 1, 9, 0, 30, tzinfo=UTC)
