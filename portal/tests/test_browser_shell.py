"""Browser tests of the shell: signing in, the forced first-login password change, and
the left menu (items per role, "Coming soon" sections, collapse, help dialog)."""

import re

import pytest
from playwright.sync_api import expect

from portal.testing import factories
from portal.testing.browser import sign_in

pytestmark = pytest.mark.browser

ADMIN_MENU = ["Dashboard", "Broadcasts", "Contacts", "Conversations", "Finance", "Statistics", "Assets", "Users",
              "Audit", "API Accesses", "2FA Service"]
NEW_PASSWORD = "N3w!Secret#2024"


def _url(path: str):
    return re.compile(re.escape(path) + r"(\?.*)?$")


def test_login_lands_on_dashboard_and_wrong_password_is_refused(page, admin_user):
    sign_in(page, admin_user.login, "not-the-password")
    expect(page).to_have_url(_url("/login/"))
    expect(page.get_by_role("alert")).to_have_text("Wrong login or password.")

    sign_in(page, admin_user.login, factories.PASSWORD)
    expect(page).to_have_url(_url("/dashboard/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_text("Welcome, Alice")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main menu")).to_be_visible()


def test_first_login_forces_a_password_change(page, company):
    user = factories.user(company, login="newbie", first_name="Nina", ready=False)

    sign_in(page, "newbie", factories.PASSWORD)
    expect(page).to_have_url(_url("/password/change-required/"))
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    expect(page.get_by_text("This is your first sign-in")).to_be_visible()

    for blocked in ("/users/", "/dashboard/"):
        page.goto(blocked)
        expect(page).to_have_url(_url("/password/change-required/"))

    def change(new, confirm=None):
        page.get_by_label("Current password").fill(factories.PASSWORD)
        page.get_by_label("New password").fill(new)
        page.get_by_label("Confirm password").fill(confirm or new)
        page.get_by_role("button", name="Save").click()

    change("weakpassword")
    expect(page).to_have_url(_url("/password/change-required/"))
    expect(page.get_by_text("The password must contain at least 3 of these 4 groups")).to_be_visible()

    change(NEW_PASSWORD)
    expect(page).to_have_url(_url("/dashboard/"))
    expect(page.get_by_role("status")).to_have_text("Your password has been changed.")
    expect(page.get_by_text("Welcome, Nina")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(_url("/login/"))
    sign_in(page, user.login, factories.PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("Wrong login or password.")
    sign_in(page, user.login, NEW_PASSWORD)
    expect(page).to_have_url(_url("/dashboard/"))
    page.goto("/users/")
    expect(page).to_have_url(_url("/users/"))


def test_admin_menu_coming_soon_collapse_and_help(logged_in_page, admin_user):
    page = logged_in_page(admin_user)
    menu = page.get_by_role("navigation", name="Main menu")
    labels = menu.locator(".menu .label")
    expect(labels).to_have_text(ADMIN_MENU)
    for name in ("Account settings", "Help", "Log out"):
        expect(menu.get_by_title(name)).to_be_visible()
    expect(menu.get_by_title("Account settings")).to_contain_text(admin_user.full_name)

    menu.get_by_role("link", name="Conversations").click()
    expect(page).to_have_url(_url("/conversations/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Conversations")
    expect(page.get_by_role("heading", name="Coming soon")).to_be_visible()
    expect(menu.get_by_role("link", name="Conversations")).to_have_class(re.compile(r"\bis-active\b"))

    toggle = page.get_by_role("button", name="Collapse or expand the menu")
    toggle.click()
    expect(labels.first).to_be_hidden()
    expect(menu.get_by_title("Log out").locator(".label")).to_be_hidden()
    page.reload()
    expect(labels.first).to_be_hidden()  # remembered in localStorage
    expect(menu.get_by_title("Users")).to_be_visible()  # icons stay
    toggle.click()
    expect(labels.first).to_be_visible()
    page.reload()
    expect(labels).to_have_text(ADMIN_MENU)
    expect(labels.last).to_be_visible()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_hidden()
    menu.get_by_role("button", name="Help").click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Need any help?")
    expect(dialog.get_by_role("link", name="Documentation")).to_have_attribute("href", "/help/")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_finance_manager_sees_only_their_sections(logged_in_page, company):
    manager = factories.user(company, login="fiona", roles=[factories.system_role("finance_manager")])
    page = logged_in_page(manager)
    labels = page.get_by_role("navigation", name="Main menu").locator(".menu .label")
    expect(labels).to_have_text(["Dashboard", "Finance", "Statistics"])
    for hidden in ("Users", "Audit", "API Accesses"):
        expect(page.get_by_role("link", name=hidden, exact=True)).to_have_count(0)

    response = page.goto("/users/")
    assert response.status == 403
    response = page.goto("/audit/")
    assert response.status == 403
