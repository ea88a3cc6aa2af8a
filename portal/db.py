"""Bulk writes the ORM has no fast form for (PostgreSQL; other databases fall back to the
ORM). At a thousand rows per statement these are 10–100x faster than ``bulk_update`` /
``bulk_create``: parameters travel as one array per column (``unnest``) or through ``COPY``,
instead of thousands of placeholders."""

from __future__ import annotations

import datetime
import decimal
import json
import operator
import uuid

from django.db import connection, models
from django.db.models import signals
from django.db.models.base import ModelState
from django.db.models.lookups import In

_QUOTED = (decimal.Decimal, bool, float)


def array_param(values: list):
    """``values`` as ONE PostgreSQL array in its text form (``{1,2}``, ``{"a","b",NULL}``) for
    an ``%s::type[]`` parameter. psycopg adapts a Python list element by element in Python
    (~1.2 µs each: ~10 ms for a thousand-row update of eight columns); this is mostly a
    join in C. A value of a type it does not know leaves the list to psycopg."""
    kinds = set(map(type, values))
    if kinds <= {int} or kinds <= {uuid.UUID}:  # keys: nothing to quote
        return "{" + ",".join(map(str, values)) + "}"
    if kinds <= {str}:
        joined = "".join(values)
        if '"' not in joined and "\\" not in joined:  # the usual text: quoted without escapes
            return '{"' + '","'.join(values) + '"}' if values else "{}"
    parts = []
    for value in values:
        if value is None:
            parts.append("NULL")
        elif isinstance(value, uuid.UUID):
            parts.append(str(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            parts.append(int.__repr__(value))  # the digits, also for an int enum
        else:
            if isinstance(value, str):
                text = str.__str__(value)  # the text, also for a str enum
            elif isinstance(value, _QUOTED):
                text = str(value)
            elif isinstance(value, (datetime.datetime, datetime.date)):
                text = value.isoformat()
            else:
                return values
            parts.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(parts) + "}"


def _native(field):
    """The Python type a key column's values already have when they need no preparation
    (``UUID`` for a UUID key, ``int`` for an integer one, through a foreign key), or None."""
    target = getattr(field, "target_field", None) or field
    if isinstance(target, models.UUIDField):
        return uuid.UUID
    if isinstance(target, models.IntegerField):
        return int
    return None


class AnyOf(In):
    """``field__any=[…]``: ``field = ANY(%s)`` with the values as ONE array parameter on
    PostgreSQL, where ``__in`` sends one placeholder per value — for a thousand ids that
    is ~10 ms of Python (Django resolves each value, psycopg parses each placeholder) in
    the hot paths that filter by a batch of ids. Ids that already are UUIDs or ints skip
    Django's per-value preparation. Other databases: exactly ``__in``.
    Registered on every field by ``PortalConfig.ready``."""

    lookup_name = "any"

    def _plain(self) -> bool:
        """The values are a collection of exactly the key's own type (no bool, no str)."""
        if not isinstance(self.rhs, (list, tuple, set, frozenset)):
            return False
        native = _native(self.lhs.output_field)
        return native is not None and all(type(v) is native for v in self.rhs)

    def get_prep_lookup(self):
        if self._plain():
            return list(self.rhs)
        return super().get_prep_lookup()

    def as_postgresql(self, compiler, connection):
        if not isinstance(self.rhs, (list, tuple, set, frozenset)):
            return super().as_sql(compiler, connection)  # a subquery: as ``__in``
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        if self._plain():
            values = list(self.rhs)
        else:
            values = [field.get_db_prep_value(v, connection) for v in self.rhs if v is not None]
        if not values:
            return "FALSE", ()
        if field.db_type(connection) is None and getattr(field, "target_field", None) is not None:
            field = field.target_field  # a many-to-many relation: the key it joins on
        return f"{lhs} = ANY(%s::{_array_type(field)}[])", (*lhs_params, array_param(values))


def instance_factory(model):
    """A function that builds unsaved ``model`` instances for loops that make thousands at
    a time (the sending engine's messages and plans). ``Model(**kwargs)`` costs ~40 µs per
    ``Message`` (a default looked up for each of its ~35 fields, a descriptor call per
    foreign key); this fills the instance's ``__dict__`` with the precomputed defaults and
    the given values in a few µs — the state ``Model.__init__`` leaves, without its
    ``pre_init`` / ``post_init`` signals (when a receiver is connected for the model as the
    factory is made, it calls ``__init__`` instead). Values are given by attribute name (``plan_id``,
    not ``plan``); a callable default (a new id, a dict) is called per instance."""
    fields = model._meta.concrete_fields
    static, callables = {}, []
    for f in fields:
        if f.has_default() and callable(f.default):
            callables.append((f.attname, f.default))
        else:
            static[f.attname] = f.get_default()
    new = object.__new__
    # Receivers connect when models are prepared (ImageField's post_init), before the
    # factories, which are made at import time of the services that use them.
    plain = not (signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model))

    def make(**values):
        row = static.copy()
        for name, default in callables:
            if name not in values:
                row[name] = default()
        row.update(values)
        if not plain:
            return model(**row)
        obj = new(model)
        obj.__dict__.update(row)
        obj._state = ModelState()
        return obj

    return make


def _is_json(field) -> bool:
    return isinstance(field, models.JSONField)


def _array_type(field) -> str:
    """The element type of an array parameter for ``field``'s column: the column's own, but
    ``text`` for JSON (cast per value) and ``varchar(n)`` (a cast to it would cut a long
    value instead of failing)."""
    if _is_json(field):
        return "text"
    db_type = field.db_type(connection) or "text"
    if db_type.startswith("varchar"):
        return "text"
    return {"serial": "integer", "bigserial": "bigint", "smallserial": "smallint"}.get(db_type, db_type)


def _value(field, obj):
    value = getattr(obj, field.attname)
    if _is_json(field):
        return None if value is None else json.dumps(value, cls=field.encoder)
    return field.get_db_prep_save(value, connection)


def copy_rows(model, columns: list[str], rows) -> None:
    """``COPY`` plain tuples into the model's table (PostgreSQL only): the fastest insert
    for hot paths that already hold the values. JSON values must be given as text."""
    meta = model._meta
    names = ", ".join(f'"{meta.get_field(c).column}"' for c in columns)
    with connection.cursor() as cursor:
        with cursor.copy(f'COPY "{meta.db_table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)


def bulk_update_values(model, objs, fields: list[str], batch_size: int = 5000) -> int:
    """``Model.objects.bulk_update(objs, fields)`` as one ``UPDATE … FROM unnest(arrays)``
    per batch on PostgreSQL. Returns the rows updated."""
    objs = list(objs)
    if not objs:
        return 0
    if connection.vendor != "postgresql":
        return model.objects.bulk_update(objs, fields, batch_size=1000)
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    arrays = ", ".join(f"%s::{_array_type(f)}[]" for f in [pk, *columns])
    names = ", ".join(["pk"] + [f"c{i}" for i in range(len(columns))])
    assignments = ", ".join(f'"{f.column}" = v.c{i}' + ("::jsonb" if _is_json(f) else "")
                            for i, f in enumerate(columns))
    sql = (f'UPDATE "{meta.db_table}" AS t SET {assignments} FROM unnest({arrays}) AS v({names}) '
           f'WHERE t."{pk.column}" = v.pk')
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            chunk = objs[start:start + batch_size]
            params = [array_param([pk.get_db_prep_value(o.pk, connection) for o in chunk])]
            params += [array_param([_value(f, o) for o in chunk]) for f in columns]
            cursor.execute(sql, params)
            updated += cursor.rowcount
    return updated


def reserve_ids(model, objs) -> None:
    """Draw identity keys for ``objs`` from the table's sequence (PostgreSQL), so rows that
    refer to them can be built before they are inserted."""
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, len(objs)])
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            setattr(obj, meta.pk.attname, pk)


