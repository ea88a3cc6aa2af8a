"""Reading import files: the type comes from the content, CSV encodings and delimiters are
detected, spreadsheets are read with python-calamine, and every refusal is a clear
message given before anything is written (contacts.readers)."""

import io
import zipfile

import pytest

from contacts import readers
from contacts.tests.files import (
    PNG_BYTES,
    csv_bytes,
    ods_bytes,
    understate_member_size,
    xls_bytes,
    xlsx_bytes,
    xlsx_with_member,
)

ROWS = [["Phone", "Name", "City"], ["+34612345678", "José", "Málaga"], ["+34612345679", "Zoë", "Köln"]]


def inspect(data: bytes) -> readers.FileInfo:
    return readers.inspect(io.BytesIO(data))


def rows_of(data: bytes):
    fh = io.BytesIO(data)
    info = readers.inspect(fh)
    return info, [(n, [readers.cell_text(c) for c in cells]) for n, cells in readers.iter_rows(fh, info)]


@pytest.mark.parametrize("encoding, bom, expected", [
    ("utf-8", False, "utf-8"),
    ("utf-8", True, "utf-8-sig"),
    ("utf-16-le", True, "utf-16"),
    ("utf-16-be", True, "utf-16"),
    ("cp1252", False, "cp1252"),
])
def test_csv_encodings(encoding, bom, expected):
    info, rows = rows_of(csv_bytes(ROWS, encoding=encoding, bom=bom))
    assert (info.file_type, info.encoding) == ("csv", expected)
    assert rows == [(1, ROWS[0]), (2, ROWS[1]), (3, ROWS[2])]
    assert info.preview[1] == [2, ROWS[1]]


def test_windows_1252_after_an_ascii_head_is_found_by_the_full_read():
    head = [[f"+346{i:08d}", "plain", "ascii"] for i in range(3000)]  # > 64 KB of ASCII before the first é
    data = csv_bytes([["Phone", "Name", "City"], *head, ["+34612345678", "José", "Cádiz"]], encoding="cp1252")
    info, rows = rows_of(data)
    assert info.encoding == "cp1252"
    assert rows[-1][1] == ["+34612345678", "José", "Cádiz"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiters(delimiter):
    rows = [["Phone", "Name", "Note"], ["+34612345678", "Ana", "a, b; c"], ["+34612345679", "Bob", ""]]
    info, read = rows_of(csv_bytes(rows, delimiter=delimiter))
    assert info.delimiter == delimiter
    assert read[1][1] == ["+34612345678", "Ana", "a, b; c"]
    assert info.columns == 3


def test_one_column_csv_without_delimiter():
    info, read = rows_of(b"+34612345678\n+34612345679\n")
    assert info.columns == 1 and info.rows == 2
    assert read == [(1, ["+34612345678"]), (2, ["+34612345679"])]


def test_blank_lines_are_skipped_but_keep_their_numbers():
    info, read = rows_of(b"Phone\n\n+34612345678\n ,\n+34612345679\n")
    assert info.rows == 3
    assert [n for n, _c in read] == [1, 3, 5]


def test_xlsx_is_read_with_calamine():
    info, read = rows_of(xlsx_bytes([["Phone", "Age"], [34612345678, 31], ["+34612345679", None]]))
    assert info.file_type == "xlsx" and info.columns == 2
    assert read == [(1, ["Phone", "Age"]), (2, ["34612345678", "31"]), (3, ["+34612345679", ""])]


def test_xlsx_rows_and_columns_keep_their_spreadsheet_positions():
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws["C3"] = "Phone"
    ws["C4"] = "+34612345678"
    out = io.BytesIO()
    wb.save(out)
    info, read = rows_of(out.getvalue())
    assert read == [(3, ["", "", "Phone"]), (4, ["", "", "+34612345678"])]


def test_xls_fixture_is_read_with_calamine():
    # contacts.xls was written by xlwt (see files/make_xls.py): calamine reads .xls but nothing
    # in the requirements writes it.
    info, read = rows_of(xls_bytes())
    assert info.file_type == "xls"
    assert read[0] == (1, ["Phone number", "Name", "Age", "Birthday"])
    assert read[1] == (2, ["34612345678", "Ana", "31", "1993-05-17"])
    assert info.rows == 4


def test_ods_is_read_with_calamine():
    info, read = rows_of(ods_bytes([["Phone", "Name"], ["+34612345678", "Ana"], [34612345679, "Bob"]]))
    assert info.file_type == "ods"
    assert read == [(1, ["Phone", "Name"]), (2, ["+34612345678", "Ana"]), (3, ["34612345679", "Bob"])]


def test_ods_padding_rows_written_by_office_suites_are_accepted():
    # LibreOffice ends a sheet with ~1 million empty repeated rows; they hold nothing.
    info, read = rows_of(ods_bytes([["Phone"], ["+34612345678"]], padding=1_048_000))
    assert info.file_type == "ods"
    assert read == [(1, ["Phone"]), (2, ["+34612345678"])]


# --- refusals ---------------------------------------------------------------------------------------

def refused(data: bytes) -> str:
    with pytest.raises(readers.FileRefused) as exc:
        inspect(data)
    return str(exc.value)


@pytest.mark.parametrize("data", [b"", b"\n\n  \n", b"\xef\xbb\xbf", b",,,\n,,\n"])
def test_empty_files(data):
    assert refused(data) == "The file is empty."


def test_ods_that_repeats_a_filled_row_past_the_row_limit_is_refused(settings):
    # A few hundred bytes that a reader would expand into millions of rows in memory.
    settings.HERALD_IMPORT_MAX_ROWS = 1000
    data = ods_bytes([["Phone"], ["+34612345678"]], repeats={1: 5_000_000})
    assert len(data) < 2000
    assert refused(data) == "The file has 5,000,001 rows, more than the 1,000 allowed."


def test_ods_with_xml_entities_is_refused():
    data = ods_bytes([["Phone"], ["+34612345678"]])
    import io
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "content.xml":
                body = body.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "aaaa">]>', 1)
            zf.writestr(info, body)
    assert refused(out.getvalue()) == "The spreadsheet declares XML entities: refused."


