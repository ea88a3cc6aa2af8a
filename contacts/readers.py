"""Reading import files: what a file really is (by its content, never its name), the
guards that refuse it before anything is written, and its rows.

* ``inspect(fileobj)`` checks an upload and returns a :class:`FileInfo` (type, CSV
  encoding and delimiter, row count, a preview of the first rows), or raises
  :class:`FileRefused` whose message is shown to the user as it is.
* ``iter_rows(fileobj, info)`` yields ``(row_number, cells)`` for every row of the file
  (1-based row numbers as a spreadsheet program shows them; CSV cells are strings,
  spreadsheet cells are what python-calamine gives: str, float, int, bool, dates).

Types are told apart by content: XLSX and ODS are ZIP archives with the members of
their format, XLS is an OLE2 compound document (``D0 CF 11 E0``), CSV is text that
decodes and has no NUL byte. Spreadsheets are read with python-calamine (first sheet);
before calamine opens a ZIP, the guards sum the uncompressed sizes from its directory,
refuse a member compressed more than the allowed ratio, and inflate every member once
with a cap, so a directory that lies about sizes is caught too.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

CSV, XLS, XLSX, ODS = "csv", "xls", "xlsx", "ods"
TYPES = (CSV, XLS, XLSX, ODS)
PREVIEW_ROWS = 50
MAX_COLUMNS = 500
SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"

# Magic numbers of common files that people mistake for spreadsheets, to say what a
# refused file is.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", N_("a PNG image")),
    (b"\xff\xd8\xff", N_("a JPEG image")),
    (b"GIF87a", N_("a GIF image")),
    (b"GIF89a", N_("a GIF image")),
    (b"%PDF", N_("a PDF document")),
    (b"\x1f\x8b", N_("a gzip archive")),
    (b"Rar!", N_("a RAR archive")),
    (b"7z\xbc\xaf\x27\x1c", N_("a 7-Zip archive")),
    (b"BZh", N_("a bzip2 archive")),
    (b"RIFF", N_("a RIFF media file")),
    (b"ID3", N_("an MP3 audio file")),
    (b"\x7fELF", N_("a program (ELF executable)")),
    (b"MZ", N_("a Windows program")),
    (b"{\\rtf", N_("an RTF document")),
    (b"SQLite format 3\x00", N_("an SQLite database")),
)


class FileRefused(ValueError):
    """The file cannot be imported; ``str(exc)`` says why, in the user's words."""


@dataclass
class FileInfo:
    file_type: str
    encoding: str = ""
    delimiter: str = ""
    rows: int = 0  # non-empty rows in the file (the header included)
    last_row: int = 0  # number of the last row (blank rows count in numbering)
    columns: int = 0
    preview: list = field(default_factory=list)  # [[row_number, [cell text, ...]], ...]

    def as_dict(self) -> dict:
        return {"file_type": self.file_type, "encoding": self.encoding, "delimiter": self.delimiter,
                "rows": self.rows, "last_row": self.last_row, "columns": self.columns, "preview": self.preview}


# --- limits -------------------------------------------------------------------------------------

def _mb(name: str) -> int:
    return int(getattr(settings, name)) * 1024 * 1024


def max_upload_bytes() -> int:
    return _mb("HERALD_IMPORT_MAX_UPLOAD_MB")


def max_rows() -> int:
    return int(settings.HERALD_IMPORT_MAX_ROWS)


def human_size(n: int) -> str:
    """``1288490188`` → ``1.2 GB`` (binary multiples, the way the limits are set)."""
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            if unit == "bytes":
                return f"{int(value)} bytes"
            text = f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
        value /= 1024
    return f"{n} bytes"  # pragma: no cover


def check_size(size: int) -> None:
    if size <= 0:
        raise FileRefused(_("The file is empty."))
    limit = max_upload_bytes()
    if size > limit:
        raise FileRefused(_("The file is %(size)s, more than the %(limit)s allowed.")
                          % {"size": human_size(size), "limit": human_size(limit)})


# --- what is this file? ---------------------------------------------------------------------------

def _size_of(fileobj) -> int:
    pos = fileobj.tell()
    fileobj.seek(0, io.SEEK_END)
    size = fileobj.tell()
    fileobj.seek(pos)
    return size


def _not_a_spreadsheet(what: str) -> FileRefused:
    return FileRefused(_("This file is not a CSV, XLS, XLSX or ODS spreadsheet (its content is %(what)s).")
                       % {"what": what})


