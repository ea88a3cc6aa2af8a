"""The import run (contacts.services.imports): duplicate modes, tag, row errors, presets and
automatic mapping, history, crash and resume from the checkpoint, one worker at a time,
the process pool, quick import, the audit, and set-wise writes."""

import os

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact, ContactImport, ContactTag, ImportStatus, MappingPreset
from contacts.services import imports
from contacts.tests.files import csv_bytes, upload, xls_bytes, xlsx_bytes
from portal.audit import Actor
from portal.models import AuditEvent

HEADER = ["Phone", "Name", "City", "Age"]


@pytest.fixture
def actor(company, admin_user):
    return Actor(user=admin_user, company=company)


@pytest.fixture
def run(actor, company, django_capture_on_commit_callbacks):
    """``run(rows, mode=..., tag=..., name=..., content=...)``: the wizard's service calls
    from upload to the end of the run (Celery is eager in tests)."""

    def go(rows=None, *, mode="skip", tag="", name="contacts.csv", content=None, mapping=None, start=True):
        with django_capture_on_commit_callbacks(execute=True):
            imp = imports.create_import(actor=actor, company=company,
                                        file=upload(name, content if content is not None else csv_bytes(rows)))
            if mapping is None:
                columns, _preset = imports.suggest_mapping(imp)
                mapping = {str(c.index): c.target for c in columns}
            imports.set_mapping(actor=actor, imp=imp, mapping=mapping)
            imports.set_duplicates(actor=actor, imp=imp, mode=mode, tag=tag)
            if start:
                imports.start_import(actor=actor, imp=imp)
        imp.refresh_from_db()
        return imp

    return go


def contacts_of(company):
    return {c.phone: c.attributes for c in Contact.objects.filter(company=company)}


def tags_of(company, name):
    return set(ContactTag.objects.filter(tag__company=company, tag__name=name)
               .values_list("contact__phone", flat=True))


def test_import_creates_contacts_with_typed_attributes(run, company):
    imp = run([HEADER, ["+34612345678", "Ana", "Madrid", "31"], ["0034 612 345 679", "Bob", "", "40.0"]])
    assert imp.status == ImportStatus.DONE
    assert (imp.total_rows, imp.created_count, imp.error_count) == (2, 2, 0)
    assert contacts_of(company) == {"+34612345678": {"name": "Ana", "city": "Madrid", "age": 31},
                                    "+34612345679": {"name": "Bob", "age": 40}}
    contact = Contact.objects.get(phone="+34612345678")
    assert (contact.country, contact.company_id) == ("ES", company.pk)


@pytest.fixture
def existing(company):
    return Contact.objects.create(company=company, phone="+34612345678", country="ES",
                                  attributes={"name": "Old", "city": "Madrid"})


@pytest.mark.parametrize("mode, expected, counts", [
    ("skip", {"name": "Old", "city": "Madrid"}, (1, 0, 1)),
    ("override", {"name": "New", "city": "Madrid", "age": 40}, (1, 1, 0)),
    ("enrich", {"name": "Old", "city": "Madrid", "age": 40}, (1, 1, 0)),
])
def test_duplicate_modes(run, company, existing, mode, expected, counts):
    imp = run([HEADER, ["+34 612 34 56 78", "New", "", "40"], ["+34612345699", "Eve", "Bilbao", ""]], mode=mode,
              tag="Spring")
    assert (imp.created_count, imp.updated_count, imp.duplicate_count) == counts
    found = contacts_of(company)
    assert found["+34612345678"] == expected
    assert found["+34612345699"] == {"name": "Eve", "city": "Bilbao"}
    assert Contact.objects.filter(company=company).count() == 2
    tagged = tags_of(company, "Spring")
    # "Do not import" leaves an existing contact untouched, tags included.
    assert tagged == ({"+34612345699"} if mode == "skip" else {"+34612345699", "+34612345678"})


