"""Reads of the contact base, scoped to one company, and the filter criteria shared by
the contacts list, targets, mass edit, the API and broadcasts."""

from __future__ import annotations

import json

from django.db import connection
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q, QuerySet, Value
from django.utils.translation import gettext as _

from .attributes import coerce
from .models import Attribute, AttributeType, Contact, ContactTag, OptOutWord, Target

MODES = ("value", "range", "empty", "nonempty")
BASE_FIELDS = {"phone": "text", "country": "text", "mno": "text", "tag": "tag"}


def attributes_for(company):
    return Attribute.objects.for_company(company).order_by("position", "id")


def contacts_for(company):
    return Contact.objects.for_company(company)


def tags_for(company):
    from .models import Tag

    return Tag.objects.for_company(company)


def targets_for(company):
    return Target.objects.for_company(company)


def optout_words_for(company):
    return OptOutWord.objects.for_company(company)


class CriteriaError(ValueError):
    pass


def field_choices(company) -> list[tuple[str, str, str]]:
    """(field, label, kind) for the filter pickers: base fields then attributes."""
    fields = [("phone", _("Phone number"), "text"), ("country", _("Country (from number)"), "text"),
              ("mno", _("Mobile operator"), "text"), ("tag", _("Tags"), "tag")]
    fields += [(f"attribute:{a.key}", a.name, a.type) for a in attributes_for(company)]
    return fields


class AttributesPath(Func):
    """``jsonb_path_exists(attributes, '$ ? (c1 && c2 …)', vars)`` (PostgreSQL): the
    existence and range criteria of a filter in one JSON path, evaluated once per row
    instead of one operator call per condition (D69). Keys are quoted in the path; values
    travel in ``vars``, never in the path's text."""

    function = "jsonb_path_exists"
    output_field = BooleanField()

    def __init__(self, conditions: list[str], variables: dict):
        path = Func(Value("$ ? (" + " && ".join(conditions) + ")"), template="%(expressions)s::jsonpath")
        values = Func(Value(json.dumps(variables)), template="%(expressions)s::jsonb")
        super().__init__(F("attributes"), path, values)


class _PathBuilder:
    """Collects the conditions of :class:`AttributesPath` while the criteria are read."""

    def __init__(self):
        self.conditions: list[str] = []
        self.variables: dict = {}

    def member(self, key: str) -> str:
        return "@." + json.dumps(key)

    def exists(self, key: str, present: bool = True) -> None:
        test = f"exists({self.member(key)})"
        self.conditions.append(test if present else f"!({test})")

    def compare(self, key: str, op: str, value) -> None:
        name = f"v{len(self.variables)}"
        self.variables[name] = value
        self.conditions.append(f"{self.member(key)} {op} ${name}")

    def q(self) -> Q:
        return Q(AttributesPath(self.conditions, self.variables)) if self.conditions else Q()


def _criterion_q(company, crit: dict, attrs: dict, path: _PathBuilder | None = None) -> Q:
    """One criterion as a ``Q``. With ``path`` (PostgreSQL), the attribute criteria that
    no index serves (empty, non-empty, range) are added to it instead and ``Q()`` is
    returned."""
    field, mode = crit.get("field", ""), crit.get("mode", "value")
    if mode not in MODES:
        raise CriteriaError(_("Unknown filter mode “%(m)s”.") % {"m": mode})
    if field in ("phone", "country", "mno"):
        if mode == "empty":
            return Q(**{field: ""})
        if mode == "nonempty":
            return ~Q(**{field: ""})
        if mode == "range":
            raise CriteriaError(_("By range works on numbers and dates only."))
        value = str(crit.get("value", "")).strip()
        if field == "country":
            # stored upper-case (ISO 3166): an exact match can use the (company, country) index
            return Q(country=value.upper())
        return Q(**{f"{field}__icontains": value})
    if field == "tag":
        has_tag = ContactTag.objects.filter(contact_id=OuterRef("pk"))
        if mode == "empty":
            return ~Exists(has_tag)
        if mode == "nonempty":
            return Exists(has_tag)
        if mode == "range":
            raise CriteriaError(_("By range works on numbers and dates only."))
        return Exists(has_tag.filter(tag__name__iexact=str(crit.get("value", "")).strip()))
    if not field.startswith("attribute:"):
        raise CriteriaError(_("Unknown filter field “%(f)s”.") % {"f": field})
    key = field.split(":", 1)[1]
    attr = attrs.get(key)
    if attr is None:
        raise CriteriaError(_("There is no attribute “%(k)s”.") % {"k": key})
    lookup = f"attributes__{key}"
    if mode in ("empty", "nonempty"):
        if path is not None:
            path.exists(key, present=mode == "nonempty")
            return Q()
        q = Q(**{"attributes__has_key": key})
        return q if mode == "nonempty" else ~q
    if mode == "range":
        if attr.type not in (AttributeType.NUMBER, AttributeType.DATE):
            raise CriteriaError(_("%(a)s: By range works on numbers and dates only.") % {"a": attr.name})
        bounds = []
        for bound, op in (("from", ">="), ("to", "<=")):
            raw = crit.get(bound)
            if raw in (None, ""):
                continue
            try:
                bounds.append((op, coerce(attr.type, raw, name=attr.name)))
            except ValueError as exc:
                raise CriteriaError(str(exc))
        if path is not None:
            for op, value in bounds:
                path.compare(key, op, value)
            if not bounds:
                path.exists(key)
            return Q()
        q = Q(**{"attributes__has_key": key})
        for op, value in bounds:
            q &= Q(**{f"{lookup}__{'gte' if op == '>=' else 'lte'}": value})
        return q
    raw = crit.get("value", "")
    if attr.type in (AttributeType.TEXT, AttributeType.EMAIL):
        return Q(**{f"{lookup}__icontains": str(raw).strip()})
    try:
        value = coerce(attr.type, raw, attr.values, attr.name)
    except ValueError as exc:
        raise CriteriaError(str(exc))
    if value is None:
        raise CriteriaError(_("%(a)s: give a value.") % {"a": attr.name})
    if connection.vendor == "postgresql":
        # JSONB containment (``attributes @> '{"key": value}'``) is served by the GIN index.
        return Q(attributes__contains={key: value})
    return Q(**{lookup: value})


def criteria_q(company, criteria, *, attributes: dict | None = None) -> Q:
    """The criteria as one ``Q`` (AND). ``attributes`` ({key: Attribute}) saves the query
    for the company's attributes when the caller already has them."""
    attrs = attributes if attributes is not None else {a.key: a for a in attributes_for(company)}
    path = _PathBuilder() if connection.vendor == "postgresql" else None
    q = Q()
    for crit in criteria or []:
        if not isinstance(crit, dict):
            raise CriteriaError(_("Each filter must be an object."))
        q &= _criterion_q(company, crit, attrs, path)
    return q & path.q() if path is not None else q


def apply_criteria(queryset, company, criteria, *, attributes: dict | None = None) -> QuerySet:
    """Filter ``queryset`` (contacts of ``company``) by criteria combined with AND."""
    return queryset.filter(criteria_q(company, criteria, attributes=attributes))


def target_contacts(target: Target):
    return apply_criteria(contacts_for(target.company), target.company, target.filters)

