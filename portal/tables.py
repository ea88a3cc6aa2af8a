"""The data table: one component for every list page of the product (spec §0.3).

A :class:`Table` subclass declares its columns. Given a request and a company-scoped
queryset, it

* filters with django-filter: for each filterable column ``<key>`` (*By value*: a
  substring for text, the value for numbers, the day for dates), ``<key>__empty=true``
  (*Empty value*), ``<key>__empty=false`` (*Non-empty values*) and, for numbers and
  dates, ``<key>__min`` / ``<key>__max`` (*By range*). Several filters combine with AND;
* sorts by ``sort=<key>`` or ``sort=-<key>`` (a header click sorts descending first);
* paginates (``page``, ``per_page``) and renders "Rows 1-100 of N";
* shows the columns the user saved (*Columns to show*), else the defaults;
* exports the filtered, sorted rows (all pages) to CSV or XLSX (``export=csv|xlsx``),
  streamed, with cells that start with ``= + - @`` or a tab escaped against formula
  injection.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any
from urllib.parse import urlencode

import django_filters
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

TEXT, NUMBER, DATE, BOOL = "text", "number", "date", "bool"
PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 100
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def format_datetime(value) -> str:
    """The product's date format: DD.MM.YYYY HH:MM:SS (spec §0.3), in the active time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%d.%m.%Y %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def escape_formula(value: Any) -> Any:
    """Spreadsheet-safe cell: text starting with a formula character gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


@dataclass
class Column:
    key: str
    label: str
    field: str | None = None  # ORM path used to sort and filter; None = neither
    kind: str = TEXT
    default: bool = True
    sortable: bool = True
    filterable: bool = True
    accessor: Callable[[Any], Any] | None = None  # value for display and export
    html: Callable[[Any], str] | None = None  # safe HTML for the page, when richer than the value
    choices: list[tuple[str, str]] = dc_field(default_factory=list)

    def value(self, obj):
        if self.accessor is not None:
            return self.accessor(obj)
        value = obj
        for part in (self.field or self.key).split("__"):
            value = getattr(value, part, None)
            if value is None:
                return None
        return value

    def display(self, obj) -> str:
        if self.html is not None:
            return self.html(obj)
        value = self.value(obj)
        if isinstance(value, (datetime.date, datetime.datetime)):
            return format_datetime(value)
        if isinstance(value, bool):
            return str(_("Yes") if value else _("No"))
        return "" if value is None else str(value)

    def export_value(self, obj):
        value = self.value(obj)
        if isinstance(value, (datetime.date, datetime.datetime)):
            return format_datetime(value)
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, (list, tuple, set)):
            return ", ".join(str(v) for v in value)
        if isinstance(value, (int, float, decimal.Decimal)) or value is None:
            return value
        return escape_formula(str(value))

    @property
    def can_filter(self) -> bool:
        return self.filterable and self.field is not None

    @property
    def can_sort(self) -> bool:
        return self.sortable and self.field is not None


class TableRegistry(dict):
    def register(self, table_cls):
        self[table_cls.key] = table_cls
        return table_cls


registry = TableRegistry()


def _empty_q(field_path: str, kind: str) -> Q:
    q = Q(**{f"{field_path}__isnull": True})
    if kind == TEXT:
        q |= Q(**{field_path: ""})
    return q


def build_filterset(table_cls, model):
    """A django-filter FilterSet with the four filter modes for every filterable column."""
    attrs: dict[str, Any] = {}
    for col in table_cls.columns:
        if not col.can_filter:
            continue
        path = col.field
        if col.kind == TEXT:
            attrs[col.key] = django_filters.CharFilter(field_name=path, lookup_expr="icontains", distinct=True)
        elif col.kind == NUMBER:
            attrs[col.key] = django_filters.NumberFilter(field_name=path)
            attrs[f"{col.key}__min"] = django_filters.NumberFilter(field_name=path, lookup_expr="gte")
            attrs[f"{col.key}__max"] = django_filters.NumberFilter(field_name=path, lookup_expr="lte")
        elif col.kind == DATE:
            attrs[col.key] = django_filters.DateFilter(field_name=path, lookup_expr="date")
            attrs[f"{col.key}__min"] = django_filters.DateFilter(field_name=path, lookup_expr="date__gte")
            attrs[f"{col.key}__max"] = django_filters.DateFilter(field_name=path, lookup_expr="date__lte")
        elif col.kind == BOOL:
            attrs[col.key] = django_filters.BooleanFilter(field_name=path)

        def _empty(queryset, name, value, _path=path, _kind=col.kind):
            q = _empty_q(_path, _kind)
            return queryset.filter(q) if value else queryset.exclude(q)

        if col.kind != BOOL:
            attrs[f"{col.key}__empty"] = django_filters.BooleanFilter(method=_empty)
    meta = type("Meta", (), {"model": model, "fields": []})
    return type(f"{table_cls.__name__}FilterSet", (django_filters.FilterSet,), {**attrs, "Meta": meta})


class Table:
    """Subclass per list page: set ``key``, ``columns`` and ``default_sort``."""

    key: str = ""
    columns: list[Column] = []
    default_sort: str = ""
    row_actions_template: str | None = None
    row_template: str | None = None  # optional extra row (e.g. expandable details)
    export_permission = "export_entities"
    export_name: str = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.key:
            registry.register(cls)

    @classmethod
    def column_keys(cls) -> list[str]:
        return [c.key for c in cls.columns]

    def __init__(self, request, queryset, *, extra_context: dict | None = None):
        self.request = request
        self.params = request.GET
        self.base_queryset = queryset
        self.extra_context = extra_context or {}
        self.by_key = {c.key: c for c in self.columns}
        self.filterset = build_filterset(type(self), queryset.model)(self._filter_params(), queryset=queryset)
        if self.filterset.is_valid():
            self.queryset = self.filterset.qs
            self.filter_errors = {}
        else:
            self.queryset = queryset.none()
            self.filter_errors = {k: [str(e) for e in v] for k, v in self.filterset.errors.items()}
        self.sort = self._sort_key()
        self.queryset = self._ordered(self.queryset)

    # -- parameters ------------------------------------------------------------------------
    def _filter_params(self):
        return {k: v for k, v in self.params.items() if k.split("__")[0] in self.by_key and v != ""}

    def _sort_key(self) -> str:
        raw = self.params.get("sort") or self.default_sort
        col = self.by_key.get(raw.lstrip("-"))
        if col is None or not col.can_sort:
            raw = self.default_sort
        return raw

    def _ordered(self, qs):
        if not self.sort:
            return qs
        col = self.by_key[self.sort.lstrip("-")]
        desc = self.sort.startswith("-")
        expr = qs.model._meta.pk.name
        order = [f"{'-' if desc else ''}{col.field}", f"{'-' if desc else ''}{expr}"]
        return qs.order_by(*order)

    def visible_columns(self) -> list[Column]:
        from accounts.models import TablePreference

        saved = None
        user = getattr(self.request, "user", None)
        if user is not None and user.is_authenticated:
            pref = TablePreference.objects.filter(user=user, table=self.key).first()
            saved = pref.columns if pref else None
        if saved:
            chosen = [self.by_key[k] for k in saved if k in self.by_key]
            if chosen:
                return chosen
        return [c for c in self.columns if c.default]

    def active_filters(self) -> list[dict]:
        """The applied filters as chips: label, text and the URL without this filter."""
        chips = []
        for name, value in self._filter_params().items():
            key, _sep, mode = name.partition("__")
            col = self.by_key[key]
            if mode == "empty":
                text = _("Empty value") if value.lower() in ("true", "2") else _("Non-empty values")
            elif mode == "min":
                text = f"≥ {value}"
            elif mode == "max":
                text = f"≤ {value}"
            else:
                text = f"“{value}”"
            chips.append({"param": name, "label": col.label, "text": text, "remove_url": self.url(drop=[name])})
        return chips

    def url(self, drop=(), **changes) -> str:
        params = {k: v for k, v in self.params.items() if k not in drop and k != "export"}
        for k, v in changes.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = v
        return "?" + urlencode(params)

    def sort_url(self, col: Column) -> str:
        # first click: descending; the next: ascending (spec §0.3)
        new = col.key if self.sort == f"-{col.key}" else f"-{col.key}"
        return self.url(sort=new, page=None)

    # -- page ------------------------------------------------------------------------------
    def page_size(self) -> int:
        try:
            size = int(self.params.get("per_page", DEFAULT_PAGE_SIZE))
        except ValueError:
            size = DEFAULT_PAGE_SIZE
        return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE

    def page(self):
        paginator = Paginator(self.queryset, self.page_size())
        return paginator.get_page(self.params.get("page"))

    def context(self) -> dict:
        page = self.page()
        visible = self.visible_columns()
        rows = [{"obj": obj, "cells": [(c, c.display(obj)) for c in visible]} for obj in page.object_list]
        filter_columns = [
            {"key": c.key, "label": str(c.label), "kind": c.kind} for c in self.columns if c.can_filter]
        user = self.request.user
        return {
            "table": self,
            "filter_columns_json": _json_attr(filter_columns),
            "visible_keys_json": _json_attr([c.key for c in visible]),
            "page": page,
            "rows": rows,
            "visible": visible,
            "visible_keys": [c.key for c in visible],
            "all_columns": self.columns,
            "filter_columns": filter_columns,
            "chips": self.active_filters(),
            "filter_errors": self.filter_errors,
            "page_sizes": PAGE_SIZES,
            "can_export": user.has_permission(self.export_permission),
            "first_row": page.start_index(),
            "last_row": page.end_index(),
            "total": page.paginator.count,
            **self.extra_context,
        }

    def render(self) -> str:
        return render_to_string("components/datatable.html", self.context(), request=self.request)

    # -- export ----------------------------------------------------------------------------
    def export(self, fmt: str):
        if not self.request.user.has_permission(self.export_permission):
            raise PermissionDenied
        columns = self.visible_columns()
        header = [str(c.label) for c in columns]
        name = f"{self.export_name or slugify(self.key)}-{timezone.now():%Y%m%d-%H%M%S}"
        rows = ([c.export_value(obj) for c in columns] for obj in self.queryset.iterator(chunk_size=2000))
        if fmt == "xlsx":
            return xlsx_response(name, header, rows)
        return csv_response(name, header, rows)


def _json_attr(data) -> str:
    """JSON for an Alpine x-data attribute (HTML-escaped, so quotes cannot break out)."""
    import json

    from django.utils.html import escape

    return escape(json.dumps(data))


class _Echo:
    def write(self, value):
        return value


def csv_response(name: str, header: list[str], rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def stream():
        yield "\ufeff"  # BOM so spreadsheet programs read UTF-8
        yield writer.writerow([escape_formula(h) for h in header])
        for row in rows:
            yield writer.writerow(["" if v is None else escape_formula(v) for v in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def xlsx_response(name: str, header: list[str], rows) -> FileResponse:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=name[:31] or "export")
    ws.append(header)
    for row in rows:
        ws.append([escape_formula(v) for v in row])
    tmp = tempfile.TemporaryFile(suffix=".xlsx")
    wb.save(tmp)
    tmp.seek(0)
    return FileResponse(tmp, as_attachment=True, filename=f"{name}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