def test_check_counts_follow_the_mode(run, company, existing, actor):
    imp = run([HEADER, ["+34612345678", "New", "", ""], ["+34612345699", "Eve", "", ""], ["bad", "", "", ""]],
              start=False)
    check = imports.check_result(imp)
    assert (check["total"], check["valid"], check["existing"], check["errors"]) == (3, 2, 1, 1)
    assert check["existing_rows"] == [[2, "+34612345678"]]
    assert imports.check_counts(imp) == {"to_import": 1, "new": 1, "update": 0, "skipped": 1, "errors": 1,
                                         "existing": 1, "in_file_duplicates": 0, "total": 3}
    imports.set_duplicates(actor=actor, imp=imp, mode="enrich")
    assert imports.check_counts(imp)["to_import"] == 2
    assert imports.check_counts(imp)["update"] == 1


def test_tag_existing_or_new(run, company):
    from contacts.services import tags_named

    tag = tags_named(company, ["VIP"])[0]
    imp = run([HEADER, ["+34612345678", "Ana", "", ""]], tag="vip")
    assert imp.tag_id == tag.pk
    assert tags_of(company, "VIP") == {"+34612345678"}


def test_in_file_duplicates_keep_the_first_row(run, company):
    imp = run([HEADER, ["+34612345678", "First", "", ""], ["+34612345679", "Other", "", ""],
               ["0034612345678", "Second", "", ""]])
    assert (imp.created_count, imp.error_count) == (2, 1)
    assert contacts_of(company)["+34612345678"] == {"name": "First"}
    errors = imports.import_errors(imp)
    assert errors == [[4, ["0034612345678", "Second", "", ""],
                       "Duplicate of row 2 (+34612345678): the first row is kept."]]


def test_wrong_types_are_row_errors_with_coerce_reasons(run, company):
    imp = run([["Phone", "Age", "Birthday", "Email", "Gender"],
               ["+34612345678", "forty", "", "", ""],
               ["+34612345679", "", "2020-02-31", "", ""],
               ["+34612345680", "", "", "not-an-email", ""],
               ["+34612345681", "", "", "", "x"],
               ["+34612345682", "33", "17.05.1993", "ana@example.com", "F"]])
    assert (imp.created_count, imp.error_count) == (1, 4)
    reasons = {row: why for row, _cells, why in imports.import_errors(imp)}
    assert reasons == {
        2: "Age: “forty” is not a number.",
        3: "Birthday: “2020-02-31” is not a date (use YYYY-MM-DD or DD.MM.YYYY).",
        4: "Email: “not-an-email” is not an e-mail address.",
        5: "Gender: “x” is not one of the allowed values (m, f).",
    }
    assert contacts_of(company) == {"+34612345682": {"age": 33, "birthday": "1993-05-17", "email": "ana@example.com",
                                                     "gender": "f"}}


def test_numbers_with_letters_and_bad_numbers(run, company):
    from contacts.phones import try_normalize

    bad = ["+34 612 ABC 678", "12", "+999 1234567"]
    imp = run([["Phone"], *[[b] for b in bad], ["+34612345678"], [""]])
    reasons = [why for _row, _cells, why in imports.import_errors(imp)]
    assert reasons == [try_normalize(b, company.default_region)[1] for b in bad]
    assert "is not a phone number" in reasons[0]
    assert list(contacts_of(company)) == ["+34612345678"]


def test_unknown_columns_are_ignored(run, company):
    imp = run([["Phone", "Favourite colour", "Name"], ["+34612345678", "blue", "Ana"]], start=False)
    columns, _preset = imports.suggest_mapping(imp)
    assert [(c.header, c.target, c.unknown) for c in columns] == [
        ("Phone", "phone", False), ("Favourite colour", "", True), ("Name", "name", False)]
    imports.start_import(actor=Actor(user=imp.created_by, company=company), imp=imp)
    imports.run_import(imp.pk)
    assert contacts_of(company) == {"+34612345678": {"name": "Ana"}}


def test_mapping_requires_the_phone_once(run, company, actor):
    imp = run([["A", "B"], ["+34612345678", "Ana"]], start=False, mapping={"0": "phone", "1": "name"})
    with pytest.raises(Exception) as exc:
        imports.set_mapping(actor=actor, imp=imp, mapping={"0": "name", "1": ""})
    assert "Map one column to the phone number" in str(exc.value)
    with pytest.raises(Exception) as exc:
        imports.set_mapping(actor=actor, imp=imp, mapping={"0": "phone", "1": "phone"})
    assert "both mapped to the same attribute" in str(exc.value)
    with pytest.raises(Exception) as exc:
        imports.set_mapping(actor=actor, imp=imp, mapping={"0": "phone", "1": "no_such"})
    assert "There is no attribute “no_such”." in str(exc.value)