def sniff_type(fileobj) -> str:
    """``csv``, ``xls``, ``xlsx`` or ``ods`` from the first bytes and, for ZIP archives,
    their members. Raises :class:`FileRefused` for anything else."""
    fileobj.seek(0)
    head = fileobj.read(SNIFF_BYTES)
    fileobj.seek(0)
    if not head:
        raise FileRefused(_("The file is empty."))
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_type(fileobj)
    if head.startswith(OLE2_MAGIC):
        return XLS
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise _not_a_spreadsheet(_(what))
    return CSV


def _zip_type(fileobj) -> str:
    try:
        with zipfile.ZipFile(fileobj) as zf:
            names = set(zf.namelist())
            if not names:
                raise FileRefused(_("The file is empty."))
            if "mimetype" in names:
                mime = zf.read("mimetype")[:200].strip()
                if mime == ODS_MIME:
                    return ODS
                if mime.startswith(b"application/vnd.oasis.opendocument."):
                    kind = mime.rsplit(b".", 1)[-1].decode("ascii", "replace")
                    raise _not_a_spreadsheet(_("an OpenDocument %(kind)s file") % {"kind": kind})
            if "content.xml" in names and "META-INF/manifest.xml" in names:
                return ODS
            if "[Content_Types].xml" in names:
                if "xl/workbook.xml" in names or any(n.startswith("xl/worksheets/") for n in names):
                    return XLSX
                if any(n.startswith("word/") for n in names):
                    raise _not_a_spreadsheet(_("a Word document"))
                if any(n.startswith("ppt/") for n in names):
                    raise _not_a_spreadsheet(_("a PowerPoint presentation"))
            raise _not_a_spreadsheet(_("a ZIP archive"))
    except zipfile.BadZipFile:
        raise FileRefused(_("This file looks like an XLSX or ODS spreadsheet but it is damaged (not a valid ZIP "
                            "archive)."))
    finally:
        fileobj.seek(0)


# --- zip bomb guard ---------------------------------------------------------------------------------

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")


def check_zip(fileobj) -> None:
    """Refuse a ZIP that expands beyond the limits: the sum of the uncompressed sizes in
    its directory, the compression ratio of each member, and — inflating every member
    once with a cap — a directory that understates what a member really holds."""
    cap = _mb("HERALD_IMPORT_MAX_UNCOMPRESSED_MB")
    ratio_cap = int(settings.HERALD_IMPORT_MAX_COMPRESSION_RATIO)
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        raise FileRefused(_("The spreadsheet is damaged (not a valid ZIP archive)."))
    total = sum(i.file_size for i in infos)
    if total > cap:
        raise FileRefused(_("The spreadsheet expands to %(size)s, more than the %(limit)s allowed.")
                          % {"size": human_size(total), "limit": human_size(cap)})
    for info in infos:
        if info.compress_size and info.file_size / info.compress_size > ratio_cap:
            raise FileRefused(_("The spreadsheet part “%(name)s” is compressed %(ratio)d:1 (%(size)s from "
                                "%(packed)s), more than the %(limit)d:1 allowed: it looks like a zip bomb.")
                              % {"name": info.filename[:80], "ratio": info.file_size // info.compress_size,
                                 "size": human_size(info.file_size), "packed": human_size(info.compress_size),
                                 "limit": ratio_cap})
    seen = 0
    for info in infos:
        seen += _inflated_size(fileobj, info, cap - seen)
    fileobj.seek(0)


def _inflated_size(fileobj, info: zipfile.ZipInfo, budget: int) -> int:
    """Inflate one member (discarding the output) and return its real size; refuse it when
    it is bigger than its directory entry says or than what is left of the budget."""
    if info.compress_type == zipfile.ZIP_STORED:
        return info.compress_size
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise FileRefused(_("The spreadsheet uses a compression method that is not supported."))
    fileobj.seek(info.header_offset)
    header = fileobj.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise FileRefused(_("The spreadsheet is damaged (not a valid ZIP archive)."))
    fields = _LOCAL_HEADER.unpack(header)
    fileobj.seek(info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10])
    inflater = zlib.decompressobj(-15)
    left, out = info.compress_size, 0
    limit = min(info.file_size, budget)
    try:
        while left > 0 or inflater.unconsumed_tail:
            if inflater.unconsumed_tail:
                data = inflater.unconsumed_tail
            else:
                data = fileobj.read(min(1 << 20, left))
                if not data:
                    break
                left -= len(data)
            out += len(inflater.decompress(data, 1 << 20))
            if out > limit:
                break
            if inflater.eof:
                break
    except zlib.error:
        raise FileRefused(_("The spreadsheet is damaged (a part cannot be decompressed)."))
    if out > info.file_size:
        raise FileRefused(_("The spreadsheet part “%(name)s” holds more data than its archive directory says: "
                            "refused as a possible zip bomb.") % {"name": info.filename[:80]})
    if out > budget:
        cap = _mb("HERALD_IMPORT_MAX_UNCOMPRESSED_MB")
        raise FileRefused(_("The spreadsheet expands to more than the %(limit)s allowed.") % {"limit": human_size(cap)})
    return out


