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

Generic options for richer pages (all off by default):

* ``Column(json=True)``: ``field`` is a key inside a JSON field (``attributes__city``);
  filters and sorting use JSON key lookups and *Empty value* means "the key is absent";
* ``Column(filter_q=...)``: a function ``(mode, value) -> Q`` for a column whose filter is
  not a lookup on one ORM path (e.g. an ``Exists`` over a to-many relation);
* per-request columns: override :meth:`Table.get_columns` (and
  :meth:`Table.allowed_column_keys` so *Columns to show* accepts them);
* ``selectable``: a checkbox per row and one for the page (``data-select-row`` /
  ``data-select-page``), for pages that act on a selection;
* :meth:`Table.prepare_rows`: one call per page, and per export chunk, to compute values
  for many rows at once (never one query per row);
* ``count_limit``: count at most this many rows for the footer (an exact COUNT over
  millions of filtered rows is the slowest part of a page); beyond it the footer says
  "more than N".

CSV exports on PostgreSQL run as one ``COPY (SELECT …) TO STDOUT`` when every exported
column has an SQL form (hundreds of thousands of rows per second instead of tens of
thousands through model instances): plain fields and JSON keys get theirs automatically
(text, numbers, ``DD.MM.YYYY HH:MM:SS`` in the active time zone, Yes / No, formula
escaping); a computed column gives one with ``Column(sql=...)``, a function of the table
returning an ORM expression. Otherwise, and for XLSX, rows go through Python.
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
from django.core.exceptions import EmptyResultSet, PermissionDenied
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateField,
    DateTimeField,
    F,
    Func,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.constants import LOOKUP_SEP
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.http import FileResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.functional import cached_property
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


class Verbatim(str):
    """Exported text that is harmless by construction (e.g. a validated E.164 number):
    not quoted against formulas, so a re-import reads it back as it was."""


def escape_formula(value: Any) -> Any:
    """Spreadsheet-safe cell: text starting with a formula character gets a leading quote."""
    if isinstance(value, Verbatim):
        return value
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
    json: bool = False  # ``field`` is ``<json field>__<key>``: JSON key lookups, empty = key absent
    filter_q: Callable[[str, Any], Q] | None = None  # custom filter: (mode, value) -> Q; modes below
    escape: bool = True  # False: values are validated harmless text (no formula quoting on export)
    sql: Callable[[Any], Any] | None = None  # (table) -> ORM expression of the exported text (COPY export)

    def value(self, obj):
        if self.accessor is not None:
            return self.accessor(obj)
        if self.json and self.field:
            json_field, _sep, key = self.field.partition(LOOKUP_SEP)
            data = getattr(obj, json_field, None)
            return data.get(key) if isinstance(data, dict) else None
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
        if not self.escape:
            return Verbatim(value)
        return escape_formula(str(value))

    @property
    def can_filter(self) -> bool:
        return self.filterable and (self.field is not None or self.filter_q is not None)

    @property
    def can_sort(self) -> bool:
        return self.sortable and self.field is not None


class TableRegistry(dict):
    def register(self, table_cls):
        self[table_cls.key] = table_cls
        return table_cls


registry = TableRegistry()


FILTER_MODES = ("min", "max", "empty")  # parameter suffixes: ``<key>__min`` …


def _empty_q(field_path: str, kind: str) -> Q:
    q = Q(**{f"{field_path}__isnull": True})
    if kind == TEXT:
        q |= Q(**{field_path: ""})
    return q


def _json_empty_q(field_path: str) -> Q:
    json_field, _sep, key = field_path.partition(LOOKUP_SEP)
    return ~Q(**{f"{json_field}__has_key": key})


def _to_many(model, path: str) -> bool:
    """Whether the ORM path crosses a to-many relation (then a filter needs DISTINCT)."""
    for part in path.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except Exception:  # a transform or lookup: the path's fields are behind us
            return False
        if field.many_to_many or field.one_to_many:
            return True
        if not field.is_relation:
            return False
        model = field.related_model
    return False


def _json_number(value):
    """A form number (Decimal) as a JSON number (int when integral)."""
    if value is None:
        return None
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _lookup_filter(path: str, lookup: str, convert=None):
    def method(queryset, name, value):
        if value in (None, ""):
            return queryset
        return queryset.filter(**{f"{path}__{lookup}" if lookup else path: convert(value) if convert else value})
    return method


def _custom_filter(col: Column, mode: str):
    def method(queryset, name, value):
        if value in (None, ""):
            return queryset
        return queryset.filter(col.filter_q(mode, value))
    return method