def test_empty_spreadsheet():
    assert refused(xlsx_bytes([])) == "The file is empty."


def test_png_renamed_csv_is_refused_by_content():
    assert refused(PNG_BYTES) == "This file is not a CSV, XLS, XLSX or ODS spreadsheet (its content is a PNG image)."


def test_binary_without_magic_is_refused():
    assert "its content is binary data" in refused(bytes(range(256)) * 10)


def test_a_csv_named_xlsx_is_read_as_csv():
    # The name does not matter: the content is text, so it is a CSV.
    info = inspect(csv_bytes(ROWS))
    assert info.file_type == "csv"


def test_word_document_in_a_zip_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    assert "its content is a Word document" in refused(out.getvalue())


def test_plain_zip_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("notes.txt", "hello")
    assert "its content is a ZIP archive" in refused(out.getvalue())


def test_damaged_zip_is_refused():
    assert "damaged" in refused(b"PK\x03\x04" + b"\x00" * 100)


def test_zip_bomb_ratio_is_refused_before_calamine_opens_it(monkeypatch):
    opened = []
    monkeypatch.setattr(readers, "_open_workbook", lambda *a: opened.append(a))
    bomb = xlsx_with_member("xl/media/padding.bin", b"\0" * (20 * 1024 * 1024))
    assert len(bomb) < 200 * 1024
    message = refused(bomb)
    assert "compressed" in message and "more than the 100:1 allowed" in message and "zip bomb" in message
    assert not opened


def test_spreadsheet_expanding_beyond_the_cap_is_refused(settings):
    settings.HERALD_IMPORT_MAX_UNCOMPRESSED_MB = 1
    settings.HERALD_IMPORT_MAX_COMPRESSION_RATIO = 10_000
    import random

    rng = random.Random(1)
    data = xlsx_with_member("xl/media/big.bin", bytes(rng.getrandbits(8) for _ in range(1_300_000)), level=1)
    assert refused(data) == "The spreadsheet expands to 1.3 MB, more than the 1 MB allowed."


def test_member_whose_directory_understates_its_size_is_refused(monkeypatch):
    opened = []
    monkeypatch.setattr(readers, "_open_workbook", lambda *a: opened.append(a))
    data = xlsx_with_member("xl/media/padding.bin", b"ab" * (300 * 1024), level=1)
    lying = understate_member_size(data, "xl/media/padding.bin", 1000)
    message = refused(lying)
    assert "more data than its archive directory says" in message or "compressed" in message
    assert not opened


def test_upload_size_limit(settings):
    settings.HERALD_IMPORT_MAX_UPLOAD_MB = 1
    data = csv_bytes([[f"+346{i:08d}", "x" * 40] for i in range(25_000)])
    assert len(data) > 1024 * 1024
    message = refused(data)
    assert message.startswith("The file is 1.") and message.endswith("MB, more than the 1 MB allowed.")


def test_row_limit(settings):
    settings.HERALD_IMPORT_MAX_ROWS = 10
    assert refused(b"\n".join(b"+3461234567%d" % i for i in range(11))) == \
        "The file has more than 10 rows, the most allowed."
    assert refused(xlsx_bytes([["+34612345678"]] * 11)) == "The file has more than 10 rows, the most allowed."


def test_human_sizes():
    assert readers.human_size(0) == "0 bytes"
    assert readers.human_size(500 * 1024 * 1024) == "500 MB"
    assert readers.human_size(int(1.2 * 1024 ** 3)) == "1.2 GB"


def test_column_letters():
    assert [readers.column_letter(i) for i in (0, 1, 25, 26, 27, 701, 702)] == ["A", "B", "Z", "AA", "AB", "ZZ", "AAA"]
