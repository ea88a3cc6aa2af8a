"""Browser test of the Templates tab's main path (spec P§4.4–§4.5, gap G1): create a weekly
recurrent template (Monday and Thursday at 09:30, one SMS step), watch the *Next launches*
preview follow the schedule editor, see *Next launch* in the table, *Launch manually* (a
run appears in the Broadcasts tab with Launch = Manual, and Launches = 1), then *Pause
schedule* and *Resume schedule*."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from broadcasts.models import Broadcast, BroadcastTemplate, LaunchType, ScheduleStatus
from messaging.tests import factories as mf

pytestmark = pytest.mark.browser
MADRID = zoneinfo.ZoneInfo("Europe/Madrid")


@pytest.fixture
def setup(company):
    company.time_zone = "Europe/Madrid"
    company.save(update_fields=["time_zone"])
    mf.gateway(company=None)
    mf.sender_id(company, "HERALD")
    mf.contacts(company, 2)


def test_weekly_template_main_path(logged_in_page, admin_user, company, setup):
    page = logged_in_page(admin_user)
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() of Launch manually
    page.goto("/broadcasts/templates/")
    expect(page.get_by_test_id("broadcasts-tabs").get_by_role("link", name="Templates")).to_have_class(
        re.compile("is-active"))
    page.get_by_role("link", name="New Template").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New template")

    page.get_by_label("Name", exact=True).fill("Weekly offers")
    page.get_by_label("Phone numbers").fill("+34600000000, +34600000001")
    expect(page.get_by_test_id("recipient-total")).to_have_text("2 recipients after de-duplication")

    # the schedule editor: weekly on Monday and Thursday at 09:30
    preview = page.get_by_test_id("next-launches")
    expect(preview).to_contain_text("No schedule")
    page.get_by_label("Launch by a schedule").check()
    expect(page.get_by_label("Repeat")).to_have_value("weekly")
    expect(page.get_by_test_id("weekdays")).to_be_visible()
    expect(page.get_by_label("Day of the month")).to_be_hidden()
    page.get_by_label("Monday").check()
    page.get_by_label("Thursday").check()
    page.get_by_label("Time", exact=True).fill("09:30")
    launches = preview.locator("[data-launch]")
    expect(launches).to_have_count(3)
    texts = launches.all_inner_texts()
    assert all(re.fullmatch(r"(Mon|Thu) \d\d\.\d\d\.\d{4} 09:30:00", t) for t in texts), texts
    # monthly shows the day of the month instead of the weekdays
    page.get_by_label("Repeat").select_option("monthly")
    expect(page.get_by_label("Day of the month")).to_be_visible()
    expect(page.get_by_test_id("weekdays")).to_be_hidden()
    expect(preview).to_contain_text("Choose the day of the month.")
    page.get_by_label("Repeat").select_option("weekly")
    expect(launches).to_have_count(3)

    # one SMS step
    page.get_by_role("button", name="Add step").click()
    page.locator("[data-panel=add-step]").get_by_role("button", name="SMS", exact=True).click()
    step = page.locator("[data-step]")
    expect(step).to_have_count(1)
    step.get_by_label("Sender ID").select_option("HERALD")
    step.get_by_label("Message text").fill("Hi {{attribute.name}}, this week's offers are in!")

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"/broadcasts/templates/$"))
    expect(page.get_by_role("status")).to_contain_text("Template “Weekly offers” saved; next launch")

    template = BroadcastTemplate.objects.get()
    assert (template.frequency, template.weekdays, template.time_of_day) == ("weekly", [0, 3], dt.time(9, 30))
    assert template.steps[0]["sender"] == "HERALD"
    next_text = timezone.localtime(template.next_launch_at, MADRID).strftime("%d.%m.%Y %H:%M:%S")
    assert texts[0].endswith(next_text)  # the preview's first launch is the one planned

    row = page.locator(f"table.dt tbody tr[data-id='{template.pk}']")
    expect(row.locator("td[data-column=next_launch]")).to_have_text(next_text)
    expect(row.locator("td[data-column=schedule_status]")).to_have_text("Active")
    expect(row.locator("td[data-column=launches]")).to_have_text("0")
    expect(row.locator("td[data-column=is_scheduled]")).to_have_text("✓")

    # Launch manually → a Manual run in the Broadcasts tab, Launches = 1
    row.hover()
    row.get_by_role("button", name="Launch manually Weekly offers").click()
    expect(page.get_by_role("status")).to_contain_text("Template “Weekly offers” launched: broadcast")
    expect(row.locator("td[data-column=launches]")).to_have_text("1")
    run = Broadcast.objects.get()
    assert run.launch_type == LaunchType.MANUAL and run.template_id == template.pk
    last_text = timezone.localtime(run.launched_at, MADRID).strftime("%d.%m.%Y %H:%M:%S")
    expect(row.locator("td[data-column=last_launch_at]")).to_have_text(last_text)
    expect(row.locator("td[data-column=next_launch]")).to_have_text(next_text)  # the schedule is unchanged

    page.get_by_test_id("broadcasts-tabs").get_by_role("link", name="Broadcasts").click()
    run_row = page.locator(f"table.dt tbody tr[data-id='{run.pk}']")
    expect(run_row.locator("td[data-column=launch_type]")).to_have_text("Manual")
    expect(run_row.locator("td[data-column=name]")).to_have_text("Weekly offers")
    expect(run_row.locator("td[data-column=template]")).to_have_text(str(template.pk))

    # Pause schedule → Paused, Next launch shows the last launch; Resume → Active again
    page.get_by_test_id("broadcasts-tabs").get_by_role("link", name="Templates").click()
    row.hover()
    expect(row.get_by_role("button", name="Resume schedule Weekly offers")).to_have_count(0)
    row.get_by_role("button", name="Pause schedule Weekly offers").click()
    expect(page.get_by_role("status")).to_have_text("Schedule of “Weekly offers” paused.")
    expect(row.locator("td[data-column=schedule_status]")).to_have_text("Paused")
    expect(row.locator("td[data-column=next_launch]")).to_have_text(last_text)
    template.refresh_from_db()
    assert template.schedule_status == ScheduleStatus.PAUSED

    row.hover()
    row.get_by_role("button", name="Resume schedule Weekly offers").click()
    expect(page.get_by_role("status")).to_contain_text("Schedule of “Weekly offers” resumed; next launch")
    expect(row.locator("td[data-column=schedule_status]")).to_have_text("Active")
    template.refresh_from_db()
    assert template.schedule_status == ScheduleStatus.ACTIVE
    expect(row.locator("td[data-column=next_launch]")).to_have_text(
        timezone.localtime(template.next_launch_at, MADRID).strftime("%d.%m.%Y %H:%M:%S"))
