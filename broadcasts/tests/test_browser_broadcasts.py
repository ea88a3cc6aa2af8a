"""Browser test of the Broadcasts main path (issue 5, "Done when"): build a three-channel
broadcast (SMS → Viber → Email) with personalised content in the message constructor,
reorder the chain, check it before launch, launch it, watch the statistics page update
live, see fallback happen (every SMS comes back undelivered, so step 2 goes out), pause
and resume it, relaunch it for its failed recipient and stop that run."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from broadcasts.models import Broadcast, BroadcastStatus
from broadcasts.services import runs
from contacts import services as contact_services
from contacts.models import OptOut
from messaging.tests import factories as mf
from portal.audit import Actor
from portal.channel_types import Channel

pytestmark = pytest.mark.browser


@pytest.fixture
def audience(company, admin_user):
    """Three contacts tagged *vip*; Carl opted out of Viber and has no e-mail address, so
    his every step fails. SMS never delivers; Viber and e-mail do."""
    actor = Actor(user=admin_user, company=company)
    # every company has the *Name* attribute (contacts.attributes.DEFAULT_ATTRIBUTES)
    people = [contact_services.create_contact(actor=actor, company=company, phone=phone, attributes=attrs,
                                              tags=["vip"])
              for phone, attrs in (("+34612345671", {"name": "Ana", "email": "ana@example.com"}),
                                   ("+34612345672", {"name": "Bea"}),
                                   ("+34612345673", {"name": "Carl"}))]
    OptOut.objects.create(company=company, contact=people[2], channel=Channel.VIBER)
    mf.gateway(company=None, settings={"seed": 1, "deliver_rate": 0}, name="SMS that never delivers")
    mf.gateway(company=None, channel=Channel.VIBER)
    mf.gateway(company=None, channel=Channel.EMAIL)
    mf.sender_id(company, "HERALD")
    mf.sender_id(company, "HeraldViber", channel=Channel.VIBER)
    mf.sender_id(company, "news@acme.test", channel=Channel.EMAIL)
    return people


def _step(page, number):
    return page.locator("[data-chain] > [data-step]").nth(number - 1)


def _add_step(page, channel_label):
    page.get_by_role("button", name="Add step").click()
    page.locator("[data-panel=add-step]").get_by_role("button", name=channel_label, exact=True).click()


def _figure(live, step, key):
    return live.locator(f'[data-step-stats="{step}"] [data-figure="{key}"]')


def test_build_launch_watch_fallback_pause_resume_relaunch_stop(logged_in_page, admin_user, company, audience):
    page = logged_in_page(admin_user)
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() of Stop
    page.goto("/broadcasts/")
    page.get_by_role("link", name="New Broadcast").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New broadcast")

    page.get_by_label("Broadcast name").fill("Spring sale")
    page.get_by_test_id("tag-list").get_by_label("vip").check()
    expect(page.get_by_test_id("recipient-total")).to_have_text("3 recipients after de-duplication")

    # step 1: SMS, personalised with the attribute picker
    _add_step(page, "SMS")
    sms = _step(page, 1)
    expect(sms.locator("[data-step-number]")).to_have_text("1")
    sms.get_by_label("Sender ID").select_option("HERALD")
    text = sms.get_by_label("Message text")
    text.fill("Hi ")
    sms.get_by_role("button", name="(x) Personalization").click()
    sms.locator("[data-panel=personalize] [data-attribute=name]").click()
    text.press("End")
    text.type(", spring sale today!")
    expect(text).to_have_value("Hi {{attribute.name}}, spring sale today!")
    expect(sms.get_by_test_id("sms-counter")).to_contain_text("1 SMS")

    # step 2 added as Email, step 3 as Viber, then Viber moved up
    _add_step(page, "Email")
    email = _step(page, 2)
    email.get_by_label("Sender ID").select_option("news@acme.test")
    email.get_by_label("Subject").fill("Spring sale, {{attribute.name}}")
    email.get_by_role("button", name="+ Text").click()
    email.get_by_label("Text", exact=True).fill("Everything at half price.")
    _add_step(page, "Viber")
    viber = _step(page, 3)
    viber.get_by_label("Sender ID").select_option("HeraldViber")
    viber.get_by_label("Message text").fill("Hola {{attribute.name}}")
    viber.get_by_role("button", name="Move step up").click()
    expect(page.locator("[data-chain] [data-step-channel]")).to_have_text(["SMS", "Viber", "Email"])
    expect(page.locator("[data-chain] [data-step-number]")).to_have_text(["1", "2", "3"])
    expect(page.get_by_test_id("rcs-check")).to_be_hidden()  # no RCS step

    # the pre-flight check
    page.get_by_role("button", name="Check before launch").click()
    preflight = page.get_by_test_id("preflight")
    expect(preflight.get_by_test_id("preflight-ok")).to_have_text("Ready to launch.")
    expect(preflight.get_by_test_id("preflight-recipients")).to_have_text("3")
    expect(preflight.locator('[data-preflight-step="2"] [data-figure="opted_out"]')).to_have_text("1")
    expect(preflight.locator('[data-preflight-step="3"] [data-figure="unreachable"]')).to_have_text("2")

    # launch → the statistics page; fallback already happened (SMS undelivered → Viber)
    page.get_by_role("button", name="Launch broadcast").click()
    expect(page).to_have_url(re.compile(r"/broadcasts/\d+/$"))
    expect(page.get_by_role("status").first).to_have_text("Broadcast “Spring sale” launched.")
    broadcast = Broadcast.objects.get(company=company, name="Spring sale")
    assert [s["channel"] for s in broadcast.steps] == [Channel.SMS, Channel.VIBER, Channel.EMAIL]
    assert broadcast.steps[0]["content"]["text"] == "Hi {{attribute.name}}, spring sale today!"
    live = page.get_by_test_id("live")
    expect(live.get_by_test_id("status")).to_have_text("In progress")
    expect(_figure(live, 1, "failed")).to_have_text("3")  # every SMS undelivered
    expect(_figure(live, 2, "delivered")).to_have_text("2")  # fallback: Viber for Ana and Bea
    expect(_figure(live, 2, "skipped")).to_have_text("1")  # Carl opted out of Viber
    expect(_figure(live, 3, "skipped")).to_have_text("1")  # and has no e-mail address
    expect(live.locator('[data-figure="successful"] [data-value]')).to_have_text("2")

    # pause, resume
    live.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("live").get_by_test_id("status")).to_have_text("Paused")
    page.get_by_test_id("live").get_by_role("button", name="Resume").click()
    live = page.get_by_test_id("live")
    expect(live.get_by_test_id("status")).to_have_text("In progress")

    # the beat completes the run: the page follows without a reload
    assert runs.refresh_progress() == 1
    expect(live.get_by_test_id("status")).to_have_text("Complete", timeout=10_000)
    expect(live.locator('[data-figure="unsuccessful"] [data-value]')).to_have_text("1")
    expect(live.locator('[data-figure="unsuccessful"] [data-pct]')).to_have_text("33.3%")
    expect(live).to_have_attribute("data-live", "false")

    # the recipient table: the step each recipient reached and how it ended
    page.reload()
    rows = page.locator("table.dt tbody tr[data-id]")
    expect(rows).to_have_count(3)
    expect(rows.locator('[data-column="step"]')).to_have_text(["2 · Viber", "2 · Viber", "3 · Email"])
    expect(rows.locator('[data-column="outcome"]')).to_have_text(["Successful", "Successful", "Unsuccessful"])

    # relaunch for failed: a new run for Carl only; stop it
    page.get_by_test_id("live").get_by_role("button", name="Relaunch for failed").click()
    expect(page.get_by_role("status").first).to_contain_text("Relaunched “Spring sale” for its unsuccessful")
    live = page.get_by_test_id("live")
    expect(live.locator('[data-fact="relaunch_of"]')).to_contain_text(f"Broadcast {broadcast.pk}")
    expect(live.locator('[data-figure="total"] [data-value]')).to_have_text("1")
    live.get_by_role("button", name="Stop").click()
    expect(page.get_by_test_id("live").get_by_test_id("status")).to_have_text("Aborted")
    relaunch = Broadcast.objects.get(relaunch_of=broadcast)
    assert relaunch.status == BroadcastStatus.ABORTED

    # the table of runs: the progress bar of the first run
    page.get_by_role("link", name="Broadcasts", exact=True).first.click()
    bar = page.locator(f'tr[data-id="{broadcast.pk}"] .bc-progress')
    expect(bar).to_have_attribute("title", "66.7% successful, 33.3% unsuccessful")
    expect(page.locator(f'tr[data-id="{relaunch.pk}"] [data-column="status"]')).to_have_text("Aborted")
