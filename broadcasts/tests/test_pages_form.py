"""The *New broadcast* / *Edit broadcast* form (spec P§4.2, P§4.3; rules 7, 9, 10, 11 of
P§25; gaps G6, G9) and its helpers: the chain builder's step fragment, the live recipient
count, the target counts and the pre-flight check."""

from __future__ import annotations

import datetime
import json
import re

import pytest

from broadcasts.models import Broadcast, BroadcastStatus
from broadcasts.tests import factories as bf
from contacts.models import Contact, ContactTag, OptOut, Tag, Target
from messaging.models import DeliveryPlan, SenderIdStatus
from messaging.tests import factories as mf
from portal.channel_types import Channel
from portal.testing import factories

S = BroadcastStatus
NEW = "/broadcasts/new/"
UTC = datetime.UTC


@pytest.fixture
def company(db):
    return factories.company("Acme", time_zone="Europe/Madrid")


@pytest.fixture
def senders(company):
    mf.gateway(company=None)
    mf.gateway(company=None, channel=Channel.VIBER)
    mf.gateway(company=None, channel=Channel.EMAIL)
    return {"sms": mf.sender_id(company, "HERALD"), "viber": mf.sender_id(company, "HeraldViber",
                                                                          channel=Channel.VIBER)}


def step(uid="a1", channel=Channel.SMS, sender="HERALD", content="Hi {{attribute.name}}", wait_for="delivery",
         wait_value="10", wait_unit="minutes"):
    return {"uid": uid, "channel": channel, "sender": sender, "content": content, "wait_for": wait_for,
            "wait_value": wait_value, "wait_unit": wait_unit}


def form_data(name="Spring sale", steps=None, action="draft", phones="", targets=(), tags=(), instantly=True,
              launch_date="", launch_time="", **extra):
    data = {"name": name, "description": extra.pop("description", ""), "type": extra.pop("type", "fallback"),
            "phones": phones, "targets": [str(t) for t in targets], "tags": [str(t) for t in tags],
            "launch_date": launch_date, "launch_time": launch_time, "action": action, "step": []}
    if instantly:
        data["instantly"] = "on"
    for s in steps if steps is not None else [step()]:
        data["step"].append(s["uid"])
        for key in ("channel", "sender", "content", "wait_for", "wait_value", "wait_unit"):
            value = s[key]
            if key == "content" and isinstance(value, dict):
                value = json.dumps(value)
            data[f"step-{s['uid']}-{key}"] = str(value)
    data.update(extra)
    return data


def html_of(response) -> str:
    return response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')


def errors_for(html: str, key: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", e).strip() for block in
            re.findall(rf'<ul class="errors" role="alert" data-errors-for="{key}">(.*?)</ul>', html, re.S)
            for e in re.findall(r"<li>(.*?)</li>", block, re.S)]


def wait_for_options(html: str) -> list[str]:
    select = re.search(r'name="step-[\w-]+-wait_for">(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="(\w+)"', select)


def step_block(html: str, number: int) -> str:
    return html.split('<fieldset class="bc-step')[number]


# --- the form -------------------------------------------------------------------------------------------

def test_the_new_broadcast_form(admin_client, company, senders):
    response = admin_client.get(NEW)
    assert response.status_code == 200
    html = html_of(response)
    for text in ("Broadcast name", "Description", "Recipients", "Targets", "Tags", "Phone numbers", "Instantly",
                 "Date of launch", "Time of launch", "Europe/Madrid", "Fallback chain", "Add step",
                 "Check before launch", "Save as draft", "Launch broadcast", "Back to broadcasts",
                 "RCS capability check"):
        assert text in html, text
    assert "Send to moderation" not in html
    # the eight channels of a fallback chain (spec P§4.3)
    assert re.findall(r'data-add-channel="\d+"[^>]*>([^<]+)<', html) == ["SMS", "RCS", "Viber", "WhatsApp", "Email",
                                                                    "Push", "TTS", "Mobile Push"]
    # Chatbot is shown but not offered yet
    assert re.search(r'<input type="radio" name="type" value="chatbot" disabled>', html)
    assert "arrives with chatbots" in html
    # the RCS capability check toggle shows only with an RCS step
    assert 'class="bc-rcs-check" x-show="hasRcs"' in html