def test_automatic_mapping_by_attribute_key_and_name(run, company):
    imp = run([["Mobile", "Job title", "E-mail", "surname", "AGE"], ["+34612345678", "Chef", "a@b.es", "Ruiz", "3"]],
              start=False)
    columns, preset = imports.suggest_mapping(imp)
    assert preset is None
    assert [c.target for c in columns] == ["phone", "job_title", "email", "surname", "age"]


def test_presets_are_saved_and_applied_next_time(run, company, actor):
    rows = [["Tlf", "Nombre", "Ciudad"], ["+34612345678", "Ana", "Madrid"]]
    imp = run(rows, start=False, mapping={"0": "phone", "1": "name", "2": ""})
    imports.set_mapping(actor=actor, imp=imp, mapping={"0": "phone", "1": "name", "2": "city"},
                        preset_name="Spanish CRM")
    preset = MappingPreset.objects.get(company=company)
    assert (preset.name, preset.mapping) == ("Spanish CRM", {"Tlf": "phone", "Nombre": "name", "Ciudad": "city"})
    assert AuditEvent.objects.filter(company=company, action="Saved mapping preset").count() == 1

    # Next file with the same headers (another order, another case): mapped by the preset.
    nxt = run([["ciudad", "TLF", "nombre"], ["Bilbao", "+34612345679", "Bob"]], start=False)
    columns, used = imports.suggest_mapping(nxt)
    assert used == preset
    assert [c.target for c in columns] == ["city", "phone", "name"]

    # Choosing a preset by hand applies it to the matching headers; saving under the same
    # name (any case) replaces it.
    other = run([["Tlf", "Notes"], ["+34612345680", "x"]], start=False, mapping={"0": "phone"})
    columns, used = imports.suggest_mapping(other, preset=preset)
    assert [c.target for c in columns] == ["phone", ""]
    imports.set_mapping(actor=actor, imp=other, mapping={"0": "phone", "1": ""}, preset_name="spanish crm")
    assert MappingPreset.objects.filter(company=company).count() == 1
    assert MappingPreset.objects.get(company=company).mapping == {"Tlf": "phone", "Notes": ""}


def test_history_keeps_the_five_most_recent(run, company, other_company):
    for i in range(7):
        run([["Phone"], [f"+3461234567{i}"]], name=f"file{i}.csv")
    history = imports.import_history(company)
    assert [h.original_name for h in history] == [f"file{i}.csv" for i in (6, 5, 4, 3, 2)]
    assert imports.import_history(other_company) == []


def test_xlsx_and_xls_imports(run, company):
    imp = run(content=xlsx_bytes([["Phone", "Age"], [34612345678, 31], ["+34612345679", 45.0]]), name="c.xlsx")
    assert (imp.file_type, imp.created_count) == ("xlsx", 2)
    assert contacts_of(company)["+34612345678"] == {"age": 31}
    imp = run(content=xls_bytes(), name="c.xls", mode="override")
    assert (imp.file_type, imp.created_count, imp.updated_count, imp.error_count) == ("xls", 0, 2, 1)
    assert contacts_of(company)["+34612345678"] == {"name": "Ana", "age": 31, "birthday": "1993-05-17"}
    assert imports.import_errors(imp)[0][2] == "Age: “forty” is not a number."


def test_error_report_has_the_original_columns_and_the_reason(run, company):
    from openpyxl import load_workbook

    imp = run([["Phone", "Age", "Note"], ["+34612345678", "x", "=cmd()"], ["+34612345679", "3", "+1 (555)"],
               ["+34612345680", "y", "+cmd|x"]])
    report = imports.error_report(imp)
    with report.open("rb") as fh:
        ws = load_workbook(fh, read_only=True).active
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows == [["Phone", "Age", "Note", "Error", "Row"],
                    ["+34612345678", "x", "'=cmd()", "Age: “x” is not a number.", 2],
                    ["+34612345680", "y", "'+cmd|x", "Age: “y” is not a number.", 4]]


