"""/api/v1/imports: upload + mapping + duplicates + tag (starts the import), progress,
rejected rows (XLSX or JSON), list (scope recipients, tenant-scoped, audited). The import
itself is contacts.services.imports'; these tests cover the API around it."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from contacts.api.testing import KEY_NAME, count_queries, ids, last_event, make_contacts, phone, recipients_client
from contacts.models import Contact, ContactImport, ImportStatus, Tag
from portal.api.testing import assert_api_error, key_client
from portal.testing import factories

URL = "/api/v1/imports"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def keyed(company):
    return recipients_client(company)


@pytest.fixture
def client(keyed):
    return keyed[1]


def csv_file(rows, name="contacts.csv"):
    text = "\n".join(",".join(str(c) for c in row) for row in rows) + "\n"
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


ROWS = [["Phone", "Name", "Age"], ["+34612000401", "Ana", "31"], ["+34612000402", "Bob", "x"],
        ["+34612000401", "Dup", "3"], ["12ab", "Zed", "1"], ["0034612000403", "Cat", ""]]


def upload(client, django_capture_on_commit_callbacks, rows=ROWS, **fields):
    """POST the file, let the queued run happen (as the worker would after the commit) and
    answer the import's status from GET /imports/{id}."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"file": csv_file(rows), **fields}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "queued"
    return client.get(f"{URL}/{response.json()['id']}")


@pytest.mark.django_db
class TestImport:
    def test_upload_maps_automatically_runs_and_reports(self, client, company, keyed,
                                                        django_capture_on_commit_callbacks):
        response = upload(client, django_capture_on_commit_callbacks, duplicates="skip", tag="spring")
        body = response.json()
        assert body["status"] == "done" and body["finished"] is True
        assert (body["created"], body["errors"], body["total_rows"], body["percent"]) == (2, 3, 5, 100)
        assert body["tag"] == "spring" and body["duplicate_mode"] == "skip"
        assert body["errors_url"].endswith(f"/api/v1/imports/{body['id']}/errors")
        contacts = {c.phone: c for c in Contact.objects.for_company(company)}
        assert set(contacts) == {"+34612000401", "+34612000403"}
        assert contacts["+34612000401"].attributes == {"name": "Ana", "age": 31}
        assert list(contacts["+34612000403"].tags.values_list("name", flat=True)) == ["spring"]
        imp = ContactImport.objects.get(pk=body["id"])
        assert imp.company == company and imp.created_by is None
        event = last_event("Imported contacts from", company)
        assert event.api_access == keyed[0] and event.api_access_name == KEY_NAME

    def test_queued_until_the_worker_runs(self, client, company):
        response = client.post(URL, {"file": csv_file(ROWS)}, format="multipart")  # on_commit not run
        assert response.status_code == 201
        body = response.json()
        assert response["Location"].endswith(f"/api/v1/imports/{body['id']}")
        assert body["status"] == "queued" and body["finished"] is False and body["errors_url"] is None
        assert body["total_rows"] == 5 and body["percent"] == 0
        assert not Contact.objects.for_company(company).exists()
        assert client.get(f"{URL}/{body['id']}").json()["status"] == "queued"

    def test_explicit_mapping_by_header_letter_and_index(self, client, company, django_capture_on_commit_callbacks):
        rows = [["Mobile", "Who", "Years", "Notes"], ["+34612000501", "Ana", "31", "n"]]
        for mapping in ('{"mobile": "phone", "B": "name", "2": "age", "Notes": ""}',
                        '{"0": "phone", "Who": "name", "C": "age"}'):
            Contact.objects.for_company(company).delete()
            upload(client, django_capture_on_commit_callbacks, rows=rows, mapping=mapping, duplicates="override")
            assert Contact.objects.for_company(company).get().attributes == {"name": "Ana", "age": 31}

    def test_headerless_phone_file_with_first_row_and_mapping(self, client, company,
                                                              django_capture_on_commit_callbacks):
        rows = [["+34612000601"], ["+34612000602"]]
        response = upload(client, django_capture_on_commit_callbacks, rows=rows, mapping='{"A": "phone"}',
                          first_row="1")
        assert response.json()["created"] == 2

    def test_duplicates_enrich_and_override(self, client, company, django_capture_on_commit_callbacks):
        [existing] = make_contacts(company, 1, attributes={"name": "Old"})
        rows = [["Phone", "Name", "Age"], [existing.phone, "New", "40"]]
        upload(client, django_capture_on_commit_callbacks, rows=rows, duplicates="enrich")
        existing.refresh_from_db()
        assert existing.attributes == {"name": "Old", "age": 40}
        body = upload(client, django_capture_on_commit_callbacks, rows=rows, duplicates="override").json()
        assert body["updated"] == 1
        existing.refresh_from_db()
        assert existing.attributes == {"name": "New", "age": 40}
        body = upload(client, django_capture_on_commit_callbacks, rows=rows, duplicates="skip").json()
        assert body["skipped_duplicates"] == 1 and body["created"] == 0