def _filter_class(kind: str):
    return {NUMBER: django_filters.NumberFilter, DATE: django_filters.DateFilter,
            BOOL: django_filters.BooleanFilter}.get(kind, django_filters.CharFilter)


def build_filterset(table, model):
    """A django-filter FilterSet with the four filter modes for every filterable column of
    ``table`` (a Table class or instance: per-request columns are honoured)."""
    attrs: dict[str, Any] = {}
    for col in table.columns:
        if not col.can_filter:
            continue
        path = col.field
        ranged = col.kind in (NUMBER, DATE)
        if col.filter_q is not None:
            cls = _filter_class(col.kind)
            attrs[col.key] = cls(method=_custom_filter(col, "value"))
            if ranged:
                attrs[f"{col.key}__min"] = cls(method=_custom_filter(col, "min"))
                attrs[f"{col.key}__max"] = cls(method=_custom_filter(col, "max"))
            attrs[f"{col.key}__empty"] = django_filters.BooleanFilter(method=_custom_filter(col, "empty"))
            continue
        if col.json:
            # JSON values: numbers are JSON numbers, dates ISO strings (which sort as dates).
            if col.kind == TEXT:
                attrs[col.key] = django_filters.CharFilter(method=_lookup_filter(path, "icontains"))
            elif col.kind == NUMBER:
                attrs[col.key] = django_filters.NumberFilter(method=_lookup_filter(path, "", _json_number))
                attrs[f"{col.key}__min"] = django_filters.NumberFilter(method=_lookup_filter(path, "gte", _json_number))
                attrs[f"{col.key}__max"] = django_filters.NumberFilter(method=_lookup_filter(path, "lte", _json_number))
            elif col.kind == DATE:
                iso = datetime.date.isoformat
                attrs[col.key] = django_filters.DateFilter(method=_lookup_filter(path, "", iso))
                attrs[f"{col.key}__min"] = django_filters.DateFilter(method=_lookup_filter(path, "gte", iso))
                attrs[f"{col.key}__max"] = django_filters.DateFilter(method=_lookup_filter(path, "lte", iso))
            elif col.kind == BOOL:
                attrs[col.key] = django_filters.BooleanFilter(method=_lookup_filter(path, ""))

            def _json_empty(queryset, name, value, _path=path):
                if value is None:
                    return queryset
                q = _json_empty_q(_path)
                return queryset.filter(q) if value else queryset.exclude(q)

            attrs[f"{col.key}__empty"] = django_filters.BooleanFilter(method=_json_empty)
            continue
        # DISTINCT only when the path crosses a to-many relation: on a big table it is costly.
        distinct = _to_many(model, path)
        if col.kind == TEXT:
            attrs[col.key] = django_filters.CharFilter(field_name=path, lookup_expr="icontains", distinct=distinct)
        elif col.kind == NUMBER:
            attrs[col.key] = django_filters.NumberFilter(field_name=path, distinct=distinct)
            attrs[f"{col.key}__min"] = django_filters.NumberFilter(field_name=path, lookup_expr="gte",
                                                                   distinct=distinct)
            attrs[f"{col.key}__max"] = django_filters.NumberFilter(field_name=path, lookup_expr="lte",
                                                                   distinct=distinct)
        elif col.kind == DATE:
            attrs[col.key] = django_filters.DateFilter(field_name=path, lookup_expr="date", distinct=distinct)
            attrs[f"{col.key}__min"] = django_filters.DateFilter(field_name=path, lookup_expr="date__gte",
                                                                 distinct=distinct)
            attrs[f"{col.key}__max"] = django_filters.DateFilter(field_name=path, lookup_expr="date__lte",
                                                                 distinct=distinct)
        elif col.kind == BOOL:
            attrs[col.key] = django_filters.BooleanFilter(field_name=path, distinct=distinct)

        def _empty(queryset, name, value, _path=path, _kind=col.kind, _distinct=distinct):
            if value is None:
                return queryset
            q = _empty_q(_path, _kind)
            queryset = queryset.filter(q) if value else queryset.exclude(q)
            return queryset.distinct() if _distinct else queryset

        if col.kind != BOOL:
            attrs[f"{col.key}__empty"] = django_filters.BooleanFilter(method=_empty)
    meta = type("Meta", (), {"model": model, "fields": []})
    name = table.__name__ if isinstance(table, type) else type(table).__name__
    return type(f"{name}FilterSet", (django_filters.FilterSet,), {**attrs, "Meta": meta})