def test_file_level_failure_is_found_before_any_write(run, company, actor):
    from django.core.files.base import ContentFile

    from contacts.tests.files import PNG_BYTES

    imp = run([["Phone"], ["+34612345678"]], start=False)
    with imp.file.open("wb") as fh:  # the stored file is no longer the upload
        fh.write(ContentFile(PNG_BYTES).read())
    imports.start_import(actor=actor, imp=imp)
    imports.run_import(imp.pk)
    imp.refresh_from_db()
    assert imp.status == ImportStatus.FAILED
    assert imp.error_message == "This file is not a CSV, XLS, XLSX or ODS spreadsheet (its content is a PNG image)."
    assert not Contact.objects.filter(company=company).exists()
    assert AuditEvent.objects.filter(company=company, action__startswith="Contact import failed").count() == 1


def test_one_audit_event_per_import(run, company):
    before = AuditEvent.objects.filter(company=company).count()
    imp = run([["Phone", "Name"]] + [[f"+346123456{i:02d}", f"N{i}"] for i in range(40)], tag="T")
    events = AuditEvent.objects.filter(company=company).order_by("id")[before:]
    assert [e.action for e in events] == ["Imported contacts from contacts.csv"]
    detail = events[0].details.get()
    assert detail.new_value["created"] == 40 and detail.new_value["tag"] == "T"
    assert detail.object_id == f"import {imp.pk}"


# --- checkpoint, resume, one worker --------------------------------------------------------------

class Crash(Exception):
    pass


def _rows(n, dup_every=0):
    rows = [["Phone", "Name", "Age"]]
    for i in range(n):
        if dup_every and i and i % dup_every == 0:
            rows.append([f"+34612{(i - 3):06d}", f"dup{i}", str(i)])  # repeats row i-3
        else:
            rows.append([f"+34612{i:06d}", f"n{i}", str(i)])
    return rows


@pytest.mark.parametrize("path", ["prepared by the check", "prepared by the run"])
def test_crash_after_chunk_k_resumes_without_duplicates_or_losses(run, company, settings, monkeypatch, path):
    settings.HERALD_IMPORT_CHUNK_ROWS = 10
    rows = _rows(45, dup_every=7)
    imp = run(rows, start=False, tag="Resumed", mode="override")
    chunk_rows = None if path == "prepared by the check" else 8  # another chunk size: the check is not used

    def crash(import_id, chunk, processed):
        if chunk == 3:
            raise Crash(processed)

    monkeypatch.setattr(imports, "after_chunk_commit", crash)
    imports.start_import(actor=Actor(user=imp.created_by, company=company), imp=imp)
    with pytest.raises(Crash):
        imports.run_import(imp.pk, chunk_rows=chunk_rows)
    imp.refresh_from_db()
    step = chunk_rows or 10
    assert (imp.status, imp.processed_rows) == (ImportStatus.RUNNING, 3 * step)
    partial = Contact.objects.filter(company=company).count()
    assert 0 < partial < 45

    monkeypatch.setattr(imports, "after_chunk_commit", None)
    assert imports.run_import(imp.pk, chunk_rows=chunk_rows) == ImportStatus.DONE
    imp.refresh_from_db()
    duplicates = [i for i in range(45) if i and i % 7 == 0]
    assert imp.processed_rows == imp.total_rows == 45
    assert imp.created_count == 45 - len(duplicates)
    assert imp.error_count == len(duplicates)
    found = contacts_of(company)
    assert len(found) == 45 - len(duplicates) == Contact.objects.filter(company=company).count()
    for i in range(45):
        if i not in duplicates:
            assert found[f"+34612{i:06d}"] == {"name": f"n{i}", "age": i}
    assert len(tags_of(company, "Resumed")) == len(found)
    reasons = {row: why for row, _c, why in imports.import_errors(imp, 100)}
    assert reasons == {i + 2: f"Duplicate of row {i - 3 + 2} (+34612{i - 3:06d}): the first row is kept."
                       for i in duplicates}
    # A third delivery of the task changes nothing.
    assert imports.run_import(imp.pk) == ImportStatus.DONE
    assert Contact.objects.filter(company=company).count() == len(found)