def test_moderation_turns_launch_into_send_to_moderation(admin_client, company):
    company.moderation = True
    company.save()
    html = html_of(admin_client.get(NEW))
    assert "Send to moderation" in html and "Launch broadcast" not in html


def test_save_as_draft_keeps_an_incomplete_broadcast(admin_client, company, senders):
    data = form_data(steps=[step(sender="", content="")], phones="+34612345678")
    response = admin_client.post(NEW, data)
    assert response.status_code == 302 and response["Location"] == "/broadcasts/"
    b = Broadcast.objects.get(company=company)
    assert (b.name, b.status) == ("Spring sale", S.DRAFT)
    assert b.recipients == {"targets": [], "tags": [], "phones": ["+34612345678"]}
    assert b.steps[0]["channel"] == Channel.SMS and b.steps[0]["sender"] == "" and b.steps[0]["timeout"] == 600
    assert "saved as a draft" in html_of(admin_client.get("/broadcasts/"))


def test_launch_starts_the_broadcast_now(admin_client, company, senders, run_commits):
    people = mf.contacts(company, 3)
    tag = Tag.objects.create(company=company, name="vip")
    ContactTag.objects.bulk_create([ContactTag(contact=c, tag=tag) for c in people[:2]])
    data = form_data(action="launch", tags=[tag.pk], phones=f"{people[2].phone}, +34 699 000 111",
                     steps=[step(wait_value="2", wait_unit="hours"),
                            step("b2", Channel.VIBER, "HeraldViber", "Hola", "submit", "30")])
    with run_commits():
        response = admin_client.post(NEW, data)
    b = Broadcast.objects.get(company=company)
    assert response.status_code == 302 and response["Location"] == f"/broadcasts/{b.pk}/"
    b.refresh_from_db()
    assert b.status in (S.IN_PROGRESS, S.COMPLETE) and b.launched_at
    assert [s["channel"] for s in b.steps] == [Channel.SMS, Channel.VIBER]
    assert [s["timeout"] for s in b.steps] == [7200, 1800]  # stored in seconds (gap G6)
    assert b.steps[1]["wait_for"] == "submit" and b.steps[0]["content"] == {"text": "Hi {{attribute.name}}"}
    assert b.recipients["phones"] == [people[2].phone, "+34699000111"]
    assert DeliveryPlan.objects.filter(source_id=b.pk).count() == 4  # 2 tagged + 1 typed contact + 1 new number
    assert "Broadcast “Spring sale” launched." in html_of(admin_client.get(response["Location"]))


def test_launch_at_a_time_schedules_it_in_the_company_time_zone(admin_client, company, senders):
    mf.contacts(company, 1)
    day = datetime.date(datetime.date.today().year + 1, 1, 15)
    data = form_data(action="launch", phones="+34600000000", instantly=False, launch_date=day.isoformat(),
                     launch_time="10:30")
    response = admin_client.post(NEW, data)
    b = Broadcast.objects.get(company=company)
    assert response.status_code == 302
    assert b.status == S.SCHEDULED
    assert b.scheduled_for == datetime.datetime(day.year, 1, 15, 9, 30, tzinfo=UTC)  # 10:30 in Madrid (winter)
    html = html_of(admin_client.get(response["Location"]))
    assert f"scheduled for 15.01.{day.year} 10:30:00" in html
    # the schedule shows again in the edit form
    html = html_of(admin_client.get(f"/broadcasts/{b.pk}/edit/"))
    assert f'value="{day.isoformat()}"' in html and 'value="10:30"' in html
    assert "Save as draft" not in html  # a scheduled broadcast is re-launched, not turned back into a draft


def test_a_launch_time_in_the_past_is_refused(admin_client, company, senders):
    data = form_data(action="launch", phones="+34600000000", instantly=False, launch_date="2020-01-01",
                     launch_time="10:00")
    response = admin_client.post(NEW, data)
    assert response.status_code == 422
    html = html_of(response)
    assert errors_for(html, "schedule") == ["The launch time is in the past; choose a later time or launch "
                                            "instantly."]
    assert Broadcast.objects.get(company=company).status == S.DRAFT  # saved, not launched
    assert 'data-testid="saved-draft"' in html


