"""Browser tests of the data table, on the Users page: sorting by a header, the "Add
filter" panel (by value, empty / non-empty, date range) and its chips, saved "Columns to
show", page size and paging, and the CSV / XLSX exports."""

import csv
import datetime
import io
import re

import openpyxl
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from portal.testing import factories

pytestmark = pytest.mark.browser

JANUARY = datetime.datetime(2024, 1, 15, 9, 30, tzinfo=datetime.UTC)


@pytest.fixture
def users(company, admin_user):
    """30 users besides the admin (31 rows): user01…user30; every sixth has a middle
    name; user01…user10 were created in January 2024; user07's last name looks like a
    spreadsheet formula."""
    role = factories.system_role("broadcast_manager")
    made = [factories.user(company, login=f"user{i:02d}", first_name=f"First{i:02d}",
                           last_name="=1+2" if i == 7 else f"Last{i:02d}", middle_name="Marie" if i % 6 == 0 else "",
                           email=f"user{i:02d}@example.com", roles=[role])
            for i in range(1, 31)]
    User.objects.filter(login__in=[f"user{i:02d}" for i in range(1, 11)]).update(created_at=JANUARY)
    return made


def _rows(page):
    return page.locator("table.dt tbody tr")


def _info(page):
    return page.get_by_test_id("rows-info")


def _logins(page):
    return _rows(page).locator("td[data-column=login]")


def _add_filter(page, column: str, mode: str, value: str = "", to: str = ""):
    page.get_by_role("button", name="Add filter").click()
    panel = page.locator("[data-panel=filter]")
    expect(panel).to_be_visible()
    panel.get_by_placeholder("Search for a filter").fill(column[:3])
    panel.get_by_role("button", name=column, exact=True).click()
    panel.get_by_label(mode, exact=True).check()
    if mode == "By value":
        panel.get_by_label("Value", exact=True).fill(value)
    elif mode == "By range":
        panel.get_by_label("From", exact=True).fill(value)
        panel.get_by_label("To", exact=True).fill(to)
    panel.get_by_role("button", name="Apply").click()


def test_sort_filter_and_page(logged_in_page, admin_user, users):
    page = logged_in_page(admin_user)
    page.goto("/users/")
    expect(_info(page)).to_have_text("Rows 1-31 of 31")
    expect(_rows(page)).to_have_count(31)

    # Sort: the first click on a header sorts descending, the second ascending.
    login_header = page.locator("th[data-column=login]")
    login_header.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=-login"))
    expect(_logins(page).first).to_have_text("user30")
    expect(login_header).to_contain_text("▼")
    login_header.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=login(&|$)"))
    expect(_logins(page).first).to_have_text(admin_user.login)
    expect(_logins(page).nth(1)).to_have_text("user01")
    expect(login_header).to_contain_text("▲")

    # By value: a substring of the login.
    _add_filter(page, "Login", "By value", "USER1")
    expect(_info(page)).to_have_text("Rows 1-10 of 10")
    expect(_logins(page)).to_have_text([f"user{i}" for i in range(10, 20)])  # the sort is kept
    chip = page.locator(".dt-chips .chip")
    expect(chip).to_have_count(1)
    expect(chip).to_contain_text("Login: “USER1”")
    chip.get_by_role("link", name="Remove filter").click()
    expect(chip).to_have_count(0)
    expect(_info(page)).to_have_text("Rows 1-31 of 31")

    # Empty value / Non-empty values on Middle name (user06, 12, 18, 24, 30 have one).
    _add_filter(page, "Middle name", "Empty value")
    expect(_info(page)).to_have_text("Rows 1-26 of 26")
    expect(chip).to_have_text(re.compile(r"Middle name: Empty value"))
    _add_filter(page, "Middle name", "Non-empty values")
    expect(_info(page)).to_have_text("Rows 1-5 of 5")
    expect(chip).to_have_count(1)  # replaces the Empty value filter of the same column
    expect(chip).to_have_text(re.compile(r"Middle name: Non-empty values"))
    expect(_logins(page)).to_have_text(["user06", "user12", "user18", "user24", "user30"])
    expect(_rows(page).locator("td[data-column=middle_name]")).to_have_text(["Marie"] * 5)
    chip.get_by_role("link", name="Remove filter").click()
    expect(_info(page)).to_have_text("Rows 1-31 of 31")

    # By range on Created: the ten users created in January 2024.
    _add_filter(page, "Created", "By range", "2024-01-01", "2024-01-31")
    expect(_info(page)).to_have_text("Rows 1-10 of 10")
    expect(_logins(page)).to_have_text([f"user{i:02d}" for i in range(1, 11)])
    expect(_rows(page).locator("td[data-column=created_at]").first).to_have_text("15.01.2024 09:30:00")
    expect(chip).to_have_text([re.compile(r"Created: ≥ 2024-01-01"), re.compile(r"Created: ≤ 2024-01-31")])
    # Two filters combine with AND.
    _add_filter(page, "Login", "By value", "user1")
    expect(_info(page)).to_have_text("Rows 1-1 of 1")
    expect(_logins(page)).to_have_text(["user10"])
    page.goto("/users/?sort=login")

    # Page size 10, then the next page.
    page.get_by_label("Rows per page").select_option(label="10")
    expect(_info(page)).to_have_text("Rows 1-10 of 31")
    expect(page.get_by_text("Page 1 of 4")).to_be_visible()
    expect(_logins(page).first).to_have_text(admin_user.login)  # the sort survives the page size
    page.get_by_role("link", name="Next page").click()
    expect(_info(page)).to_have_text("Rows 11-20 of 31")
    expect(page.get_by_text("Page 2 of 4")).to_be_visible()
    expect(_logins(page).first).to_have_text("user10")
    page.get_by_role("link", name="Last page").click()
    expect(_info(page)).to_have_text("Rows 31-31 of 31")
    expect(_logins(page)).to_have_text(["user30"])