@pytest.fixture
def lease_held_elsewhere():
    """Hold an import's lease from another database session (PostgreSQL) or another open
    file (SQLite), as a second worker would."""
    from contextlib import contextmanager

    @contextmanager
    def hold(import_id):
        if connection.vendor == "postgresql":
            import psycopg

            params = connection.get_connection_params()
            params.pop("cursor_factory", None)
            params.pop("context", None)
            with psycopg.connect(**params, autocommit=True) as other:
                key = (imports.LEASE_NAMESPACE << 32) | import_id
                assert other.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0]
                yield
                # Released here, not by closing: a closed session's locks go when its backend
                # has exited, a moment later (the next run_import could still find it held).
                assert other.execute("SELECT pg_advisory_unlock(%s)", [key]).fetchone()[0]
        else:
            import fcntl

            with open(imports._lock_path(imports.LEASE_NAMESPACE, import_id), "a+") as fh:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                yield

    return hold


def test_two_workers_never_run_the_same_import(run, company, lease_held_elsewhere):
    imp = run([["Phone"], ["+34612345678"]], start=False)
    imports.start_import(actor=Actor(user=imp.created_by, company=company), imp=imp)
    with lease_held_elsewhere(imp.pk):
        assert imports.run_import(imp.pk) == "busy"
        imp.refresh_from_db()
        assert imp.status == ImportStatus.QUEUED and not Contact.objects.filter(company=company).exists()
    assert imports.run_import(imp.pk) == ImportStatus.DONE


def test_status_poll_requeues_an_orphaned_run(run, company, settings, monkeypatch,
                                              django_capture_on_commit_callbacks):
    settings.HERALD_IMPORT_CHUNK_ROWS = 5
    imp = run(_rows(12), start=False)
    monkeypatch.setattr(imports, "after_chunk_commit", lambda i, chunk, p: (_ for _ in ()).throw(Crash()))
    imports.start_import(actor=Actor(user=imp.created_by, company=company), imp=imp)
    with pytest.raises(Crash):
        imports.run_import(imp.pk)
    monkeypatch.setattr(imports, "after_chunk_commit", None)
    imp.refresh_from_db()
    assert imp.status == ImportStatus.RUNNING
    with django_capture_on_commit_callbacks(execute=True):
        assert imports.resume_if_stalled(imp) is True
    imp.refresh_from_db()
    assert (imp.status, imp.created_count) == (ImportStatus.DONE, 12)


def test_process_pool_gives_the_same_result(run, company, settings):
    settings.HERALD_IMPORT_PARALLEL_MIN_ROWS = 1
    settings.HERALD_IMPORT_WORKERS = 2
    settings.HERALD_IMPORT_CHUNK_ROWS = 20
    imp = run(_rows(70, dup_every=9) + [["bad number", "x", "1"]], mode="enrich")
    duplicates = [i for i in range(70) if i and i % 9 == 0]
    assert (imp.created_count, imp.error_count) == (70 - len(duplicates), len(duplicates) + 1)
    assert contacts_of(company)["+34612000069"] == {"name": "n69", "age": 69}


def test_writes_are_set_wise(run, company, settings):
    """The run's queries depend on the number of chunks, not of rows."""
    settings.HERALD_IMPORT_CHUNK_ROWS = 10_000

    def queries(n):
        imp = run(_rows(n), start=False, tag="Q")
        imports.start_import(actor=Actor(user=imp.created_by, company=company), imp=imp)
        with CaptureQueriesContext(connection) as ctx:
            imports.run_import(imp.pk)
        return len(ctx)

    assert queries(5) == queries(300)


@pytest.mark.parametrize("mode", ["skip", "override", "enrich"])
def test_merge_of_a_chunk_with_a_number_already_in_the_base(company, existing, mode):
    """One chunk with a number the company has and a new one, with a tag: the duplicate mode
    decides the known contact's values; nothing is doubled; the tag goes where it should."""
    from contacts.models import Tag

    tag = Tag.objects.create(company=company, name="T")
    rows = [("+34612345678", "ES", "", '{"name": "New", "age": 40}'), ("+34612345699", "ES", "", '{"name": "Eve"}')]
    merge = imports._merge_postgresql if connection.vendor == "postgresql" else imports._merge_sqlite
    with transaction.atomic():
        created, matched = merge(company.pk, rows, mode, tag.pk)
    assert (created, matched) == (1, 1)
    found = contacts_of(company)
    assert found["+34612345699"] == {"name": "Eve"}
    assert found["+34612345678"] == {"skip": {"name": "Old", "city": "Madrid"},
                                     "override": {"name": "New", "city": "Madrid", "age": 40},
                                     "enrich": {"name": "Old", "city": "Madrid", "age": 40}}[mode]
    assert Contact.objects.filter(company=company).count() == 2
    assert tags_of(company, "T") == ({"+34612345699"} if mode == "skip" else {"+34612345699", "+34612345678"})


