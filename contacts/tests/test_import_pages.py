"""The import pages: the five steps, the progress and result, the rejected rows download,
quick import, refusals shown on the page, permission, tenant isolation, and query counts
that do not grow with the file."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact, ContactImport, ImportStatus, MappingPreset, Tag
from contacts.services import imports
from contacts.tests.files import PNG_BYTES, csv_bytes, upload, xlsx_bytes, xlsx_with_member
from portal.audit import Actor
from portal.testing import factories

ROWS = [["Phone", "Name", "Colour", "Age"], ["+34612345678", "Ana", "blue", "31"],
        ["+34612345679", "Bob", "red", "old"], ["+34612345678", "Ana again", "", ""]]


def post_file(client, name, content, url="contacts:import", **data):
    return client.post(reverse(url), {"file": upload(name, content), **data})


@pytest.fixture
def eager(django_capture_on_commit_callbacks):
    """``eager(callable)``: call it, then run what it left for after the commit (the Celery
    tasks, eager in tests), as a request's commit would."""

    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = fn(*args, **kwargs)
        return result

    return call


def test_the_wizard_from_upload_to_result(admin_client, company, eager):
    page = admin_client.get(reverse("contacts:import"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "File upload" in html and "Import history" in html and 'data-nav="import"' in html

    response = post_file(admin_client, "people.csv", csv_bytes(ROWS))
    imp = ContactImport.objects.get(company=company)
    assert response.status_code == 302 and response.url == reverse("contacts:import_rows", args=[imp.pk])

    html = admin_client.get(response.url).content.decode()
    assert "Column A" in html and "Column D" in html and 'id="row-2" checked' in html  # row 1 is the header
    response = admin_client.post(reverse("contacts:import_rows", args=[imp.pk]), {"first_row": "2"})
    assert response.url == reverse("contacts:import_mapping", args=[imp.pk])

    html = admin_client.get(response.url).content.decode()
    assert "Select attribute" in html
    assert "Column C “Colour” matches no attribute: it will be ignored." in html
    assert "/contacts/attributes/?next=" in html  # the attribute manager
    response = admin_client.post(reverse("contacts:import_mapping", args=[imp.pk]),
                                 {"col-0": "phone", "col-1": "name", "col-2": "", "col-3": "age",
                                  "preset_name": "People"})
    assert response.url == reverse("contacts:import_duplicates", args=[imp.pk])
    assert MappingPreset.objects.get(company=company).name == "People"

    html = admin_client.get(response.url).content.decode()
    assert 'data-testid="in-file-count">1<' in html and 'data-testid="existing-count">0<' in html
    assert "Do not import" in html and "Override" in html and "Enrich" in html
    response = admin_client.post(reverse("contacts:import_duplicates", args=[imp.pk]),
                                 {"duplicate_mode": "enrich", "tag": "Autumn fair"})
    assert response.url == reverse("contacts:import_preview", args=[imp.pk])

    html = admin_client.get(response.url).content.decode()
    assert 'data-testid="to-import">1<' in html and 'data-testid="error-count">2<' in html
    assert "Age: “old” is not a number." in html and "Duplicate of row 2 (+34612345678)" in html

    response = eager(admin_client.post, reverse("contacts:import_preview", args=[imp.pk]))
    assert response.url == reverse("contacts:import_result", args=[imp.pk])
    imp.refresh_from_db()
    assert imp.status == ImportStatus.DONE
    html = admin_client.get(response.url).content.decode()
    assert 'data-status="done"' in html and 'data-testid="created">1<' in html and 'data-testid="errors">2<' in html
    assert "Download rejected rows (XLSX)" in html and "Autumn fair" in html
    assert Contact.objects.get(company=company).attributes == {"name": "Ana", "age": 31}

    status = admin_client.get(reverse("contacts:import_status", args=[imp.pk]), {"format": "json"}).json()
    assert (status["status"], status["created"], status["errors"], status["percent"]) == ("done", 1, 2, 100)
    assert status["error_report_url"] == reverse("contacts:import_errors", args=[imp.pk])
    partial = admin_client.get(reverse("contacts:import_status", args=[imp.pk])).content.decode()
    assert "hx-trigger" not in partial and "Import finished" in partial

    download = admin_client.get(reverse("contacts:import_errors", args=[imp.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    from io import BytesIO

    from openpyxl import load_workbook

    ws = load_workbook(BytesIO(b"".join(download.streaming_content)), read_only=True).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0] == ["Phone", "Name", "Colour", "Age", "Error", "Row"]
    assert rows[1] == ["+34612345679", "Bob", "red", "old", "Age: “old” is not a number.", 3]

    # The wizard steps of a started import lead to its result.
    assert admin_client.get(reverse("contacts:import_mapping", args=[imp.pk])).url == \
        reverse("contacts:import_result", args=[imp.pk])
    history = admin_client.get(reverse("contacts:import")).content.decode()
    assert "people.csv" in history


def test_progress_partial_polls_while_running(admin_client, company, admin_user):
    imp = imports.create_import(actor=Actor(user=admin_user, company=company), company=company,
                                file=upload("a.csv", csv_bytes([["+34612345678"]])))
    ContactImport.objects.filter(pk=imp.pk).update(status=ImportStatus.QUEUED, total_rows=200, processed_rows=50)
    partial = admin_client.get(reverse("contacts:import_status", args=[imp.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in partial and 'value="25"' in partial and "50 of 200 rows (25%)" in partial


def test_mapping_errors_are_shown(admin_client, company, eager):
    post_file(admin_client, "people.csv", csv_bytes(ROWS))
    imp = ContactImport.objects.get(company=company)
    response = admin_client.post(reverse("contacts:import_mapping", args=[imp.pk]),
                                 {"col-0": "", "col-1": "name", "col-3": "name"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Map one column to the phone number" in html and "Columns B and D are both mapped" in html


@pytest.mark.parametrize("name, content, message", [
    ("empty.csv", b"", "The file is empty."),
    ("photo.csv", PNG_BYTES, "This file is not a CSV, XLS, XLSX or ODS spreadsheet (its content is a PNG image)."),
    ("bomb.xlsx", xlsx_with_member("xl/media/x.bin", b"\0" * (8 * 1024 * 1024)), "looks like a zip bomb"),
])
def test_refused_uploads_say_why_and_store_nothing(admin_client, company, name, content, message):
    response = post_file(admin_client, name, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ContactImport.objects.exists()


def test_a_csv_named_xlsx_is_taken_as_csv(admin_client, company):
    post_file(admin_client, "really-a.xlsx", csv_bytes(ROWS))
    assert ContactImport.objects.get(company=company).file_type == "csv"


def test_upload_bigger_than_the_limit_is_stopped_while_it_arrives(admin_client, company, settings):
    settings.HERALD_IMPORT_MAX_UPLOAD_MB = 1
    big = b"+34612345678,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n" * 60_000  # 2.6 MB (binary multiples)
    response = post_file(admin_client, "big.csv", big)
    assert response.status_code == 400
    html = response.content.decode()
    assert "The file is 2.6 MB, more than the 1 MB allowed." in html, re.findall(r"alert-error[^<]*>[^<]*", html)
    assert not ContactImport.objects.exists()


def test_quick_import_goes_to_broadcasts(admin_client, company, eager):
    Contact.objects.create(company=company, phone="+34612345678", country="ES")
    response = post_file(admin_client, "numbers.csv", csv_bytes([["+34612345678"], ["+34612345690"], ["x1"]]),
                         url="contacts:quick_import", tag="Flash")
    imp = ContactImport.objects.get(company=company, kind="quick")
    assert response.url == reverse("contacts:quick_import_confirm", args=[imp.pk])
    html = admin_client.get(response.url).content.decode()
    assert 'data-testid="to-import">2<' in html and 'data-testid="existing">1<' in html
    assert 'data-testid="error-count">1<' in html
    response = eager(admin_client.post, reverse("contacts:quick_import_confirm", args=[imp.pk]))
    tag = Tag.objects.get(company=company, name="Flash")
    # rule 5: then the broadcast creation opens with the import's tag chosen
    assert response.status_code == 302 and response.url == f"/broadcasts/new/?tag={tag.pk}"
    assert Contact.objects.filter(company=company).count() == 2
    assert set(Contact.objects.filter(company=company, tags__name="Flash").values_list("phone", flat=True)) == \
        {"+34612345678", "+34612345690"}


def test_quick_import_refuses_a_file_with_several_columns(admin_client, company):
    response = post_file(admin_client, "people.csv", csv_bytes(ROWS), url="contacts:quick_import", tag="T")
    assert response.status_code == 400
    assert "Quick import takes a file with one column of phone numbers" in response.content.decode()


# --- access ---------------------------------------------------------------------------------------

@pytest.fixture
def theirs(other_company, other_admin, django_capture_on_commit_callbacks):
    actor = Actor(user=other_admin, company=other_company)
    with django_capture_on_commit_callbacks(execute=True):
        done = imports.create_import(actor=actor, company=other_company,
                                     file=upload("globex.csv", csv_bytes([["Phone", "Age"], ["+34612345678", "x"],
                                                                         ["+34612345679", "1"]])))
        imports.set_mapping(actor=actor, imp=done, mapping={"0": "phone", "1": "age"})
        imports.start_import(actor=actor, imp=done)
        quick = imports.create_quick_import(actor=actor, company=other_company, tag="Globex",
                                            file=upload("q.csv", csv_bytes([["+34612345670"]])))
        open_ = imports.create_import(actor=actor, company=other_company,
                                      file=upload("open.csv", csv_bytes([["+34612345671"]])))
    return {"done": done, "quick": quick, "open": open_}


PAGES = [
    ("get", "contacts:import_rows", "open"), ("post", "contacts:import_rows", "open"),
    ("get", "contacts:import_mapping", "open"), ("post", "contacts:import_mapping", "open"),
    ("get", "contacts:import_duplicates", "open"), ("post", "contacts:import_duplicates", "open"),
    ("get", "contacts:import_preview", "open"), ("post", "contacts:import_preview", "open"),
    ("get", "contacts:import_check_status", "open"), ("get", "contacts:import_result", "done"),
    ("get", "contacts:import_status", "done"), ("get", "contacts:import_errors", "done"),
    ("get", "contacts:quick_import_confirm", "quick"), ("post", "contacts:quick_import_confirm", "quick"),
]


@pytest.mark.parametrize("method, url_name, which", PAGES)
def test_another_companys_imports_answer_404(admin_client, theirs, method, url_name, which):
    imp = theirs[which]
    before = list(ContactImport.objects.order_by("pk").values_list("status", "first_row", "duplicate_mode"))
    response = getattr(admin_client, method)(reverse(url_name, args=[imp.pk]),
                                             {"first_row": "1", "col-0": "phone", "duplicate_mode": "override"})
    assert response.status_code == 404
    assert list(ContactImport.objects.order_by("pk").values_list("status", "first_row", "duplicate_mode")) == before


def test_history_shows_only_the_companys_files(admin_client, theirs):
    assert "globex.csv" not in admin_client.get(reverse("contacts:import")).content.decode()


@pytest.mark.parametrize("method, url_name, which", PAGES + [("get", "contacts:import", None),
                                                             ("post", "contacts:import", None),
                                                             ("get", "contacts:quick_import", None),
                                                             ("post", "contacts:quick_import", None)])
def test_import_contacts_permission_is_required(client, company, method, url_name, which, admin_user):
    actor = Actor(user=admin_user, company=company)
    imp = imports.create_import(actor=actor, company=company, file=upload("a.csv", csv_bytes([["+34612345678"]])))
    manager = factories.user(company, login="fiona", roles=[factories.system_role("finance_manager")])
    client.force_login(manager)
    args = [imp.pk] if which else []
    response = getattr(client, method)(reverse(url_name, args=args))
    assert response.status_code == 403


def test_broadcast_manager_may_import(client, company):
    user = factories.user(company, login="bob", roles=[factories.system_role("broadcast_manager")])
    client.force_login(user)
    assert client.get(reverse("contacts:import")).status_code == 200


# --- query counts -----------------------------------------------------------------------------------

def _queries(client, method, url, data=None):
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, data or {})
    assert response.status_code in (200, 302), (url, response.status_code)
    return len(ctx)


def _walk(client, company, rows, name):
    client.get(reverse("contacts:import"))  # the session's first request refreshes the user's activity
    counts = []
    with CaptureQueriesContext(connection) as ctx:
        response = post_file(client, name, xlsx_bytes(rows))
    assert response.status_code == 302
    counts.append(len(ctx))
    imp = ContactImport.objects.filter(company=company).order_by("-pk").first()
    counts.append(_queries(client, "get", reverse("contacts:import_rows", args=[imp.pk])))
    counts.append(_queries(client, "post", reverse("contacts:import_rows", args=[imp.pk]), {"first_row": "2"}))
    counts.append(_queries(client, "get", reverse("contacts:import_mapping", args=[imp.pk])))
    counts.append(_queries(client, "post", reverse("contacts:import_mapping", args=[imp.pk]),
                           {"col-0": "phone", "col-1": "name", "col-2": "age"}))
    counts.append(_queries(client, "get", reverse("contacts:import_duplicates", args=[imp.pk])))
    counts.append(_queries(client, "post", reverse("contacts:import_duplicates", args=[imp.pk]),
                           {"duplicate_mode": "override", "tag": f"Tag of {name}"}))
    counts.append(_queries(client, "get", reverse("contacts:import_preview", args=[imp.pk])))
    return counts


def test_query_counts_do_not_grow_with_the_file(admin_client, company, eager):
    small = [["Phone", "Name", "Age"]] + [[f"+34612{i:06d}", f"n{i}", i] for i in range(5)]
    large = [["Phone", "Name", "Age"]] + [[f"+34622{i:06d}", f"n{i}", i if i % 7 else "x"] for i in range(2000)]
    assert _walk(admin_client, company, small, "small.xlsx") == _walk(admin_client, company, large, "large.xlsx")