def test_launch_without_a_time_asks_for_one(admin_client, company, senders):
    response = admin_client.post(NEW, form_data(action="launch", phones="+34600000000", instantly=False))
    assert response.status_code == 422
    assert errors_for(html_of(response), "schedule") == ["Choose the date and time of launch, or switch on "
                                                         "Instantly."]
    assert not Broadcast.objects.exists()


def test_moderation_sends_the_broadcast_to_moderation(admin_client, company, senders):
    company.moderation = True
    company.save()
    response = admin_client.post(NEW, form_data(action="launch", phones="+34600000000"))
    b = Broadcast.objects.get(company=company)
    assert response.status_code == 302 and b.status == S.ON_MODERATION
    html = html_of(admin_client.get(response["Location"]))
    assert "Broadcast “Spring sale” sent to moderation." in html
    assert "Waiting for moderation" in html
    assert not DeliveryPlan.objects.filter(source_id=b.pk).exists()


def test_errors_are_shown_next_to_their_fields_and_nothing_is_lost(admin_client, company, senders):
    data = form_data(name="", phones="+34612345678, 12ab", description="Kept",
                     steps=[step(content="Kept text"), step("b2", Channel.VIBER, "HeraldViber", "Hola", "submit",
                                                            "abc")])
    response = admin_client.post(NEW, data)
    assert response.status_code == 422
    assert not Broadcast.objects.exists()  # nothing half-saved
    html = html_of(response)
    assert errors_for(html, "name") == ["Give the broadcast a name."]
    assert errors_for(html, "phones")[0].startswith("These numbers are not valid: 12ab")
    assert errors_for(step_block(html, 2), "timeout") == ["Give the waiting time as a number of minutes or hours."]
    # what was typed is still there
    assert ">Kept</textarea>" in html and "+34612345678, 12ab" in html
    assert "Kept text" in step_block(html, 1) and 'value="abc"' in step_block(html, 2)
    assert '<option value="HeraldViber" selected>' in step_block(html, 2)


def test_a_refused_launch_keeps_the_draft_and_says_why(admin_client, company, senders):
    data = form_data(action="launch", phones="+34600000000",
                     steps=[step(), step("b2", Channel.VIBER, "", "Hola"), step("c3", Channel.EMAIL, "", "")])
    response = admin_client.post(NEW, data)
    assert response.status_code == 422
    b = Broadcast.objects.get(company=company)
    assert b.status == S.DRAFT and len(b.steps) == 3
    html = html_of(response)
    assert 'data-testid="saved-draft"' in html
    assert f'action="/broadcasts/{b.pk}/edit/"' in html  # the next post edits the saved draft
    assert errors_for(step_block(html, 2), "sender") == ["Choose the sender ID of step 2 (Viber): it is required to "
                                                         "launch or schedule."]
    assert "Your company has no active Email sender ID." in step_block(html, 3)
    assert "Assets → Sender IDs" in step_block(html, 3)
    assert errors_for(step_block(html, 3), "content") == ["Write the message of this step."]
    assert errors_for(step_block(html, 1), "sender") == []


def test_launch_with_nobody_to_send_to_is_refused(admin_client, company, senders):
    target = Target.objects.create(company=company, name="Nobody", filters=[
        {"field": "country", "mode": "value", "value": "FR"}])
    response = admin_client.post(NEW, form_data(action="launch", targets=[target.pk]))
    assert response.status_code == 422
    assert errors_for(html_of(response), "recipients") == ["These recipients match no contact: there is nobody "
                                                           "to send to."]


