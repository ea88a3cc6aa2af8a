"""The import wizard and quick import (spec P§6.8, rules 4–5): upload, first row, column
mapping and presets, duplicates and tag, the check (preview of what will happen), and the
run in the background.

The pages and the REST API call the same functions here; tasks only unpack ids.

The run (``run_import``) never goes through the ORM per row:

* rows are read and prepared in chunks (``HERALD_IMPORT_CHUNK_ROWS``): the phone number is
  normalised (``phones.normalize``) and each mapped cell coerced (``attributes.coerce``);
  above ``HERALD_IMPORT_PARALLEL_MIN_ROWS`` rows this runs in a pool of
  ``HERALD_IMPORT_WORKERS`` processes while the previous chunk is being written;
* a number seen earlier in the file is an error "duplicate of row N" (the first is kept);
* each chunk is merged set-wise — PostgreSQL: COPY into a TEMP staging table, then one
  ``INSERT … ON CONFLICT (company_id, phone)`` and one insert of tag links; SQLite: the same
  SQL over a TEMP table filled with ``executemany`` (``json_patch`` instead of ``||``);
* each chunk commits together with ``processed_rows`` and the counters, so a worker killed
  mid-import resumes from that checkpoint: no row twice, none lost. The rows accepted and
  rejected by each chunk are kept in a small work file written in the same transaction
  window, which rebuilds the in-file duplicate check on resume and feeds the error report.
* A file-level problem is found before the first write (at upload, and again when the run
  starts); a row-level problem is a row error and never stops the import.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import multiprocessing
import os
import re
import threading
import time
import unicodedata
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from portal import audit, memory
from portal.audit import Actor
from portal.models import AuditDetail

from .. import readers
from .. import workers as workers_module
from ..attributes import coerce
from ..models import (
    Contact,
    ContactImport,
    ContactTag,
    DuplicateMode,
    ImportStatus,
    MappingPreset,
)
from ..phones import InvalidPhone, normalize
from ..selectors import attributes_for
from .core import tags_named

__all__ = [
    "PHONE", "imports_for", "import_history", "presets_for", "create_import", "create_quick_import", "file_info",
    "preview_page", "guess_first_row", "set_first_row", "columns_for", "suggest_mapping", "set_mapping",
    "save_preset", "request_check", "check_import", "check_result", "check_counts", "set_duplicates",
    "start_import", "run_import", "import_status", "import_errors", "error_report", "resume_if_stalled",
    "ImportColumn",
]

log = logging.getLogger(__name__)

PHONE = "phone"  # the mapping target of the phone number column
HISTORY_SIZE = 5
CHECK_SAMPLE = 50
DUPLICATE_SAMPLE = 20
MAX_RUN_ATTEMPTS = 5
PHONE_HEADERS = {
    "phone", "phonenumber", "phoneno", "phones", "telephone", "telephonenumber", "tel", "mobile", "mobilephone",
    "mobilenumber", "msisdn", "cell", "cellphone", "number", "numero", "telefono", "movil", "celular", "gsm",
}

# Test hook: called after each chunk's commit with (import_id, chunk_number, processed_rows).
after_chunk_commit = None


# --- reads ----------------------------------------------------------------------------------------

def imports_for(company):
    return ContactImport.objects.for_company(company)


def import_history(company, limit: int = HISTORY_SIZE):
    """The company's most recent files (spec: the five most recent, view only)."""
    return list(imports_for(company).select_related("created_by", "tag").order_by("-created_at", "-id")[:limit])


def presets_for(company):
    return MappingPreset.objects.for_company(company).order_by("name")


# --- work files (kept beside the upload, in the same storage) ------------------------------------------

def _work(imp, name: str) -> str:
    return f"imports/work/{imp.pk}/{name}"


def _read_json(name: str, default=None):
    try:
        with default_storage.open(name, "rb") as fh:
            return json.loads(fh.read().decode("utf-8"))
    except (FileNotFoundError, OSError, ValueError):
        return default


def _write_json(name: str, data) -> None:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
    if default_storage.exists(name):
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(payload))
    if saved != name:  # a concurrent writer won the name; keep one file
        default_storage.delete(saved)


def _delete_work(imp) -> None:
    folder = f"imports/work/{imp.pk}"
    try:
        _dirs, files = default_storage.listdir(folder)
    except (FileNotFoundError, OSError):
        return
    for name in files:
        default_storage.delete(f"{folder}/{name}")


def file_info(imp) -> readers.FileInfo:
    data = _read_json(_work(imp, "file.json"))
    if data is None:  # the work file went missing: read the upload again
        with imp.file.open("rb") as fh:
            info = readers.inspect(fh)
        _write_json(_work(imp, "file.json"), info.as_dict())
        return info
    return readers.info_from(data)


# --- step 1: upload -----------------------------------------------------------------------------------

def _refused(exc: readers.FileRefused) -> ValidationError:
    return ValidationError({"file": str(exc)})


def create_import(*, actor: Actor, company, file, kind: str = ContactImport.WIZARD) -> ContactImport:
    """Check an uploaded file (by content: type, size, zip bomb, rows) and keep it for the
    wizard. Raises ValidationError ``{"file": message}``; nothing is stored then. The file
    is read outside any transaction (a big one takes seconds)."""
    size = getattr(file, "size", None)
    try:
        readers.check_size(size if size is not None else readers._size_of(file))
        info = readers.inspect(file, size=size)
    except readers.FileRefused as exc:
        raise _refused(exc)
    name = os.path.basename(getattr(file, "name", "") or "contacts")[:255] or "contacts"
    imp = ContactImport(company=company, kind=kind, original_name=name, file_type=info.file_type,
                        encoding=info.encoding, delimiter=info.delimiter, created_by=actor.user)
    imp.first_row = guess_first_row_from(info)
    file.seek(0)
    stem = get_valid_filename(os.path.splitext(name)[0])[:60] or "contacts"
    imp.file.save(f"{stem}.{info.file_type}", File(file), save=False)
    try:
        with transaction.atomic():
            imp.save()
            _write_json(_work(imp, "file.json"), info.as_dict())
    except Exception:
        imp.file.delete(save=False)
        raise
    transaction.on_commit(lambda: _prune_old_files(company))
    return imp


def create_quick_import(*, actor: Actor, company, file, tag: str) -> ContactImport:
    """Quick import (spec rule 5): a file with one column of phone numbers. Existing numbers
    are not duplicated but get the tag (the *enrich* mode with nothing to enrich)."""
    tag = (tag or "").strip()
    if not tag:
        raise ValidationError({"tag": _("Give a tag: it is how you find these numbers when you create the "
                                        "broadcast.")})
    imp = create_import(actor=actor, company=company, file=file, kind=ContactImport.QUICK)
    info = file_info(imp)
    if info.columns > 1:
        used = _used_columns(info)
        if len(used) > 1:
            _discard(imp)
            raise ValidationError({"file": _("Quick import takes a file with one column of phone numbers; this file "
                                             "has %(n)d columns. Use the import wizard for files with attributes.")
                                   % {"n": len(used)}})
        phone_col = used[0] if used else 0
    else:
        phone_col = 0
    tag_obj = tags_named(company, [tag])[0]
    imp.mapping = {str(phone_col): PHONE}
    imp.duplicate_mode = DuplicateMode.ENRICH
    imp.tag = tag_obj
    imp.save(update_fields=["mapping", "duplicate_mode", "tag"])
    request_check(imp)
    return imp