def _xlsx_dimension_rows(fileobj) -> int | None:
    """The row count the first worksheet's ``<dimension ref="A1:G1000000"/>`` declares,
    read from the first bytes of its XML (cheap), or None."""
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as zf:
            sheets = sorted(n for n in zf.namelist() if re.match(r"xl/worksheets/sheet\d+\.xml$", n))
            if not sheets:
                return None
            with zf.open(sheets[0]) as member:
                head = member.read(4096).decode("utf-8", "replace")
    finally:
        fileobj.seek(0)
    match = re.search(r'<(?:\w+:)?dimension\s+ref="[A-Z]+(\d+)(?::[A-Z]+(\d+))?"', head)
    if not match:
        return None
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    return last - first + 1


ODS_MAX_CELLS_PER_ROW = 64  # with the row cap, bounds what a repeated-cells ODS expands to
ODS_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
ODS_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def _ods_declared_size(fileobj) -> tuple[int, int]:
    """``(rows, cells)`` that the first sheet of an ODS expands to, counting the repeat
    attributes (``table:number-rows-repeated``, ``table:number-columns-repeated``) of rows
    and cells that hold a value. A small ``content.xml`` can declare millions of repeated
    rows, which a reader would expand in memory; empty repeated rows (the padding office
    suites write) cost nothing and are not counted. Streams the XML: memory stays small."""
    from xml.etree.ElementTree import XMLPullParser

    rows = cells = 0
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as zf, zf.open("content.xml") as member:
            parser = XMLPullParser(events=("start", "end"))
            tables = 0
            row_repeat, row_cells = 1, 0
            while chunk := member.read(1 << 16):
                if b"<!DOCTYPE" in chunk or b"<!ENTITY" in chunk:
                    raise FileRefused(_("The spreadsheet declares XML entities: refused."))
                parser.feed(chunk)
                for event, elem in parser.read_events():
                    tag = elem.tag
                    if tag == f"{{{ODS_TABLE_NS}}}table":
                        tables += event == "start"
                        if event == "end":
                            return rows, cells
                    elif tables != 1:
                        pass
                    elif tag == f"{{{ODS_TABLE_NS}}}table-row":
                        if event == "start":
                            row_repeat = int(elem.get(f"{{{ODS_TABLE_NS}}}number-rows-repeated", "1") or 1)
                            row_cells = 0
                        else:
                            if row_cells:
                                rows += row_repeat
                                cells += row_repeat * row_cells
                            elem.clear()
                    elif tag == f"{{{ODS_TABLE_NS}}}table-cell" and event == "end":
                        has_value = elem.get(f"{{{ODS_OFFICE_NS}}}value-type") is not None or len(elem)
                        if has_value:
                            row_cells += int(elem.get(f"{{{ODS_TABLE_NS}}}number-columns-repeated", "1") or 1)
                        elem.clear()
    except FileRefused:
        raise
    except Exception as exc:  # a missing content.xml, a damaged ZIP, XML syntax errors, bad numbers
        raise FileRefused(_("The spreadsheet cannot be read: %(why)s") % {"why": str(exc)[:200]})
    finally:
        fileobj.seek(0)
    return rows, cells


# --- CSV encoding and delimiter ---------------------------------------------------------------------

