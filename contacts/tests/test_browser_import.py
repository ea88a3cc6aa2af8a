"""Browser test of the import wizard with a real file: upload a CSV (semicolons, Windows
line ends, a header row), the grid and first row, the mapping with a preset, duplicates
and tag, the preview with its errors, the run's progress to the result, and the download
of the rejected rows."""

import io
import re

import openpyxl
import pytest
from playwright.sync_api import expect

from contacts.models import Contact, MappingPreset
from contacts.tests.files import csv_bytes

pytestmark = pytest.mark.browser

ROWS = [
    ["Teléfono", "Nombre", "Edad", "Notas"],
    ["+34 612 345 678", "Ana", "31", "vip"],
    ["612345679", "Bruno", "cuarenta", ""],
    ["+34612345680", "Carla", "", ""],
    ["+34 612 345 678", "Ana bis", "32", ""],
    ["61234ABC", "Dani", "20", ""],
]


def test_import_a_csv_through_the_wizard(logged_in_page, admin_user, company, tmp_path):
    Contact.objects.create(company=company, phone="+34612345680", country="ES", attributes={"city": "Bilbao"})
    path = tmp_path / "clientes.csv"
    path.write_bytes(csv_bytes(ROWS, delimiter=";", encoding="cp1252"))

    page = logged_in_page(admin_user)
    page.goto("/contacts/import/")
    expect(page.get_by_role("heading", name="Import contacts")).to_be_visible()
    expect(page.get_by_text("No file imported yet.")).to_be_visible()
    page.get_by_label("Select file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()

    # Step 2: the grid, row 1 recognised as the header.
    expect(page).to_have_url(re.compile(r"/contacts/import/\d+/first-row/$"))
    grid = page.get_by_test_id("preview-grid")
    expect(grid.locator("th")).to_have_text(["First row", "#", "Column A", "Column B", "Column C", "Column D"])
    expect(grid.locator("tbody tr").first.locator("td").nth(2)).to_have_text("Teléfono")
    expect(page.get_by_label("Row 2 is the first row")).to_be_checked()
    page.get_by_role("button", name="Next").click()

    # Step 3: nothing matches these Spanish headers but "Teléfono"; map the rest by hand.
    expect(page).to_have_url(re.compile(r"/mapping/$"))
    expect(page.get_by_label("Attribute of column Teléfono")).to_have_value("phone")
    expect(page.get_by_test_id("unknown-columns")).to_contain_text("Column B “Nombre” matches no attribute")
    expect(page.get_by_role("link", name="Attribute manager").first).to_be_visible()
    page.get_by_label("Attribute of column Nombre").select_option(label="Name")
    page.get_by_label("Attribute of column Edad").select_option(label="Age")
    page.get_by_label("Save this mapping as a preset").fill("Clientes")
    page.get_by_role("button", name="Next").click()

    # Step 4: duplicates.
    expect(page).to_have_url(re.compile(r"/duplicates/$"))
    expect(page.get_by_test_id("existing-count")).to_have_text("1")
    expect(page.get_by_test_id("in-file-count")).to_have_text("1")
    page.get_by_label("Enrich").check()
    page.get_by_label("Tag for the imported contacts").fill("Feria")
    page.get_by_role("button", name="Next").click()

    # Step 5: preview.
    expect(page).to_have_url(re.compile(r"/preview/$"))
    expect(page.get_by_test_id("to-import")).to_have_text("2")
    expect(page.get_by_test_id("error-count")).to_have_text("3")
    errors = page.get_by_test_id("error-rows")
    expect(errors).to_contain_text("Age: “cuarenta” is not a number.")
    expect(errors).to_contain_text("Duplicate of row 2 (+34612345678)")
    expect(errors).to_contain_text("“61234ABC” is not a phone number")
    page.get_by_role("button", name="Import").click()

    # The run (eager in tests) and its result.
    expect(page).to_have_url(re.compile(r"/contacts/import/\d+/$"))
    status = page.get_by_test_id("import-status")
    expect(status).to_have_attribute("data-status", "done")
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(page.get_by_test_id("created")).to_have_text("1")
    expect(page.get_by_test_id("updated")).to_have_text("1")
    expect(page.get_by_test_id("errors")).to_have_text("3")
    expect(status).to_contain_text("The imported contacts have the tag “Feria”.")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download rejected rows (XLSX)").click()
    ws = openpyxl.load_workbook(io.BytesIO(open(info.value.path(), "rb").read()), read_only=True).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0] == ["Teléfono", "Nombre", "Edad", "Notas", "Error", "Row"]
    assert [r[-1] for r in rows[1:]] == [3, 5, 6]

    assert {c.phone: c.attributes for c in Contact.objects.filter(company=company)} == {
        "+34612345678": {"name": "Ana", "age": 31}, "+34612345680": {"city": "Bilbao", "name": "Carla"}}
    assert MappingPreset.objects.get(company=company).name == "Clientes"

    # The history lists the file; the preset maps the next file with the same headers.
    page.goto("/contacts/import/")
    expect(page.get_by_test_id("import-history")).to_contain_text("clientes.csv")
    page.get_by_label("Select file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_test_id("used-preset")).to_have_text("Preset “Clientes” applied")
    expect(page.get_by_label("Attribute of column Edad")).to_have_value("age")