def _used_columns(info) -> list[int]:
    used = set()
    for _number, cells in info.preview:
        used.update(i for i, c in enumerate(cells) if c.strip())
    return sorted(used)


def _discard(imp) -> None:
    _delete_work(imp)
    if imp.file:
        imp.file.delete(save=False)
    imp.delete()


def _prune_old_files(company) -> None:
    """Uploads are kept while an import may still need them: files of finished imports
    beyond the history, and of uploads abandoned for a week, are deleted (rows stay)."""
    keep = 20
    old = list(imports_for(company).order_by("-created_at", "-id")[keep:keep + 200])
    week_ago = timezone.now() - datetime.timedelta(days=7)
    for imp in old:
        if imp.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            continue
        if imp.status == ImportStatus.UPLOADED and imp.created_at > week_ago:
            continue
        if imp.file:
            imp.file.delete(save=False)
            _delete_work(imp)
            ContactImport.objects.filter(pk=imp.pk).update(file="")


# --- step 2: first row ----------------------------------------------------------------------------------

def guess_first_row_from(info) -> int:
    """Row 1 is a header when none of its cells is a phone number and the next row has one."""
    if len(info.preview) < 2:
        return info.preview[0][0] if info.preview else 1

    def has_phone(cells):
        for cell in cells:
            digits = sum(ch.isdigit() for ch in cell)
            if digits >= 6 and digits >= len(cell.strip()) * 0.6:
                return True
        return False

    (n1, first), (n2, _second) = info.preview[0], info.preview[1]
    following = [cells for _n, cells in info.preview[1:6]]
    return n2 if not has_phone(first) and any(has_phone(cells) for cells in following) else n1


def guess_first_row(imp) -> int:
    return guess_first_row_from(file_info(imp))


