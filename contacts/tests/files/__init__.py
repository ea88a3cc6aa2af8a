"""Import test files, made by the tests themselves (only ``contacts.xls`` is stored: see
``make_xls.py``): CSV in any encoding and delimiter, XLSX (openpyxl), ODS (a minimal
OpenDocument zip), zip bombs, and uploads."""

from __future__ import annotations

import csv
import io
import struct
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from django.core.files.uploadedfile import SimpleUploadedFile

HERE = Path(__file__).resolve().parent
XLS_FIXTURE = HERE / "contacts.xls"


def csv_bytes(rows, *, encoding="utf-8", delimiter=",", bom=False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    text = out.getvalue()
    if encoding in ("utf-16-le", "utf-16-be"):
        bom_bytes = b"\xff\xfe" if encoding == "utf-16-le" else b"\xfe\xff"
        return (bom_bytes if bom else b"") + text.encode(encoding)
    data = text.encode(encoding)
    if bom and encoding == "utf-8":
        data = b"\xef\xbb\xbf" + data
    return data


def xlsx_bytes(rows, *, title="Contacts") -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title)
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def ods_bytes(rows, *, repeats=None, padding: int = 0) -> bytes:
    """A minimal OpenDocument spreadsheet: mimetype (stored, first), manifest, content.
    ``repeats`` maps a row index to its ``table:number-rows-repeated``; ``padding`` adds
    that many empty repeated rows at the end, as office suites do."""
    repeats = repeats or {}

    def cell(value):
        if value is None or value == "":
            return "<table:table-cell/>"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (f'<table:table-cell office:value-type="float" office:value="{value}">'
                    f"<text:p>{value}</text:p></table:table-cell>")
        return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'

    def row_tag(i):
        n = repeats.get(i)
        return f'<table:table-row table:number-rows-repeated="{n}">' if n else "<table:table-row>"

    body = "".join(row_tag(i) + "".join(cell(v) for v in row) + "</table:table-row>" for i, row in enumerate(rows))
    if padding:
        body += f'<table:table-row table:number-rows-repeated="{padding}"><table:table-cell/></table:table-row>'
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Contacts">'
        f"{body}</table:table></office:spreadsheet></office:body></office:document-content>")
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet",
                    compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def xls_bytes() -> bytes:
    return XLS_FIXTURE.read_bytes()


def xlsx_with_member(name: str, data: bytes, *, level: int = 9) -> bytes:
    """A real small XLSX plus one extra member (e.g. a huge, highly compressible one)."""
    base = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["Phone"], ["+34612345678"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for info in base.infolist():
            zf.writestr(info.filename, base.read(info.filename))
        zf.writestr(name, data)
    return out.getvalue()


def understate_member_size(data: bytes, name: str, claimed: int) -> bytes:
    """Rewrite the sizes a ZIP's directory and local header give for ``name`` (the lying
    directory of a crafted zip bomb)."""
    buf = bytearray(data)
    zf = zipfile.ZipFile(io.BytesIO(data))
    info = zf.getinfo(name)
    # local header: uncompressed size at offset 22
    struct.pack_into("<I", buf, info.header_offset + 22, claimed)
    # central directory entry: find it by signature and name
    pos = 0
    encoded = name.encode()
    while True:
        pos = buf.find(b"PK\x01\x02", pos)
        if pos < 0:
            break
        name_len = struct.unpack_from("<H", buf, pos + 28)[0]
        if bytes(buf[pos + 46:pos + 46 + name_len]) == encoded:
            struct.pack_into("<I", buf, pos + 24, claimed)
            break
        pos += 4
    return bytes(buf)


PNG_BYTES = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
             b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)