def _utf16_without_bom(sample: bytes) -> str | None:
    """Text in UTF-16 without a BOM has a NUL in every other byte (for Latin text)."""
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def detect_encoding(sample: bytes) -> str:
    """UTF-8 with BOM, UTF-16 LE/BE with BOM, UTF-8, else Windows-1252. Raises
    :class:`FileRefused` for binary content."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith(codecs.BOM_UTF16_LE) or sample.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    if b"\x00" in sample:
        utf16 = _utf16_without_bom(sample)
        if utf16:
            return utf16
        raise _not_a_spreadsheet(_("binary data"))
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    return "cp1252"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _check_text(text: str) -> None:
    if text and len(_CONTROL.findall(text)) > max(2, len(text) // 100):
        raise _not_a_spreadsheet(_("binary data"))


def detect_delimiter(text: str) -> str:
    """``csv.Sniffer`` on a sample; when it cannot tell, the candidate that appears the same
    number of times on most of the first lines; a file with one column gets a comma."""
    lines = [line for line in text.splitlines() if line.strip()][:50]
    if not lines:
        return ","
    sample = "\n".join(lines)
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
        if dialect.delimiter in DELIMITERS:
            return dialect.delimiter
    except csv.Error:
        pass
    best, best_score = ",", 0
    for delim in DELIMITERS:
        counts = [line.count(delim) for line in lines]
        if not any(counts):
            continue
        mode = max(set(counts), key=counts.count)
        if mode == 0:
            continue
        score = counts.count(mode) * 1000 + mode
        if score > best_score:
            best, best_score = delim, score
    return best


def _text_stream(fileobj, encoding: str, errors: str = "strict"):
    fileobj.seek(0)
    return io.TextIOWrapper(io.BufferedReader(_NoClose(fileobj), 1 << 20), encoding=encoding, errors=errors,
                            newline="")


class _NoClose(io.RawIOBase):
    """Lets a TextIOWrapper read a file object without closing it when the wrapper goes."""

    def __init__(self, raw):
        self._raw = raw

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self._raw.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self):  # keep the underlying file open
        pass


def _csv_reader(fileobj, info: FileInfo, errors: str = "strict"):
    return csv.reader(_text_stream(fileobj, info.encoding, errors), delimiter=info.delimiter or ",")


# --- cells -------------------------------------------------------------------------------------------

def is_blank(cells) -> bool:
    """Every cell empty or whitespace. A plain loop that stops at the first value: called
    for every row of every file (a generator in ``all`` cost ~1 µs a row)."""
    for c in cells:
        if c is not None and (not isinstance(c, str) or c.strip()):
            return False
    return True


def cell_text(value) -> str:
    """A cell as the preview and the error report show it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return str(value)
    return str(value)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# --- inspect and read ------------------------------------------------------------------------------------

def inspect(fileobj, *, size: int | None = None) -> FileInfo:
    """Everything the wizard needs to know about an upload, or :class:`FileRefused`."""
    size = _size_of(fileobj) if size is None else size
    check_size(size)
    file_type = sniff_type(fileobj)
    if file_type == CSV:
        info = _inspect_csv(fileobj)
    else:
        info = _inspect_spreadsheet(fileobj, file_type)
    if info.rows == 0:
        raise FileRefused(_("The file is empty."))
    if info.rows > max_rows():
        raise FileRefused(_("The file has %(rows)s rows, more than the %(limit)s allowed.")
                          % {"rows": f"{info.rows:,}", "limit": f"{max_rows():,}"})
    if info.columns > MAX_COLUMNS:
        raise FileRefused(_("The file has %(cols)d columns; at most %(limit)d can be imported.")
                          % {"cols": info.columns, "limit": MAX_COLUMNS})
    fileobj.seek(0)
    return info


def verify(fileobj, info: FileInfo) -> None:
    """The light re-check a run makes before its first write: the stored file is still the
    type it was, within the limits in force, and (for ZIP formats) passes the bomb guard."""
    check_size(_size_of(fileobj))
    if sniff_type(fileobj) != info.file_type:
        raise FileRefused(_("The stored file changed since it was uploaded; upload it again."))
    if info.rows > max_rows():
        raise FileRefused(_("The file has %(rows)s rows, more than the %(limit)s allowed.")
                          % {"rows": f"{info.rows:,}", "limit": f"{max_rows():,}"})
    if info.file_type in (XLSX, ODS):
        check_zip(fileobj)
    fileobj.seek(0)