def test_edit_shows_the_saved_broadcast_and_saves_the_new_order(admin_client, company, senders):
    b = bf.broadcast(company, name="Draft", recipients={"targets": [], "tags": [], "phones": ["+34600000001"]},
                     steps=[bf.step(Channel.SMS, sender="HERALD", text="One", timeout=3600),
                            bf.step(Channel.VIBER, sender="HeraldViber", text="Two", timeout=90)])
    url = f"/broadcasts/{b.pk}/edit/"
    html = html_of(admin_client.get(url))
    first, second = step_block(html, 1), step_block(html, 2)
    assert '<option value="HERALD" selected>' in first and 'value="1" ' in first
    assert '<option value="hours" selected>' in first
    assert 'value="1.5"' in second and '<option value="minutes" selected>' in second
    assert "+34600000001" in html
    # the chain reordered in the browser: Viber first
    data = form_data(name="Draft v2", phones="+34600000001",
                     steps=[step("s1", Channel.VIBER, "HeraldViber", "Two", "delivery", "1.5"),
                            step("s0", Channel.SMS, "HERALD", "One", "delivery", "1", "hours")])
    response = admin_client.post(url, data)
    assert response.status_code == 302
    b.refresh_from_db()
    assert b.name == "Draft v2" and [s["channel"] for s in b.steps] == [Channel.VIBER, Channel.SMS]
    assert [s["timeout"] for s in b.steps] == [90, 3600]


def test_a_sender_id_no_longer_active_is_kept_and_flagged(admin_client, company, senders):
    b = bf.broadcast(company, steps=[bf.step(Channel.SMS, sender="OLDNAME")])
    html = html_of(admin_client.get(f"/broadcasts/{b.pk}/edit/"))
    assert '<option value="OLDNAME" selected>OLDNAME (not active)</option>' in html


@pytest.mark.parametrize("status", [S.IN_PROGRESS, S.PAUSED, S.COMPLETE, S.ABORTED, S.ON_MODERATION])
def test_only_draft_scheduled_or_rejected_broadcasts_can_be_edited(admin_client, company, status):
    b = bf.broadcast(company, status=status, name="Running")
    response = admin_client.get(f"/broadcasts/{b.pk}/edit/")
    assert response.status_code == 302 and response["Location"] == f"/broadcasts/{b.pk}/"
    response = admin_client.post(f"/broadcasts/{b.pk}/edit/", form_data(name="Changed"))
    assert response.status_code == 302
    b.refresh_from_db()
    assert b.name == "Running"
    assert "cannot be edited" in html_of(admin_client.get(f"/broadcasts/{b.pk}/"))


def test_a_rejected_broadcast_shows_the_moderation_note_and_can_be_sent_again(admin_client, company, senders):
    company.moderation = True
    company.save()
    b = bf.broadcast(company, status=S.REJECTED, moderation_note="No prices in capitals.",
                     recipients={"phones": ["+34600000000"]})
    html = html_of(admin_client.get(f"/broadcasts/{b.pk}/edit/"))
    assert "Rejected by moderation. No prices in capitals." in html and "Send to moderation" in html
    response = admin_client.post(f"/broadcasts/{b.pk}/edit/", form_data(action="launch", phones="+34600000000"))
    assert response.status_code == 302
    b.refresh_from_db()
    assert b.status == S.ON_MODERATION


def test_the_rcs_capability_check_is_kept_with_an_rcs_step(admin_client, company, senders):
    mf.sender_id(company, "HeraldRCS", channel=Channel.RCS)
    data = form_data(steps=[step("r1", Channel.RCS, "HeraldRCS", "Hello"), step()], rcs_check="on")
    assert admin_client.post(NEW, data).status_code == 302
    b = Broadcast.objects.get(company=company)
    assert b.rcs_check is True
    data = form_data(name="No RCS", rcs_check="on")
    response = admin_client.post(NEW, data)
    assert response.status_code == 422
    assert errors_for(html_of(response), "rcs_check") == ["The RCS capability check needs an RCS step in the chain."]


def test_an_email_step_keeps_its_subject_and_body(admin_client, company, senders):
    mf.sender_id(company, "news@acme.test", channel=Channel.EMAIL)
    content = {"subject": "Hello {{attribute.name}}", "html": "<p>Hi</p>"}
    data = form_data(steps=[step("e1", Channel.EMAIL, "news@acme.test", content, "submit")])
    assert admin_client.post(NEW, data).status_code == 302
    b = Broadcast.objects.get(company=company)
    assert b.steps[0]["content"] == content
    html = html_of(admin_client.get(f"/broadcasts/{b.pk}/edit/"))
    assert "Hello {{attribute.name}}" in html


# --- the chain builder's step, counts ------------------------------------------------------------------