class LimitedCountPaginator(Paginator):
    """Counts at most ``limit`` rows (``SELECT COUNT(*) FROM (… LIMIT limit+1)``): on a
    big filtered table the exact count costs more than the page itself. When there are
    more, ``capped`` is set and paging stops at ``limit`` rows (narrow the filters)."""

    def __init__(self, *args, limit: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = limit
        self.capped = False

    @cached_property
    def count(self):
        n = self.object_list.order_by()[: self.limit + 1].count()
        if n > self.limit:
            self.capped = True
            return self.limit
        return n


class Table:
    """Subclass per list page: set ``key``, ``columns`` and ``default_sort``."""

    key: str = ""
    columns: list[Column] = []
    default_sort: str = ""
    row_actions_template: str | None = None
    row_template: str | None = None  # optional extra row (e.g. expandable details)
    export_permission = "export_entities"
    export_name: str = ""
    selectable: bool = False  # a checkbox per row (see the module docstring)
    count_limit: int | None = None  # count at most this many rows for the footer
    export_chunk_size = 2000

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.key:
            registry.register(cls)

    @classmethod
    def column_keys(cls) -> list[str]:
        return [c.key for c in cls.columns]

    @classmethod
    def allowed_column_keys(cls, user) -> list[str]:
        """The column keys *Columns to show* may save for ``user`` (override with
        :meth:`get_columns` when the columns depend on the user's company)."""
        return cls.column_keys()

    def get_columns(self) -> list[Column]:
        """This request's columns; the class's ``columns`` unless overridden."""
        return list(type(self).columns)

    def __init__(self, request, queryset, *, extra_context: dict | None = None):
        self.request = request
        self.params = request.GET
        self.base_queryset = queryset
        self.extra_context = extra_context or {}
        self.columns = self.get_columns()
        self.by_key = {c.key: c for c in self.columns}
        self.filterset = build_filterset(self, queryset.model)(self._filter_params(), queryset=queryset)
        if self.filterset.is_valid():
            self.queryset = self.filterset.qs
            self.filter_errors = {}
        else:
            self.queryset = queryset.none()
            self.filter_errors = {k: [str(e) for e in v] for k, v in self.filterset.errors.items()}
        self.sort = self._sort_key()
        self.queryset = self._ordered(self.queryset)

    # -- parameters ------------------------------------------------------------------------
    def split_param(self, name: str) -> tuple[str, str] | None:
        """``(column key, mode)`` of a filter parameter (mode ``""``, ``min``, ``max`` or
        ``empty``), or None. Column keys may themselves contain ``__``."""
        col = self.by_key.get(name)
        if col is not None and col.can_filter:
            return name, ""
        key, _sep, mode = name.rpartition("__")
        col = self.by_key.get(key)
        if col is not None and col.can_filter and mode in FILTER_MODES:
            return key, mode
        return None

    def _filter_params(self):
        return {k: v for k, v in self.params.items() if v != "" and self.split_param(k) is not None}

    def has_filters(self) -> bool:
        return bool(self._filter_params())

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
            key, mode = self.split_param(name)
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

    def paginator(self):
        if self.count_limit:
            return LimitedCountPaginator(self.queryset, self.page_size(), limit=self.count_limit)
        return Paginator(self.queryset, self.page_size())

    def page(self):
        return self.paginator().get_page(self.params.get("page"))

    def prepare_rows(self, objs: list) -> None:
        """Compute, for these rows at once, what their cells need (one call per page and
        per export chunk). Default: nothing."""

    def context(self) -> dict:
        page = self.page()
        visible = self.visible_columns()
        objs = list(page.object_list)
        self.prepare_rows(objs)
        rows = [{"obj": obj, "cells": [(c, c.display(obj)) for c in visible]} for obj in objs]
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
            "total_capped": getattr(page.paginator, "capped", False),
            "selectable": self.selectable,
            "column_count": len(visible) + (1 if self.row_actions_template else 0) + (1 if self.selectable else 0),
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
        if fmt != "xlsx":
            expressions = self.export_expressions(columns)
            if expressions is not None:
                return copy_csv_response(name, header, self.queryset, expressions)
        rows = ([c.export_value(obj) for c in columns] for obj in self.export_objects())
        if fmt == "xlsx":
            return xlsx_response(name, header, rows)
        return csv_response(name, header, rows)

    def export_expressions(self, columns) -> list | None:
        """The exported text of each column as an ORM expression, when the database can
        stream CSV itself (PostgreSQL) and every column has an SQL form; else None."""
        if connections[self.queryset.db].vendor != "postgresql":
            return None
        expressions = []
        for col in columns:
            if col.sql is not None:
                expr, text = col.sql(self), col.kind == TEXT
            else:
                expr, text = _auto_sql(col, self.queryset.model)
            if expr is None:
                return None
            if text and col.escape:
                expr = EscapeFormula(expr)
            expressions.append(expr)
        return expressions


    def export_objects(self):
        """Every filtered, sorted row, fetched in chunks; :meth:`prepare_rows` per chunk."""
        chunk = []
        for obj in self.queryset.iterator(chunk_size=self.export_chunk_size):
            chunk.append(obj)
            if len(chunk) >= self.export_chunk_size:
                self.prepare_rows(chunk)
                yield from chunk
                chunk = []
        if chunk:
            self.prepare_rows(chunk)
            yield from chunk


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


class EscapeFormula(Func):
    """SQL twin of :func:`escape_formula`: text starting with ``= + - @``, a tab or a CR
    gets a leading quote."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return (f"(CASE WHEN {sql} ~ '^[-=+@\\t\\r]' THEN '''' || {sql} ELSE {sql} END)",
                [*params, *params, *params])


class LocalDateTimeText(Func):
    """A timestamp as the product shows it (``DD.MM.YYYY HH24:MI:SS``), in the active time zone."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        zone = timezone.get_current_timezone_name()
        return f"to_char(({sql}) AT TIME ZONE %s, 'DD.MM.YYYY HH24:MI:SS')", [*params, zone]


class DateText(Func):
    template = "to_char(%(expressions)s, 'DD.MM.YYYY')"
    output_field = TextField()


def yes_no(when_true: Q, when_false: Q):
    """Yes / No / empty, as :meth:`Column.export_value` writes booleans."""
    return Case(When(when_true, then=Value("Yes")), When(when_false, then=Value("No")),
                default=Value(None, output_field=TextField()), output_field=TextField())


def _model_field(model, path: str):
    field = None
    for part in path.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except Exception:
            return None
        if field.is_relation:
            model = field.related_model
    return field


def _auto_sql(col: Column, model):
    """``(expression, is_text)`` for a plain column (a field or a JSON key, no Python
    accessor): the exported text as SQL; ``(None, False)`` when there is none. Only text
    values are escaped against formulas, as in :meth:`Column.export_value`."""
    if col.accessor is not None or col.field is None:
        return None, False
    path = col.field
    if col.json:
        json_field, _sep, key = path.partition(LOOKUP_SEP)
        if col.kind == BOOL:
            return yes_no(Q(**{path: True}), Q(**{path: False})), False
        return KeyTextTransform(key, json_field), col.kind in (TEXT, DATE)
    field = _model_field(model, path)
    if field is None or field.many_to_many or field.one_to_many:
        return None, False
    if col.kind == BOOL or isinstance(field, BooleanField):
        return yes_no(Q(**{path: True}), Q(**{path: False})), False
    if isinstance(field, DateTimeField):
        return LocalDateTimeText(F(path)), False
    if isinstance(field, DateField):
        return DateText(F(path)), False
    if field.is_relation:
        return None, False
    return Cast(F(path), TextField()), isinstance(field, (CharField, TextField))


def copy_csv_response(name: str, header: list[str], queryset, expressions) -> StreamingHttpResponse:
    """The CSV written by PostgreSQL itself: ``COPY (the filtered, sorted query) TO STDOUT``."""
    import psycopg

    aliases = {f"_export_{i}": expr for i, expr in enumerate(expressions)}
    qs = queryset.annotate(**aliases).values_list(*aliases)
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing (e.g. ``pk__in=[]``)
        sql, params = None, ()
    connection = connections[qs.db]
    header_line = csv.writer(_Echo(), lineterminator="\n").writerow([escape_formula(h) for h in header])

    def stream():
        yield "\ufeff" + header_line  # BOM so spreadsheet programs read UTF-8
        if sql is None:
            return
        connection.ensure_connection()
        # COPY takes no server-side parameters: a client-side binding cursor merges them.
        with psycopg.ClientCursor(connection.connection) as cursor:
            with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                buffer, size = [], 0
                for data in copy:
                    buffer.append(bytes(data))
                    size += len(data)
                    if size >= 256 * 1024:
                        yield b"".join(buffer)
                        buffer, size = [], 0
                if buffer:
                    yield b"".join(buffer)

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