def _stamp(fields, objs) -> None:
    """What the ORM does before an insert: ``auto_now_add`` (defaults are already set) —
    one moment for the whole batch, as one statement writes it."""
    for field in [f for f in fields if getattr(f, "auto_now_add", False)]:
        value = None
        for obj in objs:
            if getattr(obj, field.attname) is None:
                if value is None:
                    value = field.pre_save(obj, add=True)
                else:
                    setattr(obj, field.attname, value)


def _plain(model, name: str) -> bool:
    """Whether reading ``name`` only returns ``instance.__dict__[name]`` (a plain or
    foreign-key column; not, say, a file field, whose descriptor wraps the value)."""
    descriptor = getattr(model, name, None)
    deferred = models.query_utils.DeferredAttribute
    return isinstance(descriptor, deferred) and type(descriptor).__get__ is deferred.__get__


def values_getter(model, fields):
    """One function returning the values of ``fields`` of an instance, as ``attrgetter``
    would: from the instance's ``__dict__`` when every field is a plain column (each
    attribute read through Django's descriptor cost ~0.2 µs, ten a row for a message), else
    (a file field, say) through the attributes. A deferred field missing from the
    ``__dict__`` is read through its attribute (a query), as before."""
    names = [f.attname for f in fields]
    through = operator.attrgetter(*names)
    if not all(_plain(model, name) for name in names):
        return through
    direct = operator.itemgetter(*names)

    def get(obj):
        try:
            return direct(obj.__dict__)
        except KeyError:
            return through(obj)

    return get


