"""Browser test of the contacts main path: create an attribute, create a contact with a
tag, see it in the list, filter on the attribute, create a target and watch its live
count, and mass-edit a tag onto two contacts."""

import re

import pytest
from playwright.sync_api import expect

from contacts import services
from contacts.models import Attribute, Contact, Target
from portal.audit import Actor

pytestmark = pytest.mark.browser


def _rows(page):
    return page.locator("table.dt tbody tr[data-id]")


def _phones(page):
    return _rows(page).locator("td[data-column=phone]")


def test_contacts_main_path(logged_in_page, admin_user, company):
    actor = Actor(user=admin_user, company=company)
    services.create_contact(actor=actor, company=company, phone="+34612000001", attributes={"name": "Bea"})
    services.create_contact(actor=actor, company=company, phone="+34612000002", attributes={"name": "Carl"},
                            tags=["newsletter"])
    page = logged_in_page(admin_user)
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Contacts").click()
    expect(page).to_have_url(re.compile(r"/contacts/$"))
    expect(page.get_by_test_id("rows-info")).to_have_text("Rows 1-2 of 2")

    # 1. An attribute, from the "…" menu → Attribute manager.
    page.get_by_role("button", name="More options").click()
    page.get_by_role("link", name="Attribute manager").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Attribute manager")
    expect(page.locator("tr[data-attribute=phone]")).to_contain_text("cannot be removed")
    page.get_by_role("link", name="New attribute").click()
    page.get_by_label("Name").fill("Hobby")
    page.get_by_label("Type").select_option(label="Text list of values")
    values = page.get_by_label("Allowed values")
    expect(values).to_be_visible()
    values.fill("chess\ngolf\nsailing")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Attribute “Hobby” added.")
    expect(page.locator("tr[data-attribute=hobby]")).to_contain_text("Text list of values")

    # 2. A contact with a tag: one picked from the type-ahead, one created by typing.
    page.locator("[data-nav=contacts]").click()
    page.get_by_role("link", name="New contact").click()
    page.get_by_label("Phone number").fill("612 34 56 78")
    page.get_by_role("textbox", name="Name", exact=True).fill("Ana")
    page.get_by_label("Hobby").select_option("golf")
    tags = page.get_by_label("Tags")
    tags.fill("news")
    page.locator("[data-suggestion]", has_text="newsletter").click()
    tags.fill("vip")
    tags.press("Enter")
    expect(page.locator("[data-tag]")).to_have_text(["newsletter✕", "vip✕"])
    page.get_by_role("button", name="Save contact").click()
    expect(page.get_by_role("status")).to_have_text("Contact +34612345678 saved.")

    # 3. In the list, with its attribute and tag columns.
    row = _rows(page).filter(has_text="+34612345678")
    expect(row.locator("td[data-column=attr_hobby]")).to_have_text("golf")
    expect(row.locator("td[data-column=tags]")).to_contain_text("newsletter")
    expect(row.locator("td[data-column=tags]")).to_contain_text("vip")

    # 4. Filter on the attribute (the data table's filter panel).
    page.get_by_role("button", name="Add filter").click()
    panel = page.locator("[data-panel=filter]")
    panel.get_by_placeholder("Search for a filter").fill("hob")
    panel.get_by_role("button", name="Hobby", exact=True).click()
    panel.get_by_label("By value", exact=True).check()
    panel.get_by_label("Value", exact=True).fill("gol")
    panel.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"[?&]attr_hobby=gol"))
    expect(_phones(page)).to_have_text(["+34612345678"])
    page.locator("[data-filter=attr_hobby] a").click()
    expect(_rows(page)).to_have_count(3)

    # 5. A target with its live count.
    page.locator("[data-nav=targets]").click()
    page.get_by_role("link", name="Add target").click()
    page.get_by_label("Name").fill("Golfers")
    count = page.get_by_test_id("target-count")
    expect(count).to_have_text("3 contacts match")  # no filter yet: everyone
    builder = page.get_by_test_id("filter-builder")
    builder.get_by_role("button", name="Add filter").click()
    target_panel = page.locator("[data-panel=target-filter]")
    target_panel.get_by_placeholder("Search").fill("hob")
    target_panel.get_by_role("button", name="Hobby", exact=True).click()
    target_panel.get_by_label("Value", exact=True).select_option("golf")
    target_panel.get_by_role("button", name="Apply").click()
    expect(builder.locator("[data-criterion]")).to_have_text([re.compile(r"Hobby: “golf”")])
    expect(count).to_have_text("1 contact matches")
    builder.get_by_role("button", name="Add filter").click()
    target_panel.get_by_placeholder("Search").fill("tag")
    target_panel.get_by_role("button", name="Tags", exact=True).click()
    target_panel.get_by_label("Empty value", exact=True).check()
    target_panel.get_by_role("button", name="Apply").click()
    expect(count).to_have_text("0 contacts match")
    builder.get_by_role("button", name=re.compile(r"^Remove filter Tags")).click()
    expect(count).to_have_text("1 contact matches")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Target “Golfers” saved.")
    expect(page.locator("[data-target-name]")).to_have_text(["Golfers"])
    assert Target.objects.get(company=company).filters == [
        {"field": "attribute:hobby", "mode": "value", "value": "golf"}]

    # 6. Mass edit: tag two contacts.
    page.locator("[data-nav=contacts]").click()
    page.get_by_role("button", name="More options").click()
    page.get_by_role("link", name="Enable mass edit").click()
    bar = page.get_by_test_id("mass-edit-bar")
    expect(bar).to_be_visible()
    page.get_by_role("checkbox", name="Select row +34612000001").check()
    page.get_by_role("checkbox", name="Select row +34612000002").check()
    expect(bar.get_by_test_id("selected-count")).to_have_text("Selected: 2")
    bar.get_by_role("button", name="Edit selected").click()
    expect(page.get_by_test_id("mass-edit-count")).to_contain_text("2 contacts selected.")
    page.get_by_label("Add tags").fill("spring")
    page.get_by_label("Add tags").press("Enter")
    page.get_by_role("button", name="Save contacts").click()
    expect(page.get_by_role("status")).to_have_text("2 contacts edited.")
    spring = {c.phone for c in Contact.objects.filter(company=company, tags__name="spring")}
    assert spring == {"+34612000001", "+34612000002"}
    expect(_rows(page).filter(has_text="spring")).to_have_count(2)
    assert Attribute.objects.filter(company=company, key="hobby").exists()


def test_select_all_records_hides_delete(logged_in_page, admin_user, company):
    actor = Actor(user=admin_user, company=company)
    for i in range(3):
        services.create_contact(actor=actor, company=company, phone=f"+3461200000{i}")
    page = logged_in_page(admin_user)
    page.goto("/contacts/?mass_edit=1")
    bar = page.get_by_test_id("mass-edit-bar")
    page.locator("[data-select-page]").check()
    expect(bar.get_by_test_id("selected-count")).to_have_text("Selected: 3")
    bar.get_by_role("button", name="Select all records").click()
    expect(bar.get_by_test_id("selected-count")).to_have_text("Selected: 3")
    expect(page.locator("[data-select-row]").first).to_be_disabled()
    bar.get_by_role("button", name="Edit selected").click()
    expect(page.get_by_test_id("mass-edit-count")).to_contain_text("3 contacts selected.")
    expect(page.get_by_role("button", name="Delete contacts")).to_have_count(0)
    expect(page.get_by_role("button", name="Save contacts")).to_be_visible()