def preview_page(imp, page: int = 1, per_page: int = 20) -> dict:
    """Rows of the preview grid (Column A, B, …) for step 2."""
    info = file_info(imp)
    pages = max(1, -(-len(info.preview) // per_page))
    page = min(max(1, page), pages)
    rows = info.preview[(page - 1) * per_page: page * per_page]
    width = max([info.columns] + [len(c) for _n, c in rows]) if rows else info.columns
    letters = [readers.column_letter(i) for i in range(width)]
    return {"letters": letters, "rows": [(n, cells + [""] * (width - len(cells))) for n, cells in rows],
            "page": page, "pages": pages, "total_rows": info.rows, "shown": len(info.preview)}


def _editable(imp) -> None:
    if imp.status != ImportStatus.UPLOADED:
        raise ValidationError(_("This import has already started; upload the file again to change it."))


def set_first_row(*, actor: Actor, imp, first_row) -> ContactImport:
    _editable(imp)
    info = file_info(imp)
    numbers = [n for n, _c in info.preview]
    try:
        first_row = int(first_row)
    except (TypeError, ValueError):
        raise ValidationError({"first_row": _("Choose the first row with data.")})
    if first_row not in numbers:
        raise ValidationError({"first_row": _("Choose one of the rows shown.")})
    if first_row != imp.first_row:
        imp.first_row = first_row
        imp.save(update_fields=["first_row"])
    return imp


# --- step 3: mapping -----------------------------------------------------------------------------------

@dataclass
class ImportColumn:
    index: int
    letter: str
    header: str  # the header cell, or "" when the file has no header row
    samples: list
    target: str = ""  # "phone", an attribute key, or "" (ignored)
    unknown: bool = False  # has a header that matches no attribute

    @property
    def label(self) -> str:
        return self.header or self.letter


def _norm(text) -> str:
    text = unicodedata.normalize("NFKD", str(text or "")).lower()
    return "".join(ch for ch in text if ch.isalnum())


def _header_row(info, first_row: int):
    rows = [cells for n, cells in info.preview if n < first_row]
    return rows[-1] if rows else None


def columns_for(imp) -> list[ImportColumn]:
    info = file_info(imp)
    header = _header_row(info, imp.first_row)
    data = [cells for n, cells in info.preview if n >= imp.first_row][:3]
    columns = []
    for i in range(info.columns):
        text = header[i].strip() if header and i < len(header) else ""
        columns.append(ImportColumn(i, readers.column_letter(i), text, [row[i] if i < len(row) else "" for row in data]))
    return columns


def _preset_key(col: ImportColumn) -> str:
    return _norm(col.header) if col.header else col.letter


def suggest_mapping(imp, preset: MappingPreset | None = None) -> tuple[list[ImportColumn], MappingPreset | None]:
    """Columns with a proposed target each: the chosen preset, else the most recent preset
    whose headers are all in this file, else header text matched to attribute keys and
    names (and the usual names of a phone column); the import's saved mapping wins."""
    columns = columns_for(imp)
    attrs = list(attributes_for(imp.company))
    keys = {a.key for a in attrs}
    by_name = {}
    for a in attrs:
        by_name.setdefault(_norm(a.key), a.key)
        by_name.setdefault(_norm(a.name), a.key)
    file_keys = {_preset_key(c) for c in columns}
    if preset is None:
        for candidate in MappingPreset.objects.for_company(imp.company).order_by("-created_at", "-id")[:50]:
            wanted = {_norm(k) if len(k) > 3 or not k.isupper() else k for k in candidate.mapping}
            if wanted and wanted <= file_keys:
                preset = candidate
                break
    preset_map = {}
    if preset is not None:
        for k, v in preset.mapping.items():
            preset_map[_norm(k) if len(k) > 3 or not k.isupper() else k] = v
    saved = {int(k): v for k, v in (imp.mapping or {}).items()}
    for col in columns:
        pkey = _preset_key(col)
        if saved and preset is None:
            col.target = saved.get(col.index, "")
        elif pkey in preset_map:
            col.target = preset_map[pkey]
        elif col.header:
            norm = _norm(col.header)
            if norm in PHONE_HEADERS:
                col.target = PHONE
            else:
                col.target = by_name.get(norm, "")
        if col.target and col.target != PHONE and col.target not in keys:
            col.target = ""
        col.unknown = bool(col.header) and not col.target
    # One column per target: the first keeps it.
    taken = set()
    for col in columns:
        if col.target in taken:
            col.target = ""
        elif col.target:
            taken.add(col.target)
    return columns, preset


def _clean_mapping(imp, mapping) -> dict:
    info = file_info(imp)
    keys = {a.key for a in attributes_for(imp.company)}
    cleaned, errors, used = {}, [], {}
    for raw_index, target in (mapping or {}).items():
        try:
            index = int(raw_index)
        except (TypeError, ValueError):
            errors.append(_("Unknown column %(c)s.") % {"c": raw_index})
            continue
        target = (target or "").strip()
        if not target:
            continue
        if index < 0 or index >= max(info.columns, 1):
            errors.append(_("Unknown column %(c)s.") % {"c": raw_index})
            continue
        if target != PHONE and target not in keys:
            errors.append(_("There is no attribute “%(k)s”.") % {"k": target})
            continue
        if target in used:
            errors.append(_("Columns %(a)s and %(b)s are both mapped to the same attribute; map each attribute "
                            "once.") % {"a": readers.column_letter(used[target]), "b": readers.column_letter(index)})
            continue
        used[target] = index
        cleaned[str(index)] = target
    if PHONE not in used:
        errors.append(_("Map one column to the phone number: it is the only required attribute."))
    if errors:
        raise ValidationError({"mapping": errors})
    return cleaned


def set_mapping(*, actor: Actor, imp, mapping: dict, preset_name: str = "") -> ContactImport:
    """Save the column mapping (``{column index: "phone" | attribute key | ""}``), save it
    as a preset when a name is given, and start checking the file."""
    _editable(imp)
    cleaned = _clean_mapping(imp, mapping)
    with transaction.atomic():
        imp.mapping = cleaned
        imp.save(update_fields=["mapping"])
        if (preset_name or "").strip():
            save_preset(actor=actor, imp=imp, name=preset_name)
    request_check(imp)
    return imp


def save_preset(*, actor: Actor, imp, name: str) -> MappingPreset:
    """Save the import's mapping under ``name`` (replacing a preset of the same name),
    keyed by header text (or column letter when the file has no header)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"preset_name": _("Enter a name for the preset.")})
    if len(name) > 100:
        raise ValidationError({"preset_name": _("A preset name has at most 100 characters.")})
    columns = columns_for(imp)
    mapping = {}
    for col in columns:
        key = col.header or col.letter
        if key and key not in mapping:
            mapping[key] = imp.mapping.get(str(col.index), "")
    with transaction.atomic():
        preset = MappingPreset.objects.for_company(imp.company).filter(name__iexact=name).first()
        if preset is None:
            preset = MappingPreset.objects.create(company=imp.company, name=name, mapping=mapping)
            audit.record(actor, "Saved mapping preset", [audit.created(preset)], company=imp.company)
        else:
            before = audit.snapshot(preset)
            preset.mapping = mapping
            preset.save(update_fields=["mapping"])
            audit.record(actor, "Changed mapping preset", [audit.updated(preset, before)], company=imp.company)
    return preset


# --- row preparation (runs in worker processes) ------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """What to do with each row; small and picklable, sent to the worker processes."""

    phone_col: int
    attrs: tuple  # ((column, key, type, allowed values, name), ...)
    region: str
    language: str


def _plan(imp) -> Plan:
    attrs = {a.key: a for a in attributes_for(imp.company)}
    phone_col, specs = None, []
    for index, target in sorted(((int(k), v) for k, v in (imp.mapping or {}).items())):
        if target == PHONE:
            phone_col = index
        elif target in attrs:
            a = attrs[target]
            specs.append((index, a.key, a.type, tuple(a.values or ()), a.name))
    if phone_col is None:
        raise ValidationError({"mapping": _("Map one column to the phone number: it is the only required attribute.")})
    language = getattr(imp.created_by, "language", "") or settings.LANGUAGE_CODE
    return Plan(phone_col, tuple(specs), imp.company.default_region or "", language)


_MISSING = object()
_COERCE_CACHE: dict = {}
COERCE_CACHE_SIZE = 50_000  # values remembered per column (dates, numbers, names and cities repeat a lot)


def _coerce_caches(plan: Plan) -> list[dict]:
    """Per process and plan: ``{(type of raw, raw): value or ValueError message}`` per
    mapped column. ``coerce`` is pure, so remembering its answers changes nothing."""
    key = (plan.language, plan.attrs)
    caches = _COERCE_CACHE.get(key)
    if caches is None:
        if len(_COERCE_CACHE) > 8:
            _COERCE_CACHE.clear()
        caches = _COERCE_CACHE[key] = [{} for _spec in plan.attrs]
    return caches


def prepare_rows(rows, plan: Plan) -> list:
    """For each ``(row_number, cells)``: ``(row, e164, country, mno, attributes_json)`` or
    ``(row, None, None, None, reason)``. Pure: no database."""
    out = []
    append = out.append
    phone_col, specs, region = plan.phone_col, plan.attrs, plan.region
    caches = _coerce_caches(plan)
    columns = [(col, key, type_, allowed, name, caches[i]) for i, (col, key, type_, allowed, name)
               in enumerate(specs)]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with translation.override(plan.language), memory.paused():
        for number, cells in rows:
            width = len(cells)
            try:
                problems = []
                phone = None
                try:
                    phone = normalize(cells[phone_col] if phone_col < width else None, region)
                except InvalidPhone as exc:
                    problems.append(str(exc))
                values = {}
                for col, key, type_, allowed, name, cache in columns:
                    raw = cells[col] if col < width else None
                    if raw is None or raw == "":
                        continue
                    ck = (type(raw), raw)
                    value = cache.get(ck, _MISSING)
                    if value is _MISSING:
                        try:
                            value = coerce(type_, raw, allowed, name)
                        except ValueError as exc:
                            value = _Problem(str(exc))
                        if len(cache) < COERCE_CACHE_SIZE:
                            cache[ck] = value
                    if value.__class__ is _Problem:
                        problems.append(value.message)
                    elif value is not None:
                        values[key] = value
                if problems:
                    append((number, None, None, None, " ".join(problems)))
                else:
                    append((number, phone.e164, phone.country, phone.mno, dumps(values)))
            except Exception as exc:  # a cell no rule foresaw must not stop the import
                append((number, None, None, None, _("This row cannot be read (%(why)s).") % {"why": exc}))
    return out


class _Problem:
    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


@contextmanager
def _pool(rows: int):
    """A process pool for big files, or None (prepare in-process)."""
    workers = int(settings.HERALD_IMPORT_WORKERS)
    if workers < 1 or rows < int(settings.HERALD_IMPORT_PARALLEL_MIN_ROWS):
        yield None
        return
    # fork is the cheapest start; a process with other threads (the embedded server, a
    # live test server) forks a clean server process instead.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    pool = None
    # A Celery prefork worker process is "daemonic", and multiprocessing refuses children to
    # daemonic processes. The helpers are ours and end with the pool (or when their parent's
    # pipe closes), so the flag is lifted while every helper is started, then restored.
    config = multiprocessing.current_process()._config
    daemonic = config.get("daemon")
    try:
        config["daemon"] = False
        context = multiprocessing.get_context(method)
        if method == "forkserver":  # helpers forked from a server that has Django set up (contacts/workers.py)
            context.set_forkserver_preload(["contacts.preload"])
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=workers_module.setup)
        pings = [pool.submit(workers_module.ping) for _ in range(workers)]  # start all helpers now
        for ping in pings:
            ping.result(timeout=120)
    except Exception as exc:
        log.warning("contact import: no process pool (%s); preparing rows in-process", exc)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        pool = None
    finally:
        if daemonic is not None:
            config["daemon"] = daemonic
        else:
            config.pop("daemon", None)
    try:
        yield pool
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# --- reading in chunks -------------------------------------------------------------------------------------

def _data_rows(imp, info, fh):
    first = imp.first_row
    for number, cells in readers.iter_rows(fh, info):
        if number >= first:
            yield number, cells


def _chunks(imp, info, fh, skip: int, size: int):
    """``(start_index, rows)`` chunks of data rows, from data row ``skip`` on."""
    batch, index = [], 0
    for row in _data_rows(imp, info, fh):
        if index < skip:
            index += 1
            continue
        if not batch:
            start = index
        batch.append(row)
        index += 1
        if len(batch) >= size:
            yield start, batch
            batch = []
    if batch:
        yield start, batch


def _prepared(imp, info, fh, plan: Plan, skip: int, size: int, total: int):
    """``(start, rows, prepared)`` per chunk; with a pool, the next chunk is prepared while
    the caller writes the current one."""
    with _pool(total - skip) as pool:
        if pool is None:
            for start, rows in _chunks(imp, info, fh, skip, size):
                yield start, rows, prepare_rows(rows, plan)
            return
        pieces = max(1, int(settings.HERALD_IMPORT_WORKERS) * 2)
        pending = deque()

        def collect(item):
            start, rows, futures = item
            return start, rows, [r for fut in futures for r in fut.result()]

        for start, rows in _chunks(imp, info, fh, skip, size):
            step = -(-len(rows) // pieces)
            futures = [pool.submit(prepare_rows, rows[i:i + step], plan) for i in range(0, len(rows), step)]
            pending.append((start, rows, futures))
            if len(pending) > 2:  # two chunks queued ahead: the helpers never wait for the main process
                yield collect(pending.popleft())
        while pending:
            yield collect(pending.popleft())


class _Deduper:
    """Keeps the first row of each number; later ones are errors "duplicate of row N"."""

    def __init__(self):
        self.seen: dict[int, int] = {}

    def add(self, number: int, e164: str) -> None:
        self.seen.setdefault(int(e164[1:]), number)

    def split(self, rows, prepared):
        kept, accepted, errors, dups = [], [], [], []
        seen = self.seen
        for (number, cells), rec in zip(rows, prepared, strict=True):
            e164 = rec[1]
            if e164 is None:
                errors.append((number, cells, rec[4]))
                continue
            key = int(e164[1:])
            first = seen.get(key)
            if first is not None:
                errors.append((number, cells, _("Duplicate of row %(row)d (%(phone)s): the first row is kept.")
                               % {"row": first, "phone": e164}))
                dups.append((number, e164, first))
                continue
            seen[key] = number
            kept.append(rec[1:])
            accepted.append((number, e164))
        return kept, accepted, errors, dups


def _cells_text(cells) -> list:
    return [readers.cell_text(c) for c in cells]


# --- the check (steps 4 and 5, quick import) ------------------------------------------------------------
#
# The check reads and prepares the whole file exactly as the run would (same chunks, same
# in-file duplicate rule) and keeps each chunk's result in a work file: the rows to write,
# the rows accepted and the rows rejected with their reason. When the run starts with the
# same file, first row, mapping, attributes and region, it writes those prepared chunks
# instead of preparing the file a second time.

def _chunk_rows() -> int:
    return max(1, int(settings.HERALD_IMPORT_CHUNK_ROWS))


def _check_key(imp, chunk_rows: int | None = None) -> str:
    try:
        plan = _plan(imp)
        rules = [plan.attrs, plan.region, plan.language]
    except ValidationError:
        rules = None
    data = json.dumps([imp.first_row, sorted((imp.mapping or {}).items()), rules, imp.file.name,
                       chunk_rows or _chunk_rows()], default=str)
    return hashlib.sha1(data.encode()).hexdigest()[:16]


def _data_row_count(imp, info) -> int:
    before = sum(1 for n, _c in info.preview if n < imp.first_row)
    return max(0, info.rows - before)


def request_check(imp) -> None:
    """Check the whole file against the mapping (counts, errors, duplicates): now for a
    small file, in the background for a big one."""
    info = file_info(imp)
    key = _check_key(imp)
    total = _data_row_count(imp, info)
    if total <= int(settings.HERALD_IMPORT_SYNC_CHECK_ROWS):
        check_import(imp.pk, key)
        return
    _write_json(_work(imp, "check.json"), {"key": key, "state": "queued", "processed": 0, "total": total})
    from ..tasks import check_import as task

    transaction.on_commit(lambda: task.delay(imp.pk, key))


def _existing_phones(company_id: int, phones: list[str]) -> set[str]:
    if not phones:
        return set()
    found = set()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # E.164 numbers hold no comma: one string parameter instead of an array of 25,000
            # (psycopg's list dump cost ~12 ms of the main process's CPU per chunk).
            cursor.execute(f"SELECT phone FROM {Contact._meta.db_table} WHERE company_id = %s "
                           f"AND phone = ANY(string_to_array(%s, ','))", [company_id, ",".join(phones)])
            found.update(r[0] for r in cursor.fetchall())
        else:
            import sqlite3

            step = 32_000 if sqlite3.sqlite_version_info >= (3, 32) else 900  # SQLite's bound-parameter limit
            for i in range(0, len(phones), step):
                part = phones[i:i + step]
                cursor.execute(f"SELECT phone FROM {Contact._meta.db_table} WHERE company_id = %s AND phone IN "
                               f"({', '.join(['%s'] * len(part))})", [company_id, *part])
                found.update(r[0] for r in cursor.fetchall())
    return found


def _drop_folders(imp, keep: str = "") -> None:
    base = f"imports/work/{imp.pk}"
    try:
        dirs, _files = default_storage.listdir(base)
    except (FileNotFoundError, OSError):
        return
    for folder in dirs:
        if folder == keep:
            continue
        try:
            _sub, files = default_storage.listdir(f"{base}/{folder}")
        except (FileNotFoundError, OSError):
            continue
        for name in files:
            default_storage.delete(f"{base}/{folder}/{name}")


def check_import(import_id: int, key: str | None = None) -> dict | None:
    """Read and prepare every row, without writing contacts; store the counts and samples
    for steps 4 and 5, and the prepared chunks for the run. Same code as the run."""
    imp = ContactImport.objects.select_related("company", "created_by").filter(pk=import_id).first()
    if imp is None or imp.status != ImportStatus.UPLOADED:
        return None
    chunk_rows = _chunk_rows()
    key = key or _check_key(imp, chunk_rows)
    if key != _check_key(imp, chunk_rows):
        return None  # the mapping changed since; a newer check was requested
    info = file_info(imp)
    total = _data_row_count(imp, info)
    result = {"key": key, "state": "running", "processed": 0, "total": total, "valid": 0, "errors": 0,
              "in_file_duplicates": 0, "existing": 0, "error_rows": [], "duplicate_rows": [], "existing_rows": []}
    background = total > int(settings.HERALD_IMPORT_SYNC_CHECK_ROWS)
    name = _work(imp, "check.json")
    folder = f"prep-{key}"
    _drop_folders(imp, keep=folder)
    try:
        plan = _plan(imp)
        dedupe = _Deduper()
        with imp.file.open("rb") as fh, memory.paused():
            readers.verify(fh, info)
            for start, rows, prepared in _prepared(imp, info, fh, plan, 0, chunk_rows, total):
                kept, accepted, errors, dups = dedupe.split(rows, prepared)
                _write_part(imp, folder, start, start + len(rows), None, errors, kept)
                existing = _existing_phones(imp.company_id, [r[0] for r in kept])
                result["processed"] += len(rows)
                result["valid"] += len(kept)
                result["errors"] += len(errors)
                result["in_file_duplicates"] += len(dups)
                result["existing"] += len(existing)
                room = CHECK_SAMPLE - len(result["error_rows"])
                if room > 0:
                    result["error_rows"] += [[n, _cells_text(c), why] for n, c, why in errors[:room]]
                room = DUPLICATE_SAMPLE - len(result["duplicate_rows"])
                if room > 0:
                    result["duplicate_rows"] += [list(d) for d in dups[:room]]
                room = DUPLICATE_SAMPLE - len(result["existing_rows"])
                if room > 0 and existing:
                    result["existing_rows"] += [[n, e] for n, e in accepted if e in existing][:room]
                if background:
                    if not ContactImport.objects.filter(pk=imp.pk, status=ImportStatus.UPLOADED).exists():
                        return None  # the import started without waiting: the run prepares the file itself
                    _write_json(name, result)
    except (readers.FileRefused, ValidationError) as exc:
        result.update(state="failed", message=_message(exc))
        _write_json(name, result)
        return result
    result["state"] = "done"
    _write_json(name, result)
    return result


def _message(exc) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def check_result(imp) -> dict | None:
    """The stored check for the import's current first row and mapping, or None."""
    data = _read_json(_work(imp, "check.json"))
    if not data or data.get("key") != _check_key(imp):
        return None
    return data


def check_counts(imp, check: dict | None = None) -> dict | None:
    """What the run would do with the current duplicates mode: to import (new + updated),
    skipped duplicates, errors."""
    check = check if check is not None else check_result(imp)
    if not check or check.get("state") != "done":
        return None
    valid, existing = check["valid"], check["existing"]
    new = valid - existing
    if imp.duplicate_mode == DuplicateMode.SKIP:
        return {"to_import": new, "new": new, "update": 0, "skipped": existing, "errors": check["errors"],
                "existing": existing, "in_file_duplicates": check["in_file_duplicates"], "total": check["total"]}
    return {"to_import": valid, "new": new, "update": existing, "skipped": 0, "errors": check["errors"],
            "existing": existing, "in_file_duplicates": check["in_file_duplicates"], "total": check["total"]}


# --- step 4: duplicates and tag -----------------------------------------------------------------------------

def set_duplicates(*, actor: Actor, imp, mode: str, tag: str = "") -> ContactImport:
    _editable(imp)
    if mode not in DuplicateMode.values:
        raise ValidationError({"duplicate_mode": _("Choose what to do with duplicates.")})
    tag = (tag or "").strip()
    tag_obj = tags_named(imp.company, [tag])[0] if tag else None
    imp.duplicate_mode = mode
    imp.tag = tag_obj
    imp.save(update_fields=["duplicate_mode", "tag"])
    return imp


# --- step 5: start, run ----------------------------------------------------------------------------------

def start_import(*, actor: Actor, imp) -> ContactImport:
    """Queue the import (once: a second click does nothing)."""
    if imp.status != ImportStatus.UPLOADED:
        return imp
    _plan(imp)  # the phone column is mapped
    info = file_info(imp)
    total = _data_row_count(imp, info)
    with transaction.atomic():
        changed = ContactImport.objects.filter(pk=imp.pk, status=ImportStatus.UPLOADED).update(
            status=ImportStatus.QUEUED, total_rows=total, processed_rows=0, created_count=0, updated_count=0,
            duplicate_count=0, error_count=0, error_message="")
        if not changed:
            imp.refresh_from_db()
            return imp
        _write_json(_work(imp, "run.json"), {"attempts": 0, "actor": {
            "user": getattr(actor.user, "pk", None), "api_access": getattr(actor.api_access, "pk", None),
            "ip": actor.ip}})
        from ..tasks import run_import as task

        transaction.on_commit(lambda: task.delay(imp.pk))
    imp.refresh_from_db()
    return imp


LEASE_NAMESPACE = 0x48524C44  # "HRLD": one worker runs an import
REPORT_NAMESPACE = 0x48524C45  # one process builds an import's error report


@contextmanager
def _lease(import_id: int, *, namespace: int = LEASE_NAMESPACE, wait: bool = False):
    """Held while one worker runs the import; released when the worker ends or dies. On
    PostgreSQL a session advisory lock, on SQLite (one machine) an flock on a file. Yields
    whether it is held (always True with ``wait``)."""
    if connection.vendor == "postgresql":
        key = (namespace << 32) | (import_id & 0xFFFFFFFF)
        with connection.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_lock(%s)", [key])
                held = True
            else:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
                held = cursor.fetchone()[0]
        try:
            yield held
        finally:
            if held:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    import fcntl

    fh = open(_lock_path(namespace, import_id), "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            held = True
        except OSError:
            held = False
        yield held
    finally:
        fh.close()  # releases the flock


def _lock_path(namespace: int, import_id: int) -> str:
    """The lock file of an import on SQLite: per database file under ``var/locks``; an
    in-memory database (tests) lives in one process, so its locks are per process."""
    if connection.is_in_memory_db():
        import tempfile

        folder = os.path.join(tempfile.gettempdir(), f"herald-locks-{os.getpid()}")
    else:
        folder = os.path.join(str(settings.VAR_DIR), "locks")
    os.makedirs(folder, exist_ok=True)
    db = hashlib.sha1(os.path.abspath(str(connection.settings_dict["NAME"])).encode()).hexdigest()[:8]
    return os.path.join(folder, f"contact-import-{db}-{namespace:x}-{import_id}.lock")


def _actor_for(imp) -> Actor:
    data = (_read_json(_work(imp, "run.json"), {}) or {}).get("actor") or {}
    user = imp.created_by if imp.created_by_id and imp.created_by_id == data.get("user") else None
    api_access = None
    if data.get("api_access"):
        from accounts.models import ApiAccess

        api_access = ApiAccess.objects.filter(pk=data["api_access"], company=imp.company).first()
    return Actor(user=user or (imp.created_by if not api_access else None), api_access=api_access,
                 ip=data.get("ip"), company=imp.company)


def _fail(imp, message: str) -> None:
    ContactImport.objects.filter(pk=imp.pk).update(status=ImportStatus.FAILED, error_message=message,
                                                   finished_at=timezone.now())
    imp.refresh_from_db()
    audit.record(_actor_for(imp), f"Contact import failed: {imp.original_name}"[:255],
                 [audit.Change(ContactImport._meta.db_table, AuditDetail.Operation.UPDATE, str(imp.pk), None,
                               {"status": imp.status, "error": message[:500]})], company=imp.company)


def run_import(import_id: int, *, chunk_rows: int | None = None) -> str:
    """Run (or resume) an import. Idempotent: a second worker, or a second delivery of the
    task, does nothing while the first holds the lease; an import left RUNNING by a dead
    worker continues from ``processed_rows``. Returns the final status."""
    with _lease(import_id) as held:
        if not held:
            return "busy"
        with transaction.atomic():
            imp = (ContactImport.objects.select_for_update(skip_locked=True, of=("self",))
                   .select_related("company", "created_by", "tag").filter(pk=import_id).first())
            if imp is None:
                return "busy"
            if imp.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
                return imp.status
            if imp.status == ImportStatus.QUEUED:
                imp.status, imp.started_at = ImportStatus.RUNNING, timezone.now()
                imp.save(update_fields=["status", "started_at"])
        run = _read_json(_work(imp, "run.json"), {}) or {}
        run["attempts"] = int(run.get("attempts", 0)) + 1
        _write_json(_work(imp, "run.json"), run)
        if run["attempts"] > MAX_RUN_ATTEMPTS:
            _fail(imp, _("The import stopped %(n)d times and was abandoned after %(rows)s of %(total)s rows; the "
                         "rows before that point were imported.")
                  % {"n": MAX_RUN_ATTEMPTS, "rows": f"{imp.processed_rows:,}", "total": f"{imp.total_rows:,}"})
            return imp.status
        return _run(imp, chunk_rows or int(settings.HERALD_IMPORT_CHUNK_ROWS))


def _run(imp, chunk_rows: int) -> str:
    # File-level checks again, before the first write (the file is the uploaded one, but a
    # limit may have changed, or the storage lost it).
    try:
        plan = _plan(imp)
        info = file_info(imp)
        fh = imp.file.open("rb")
    except (readers.FileRefused, ValidationError, FileNotFoundError, OSError, ValueError) as exc:
        _fail(imp, _message(exc) if not isinstance(exc, OSError) else _("The uploaded file is no longer available."))
        return imp.status
    run = _read_json(_work(imp, "run.json"), {}) or {}
    with fh:
        if imp.processed_rows == 0:
            try:
                readers.verify(fh, info)
            except readers.FileRefused as exc:
                _fail(imp, str(exc))
                return imp.status
        if not run.get("parts"):  # chosen once: a resumed run reads and writes the same parts
            key = _check_key(imp, chunk_rows)
            check = _read_json(_work(imp, "check.json"), {}) or {}
            run["parts"] = f"prep-{key}" if check.get("key") == key and check.get("state") == "done" else "run"
            _write_json(_work(imp, "run.json"), run)
        folder = run["parts"]
        merge = _merge_postgresql if connection.vendor == "postgresql" else _merge_sqlite
        mode, tag_id = imp.duplicate_mode, imp.tag_id
        began, waited, wrote, chunk_no, first = time.monotonic(), 0.0, 0.0, 0, imp.processed_rows
        if folder == "run":
            chunks = _prepare_chunks(imp, info, fh, plan, folder, chunk_rows)
        else:
            chunks = _prepared_parts(imp, folder)

        def write_chunk(item, chunk_no: int, wait=None) -> None:
            """One chunk in one transaction, committed with the checkpoint. ``wait`` (parallel
            writers) blocks until the previous chunk has committed, just before the checkpoint
            is written, so that committed chunks are always a prefix of the file."""
            start, end, kept, accepted, errors, write = item
            with transaction.atomic():
                created, matched = merge(imp.company_id, kept, mode, tag_id)
                if write:
                    _write_part(imp, folder, start, end, accepted, errors)
                if wait is not None:
                    with connection.cursor() as cursor:  # the deferred FK checks now, not in the ordered commit
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    wait()
                counters = {"processed_rows": end, "created_count": F("created_count") + created,
                            "error_count": F("error_count") + len(errors)}
                if mode == DuplicateMode.SKIP:
                    counters["duplicate_count"] = F("duplicate_count") + matched
                else:
                    counters["updated_count"] = F("updated_count") + matched
                ContactImport.objects.filter(pk=imp.pk, status=ImportStatus.RUNNING).update(**counters)
            if after_chunk_commit is not None:
                after_chunk_commit(imp.pk, chunk_no, end)

        writers = _writers(imp.total_rows - imp.processed_rows, chunk_rows)
        with translation.override(plan.language), memory.paused():
            if writers > 1:
                chunk_no, waited, wrote = _write_in_parallel(chunks, write_chunk, writers, plan.language)
            else:
                while True:
                    tick = time.monotonic()
                    item = next(chunks, None)
                    waited += time.monotonic() - tick
                    if item is None:
                        break
                    tick = time.monotonic()
                    chunk_no += 1
                    write_chunk(item, chunk_no)
                    wrote += time.monotonic() - tick
        log.info("contact import %s: rows %s on in %.1f s (%s chunks, %s writer(s); reading %s %.1f s, writing "
                 "%.1f s)", imp.pk, first, time.monotonic() - began, chunk_no, writers,
                 "and preparing" if folder == "run" else "prepared chunks", waited, wrote)
    with transaction.atomic():
        ContactImport.objects.filter(pk=imp.pk, status=ImportStatus.RUNNING).update(
            status=ImportStatus.DONE, finished_at=timezone.now(), total_rows=F("processed_rows"))
        imp.refresh_from_db()
        if connection.vendor == "postgresql" and imp.created_count + imp.updated_count >= ANALYZE_AFTER_ROWS:
            from ..tasks import refresh_statistics

            transaction.on_commit(lambda: refresh_statistics.delay(imp.pk))
        run["errors"] = import_errors(imp, CHECK_SAMPLE, from_parts=True)
        _write_json(_work(imp, "run.json"), run)
        summary = {"file": imp.original_name, "rows": imp.total_rows, "created": imp.created_count,
                   "updated": imp.updated_count, "skipped_duplicates": imp.duplicate_count,
                   "errors": imp.error_count, "duplicates": imp.duplicate_mode,
                   "tag": imp.tag.name if imp.tag else None}
        audit.record(_actor_for(imp), f"Imported contacts from {imp.original_name}"[:255],
                     [audit.Change(Contact._meta.db_table, AuditDetail.Operation.INSERT, f"import {imp.pk}", None,
                                   summary)], company=imp.company)
        if imp.error_count:
            from ..tasks import build_error_report as task

            transaction.on_commit(lambda: task.delay(imp.pk))
        else:
            transaction.on_commit(lambda: _drop_folders(imp))
    return imp.status


ANALYZE_AFTER_ROWS = 10_000


def refresh_statistics(import_id: int) -> None:
    """PostgreSQL, after a big import is DONE (a task: the user does not wait for it):
    ``ANALYZE`` the contacts and their tag links, so that the planner knows how many
    contacts the company now has. Autoanalyze waits for 10 % of the whole table to change;
    until then the planner took a company that had no contacts at the last analysis for one
    with a single row and read every contact of it through the ``(company_id)`` index for
    each chunk of the next import (measured at 1M: the enrich's check 25 → 72–78 s, its run
    20 → 49–53 s). ANALYZE reads a sample (~30,000 rows: 0.6–0.9 s on a 3M-row table here)
    and blocks no reader or writer."""
    if connection.vendor != "postgresql":
        return
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Contact._meta.db_table}, {ContactTag._meta.db_table}")
    log.info("contact import %s: statistics refreshed in %.2f s", import_id, time.monotonic() - started)


def _writers(rows: int, chunk_rows: int) -> int:
    """How many connections merge chunks at once: ``HERALD_IMPORT_WRITERS`` on PostgreSQL
    when the run has more than one chunk and is not inside a transaction (a test's, whose
    rows other connections cannot see); one otherwise (SQLite has one writer)."""
    writers = int(getattr(settings, "HERALD_IMPORT_WRITERS", 2))
    if writers < 2 or connection.vendor != "postgresql" or connection.in_atomic_block or rows <= chunk_rows:
        return 1
    return writers


class _Aborted(Exception):
    """A chunk before this one failed: this one rolls back."""


def _write_in_parallel(chunks, write_chunk, writers: int, language: str) -> tuple[int, float, float]:
    """Merge chunks on ``writers`` database connections at once (one thread each). Chunks
    never share a number (the in-file duplicate rule ran before), so they do not wait on
    each other's rows; each one commits after the chunk before it, with the checkpoint, so
    a crash leaves a committed prefix and the resume is exactly once as with one writer.
    When a chunk fails, the later ones roll back and the first error is raised. Returns
    (chunks, seconds waiting for chunks, seconds writing)."""
    import queue

    jobs: queue.Queue = queue.Queue(maxsize=writers)
    abort = threading.Event()
    failures: list = []

    def lane():
        try:
            with translation.override(language):
                while (job := jobs.get()) is not None:
                    item, number, turn, done = job
                    try:
                        if abort.is_set():
                            raise _Aborted

                        def wait(turn=turn):
                            turn.wait()
                            if abort.is_set():
                                raise _Aborted

                        write_chunk(item, number, wait)
                    except BaseException as exc:  # noqa: BLE001 — handed to the main thread
                        abort.set()
                        if not isinstance(exc, _Aborted):
                            failures.append((number, exc))
                    finally:
                        done.set()
        finally:
            connection.close()  # this thread's own connection (back to the pool)

    threads = [threading.Thread(target=lane, name=f"contact-import-writer-{i}", daemon=True) for i in range(writers)]
    for thread in threads:
        thread.start()
    number, waited, began = 0, 0.0, time.monotonic()
    previous = threading.Event()
    previous.set()
    try:
        while not abort.is_set():
            tick = time.monotonic()
            item = next(chunks, None)
            waited += time.monotonic() - tick
            if item is None:
                break
            number += 1
            done = threading.Event()
            jobs.put((item, number, previous, done))
            previous = done
    finally:
        for _thread in threads:
            jobs.put(None)
        for thread in threads:
            thread.join()
    if failures:
        raise min(failures, key=lambda f: f[0])[1]
    return number, waited, time.monotonic() - began - waited


def _prepare_chunks(imp, info, fh, plan: Plan, folder: str, chunk_rows: int):
    """Chunks prepared now from the file (no usable check). On resume, the in-file
    duplicate rule is rebuilt from the parts already committed."""
    dedupe = _Deduper()
    for part in _parts(imp, folder):
        for number, e164 in part["accepted"]:
            dedupe.add(number, e164)
    for start, rows, prepared in _prepared(imp, info, fh, plan, imp.processed_rows, chunk_rows, imp.total_rows):
        kept, accepted, errors, _dups = dedupe.split(rows, prepared)
        yield start, start + len(rows), kept, accepted, [[n, _cells_text(c), why] for n, c, why in errors], True


def _prepared_parts(imp, folder: str):
    """The check's prepared chunks, from the checkpoint on: the rows to write as the COPY
    text the check wrote (``part-<start>.copy``), so the run neither decodes JSON nor
    formats rows again; a part without one (written by an older check) gives its JSON rows."""
    base = f"imports/work/{imp.pk}/{folder}"
    _dirs, files = default_storage.listdir(base)
    names = set(files)
    for name in sorted(f for f in files if f.startswith("part-") and f.endswith(".json")):
        if int(name[5:15]) < imp.processed_rows:
            continue
        copy_name = name[:-5] + ".copy"
        if copy_name in names:
            try:
                with default_storage.open(f"{base}/{copy_name}", "rb") as fh:
                    head = json.loads(fh.readline())
                    data = fh.read()
            except (OSError, ValueError):
                raise FileNotFoundError(f"{base}/{copy_name}")
            yield head["start"], head["end"], CopyRows(data, head["rows"]), None, [None] * head["errors"], False
            continue
        part = _read_json(f"{base}/{name}")
        if part is None or "kept" not in part:
            raise FileNotFoundError(f"{base}/{name}")
        yield part["start"], part["end"], part["kept"], part.get("accepted"), part["errors"], False


def _write_part(imp, folder: str, start: int, end: int, accepted, errors, kept=None) -> None:
    """The chunk's rejected rows (``part-<start>.json``: error report) with, from the run,
    its accepted numbers (the in-file duplicate rule on resume) or, from the check, the rows
    to write as COPY text (``part-<start>.copy``)."""
    data = {"start": start, "end": end,
            "errors": [e if isinstance(e, list) else [e[0], _cells_text(e[1]), e[2]] for e in errors]}
    if accepted is not None:  # the run's own parts: the in-file duplicate rule is rebuilt from them on resume
        data["accepted"] = accepted
    base = f"imports/work/{imp.pk}/{folder}/part-{start:010d}"
    if kept is not None:
        head = json.dumps({"start": start, "end": end, "rows": len(kept), "errors": len(errors)})
        _write_bytes(f"{base}.copy", head.encode() + b"\n" + copy_text(kept))
    _write_json(f"{base}.json", data)


def _write_bytes(name: str, payload: bytes) -> None:
    if default_storage.exists(name):
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(payload))
    if saved != name:  # a concurrent writer won the name; keep one file
        default_storage.delete(saved)


def _parts(imp, folder: str | None = None):
    """The committed parts of the run (those before ``processed_rows``), in order."""
    if folder is None:
        folder = (_read_json(_work(imp, "run.json"), {}) or {}).get("parts")
        if not folder:
            return
    base = f"imports/work/{imp.pk}/{folder}"
    try:
        _dirs, files = default_storage.listdir(base)
    except (FileNotFoundError, OSError):
        return
    for name in sorted(f for f in files if f.startswith("part-") and f.endswith(".json")):
        if int(name[5:15]) >= imp.processed_rows:
            continue
        data = _read_json(f"{base}/{name}")
        if data:
            yield data


# --- the merge: one per database, same SQL shape ----------------------------------------------------------

STAGE = "herald_import_stage"


class CopyRows:
    """Prepared rows as PostgreSQL COPY text (``phone TAB country TAB mno TAB attributes``
    per line), as the check stores them for the run."""

    __slots__ = ("data", "count")

    def __init__(self, data: bytes, count: int):
        self.data, self.count = data, count

    def __len__(self):
        return self.count

    def rows(self) -> list:
        """Back to ``(phone, country, mno, attributes)`` tuples (the SQLite merge)."""
        out = []
        for line in self.data.decode("utf-8").split("\n"):
            if line:
                out.append(tuple(_COPY_UNESCAPE.sub(_copy_unescape, field) for field in line.split("\t")))
        return out


_COPY_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_UNESCAPE = re.compile(r"\\(.)")
_COPY_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def _copy_unescape(match) -> str:
    return _COPY_UNESCAPES.get(match.group(1), match.group(1))


def _copy_field(value: str) -> str:
    if _COPY_SPECIAL.search(value):
        return _COPY_SPECIAL.sub(lambda m: _COPY_ESCAPES[m.group(0)], value)
    return value


def copy_text(rows) -> bytes:
    """``(phone, country, mno, attributes)`` rows as COPY text (no NULLs: every field is a
    string). The phone and country are digits and letters; the operator's name and the
    attributes' JSON are escaped (JSON text holds backslashes, never a raw tab or newline)."""
    field = _copy_field
    return "".join([f"{phone}\t{country}\t{field(mno) if mno else ''}\t{field(attrs)}\n"
                    for phone, country, mno, attrs in rows]).encode("utf-8")


def _merge_postgresql(company_id: int, rows, mode: str, tag_id: int | None) -> tuple[int, int]:
    """COPY the chunk into a TEMP table, then merge it set-wise. Returns (created, matched)."""
    if not rows:
        return 0, 0
    contacts, links = Contact._meta.db_table, ContactTag._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (phone varchar(16), country varchar(2), "
                       f"mno varchar(80), attributes jsonb)")
        cursor.execute(f"TRUNCATE {STAGE}")
        with cursor.copy(f"COPY {STAGE} (phone, country, mno, attributes) FROM STDIN") as copy:
            if isinstance(rows, CopyRows):
                copy.write(rows.data)
            else:
                for rec in rows:
                    copy.write_row(rec)
        insert = (f"INSERT INTO {contacts} AS c (company_id, phone, country, mno, attributes, wechat_id, created_at, "
                  f"updated_at) SELECT %s, s.phone, s.country, s.mno, s.attributes, '', %s, %s FROM {STAGE} s ")
        if mode == DuplicateMode.SKIP:
            cursor.execute(
                f"WITH ins AS ({insert} ON CONFLICT (company_id, phone) DO NOTHING RETURNING c.id), "
                f"tagged AS (INSERT INTO {links} (contact_id, tag_id) SELECT id, %s FROM ins WHERE %s IS NOT NULL "
                f"ON CONFLICT (contact_id, tag_id) DO NOTHING) SELECT count(*) FROM ins",
                [company_id, now, now, tag_id, tag_id])
            created = cursor.fetchone()[0]
            return created, len(rows) - created
        merged = "c.attributes || EXCLUDED.attributes" if mode == DuplicateMode.OVERRIDE else \
            "EXCLUDED.attributes || c.attributes"
        cursor.execute(
            f"WITH up AS ({insert} ON CONFLICT (company_id, phone) DO UPDATE SET attributes = {merged}, "
            f"updated_at = EXCLUDED.updated_at WHERE ({merged}) IS DISTINCT FROM c.attributes "
            f"RETURNING (c.xmax = 0) AS inserted) SELECT count(*) FROM up WHERE inserted",
            [company_id, now, now])
        created = cursor.fetchone()[0]
        if tag_id is not None:
            cursor.execute(f"INSERT INTO {links} (contact_id, tag_id) SELECT c.id, %s FROM {STAGE} s "
                           f"JOIN {contacts} c ON c.company_id = %s AND c.phone = s.phone "
                           f"ON CONFLICT (contact_id, tag_id) DO NOTHING", [tag_id, company_id])
        cursor.execute(f"TRUNCATE {STAGE}")
    return created, len(rows) - created


def _merge_sqlite(company_id: int, rows, mode: str, tag_id: int | None) -> tuple[int, int]:
    """The same merge on SQLite: a TEMP table filled with executemany, upsert with
    ``json_patch``. Returns (created, matched)."""
    if not rows:
        return 0, 0
    if isinstance(rows, CopyRows):
        rows = rows.rows()
    contacts, links = Contact._meta.db_table, ContactTag._meta.db_table
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (phone TEXT PRIMARY KEY, country TEXT, mno TEXT, "
                       f"attributes TEXT)")
        cursor.execute(f"DELETE FROM {STAGE}")
        cursor.executemany(f"INSERT INTO {STAGE} (phone, country, mno, attributes) VALUES (%s, %s, %s, %s)",
                           rows)
        cursor.execute(f"SELECT count(*) FROM {STAGE} s JOIN {contacts} c ON c.company_id = %s AND c.phone = s.phone",
                       [company_id])
        matched = cursor.fetchone()[0]
        insert = (f"INSERT INTO {contacts} (company_id, phone, country, mno, attributes, wechat_id, created_at, "
                  f"updated_at) SELECT %s, s.phone, s.country, s.mno, s.attributes, '', %s, %s FROM {STAGE} s WHERE 1 ")
        if mode == DuplicateMode.SKIP:
            if tag_id is not None:  # only the new contacts get the tag: mark them before inserting
                cursor.execute(f"DELETE FROM {STAGE} WHERE phone IN (SELECT phone FROM {contacts} "
                               f"WHERE company_id = %s AND phone IN (SELECT phone FROM {STAGE}))", [company_id])
            cursor.execute(insert + "ON CONFLICT (company_id, phone) DO NOTHING", [company_id, now, now])
        else:
            merged = (f"json_patch({contacts}.attributes, excluded.attributes)" if mode == DuplicateMode.OVERRIDE
                      else f"json_patch(excluded.attributes, {contacts}.attributes)")
            cursor.execute(insert + f"ON CONFLICT (company_id, phone) DO UPDATE SET attributes = {merged}, "
                           f"updated_at = excluded.updated_at", [company_id, now, now])
        if tag_id is not None:
            cursor.execute(f"INSERT INTO {links} (contact_id, tag_id) SELECT c.id, %s FROM {STAGE} s "
                           f"JOIN {contacts} c ON c.company_id = %s AND c.phone = s.phone "
                           f"ON CONFLICT (contact_id, tag_id) DO NOTHING", [tag_id, company_id])
        cursor.execute(f"DELETE FROM {STAGE}")
    return len(rows) - matched, matched


# --- progress, results, error report -----------------------------------------------------------------------

def import_status(imp) -> dict:
    """The progress and the summary, as the status partial and the API show them."""
    return {
        "id": imp.pk, "status": imp.status, "status_label": str(imp.get_status_display()),
        "file": imp.original_name, "kind": imp.kind, "total_rows": imp.total_rows,
        "processed_rows": imp.processed_rows, "percent": imp.progress_percent,
        "created": imp.created_count, "updated": imp.updated_count, "skipped_duplicates": imp.duplicate_count,
        "errors": imp.error_count, "error_message": imp.error_message,
        "duplicate_mode": imp.duplicate_mode, "tag": imp.tag.name if imp.tag_id and imp.tag else None,
        "finished": imp.status in (ImportStatus.DONE, ImportStatus.FAILED),
        "started_at": imp.started_at, "finished_at": imp.finished_at,
    }


def import_errors(imp, limit: int = CHECK_SAMPLE, *, from_parts: bool = False) -> list:
    """The first rejected rows of a run: ``[[row, [cells], reason], ...]``."""
    if not from_parts:
        kept = (_read_json(_work(imp, "run.json"), {}) or {}).get("errors")
        if kept is not None:
            return kept[:limit]
    out = []
    for part in _parts(imp):
        for item in part["errors"]:
            out.append(item)
            if len(out) >= limit:
                return out
    return out


def _report_header(imp, width: int) -> list:
    info = file_info(imp)
    header = _header_row(info, imp.first_row)
    names = [(header[i] if header and i < len(header) and header[i].strip() else readers.column_letter(i))
             for i in range(width)]
    return names


def error_report(imp, *, cleanup: bool = False):
    """The rejected rows as XLSX (the file's columns + "Error" + "Row"), built once from
    the run's work files (by a task right after the run, or by the first download) and
    kept. Returns the FieldFile, or None when the run rejected nothing or has not finished."""
    if imp.status != ImportStatus.DONE or not imp.error_count:
        return None
    with _lease(imp.pk, namespace=REPORT_NAMESPACE, wait=True):
        imp.refresh_from_db(fields=["error_report"])
        if not (imp.error_report and default_storage.exists(imp.error_report.name)):
            _build_report(imp)
        if cleanup:
            _drop_folders(imp)
    return imp.error_report


_NUMBER_LIKE = re.compile(r"^[+-]?[\d\s().\-/]*$")


def _build_report(imp) -> None:
    import tempfile

    from openpyxl import Workbook

    from portal.tables import escape_formula

    width = max(file_info(imp).columns, 1)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title="Rejected rows")
    ws.append(_report_header(imp, width) + [_("Error"), _("Row")])
    def safe(cell):  # a phone number such as +34 612 345 678 is no formula: keep it as typed
        return cell if _NUMBER_LIKE.match(cell) else escape_formula(cell)

    for part in _parts(imp):
        for number, cells, why in part["errors"]:
            cells = cells[:width] + [""] * (width - len(cells))
            ws.append([safe(c) for c in cells] + [why, number])
    with tempfile.TemporaryFile(suffix=".xlsx") as tmp:
        wb.save(tmp)
        tmp.seek(0)
        stem = get_valid_filename(os.path.splitext(imp.original_name)[0])[:60] or "contacts"
        imp.error_report.save(f"{stem}-rejected-rows.xlsx", File(tmp), save=False)
    ContactImport.objects.filter(pk=imp.pk).update(error_report=imp.error_report.name)


def resume_if_stalled(imp) -> bool:
    """An import left RUNNING by a worker that died (nobody holds its lease) is queued
    again; the run resumes from its checkpoint. Called by the status poll."""
    if imp.status != ImportStatus.RUNNING:
        return False
    with _lease(imp.pk) as held:
        if not held:
            return False
        if not ContactImport.objects.filter(pk=imp.pk, status=ImportStatus.RUNNING).exists():
            return False
    from ..tasks import run_import as task

    log.warning("contact import %s: no worker holds it; queued again from row %s", imp.pk, imp.processed_rows)
    transaction.on_commit(lambda: task.delay(imp.pk))
    return True