def rows_to_instances(model, names: list[str], rows, alias: str = "default") -> list:
    """Model instances from ``values_list(*names)`` rows, as ``QuerySet.only(*names)`` would
    give them (the other fields deferred: read on access), without ``Model.__init__`` per
    row (~4 µs each, a tenth of a broadcast's resolution in Python). No signals: for
    read-only use in bulk loops."""
    new = object.__new__
    objs = []
    for row in rows:
        obj = new(model)
        obj.__dict__.update(zip(names, row, strict=True))
        state = obj._state = ModelState()
        state.adding, state.db = False, alias
        objs.append(obj)
    return objs


class _Row:
    """How the rows of one model are read for a single-statement insert: its columns
    (without ``skip``), one getter for all values, and which values are JSON."""

    _made: dict[tuple, _Row] = {}

    def __init__(self, model, skip):
        self.fields = [f for f in model._meta.concrete_fields if f.attname not in skip]
        self.columns = ", ".join(f'"{f.column}"' for f in self.fields)
        self.get = operator.attrgetter(*(f.attname for f in self.fields))
        self.json = [(i, f.encoder) for i, f in enumerate(self.fields) if _is_json(f)]
        self.stamped = [f for f in self.fields if getattr(f, "auto_now_add", False)]

    @classmethod
    def of(cls, model, skip: frozenset) -> _Row:
        key = (model, skip)
        if key not in cls._made:
            cls._made[key] = cls(model, skip)
        return cls._made[key]

    def values(self, obj) -> list:
        """The values as psycopg adapts them itself (as ``copy_insert``); JSON as text;
        ``auto_now_add`` filled in as the ORM would."""
        _stamp(self.stamped, [obj])
        row = list(self.get(obj))
        for i, encoder in self.json:
            if row[i] is not None:
                row[i] = json.dumps(row[i], cls=encoder)
        return row


def _placeholders(values) -> str:
    # NULL is written in the statement: fewer parameters (psycopg caches the parsing of a
    # statement of at most 50), and one statement per pattern of empty columns.
    return ", ".join("NULL" if v is None else "%s" for v in values)


# ``insert_with_children``'s statements, per models, key and pattern of NULL values.
_WITH_CHILDREN: dict[tuple, str] = {}


