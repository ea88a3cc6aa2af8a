"""Browser test: open the delivery log, open a failed webhook, replay it and see the new
attempt reach a real receiver."""

import re

import pytest
from playwright.sync_api import expect

from webhooks import services
from webhooks.tests.conftest import Reply

pytestmark = pytest.mark.browser


def test_replay_from_the_delivery_log(logged_in_page, admin_user, company, receiver, settings):
    settings.HERALD_WEBHOOKS_ALLOW_PRIVATE = True
    receiver.reply(Reply(500, b"database down"))
    event = services.emit(company=company, event_type="message.status", data={"status": "delivered"},
                          url=receiver.url())
    services.deliver(event)

    page = logged_in_page(admin_user)
    page.goto("/webhooks/")
    row = page.locator(f"table.dt tbody tr[data-id='{event.pk}']")
    expect(row.locator("td[data-column=state]")).to_have_text("Pending")
    expect(row.locator("td[data-column=last_status_code]")).to_have_text("500")
    row.locator("[data-event-link]").click()
    expect(page).to_have_url(re.compile(rf"/webhooks/events/{event.pk}/$"))
    attempts = page.get_by_test_id("attempts")
    expect(attempts.locator("tbody tr")).to_have_count(1)
    expect(attempts).to_contain_text("database down")

    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status")).to_have_text(f"Webhook {event.pk} is being sent again.")
    expect(attempts.locator("tbody tr")).to_have_count(2)
    expect(attempts.locator("tr[data-attempt='2'] td[data-column=status]")).to_have_text("200")
    expect(page.get_by_test_id("event-state")).to_have_text("Delivered")
    assert [r.headers["webhook-id"] for r in receiver.received] == [event.pk, event.pk]