@pytest.mark.django_db
class TestBadInput:
    def test_not_a_spreadsheet_is_422_by_content(self, client, company):
        png = SimpleUploadedFile("contacts.csv", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, content_type="text/csv")
        body = assert_api_error(client.post(URL, {"file": png}, format="multipart"), 422)
        assert "PNG" in body["errors"]["file"][0]
        assert not ContactImport.objects.exists()

    def test_empty_file_is_422(self, client):
        empty = SimpleUploadedFile("contacts.csv", b"", content_type="text/csv")
        assert "file" in assert_api_error(client.post(URL, {"file": empty}, format="multipart"), 422)["errors"]

    def test_missing_file_and_bad_fields_are_422(self, client):
        assert "file" in assert_api_error(client.post(URL, {}, format="multipart"), 422)["errors"]
        for fields, key in [({"duplicates": "merge"}, "duplicates"), ({"mapping": "not json"}, "mapping"),
                            ({"mapping": '["phone"]'}, "mapping"), ({"first_row": "0"}, "first_row"),
                            ({"colour": "red"}, "colour")]:
            response = client.post(URL, {"file": csv_file(ROWS), **fields}, format="multipart")
            assert key in assert_api_error(response, 422)["errors"], fields
        assert not ContactImport.objects.exists()

    def test_a_json_body_cannot_carry_a_file(self, client):
        assert "file" in assert_api_error(client.post(URL, {"mapping": {}}, format="json"), 422)["errors"]

    def test_unknown_column_is_422_and_keeps_the_upload(self, client, company):
        response = client.post(URL, {"file": csv_file(ROWS), "mapping": '{"Mobile": "phone"}'}, format="multipart")
        body = assert_api_error(response, 422)
        assert "no column “Mobile”" in body["errors"]["mapping"][0]
        imp = ContactImport.objects.for_company(company).get()
        assert imp.status == ImportStatus.UPLOADED
        assert f"import {imp.pk}" in body["errors"]["import"][0]

    def test_no_phone_column_is_422(self, client, company):
        response = client.post(URL, {"file": csv_file([["a", "b"], ["x", "y"]])}, format="multipart")
        body = assert_api_error(response, 422)
        assert "phone" in body["errors"]["mapping"][0]
        assert not Contact.objects.for_company(company).exists()

    def test_unknown_attribute_target_is_422(self, client):
        response = client.post(URL, {"file": csv_file(ROWS), "mapping": '{"Phone": "phone", "Age": "shoe"}'},
                               format="multipart")
        assert "shoe" in assert_api_error(response, 422)["errors"]["mapping"][0]