def test_a_new_step_offers_the_channels_active_sender_ids(admin_client, company, senders):
    mf.sender_id(company, "PENDING", channel=Channel.VIBER, status=SenderIdStatus.SUBMITTED)
    html = html_of(admin_client.get("/broadcasts/new/step/?channel=3"))
    assert re.findall(r'<option value="([^"]*)"', html.split("wait_for")[0]) == ["", "HeraldViber"]
    # the channel's only active sender ID comes chosen
    assert re.search(r'<option value="HeraldViber"[^>]*selected', html.split("wait_for")[0])
    assert "Step" in html and "Viber" in html
    assert wait_for_options(html) == ["delivery", "submit", "display"]
    uid = re.search(r'name="step" value="([\w-]+)"', html).group(1)
    assert f'name="step-{uid}-content"' in html  # the content editor's hidden input
    # Push: only Submit (spec P§0.5); no sender ID → say so, with the way to get one
    html = html_of(admin_client.get("/broadcasts/new/step/?channel=8"))
    assert wait_for_options(html) == ["submit"]
    assert "Your company has no active Push sender ID." in html and 'href="/assets/sender-ids/"' in html
    assert admin_client.get("/broadcasts/new/step/?channel=5").status_code == 400  # WeChat is not a step


def test_the_recipient_count_after_de_duplication(admin_client, company):
    people = mf.contacts(company, 3)
    tag = Tag.objects.create(company=company, name="vip")
    ContactTag.objects.bulk_create([ContactTag(contact=c, tag=tag) for c in people[:2]])
    target = Target.objects.create(company=company, name="All", filters=[])
    response = admin_client.post("/broadcasts/new/recipients-count/", {
        "targets": [target.pk], "tags": [tag.pk], "phones": f"{people[0].phone}, +34699000111"})
    assert re.search(r'data-count="(\d+)"', response.content.decode()).group(1) == "4"  # 3 contacts + 1 new number
    response = admin_client.post("/broadcasts/new/recipients-count/", {"phones": "12ab"})
    assert "These numbers are not valid: 12ab" in html_of(response)


def test_a_targets_live_count(admin_client, company, other_company):
    mf.contacts(company, 2)
    target = Target.objects.create(company=company, name="All", filters=[])
    assert "2 contacts" in html_of(admin_client.get(f"/broadcasts/new/targets/{target.pk}/count/"))
    theirs = Target.objects.create(company=other_company, name="Theirs", filters=[])
    assert admin_client.get(f"/broadcasts/new/targets/{theirs.pk}/count/").status_code == 404


# --- pre-flight ------------------------------------------------------------------------------------------

def test_preflight_figures(admin_client, company, senders):
    people = mf.contacts(company, 5)
    Contact.objects.filter(pk=people[0].pk).update(attributes={"email": "a@example.com"})
    OptOut.objects.create(company=company, contact=people[1], channel=Channel.SMS)
    tag = Tag.objects.create(company=company, name="vip")
    ContactTag.objects.bulk_create([ContactTag(contact=c, tag=tag) for c in people])
    mf.sender_id(company, "news@acme.test", channel=Channel.EMAIL)
    long_text = "Hello " * 40  # 240 GSM-7 characters: 2 segments
    data = form_data(action="launch", tags=[tag.pk], phones=f"{people[0].phone}, +34699000111",
                     steps=[step(content=long_text), step("e1", Channel.EMAIL, "news@acme.test",
                                                          {"subject": "Hi", "html": "<p>Hi</p>"}, "submit")])
    response = admin_client.post("/broadcasts/new/preflight/", data)
    assert response.status_code == 200
    html = html_of(response)
    assert 'data-testid="preflight-ok"' in html and "Ready to launch." in html
    assert re.search(r'data-testid="preflight-recipients">(\d+)', html).group(1) == "6"  # 5 contacts + 1 new number
    sms = html.split('data-preflight-step="1"')[1].split("</tr>")[0]
    assert re.search(r'data-figure="opted_out">(\d+)', sms).group(1) == "1"
    assert re.search(r'data-figure="segments">(\d+)', sms).group(1) == "2"
    email = html.split('data-preflight-step="2"')[1].split("</tr>")[0]
    assert re.search(r'data-figure="unreachable">(\d+)', email).group(1) == "4"  # only one contact has an e-mail
    assert re.search(r'data-testid="preflight-messages">(\d+)', html).group(1) == "10"  # (6 - 1 opted out) × 2
    assert "less than a minute" in html  # 5 messages at 100,000/s


