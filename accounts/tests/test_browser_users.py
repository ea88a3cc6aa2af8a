"""Browser test of the admin pages: a custom role built from a template, a user with
that role, and both changes in the Audit log (row details and their CSV)."""

import re

import pytest
from playwright.sync_api import expect

from portal.testing import factories

pytestmark = pytest.mark.browser

ROLE = "Support desk"
LOGIN = "jdoe"
PASSWORD = "Def4ult!Pass"


def _group(page, area):
    """A permission group (Finance, Users, …) of the role or user form."""
    return page.locator(".perm-group").filter(has=page.locator("h4").get_by_text(area, exact=True))


def _counter(page, area):
    return _group(page, area).locator(".badge")


def test_admin_creates_a_custom_role_and_a_user_then_sees_both_in_audit(logged_in_page, admin_user):
    page = logged_in_page(admin_user)

    # "New role from this template" (a system role's page) opens the form pre-filled.
    page.goto(f"/users/roles/new/?template={factories.system_role('finance_manager').pk}")
    expect(_counter(page, "Finance")).to_have_text("(4 of 4)")
    expect(_counter(page, "Users")).to_have_text("(0 of 2)")

    # --- Roles → New role, pre-filled from the Finance manager template ------------------------
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Users").click()
    page.get_by_role("navigation", name="Users and roles").get_by_role("link", name="Roles").click()
    expect(page).to_have_url(re.compile(r"/users/roles/$"))
    page.get_by_role("link", name="New role").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New role")
    expect(_counter(page, "Finance")).to_have_text("(0 of 4)")

    page.get_by_label("Name", exact=True).fill(ROLE)
    page.get_by_label("Template", exact=True).select_option(label="Finance manager · System")
    expect(_counter(page, "Finance")).to_have_text("(4 of 4)")
    expect(_counter(page, "Statistics")).to_have_text("(1 of 3)")
    expect(_counter(page, "Users")).to_have_text("(0 of 2)")
    expect(page.get_by_label("View Payments", exact=True)).to_be_checked()

    page.get_by_label("Manage Users", exact=True).check()
    expect(_counter(page, "Users")).to_have_text("(1 of 2)")
    page.get_by_label("View Audit", exact=True).check()
    expect(_counter(page, "Audit")).to_have_text("(1 of 1)")
    page.get_by_label("Manage Payments", exact=True).uncheck()
    expect(_counter(page, "Finance")).to_have_text("(3 of 4)")
    page.get_by_role("button", name="Save changes").click()

    expect(page).to_have_url(re.compile(r"/users/roles/$"))
    expect(page.get_by_role("status")).to_have_text(f"Role {ROLE} created.")
    role_row = page.locator("tbody tr").filter(has_text=ROLE)
    expect(role_row).to_have_count(1)
    expect(role_row).to_contain_text("Manage Users")

    # --- Users → New user with the custom role -------------------------------------------------
    page.get_by_role("navigation", name="Users and roles").get_by_role("link", name="Users").click()
    page.get_by_role("link", name="New user").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New user")
    page.get_by_label("First name", exact=True).fill("John")
    page.get_by_label("Last name", exact=True).fill("Doe")
    page.get_by_label("Department", exact=True).select_option(label="First line support")
    page.get_by_label("Login", exact=True).fill(LOGIN)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("E-mail", exact=True).fill("jdoe@example.com")
    page.get_by_label("Contact phone", exact=True).fill("+34600000000")

    page.get_by_role("link", name="Role", exact=True).click()
    no_restrictions = page.get_by_label("No restrictions", exact=True)
    expect(no_restrictions).to_be_visible()
    expect(page.get_by_label("First name", exact=True)).to_be_hidden()  # the General tab is hidden
    no_restrictions.check()
    expect(_counter(page, "Users")).to_have_text("(2 of 2)")  # No restrictions = every permission
    expect(page.get_by_label(ROLE, exact=True)).to_be_hidden()
    no_restrictions.uncheck()
    expect(_counter(page, "Users")).to_have_text("(0 of 2)")
    page.get_by_label(ROLE, exact=True).check()
    expect(_counter(page, "Users")).to_have_text("(1 of 2)")
    expect(_counter(page, "Finance")).to_have_text("(3 of 4)")
    expect(_counter(page, "Audit")).to_have_text("(1 of 1)")
    expect(_counter(page, "Broadcast")).to_have_text("(0 of 1)")
    users_group = _group(page, "Users")
    expect(users_group.locator(".checkbox", has_text="Manage Users").locator("input")).to_be_checked()
    expect(users_group.locator(".checkbox", has_text="Manage Roles").locator("input")).not_to_be_checked()
    expect(users_group.locator("input").first).to_be_disabled()
    page.get_by_role("button", name="Save changes").click()

    expect(page).to_have_url(re.compile(r"/users/$"))
    expect(page.get_by_role("status")).to_contain_text(f"User {LOGIN} created.")
    user_row = page.locator("tbody tr").filter(has=page.locator("td[data-column=login]", has_text=LOGIN))
    expect(user_row).to_have_count(1)
    expect(user_row.locator("td[data-column=first_name]")).to_have_text("John")
    expect(user_row.locator("td[data-column=email]")).to_have_text("jdoe@example.com")

    # --- Audit: both events by the admin, with their detail lines ------------------------------
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit")
    events = page.locator("tbody.audit-event")
    by_admin = events.filter(has=page.locator("td[data-column=user]", has_text=admin_user.login))
    role_event = by_admin.filter(has=page.locator("td[data-column=action]", has_text="Added new role"))
    user_event = by_admin.filter(has=page.locator("td[data-column=action]", has_text="Added new user"))
    expect(role_event).to_have_count(1)
    expect(user_event).to_have_count(1)
    expect(events.first.locator("td[data-column=action]")).to_have_text("Added new user")  # newest first

    details = user_event.get_by_test_id("audit-details")
    expect(details).to_be_hidden()
    user_event.locator("tr").first.click()
    expect(details).to_be_visible()
    expect(details).to_contain_text("This event has 1 line of detail")
    line = details.locator("tbody tr")
    expect(line).to_have_count(1)
    expect(line.locator("td").nth(0)).to_have_text("accounts_user")
    expect(line.locator("td").nth(1)).to_have_text("Insert")
    expect(line.locator("td").nth(3)).to_have_text("")  # no old value for an insert
    expect(line.locator("td").nth(4)).to_contain_text(f'"login": "{LOGIN}"')
    expect(line.locator("td").nth(4)).not_to_contain_text(PASSWORD)

    with page.expect_download() as download_info:
        details.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    content = open(download.path(), encoding="utf-8-sig").read()
    assert content.splitlines()[0] == "Table,Operation,Object ID,Old value,New value"
    assert "accounts_user,Insert," in content
    assert LOGIN in content
    assert PASSWORD not in content

    user_event.locator("tr").first.click()  # collapses again
    expect(details).to_be_hidden()