@pytest.mark.django_db
class TestRejectedRows:
    def test_xlsx_report(self, client, django_capture_on_commit_callbacks):
        imp_id = upload(client, django_capture_on_commit_callbacks).json()["id"]
        response = client.get(f"{URL}/{imp_id}/errors")
        assert response.status_code == 200
        assert response["Content-Type"] == XLSX
        assert "attachment" in response["Content-Disposition"]
        sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0] == ("Phone", "Name", "Age", "Error", "Row")
        assert [r[-1] for r in rows[1:]] == [3, 4, 5]
        assert "not a number" in rows[1][3] and "Duplicate of row 2" in rows[2][3]
        assert client.get(f"{URL}/{imp_id}/errors", HTTP_ACCEPT=XLSX).status_code == 200

    def test_json_rows(self, client, django_capture_on_commit_callbacks):
        imp_id = upload(client, django_capture_on_commit_callbacks).json()["id"]
        body = client.get(f"{URL}/{imp_id}/errors", {"limit": 2}, HTTP_ACCEPT="application/json").json()
        assert body["id"] == imp_id and body["errors"] == 3
        assert [r["row"] for r in body["rows"]] == [3, 4]
        assert body["rows"][0]["cells"] == ["+34612000402", "Bob", "x"]
        assert_api_error(client.get(f"{URL}/{imp_id}/errors", {"limit": 0}, HTTP_ACCEPT="application/json"), 422)

    def test_before_done_is_409_and_clean_import_is_404(self, client, django_capture_on_commit_callbacks):
        queued = client.post(URL, {"file": csv_file(ROWS)}, format="multipart").json()["id"]
        body = assert_api_error(client.get(f"{URL}/{queued}/errors"), 409)
        assert "not finished" in body["message"]
        clean = upload(client, django_capture_on_commit_callbacks, rows=[["Phone"], [phone()]]).json()
        assert clean["errors"] == 0 and clean["errors_url"] is None
        assert "no rows" in assert_api_error(client.get(f"{URL}/{clean['id']}/errors"), 404)["message"]

    def test_errors_are_json_even_when_xlsx_is_asked_for(self, client):
        assert_api_error(client.get(f"{URL}/999999/errors", HTTP_ACCEPT=XLSX), 404)


@pytest.mark.django_db
class TestScopeAndTenancy:
    def test_scope_required(self, company, django_capture_on_commit_callbacks):
        imp = ContactImport.objects.create(company=company, original_name="x.csv", file_type="csv")
        _, key = factories.api_access(company, scopes=["crm", "broadcast"])
        c = key_client(key)
        assert_api_error(c.get(URL), 403)
        assert_api_error(c.post(URL, {"file": csv_file(ROWS)}, format="multipart"), 403)
        assert_api_error(c.get(f"{URL}/{imp.pk}"), 403)
        assert_api_error(c.get(f"{URL}/{imp.pk}/errors"), 403)
        assert ContactImport.objects.count() == 1

    def test_their_import_is_404_and_never_listed(self, client, company, other_company,
                                                  django_capture_on_commit_callbacks):
        _, their_client = recipients_client(other_company, name="Theirs")
        theirs = upload(their_client, django_capture_on_commit_callbacks).json()["id"]
        assert_api_error(client.get(f"{URL}/{theirs}"), 404)
        assert_api_error(client.get(f"{URL}/{theirs}/errors"), 404)
        assert_api_error(client.get(f"{URL}/{theirs}/errors", HTTP_ACCEPT="application/json"), 404)
        assert ids(client.get(URL)) == set()
        mine = upload(client, django_capture_on_commit_callbacks).json()["id"]
        assert ids(client.get(URL)) == {mine}
        assert Contact.objects.for_company(company).count() == 2  # the same numbers, a contact each

    def test_tag_lands_in_my_company(self, client, company, other_company, django_capture_on_commit_callbacks):
        Tag.objects.create(company=other_company, name="spring")
        upload(client, django_capture_on_commit_callbacks, tag="spring")
        assert Tag.objects.for_company(company).filter(name="spring").exists()
        assert Tag.objects.filter(name="spring").count() == 2


@pytest.mark.django_db
def test_list_query_count_does_not_grow(client, company, django_assert_max_num_queries):
    tag = Tag.objects.create(company=company, name="t")

    def add(n):
        ContactImport.objects.bulk_create(ContactImport(company=company, original_name=f"f{i}.csv", file_type="csv",
                                                        tag=tag, status=ImportStatus.DONE) for i in range(n))

    add(5)
    few, n_few = count_queries(client, URL)
    add(45)
    with django_assert_max_num_queries(few):
        many, n_many = count_queries(client, URL)
    assert (n_few, n_many) == (5, 50)
    assert few == many <= 2