def test_preflight_eta_in_minutes(admin_client, company):
    mf.gateway(company=None, tps=1)
    mf.sender_id(company, "HERALD")
    people = mf.contacts(company, 200)
    target = Target.objects.create(company=company, name="All", filters=[])
    html = html_of(admin_client.post("/broadcasts/new/preflight/", form_data(targets=[target.pk])))
    assert re.search(r'data-testid="preflight-recipients">(\d+)', html).group(1) == str(len(people))
    assert re.search(r'data-testid="preflight-eta">([^<]+)<', html).group(1) == "about 3 min"  # 200 s at 1/s


def test_preflight_says_why_it_cannot_launch(admin_client, company, senders):
    data = form_data(name="", steps=[step(sender="", content="")])
    html = html_of(admin_client.post("/broadcasts/new/preflight/", data))
    assert 'data-testid="preflight-blocking"' in html
    blocking = re.findall(r'<li data-blocking="([\w]+)">(.*?)</li>', html)
    keys = [k for k, _m in blocking]
    assert "recipients" in keys and "name" in keys and "step1" in keys
    messages = " ".join(m for _k, m in blocking)
    assert "Choose the sender ID of step 1 (SMS)" in messages
    assert "Choose the recipients" in messages
    assert not Broadcast.objects.exists()


# --- tenants and permission ---------------------------------------------------------------------------------

def test_another_companys_broadcast_cannot_be_edited(admin_client, other_company):
    theirs = bf.broadcast(other_company, name="Theirs")
    assert admin_client.get(f"/broadcasts/{theirs.pk}/edit/").status_code == 404
    assert admin_client.post(f"/broadcasts/{theirs.pk}/edit/", form_data(name="Mine now")).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_another_companys_targets_tags_and_sender_ids_are_refused(admin_client, company, other_company, senders):
    their_target = Target.objects.create(company=other_company, name="Theirs", filters=[])
    mf.sender_id(other_company, "GLOBEX")
    response = admin_client.post(NEW, form_data(action="launch", targets=[their_target.pk],
                                                steps=[step(sender="GLOBEX")]))
    assert response.status_code == 422
    html = html_of(response)
    assert errors_for(html, "targets") == [f"There is no target {their_target.pk} in your company."]
    assert not Broadcast.objects.exists()
    html = html_of(admin_client.get(NEW))
    assert "Theirs" not in html and "GLOBEX" not in html


@pytest.mark.parametrize("method, url", [
    ("get", "/broadcasts/new/"), ("post", "/broadcasts/new/"), ("get", "/broadcasts/new/step/?channel=1"),
    ("post", "/broadcasts/new/recipients-count/"), ("post", "/broadcasts/new/preflight/"),
])
def test_the_form_needs_manage_broadcasts(client, company, method, url):
    user = factories.user(company, roles=[factories.system_role("finance_manager")])
    client.force_login(user)
    assert getattr(client, method)(url).status_code == 403


def test_editing_a_scheduled_broadcast_reschedules_or_launches_it(admin_client, company, senders, run_commits):
    mf.contacts(company, 1)
    year = datetime.date.today().year + 1
    b = bf.broadcast(company, status=S.SCHEDULED, recipients={"phones": ["+34600000000"]},
                     scheduled_for=datetime.datetime(year, 1, 15, 9, 30, tzinfo=UTC))
    url = f"/broadcasts/{b.pk}/edit/"
    data = form_data(name="Later", phones="+34600000000", instantly=False, launch_date=f"{year}-02-01",
                     launch_time="08:00", action="draft")  # a draft post still schedules it
    assert admin_client.post(url, data).status_code == 302
    b.refresh_from_db()
    assert (b.name, b.status) == ("Later", S.SCHEDULED)
    assert b.scheduled_for == datetime.datetime(year, 2, 1, 7, 0, tzinfo=UTC)
    with run_commits():
        response = admin_client.post(url, form_data(name="Now", phones="+34600000000", action="launch"))
    assert response.status_code == 302
    b.refresh_from_db()
    assert b.status in (S.IN_PROGRESS, S.COMPLETE) and b.launched_at