# --- quick import ---------------------------------------------------------------------------------

def test_quick_import_tags_existing_numbers_without_duplicating_them(company, actor, existing,
                                                                     django_capture_on_commit_callbacks):
    data = csv_bytes([["Phone number"], ["+34612345678"], ["+34612345690"], ["not a phone"], ["+34612345690"]])
    with django_capture_on_commit_callbacks(execute=True):
        imp = imports.create_quick_import(actor=actor, company=company, file=upload("numbers.csv", data),
                                          tag="Flash sale")
    assert imp.kind == ContactImport.QUICK and imp.first_row == 2
    counts = imports.check_counts(imp)
    assert (counts["to_import"], counts["existing"], counts["errors"]) == (2, 1, 2)
    with django_capture_on_commit_callbacks(execute=True):
        imports.start_import(actor=actor, imp=imp)
    imp.refresh_from_db()
    assert (imp.status, imp.created_count, imp.updated_count, imp.error_count) == ("done", 1, 1, 2)
    assert Contact.objects.filter(company=company).count() == 2
    assert contacts_of(company)["+34612345678"] == {"name": "Old", "city": "Madrid"}
    assert tags_of(company, "Flash sale") == {"+34612345678", "+34612345690"}


def test_quick_import_refuses_files_with_attributes(company, actor):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        imports.create_quick_import(actor=actor, company=company, tag="T",
                                    file=upload("x.csv", csv_bytes([["Phone", "Name"], ["+34612345678", "Ana"]])))
    assert "one column of phone numbers; this file has 2 columns" in " ".join(exc.value.messages)
    assert not ContactImport.objects.filter(company=company).exists()
    with pytest.raises(ValidationError) as exc:
        imports.create_quick_import(actor=actor, company=company, tag=" ",
                                    file=upload("x.csv", csv_bytes([["+34612345678"]])))
    assert "Give a tag" in " ".join(exc.value.messages)


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_the_process_pool_starts_with_either_start_method(settings, monkeypatch, method):
    """A process with other threads (a web server, a Celery worker's) starts its helpers by
    forkserver: fresh interpreters that must set Django up before anything imports models.
    The pool must really start (a failed start falls back to one process, silently slower)."""
    settings.HERALD_IMPORT_WORKERS = 2
    settings.HERALD_IMPORT_PARALLEL_MIN_ROWS = 1
    monkeypatch.setattr(imports.threading, "active_count", lambda: 1 if method == "fork" else 2)
    with imports._pool(10) as pool:
        assert pool is not None
        assert len({pool.submit(os.getpid).result(timeout=60) for _ in range(4)} - {os.getpid()}) >= 1


# --- the prepared rows as COPY text, parallel writers ------------------------------------------------

def test_values_with_tabs_backslashes_quotes_and_newlines_arrive_intact(run, company):
    """The check keeps the rows to write as COPY text; a value with the characters COPY
    escapes must reach the contact unchanged."""
    odd = 'Tab\there, back\\slash, "quoted"\nnew line \\N'
    imp = run([["Phone", "Name", "City"], ["+34612345678", odd, "C:\\temp\\"], ["+34612345679", "\\", "a\rb"]])
    assert (imp.status, imp.created_count, imp.error_count) == (ImportStatus.DONE, 2, 0)
    assert contacts_of(company) == {"+34612345678": {"name": odd, "city": "C:\\temp\\"},
                                    "+34612345679": {"name": "\\", "city": "a\rb"}}


