"""Browser test of moderation by the parent company (issue 5 item 1, D56): the reseller's
user opens *Moderation* from the menu, opens the child company's broadcast, tries to
reject it without a note (refused), approves it and sees it gone from the queue; the
child's broadcast is then running."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from broadcasts.models import Broadcast, BroadcastStatus
from broadcasts.tests import factories as bf
from portal.channel_types import Channel
from portal.testing import factories

pytestmark = pytest.mark.browser


def test_parent_user_reviews_and_approves_a_childs_broadcast(logged_in_page, db):
    parent = factories.company("Reseller")
    child = factories.company("Acme Client", parent=parent, moderation=True)
    reseller = factories.user(parent, login="reseller")
    author = factories.user(child, login="client", first_name="Carl", last_name="Client")
    b = bf.broadcast(child, name="Spring sale", status=BroadcastStatus.ON_MODERATION, created_by=author,
                     recipients={"targets": [], "tags": [], "phones": ["+34612345678"]},
                     steps=[bf.step(Channel.SMS, sender="ACME", text="Spring sale: 20% off today!")])
    other = bf.broadcast(child, name="Autumn sale", status=BroadcastStatus.ON_MODERATION,
                         recipients={"targets": [], "tags": [], "phones": ["+34612345679"]})

    page = logged_in_page(reseller)
    page.locator('[data-menu="moderation"]').click()
    expect(page).to_have_url(re.compile(r"/broadcasts/moderation/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Moderation")
    queue = page.get_by_test_id("moderation-queue")
    expect(queue.locator("tbody tr[data-id]")).to_have_count(2)
    row = queue.locator(f'tr[data-id="{b.pk}"]')
    expect(row.locator('[data-column="company"]')).to_have_text("Acme Client")
    expect(row.locator('[data-column="created_by"]')).to_have_text("Carl Client")
    expect(row.locator('[data-column="steps"]')).to_have_text("SMS")

    row.get_by_role("link", name="Review Spring sale").click()
    expect(page.get_by_test_id("review-name")).to_have_text("Spring sale")
    expect(page.locator("[data-step-text]")).to_have_text("Spring sale: 20% off today!")
    expect(page.locator("[data-step-sender]")).to_have_text("ACME")

    page.get_by_role("button", name="Reject").click()  # no note: refused, nothing changes
    expect(page.locator('[data-errors-for="note"]')).to_contain_text("Say why it is rejected")
    assert Broadcast.objects.get(pk=b.pk).status == BroadcastStatus.ON_MODERATION

    page.get_by_role("button", name="Approve").click()
    expect(page).to_have_url(re.compile(r"/broadcasts/moderation/$"))
    expect(page.get_by_role("status").filter(has_text="approved and launched")).to_be_visible()
    expect(queue.locator("tbody tr[data-id]")).to_have_count(1)
    expect(queue.locator(f'tr[data-id="{b.pk}"]')).to_have_count(0)
    expect(queue.locator(f'tr[data-id="{other.pk}"]')).to_have_count(1)
    b.refresh_from_db()
    assert b.status == BroadcastStatus.IN_PROGRESS and b.moderated_by == reseller