def insert_with_children(parent, children, fk_attname: str) -> None:
    """Insert ``parent`` — its key drawn by the database — and ``children``, whose
    ``fk_attname`` is set to that key, with ONE statement (PostgreSQL): atomic on its own,
    so outside a transaction it needs neither ``BEGIN`` nor ``COMMIT``. Used where a request
    writes one row and its few dependents (an API send: a plan and its message), and where
    the round trips of ``reserve_ids`` + two ``COPY`` s + a transaction cost more than the
    writing. Foreign keys between the two (deferred) are checked as the statement commits.
    No signals."""
    pmeta, cmeta = parent._meta, children[0]._meta
    prow = _Row.of(type(parent), frozenset({pmeta.pk.attname}))
    crow = _Row.of(type(children[0]), frozenset({fk_attname}))
    pvalues = prow.values(parent)
    cvalues = [crow.values(child) for child in children]
    key = (connection.alias, type(parent), type(children[0]), fk_attname,
           tuple(v is None for v in pvalues), tuple(tuple(v is None for v in row) for row in cvalues))
    sql = _WITH_CHILDREN.get(key)
    if sql is None:
        pk, fk = pmeta.pk.column, cmeta.get_field(fk_attname).column
        # INSERT … VALUES gives each value its column's type (no casts); each child row
        # reads the parent's new key from the CTE.
        rows = ", ".join(f'((SELECT "{pk}" FROM p), {_placeholders(row)})' for row in cvalues)
        sql = _WITH_CHILDREN[key] = (
            f'WITH p AS (INSERT INTO "{pmeta.db_table}" ({prow.columns}) VALUES ({_placeholders(pvalues)})'
            f' RETURNING "{pk}") INSERT INTO "{cmeta.db_table}" ("{fk}", {crow.columns}) VALUES {rows}'
            f' RETURNING "{fk}"')
    params = [v for v in pvalues if v is not None]
    params += [v for row in cvalues for v in row if v is not None]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        key = cursor.fetchone()[0]
    setattr(parent, pmeta.pk.attname, key)
    parent._state.adding, parent._state.db = False, connection.alias
    for child in children:
        setattr(child, fk_attname, key)
        child._state.adding, child._state.db = False, connection.alias


def copy_insert(model, objs, batch_size: int = 1000, *, assign_ids: bool = False) -> None:
    """Insert rows with ``COPY`` on PostgreSQL (``bulk_create`` elsewhere). The objects
    carry their primary key; or, with ``assign_ids``, an identity key is drawn from the
    table's sequence first and set on the objects; otherwise the database generates it
    and the objects do not learn it. No signals."""
    objs = list(objs)
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=batch_size)
        return
    meta = model._meta
    if assign_ids and getattr(objs[0], meta.pk.attname) is None:
        reserve_ids(model, objs)
    fields = [f for f in meta.concrete_fields if not (f.primary_key and getattr(objs[0], f.attname) is None)]
    _stamp(fields, objs)
    columns = ", ".join(f'"{f.column}"' for f in fields)
    # The values as psycopg adapts them itself (see ``_raw``), read with one precomputed
    # getter per column: the per-value work dominates COPY of wide rows.
    plain = values_getter(model, fields)
    json_columns = [(i, f.encoder) for i, f in enumerate(fields) if _is_json(f)]
    with connection.cursor() as cursor:
        with cursor.copy(f'COPY "{meta.db_table}" ({columns}) FROM STDIN') as copy:
            # The same JSON object on consecutive rows (a batch of plans shares its steps)
            # is dumped once.
            last = {i: (None, None) for i, _encoder in json_columns}
            for obj in objs:
                row = list(plain(obj)) if len(fields) > 1 else [plain(obj)]
                for i, encoder in json_columns:
                    value = row[i]
                    if value is not None:
                        seen, text = last[i]
                        if value is not seen:
                            text = json.dumps(value, cls=encoder)
                            last[i] = (value, text)
                        row[i] = text
                copy.write_row(row)