def test_non_ascii_and_control_characters_arrive_intact(run, company):
    name = 'Zoë "Ñ" 😀 \u2028 \x01 end'
    imp = run([["Phone", "Name", "Age"], ["+34612345678", name, "31"]])
    assert (imp.status, imp.created_count, imp.error_count) == (ImportStatus.DONE, 1, 0)
    assert contacts_of(company) == {"+34612345678": {"name": name, "age": 31}}


def test_copy_text_round_trip():
    rows = [("+34612345678", "ES", "Movistar\t1", '{"name":"a\\\\b","x":"\\n"}'), ("+1", "", "", "{}")]
    text = imports.copy_text(rows)
    assert text.count(b"\n") == 2
    assert imports.CopyRows(text, 2).rows() == rows


@pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel writers are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["prepared by the check", "prepared by the run"])
def test_parallel_writers_commit_in_order_and_resume_exactly_once(company, admin_user, settings, monkeypatch, path):
    """On PostgreSQL, outside a transaction, chunks are merged on two connections at once.
    A crash after chunk 3 must leave chunks 1-3 committed and nothing of chunk 4 (merged
    beside it), and the resume must end with every row once."""
    assert connection.vendor == "postgresql"
    settings.HERALD_IMPORT_CHUNK_ROWS = 10
    settings.HERALD_IMPORT_WRITERS = 2
    actor = Actor(user=admin_user, company=company)
    monkeypatch.setattr("contacts.tasks.run_import.delay", lambda *a, **k: None)  # the test runs it
    imp = imports.create_import(actor=actor, company=company, file=upload("c.csv", csv_bytes(_rows(95, dup_every=7))))
    columns, _preset = imports.suggest_mapping(imp)
    imports.set_mapping(actor=actor, imp=imp, mapping={str(c.index): c.target for c in columns})
    imports.set_duplicates(actor=actor, imp=imp, mode="override", tag="Parallel")
    imports.start_import(actor=actor, imp=imp)
    chunk_rows = None if path == "prepared by the check" else 8
    step = chunk_rows or 10
    threads = set()

    def crash(import_id, chunk, processed):
        import threading

        threads.add(threading.current_thread().name)
        if chunk == 3:
            raise Crash(processed)

    monkeypatch.setattr(imports, "after_chunk_commit", crash)
    with pytest.raises(Crash):
        imports.run_import(imp.pk, chunk_rows=chunk_rows)
    imp.refresh_from_db()
    duplicates = [i for i in range(95) if i and i % 7 == 0]
    first_rows = [i for i in range(3 * step) if i not in duplicates]
    assert (imp.status, imp.processed_rows, imp.created_count) == (ImportStatus.RUNNING, 3 * step, len(first_rows))
    assert set(contacts_of(company)) == {f"+34612{i:06d}" for i in first_rows}
    assert len(threads) == 2 and all(name.startswith("contact-import-writer-") for name in threads)

    monkeypatch.setattr(imports, "after_chunk_commit", None)
    assert imports.run_import(imp.pk, chunk_rows=chunk_rows) == ImportStatus.DONE
    imp.refresh_from_db()
    assert (imp.processed_rows, imp.created_count, imp.error_count) == (95, 95 - len(duplicates), len(duplicates))
    found = contacts_of(company)
    assert found == {f"+34612{i:06d}": {"name": f"n{i}", "age": i} for i in range(95) if i not in duplicates}
    assert len(tags_of(company, "Parallel")) == len(found)
    assert len(imports.import_errors(imp, 100)) == len(duplicates)


def test_a_big_import_leaves_fresh_planner_statistics(run, company, monkeypatch):
    """After an import of many rows the planner knows how many contacts there are (it
    would otherwise read every contact of the company for each chunk of the next import:
    the enrich of a million went from 47 s to 125 s)."""
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    monkeypatch.setattr(imports, "ANALYZE_AFTER_ROWS", 200)

    def estimated() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'contacts_contact'")
            return cursor.fetchone()[0]

    with connection.cursor() as cursor:  # start from known figures: an empty table
        cursor.execute("ANALYZE contacts_contact")
    assert estimated() == 0
    imp = run(_rows(150))  # below the threshold: no ANALYZE
    assert imp.created_count == 150 and estimated() == 0
    imp = run(_rows(400)[:1] + _rows(400)[151:])  # 250 new contacts
    assert imp.created_count == 250 and estimated() >= 400