def test_columns_to_show_are_saved_per_user(logged_in_page, new_page, company, admin_user, users):
    page = logged_in_page(admin_user)
    page.goto("/users/")
    expect(page.locator("th[data-column=email]")).to_have_text("E-mail")
    expect(page.locator("th[data-column=department]")).to_have_count(0)  # not a default column

    page.get_by_role("button", name="Columns to show").click()
    panel = page.locator("[data-panel=columns]")
    panel.get_by_placeholder("Search for a column").fill("mail")
    expect(panel.get_by_label("First name", exact=True)).to_be_hidden()
    panel.get_by_label("E-mail", exact=True).uncheck()
    panel.get_by_placeholder("Search for a column").fill("")
    panel.get_by_label("Department", exact=True).check()
    panel.get_by_role("button", name="Save columns").click()

    expect(page.locator("th[data-column=email]")).to_have_count(0)
    expect(page.locator("th[data-column=department]")).to_have_text("Department")
    expect(_rows(page).first.locator("td[data-column=department]")).not_to_be_empty()
    page.reload()
    expect(page.locator("th[data-column=department]")).to_have_text("Department")
    expect(page.locator("th[data-column=email]")).to_have_count(0)
    expect(page.locator("td[data-column=email]")).to_have_count(0)

    # Saved for this user only: another admin of the company still sees the defaults.
    other = factories.admin(company, login="bob-admin", first_name="Bob")
    other_page = logged_in_page(other, page=new_page())
    other_page.goto("/users/")
    expect(other_page.locator("th[data-column=email]")).to_have_text("E-mail")
    expect(other_page.locator("th[data-column=department]")).to_have_count(0)

    # At least one column must stay.
    page.get_by_role("button", name="Columns to show").click()
    boxes = panel.get_by_role("checkbox")
    expect(boxes).to_have_count(11)  # .all() does not wait
    for box in boxes.all():
        box.uncheck()
    panel.get_by_role("button", name="Save columns").click()
    expect(panel.locator(".errors")).to_have_text("Choose at least one known column.")


def test_export_csv_and_xlsx(logged_in_page, admin_user, users):
    page = logged_in_page(admin_user)
    # Hide Updated (its value changes with each save), sort by login.
    page.goto("/users/?sort=login")
    page.get_by_role("button", name="Columns to show").click()
    page.locator("[data-panel=columns]").get_by_label("Updated", exact=True).uncheck()
    page.get_by_role("button", name="Save columns").click()
    expect(page.locator("th[data-column=updated_at]")).to_have_count(0)
    header = ["First name", "Middle name", "Last name", "Login", "E-mail", "Contact phone", "Created"]
    expect(page.locator("table.dt thead th[data-column]")).to_have_text([*header[:3], "Login ▲", *header[4:]])

    def download(fmt):
        page.get_by_role("button", name="Export").click()
        with page.expect_download() as info:
            page.locator(f"[data-export={fmt}]").click()
        dl = info.value
        assert dl.suggested_filename.startswith("users-") and dl.suggested_filename.endswith(f".{fmt}")
        return dl.path()

    # Whole table, CSV (all rows, not only the page).
    page.get_by_label("Rows per page").select_option(label="10")
    expect(_info(page)).to_have_text("Rows 1-10 of 31")
    with open(download("csv"), encoding="utf-8") as fh:
        text = fh.read()
    assert text.startswith("\ufeff")  # BOM for spreadsheet programs
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == header
    assert [r[3] for r in rows[1:]] == [admin_user.login] + [f"user{i:02d}" for i in range(1, 31)]
    user07 = next(r for r in rows if r[3] == "user07")
    assert user07[2] == "'=1+2"  # formula-injection escape
    assert user07[6] == "15.01.2024 09:30:00"

    # Filtered rows, XLSX.
    _add_filter(page, "Login", "By value", "user0")
    expect(_info(page)).to_have_text("Rows 1-9 of 9")
    with open(download("xlsx"), "rb") as fh:  # the download's temp name has no .xlsx suffix
        workbook = openpyxl.load_workbook(io.BytesIO(fh.read()), read_only=True)
    values = [list(r) for r in workbook.active.iter_rows(values_only=True)]
    assert values[0] == header
    assert [r[3] for r in values[1:]] == [f"user{i:02d}" for i in range(1, 10)]
    user07 = next(r for r in values if r[3] == "user07")
    assert user07[:5] == ["First07", None, "'=1+2", "user07", "user07@example.com"]
    assert user07[6] == "15.01.2024 09:30:00"
    assert all(not str(cell).startswith("=") for row in values for cell in row if cell is not None)
    today = timezone.localtime().strftime("%d.%m.%Y")
    assert next(r for r in values if r[3] == "user09")[6] == "15.01.2024 09:30:00"
    assert not any(r[6].startswith(today) for r in values[1:])