def _inspect_csv(fileobj) -> FileInfo:
    fileobj.seek(0)
    sample = fileobj.read(SNIFF_BYTES)
    encoding = detect_encoding(sample)
    info = FileInfo(CSV, encoding=encoding)
    text = sample.decode(encoding if encoding != "utf-16" else "utf-16", errors="ignore")
    _check_text(text)
    info.delimiter = detect_delimiter(text)
    try:
        _scan(info, _csv_reader(fileobj, info))
    except UnicodeDecodeError:
        if encoding != "utf-8":
            raise _not_a_spreadsheet(_("text that is not in UTF-8, UTF-16 or Windows-1252"))
        # Valid UTF-8 at the start, not further on: a Windows-1252 file with an ASCII head.
        info.encoding = "cp1252"
        try:
            _scan(info, _csv_reader(fileobj, info))
        except UnicodeDecodeError:
            info.encoding = "latin-1"  # cp1252 leaves five bytes undefined; latin-1 decodes everything
            _scan(info, _csv_reader(fileobj, info))
    except csv.Error as exc:
        raise FileRefused(_("The CSV file cannot be read: %(why)s.") % {"why": exc})
    return info


def _scan(info: FileInfo, rows) -> None:
    """Count rows and columns and keep the preview; refuse more rows than allowed as soon
    as the count passes the limit."""
    limit = max_rows()
    info.rows = info.columns = info.last_row = 0
    info.preview = []
    number = 0
    for number, cells in enumerate(rows, start=1):
        if is_blank(cells):
            continue
        info.rows += 1
        info.last_row = number
        if len(cells) > info.columns:
            info.columns = len(cells)
        if len(info.preview) < PREVIEW_ROWS:
            info.preview.append([number, [cell_text(c) for c in cells]])
        if info.rows > limit:
            raise FileRefused(_("The file has more than %(limit)s rows, the most allowed.") % {"limit": f"{limit:,}"})


def _open_workbook(fileobj, file_type: str):
    from python_calamine import CalamineWorkbook

    fileobj.seek(0)
    try:
        workbook = CalamineWorkbook.from_filelike(fileobj)
        if not workbook.sheet_names:
            raise FileRefused(_("The file is empty."))
        return workbook.get_sheet_by_index(0)
    except FileRefused:
        raise
    except Exception as exc:  # calamine raises its own errors, and ValueError/IOError on garbage
        if file_type == XLS:
            raise _not_a_spreadsheet(_("an OLE2 document that cannot be read as an Excel workbook: %(why)s")
                                     % {"why": str(exc)[:120]})
        raise FileRefused(_("The spreadsheet cannot be read: %(why)s") % {"why": str(exc)[:200]})


def _inspect_spreadsheet(fileobj, file_type: str) -> FileInfo:
    if file_type in (XLSX, ODS):
        check_zip(fileobj)
        if file_type == XLSX:
            declared = _xlsx_dimension_rows(fileobj)
            if declared and declared > max_rows() * 2:
                raise FileRefused(_("The file has %(rows)s rows, more than the %(limit)s allowed.")
                                  % {"rows": f"{declared:,}", "limit": f"{max_rows():,}"})
        else:
            declared, cells = _ods_declared_size(fileobj)
            if declared > max_rows():
                raise FileRefused(_("The file has %(rows)s rows, more than the %(limit)s allowed.")
                                  % {"rows": f"{declared:,}", "limit": f"{max_rows():,}"})
            if cells > max_rows() * ODS_MAX_CELLS_PER_ROW:
                raise FileRefused(_("The spreadsheet expands to %(cells)s cells, more than the %(limit)s allowed.")
                                  % {"cells": f"{cells:,}", "limit": f"{max_rows() * ODS_MAX_CELLS_PER_ROW:,}"})
    sheet = _open_workbook(fileobj, file_type)
    info = FileInfo(file_type)
    _scan(info, _sheet_rows(sheet))
    return info


def _sheet_rows(sheet):
    """Rows of a calamine sheet, padded so that column positions are the spreadsheet's own
    (calamine's rows start at the first used column; they do start at row 1)."""
    first_col = (sheet.start or (0, 0))[1]
    if not first_col:
        yield from sheet.iter_rows()
        return
    pad = [None] * first_col
    for row in sheet.iter_rows():
        yield pad + row


def iter_rows(fileobj, info: FileInfo):
    """``(row_number, cells)`` for every non-blank row."""
    if info.file_type == CSV:
        rows = _csv_reader(fileobj, info, errors="replace")
    else:
        rows = _sheet_rows(_open_workbook(fileobj, info.file_type))
    for number, cells in enumerate(rows, start=1):
        if cells and not is_blank(cells):
            yield number, cells


def info_from(data: dict) -> FileInfo:
    return FileInfo(**{k: data[k] for k in ("file_type", "encoding", "delimiter", "rows", "last_row", "columns",
                                            "preview") if k in data})
