"""Data tables of the Contacts (spec P§6.2) and Targets (spec P§6.7) tabs.

The contacts table has per-company columns: the phone number, then one column per
attribute of the company (a JSON key of ``Contact.attributes``, filtered and sorted with
JSON lookups), then the system columns. Tags, opt-outs and the targets each row matches
are computed for the page's rows at once in :meth:`ContactTable.prepare_rows` (a fixed
number of queries per page, and per export chunk, whatever the number of rows).
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Case, Exists, F, Func, OuterRef, Q, Subquery, TextField, Value, When
from django.db.models import IntegerField as IntegerFieldType
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from portal.channel_types import Channel
from portal.tables import BOOL, DATE, NUMBER, TEXT, Column, Table

from . import selectors
from .attributes import display
from .models import AttributeType, ContactTag, OptOut

ATTRIBUTE_KINDS = {AttributeType.NUMBER: NUMBER, AttributeType.DATE: DATE, AttributeType.BOOL: BOOL}
ATTRIBUTE_PREFIX = "attr_"
TARGET_CHIPS_SHOWN = 1  # "Name +6" (spec P§6.1): the first target, then a counter
FILTERED_COUNT_LIMIT = 10_000  # a filtered list counts up to this many rows ("of more than 10000")
PARAMS_PER_QUERY = 20_000  # keeps the targets' union under SQLite's bound-parameter limit


def attribute_column_key(key: str) -> str:
    return ATTRIBUTE_PREFIX + key


def _chips(names, limit=None):
    names = list(names)
    shown = names if limit is None else names[:limit]
    html = format_html_join(" ", '<span class="chip">{}</span>', ((n,) for n in shown))
    if limit is not None and len(names) > limit:
        html = format_html('{} <span class="chip" title="{}">+{}</span>', html, ", ".join(names), len(names) - limit)
    return html


# --- per-row values filled by prepare_rows -----------------------------------------------------

def _tags_of(contact) -> list[str]:
    return getattr(contact, "_tag_names", None) or []


def _targets_of(contact) -> list[str]:
    return getattr(contact, "_target_names", None) or []


def _optouts_of(contact) -> list[str]:
    return getattr(contact, "_optout_labels", None) or []


def optout_label(channel: int, sender: str) -> str:
    label = Channel(channel).label if channel in Channel.values else str(channel)
    return f"{label}: {sender}" if sender else f"{label} ({_('whole channel')})"


def _rcs_html(contact):
    if contact.rcs_capable is None:
        return format_html('<span class="muted" title="{}">—</span>', _("Not checked"))
    if contact.rcs_capable:
        return format_html('<span title="{}" data-rcs="yes">✓</span>', _("Yes"))
    return format_html('<span title="{}" data-rcs="no">×</span>', _("No"))


# --- the same values as SQL, for the CSV export on PostgreSQL (portal.tables COPY export) -------

def _null_text():
    return Value(None, output_field=TextField())


def _tags_sql(table):
    from django.contrib.postgres.aggregates import StringAgg

    names = (ContactTag.objects.filter(contact_id=OuterRef("pk")).order_by().values("contact_id")
             .annotate(names=StringAgg("tag__name", ", ", order_by="tag__name")).values("names"))
    return Subquery(names, output_field=TextField())


def _optouts_sql(table):
    from django.contrib.postgres.aggregates import StringAgg

    channel = Case(*[When(channel=c.value, then=Value(c.label)) for c in Channel],
                   default=Cast("channel", TextField()), output_field=TextField())
    label = Concat(channel, Case(When(sender="", then=Value(f" ({_('whole channel')})")),
                                 default=Concat(Value(": "), F("sender")), output_field=TextField()),
                   output_field=TextField())
    labels = (OptOut.objects.filter(contact_id=OuterRef("pk")).order_by().values("contact_id")
              .annotate(labels=StringAgg(label, ", ", order_by=("channel", "sender"))).values("labels"))
    return Subquery(labels, output_field=TextField())


def _targets_sql(table):
    """The names of the targets the row matches, in the table's order: one CASE per target."""
    parts = []
    for target in table.targets:
        q = table._target_q(target)
        if q is None:
            continue
        if isinstance(q, Q) and not q:  # no criteria: every contact
            parts.append(Value(target.name))
        else:
            parts.append(Case(When(q, then=Value(target.name)), default=_null_text(), output_field=TextField()))
    if not parts:
        return _null_text()
    joined = Func(Value(", "), *parts, function="concat_ws", output_field=TextField())
    return Func(joined, Value(""), function="NULLIF", output_field=TextField())


def _attribute_column(attr) -> Column:
    key, type_ = attr.key, attr.type
    return Column(
        attribute_column_key(key), attr.name, f"attributes__{key}", kind=ATTRIBUTE_KINDS.get(type_, TEXT), json=True,
        html=lambda c, _k=key, _t=type_: display(_t, c.attributes.get(_k)))


class ContactTable(Table):
    """``ContactTable(request, queryset, company=…)``; ``selectable=True`` in mass-edit mode."""

    key = "contacts"
    export_name = "contacts"
    default_sort = "-created_at"  # newest first; served by the (company, created_at, id) index
    row_actions_template = "contacts/_contact_row_actions.html"
    # The columns every company has; the attribute columns are added per company.
    columns = [
        Column("id", _("ID"), "id", kind=NUMBER, default=False),
        Column("phone", _("Phone number"), "phone", escape=False),  # E.164: "+" and digits only
    ]
    system_columns = [
        Column("tags", _("Tags"), None, sortable=False, accessor=_tags_of, html=lambda c: _chips(_tags_of(c)),
               sql=_tags_sql),
        Column("targets", _("Target filters"), None, sortable=False, accessor=_targets_of,
               html=lambda c: _chips(_targets_of(c), TARGET_CHIPS_SHOWN), sql=_targets_sql),
        Column("opt_out", _("Opt-out"), None, sortable=False, accessor=_optouts_of,
               html=lambda c: _chips(_optouts_of(c)), sql=_optouts_sql),
        Column("country", _("Country (from number)"), "country", default=False),
        Column("mno", _("Mobile operator"), "mno", default=False),
        Column("rcs_capable", _("RCS capable"), "rcs_capable", kind=BOOL, html=_rcs_html),
        Column("rcs_checked_at", _("RCS capability last checked"), "rcs_checked_at", kind=DATE),
        Column("wechat_id", _("WeChat ID"), "wechat_id", default=False),
        Column("created_at", _("Created"), "created_at", kind=DATE, default=False),
        Column("updated_at", _("Updated"), "updated_at", kind=DATE, default=False),
    ]

    def __init__(self, request, queryset, *, company, attributes=None, targets=None, selectable=False, **kwargs):
        self.company = company
        self.attributes = list(attributes) if attributes is not None else list(selectors.attributes_for(company))
        self.attrs_by_key = {a.key: a for a in self.attributes}
        self._targets = targets
        self.selectable = selectable
        super().__init__(request, queryset, **kwargs)

    @classmethod
    def column_keys(cls) -> list[str]:
        return [c.key for c in cls.columns] + [c.key for c in cls.system_columns]

    @property
    def count_limit(self) -> int | None:
        """The whole base is counted exactly (an index-only scan); a filtered list counts
        at most ``FILTERED_COUNT_LIMIT`` rows, since an exact count of a filter over
        millions of JSON values costs a full scan (see docs/contacts.md)."""
        return FILTERED_COUNT_LIMIT if self.has_filters() else None

    @classmethod
    def allowed_column_keys(cls, user) -> list[str]:
        keys = [c.key for c in cls.columns]
        if user.company_id is not None:
            keys += [attribute_column_key(k) for k in
                     selectors.attributes_for(user.company).values_list("key", flat=True)]
        return keys + [c.key for c in cls.system_columns]

    def get_columns(self) -> list[Column]:
        tags = Column(**{**self.system_columns[0].__dict__, "filter_q": self._tag_filter})
        targets = Column(**{**self.system_columns[1].__dict__, "filter_q": self._target_filter})
        opt_out = Column(**{**self.system_columns[2].__dict__, "filter_q": self._optout_filter})
        return [*self.columns, *(_attribute_column(a) for a in self.attributes), tags, targets, opt_out,
                *self.system_columns[3:]]

    @property
    def targets(self) -> list:
        if self._targets is None:
            self._targets = list(selectors.targets_for(self.company).order_by("name", "id"))
        return self._targets

    # -- filters on computed columns ------------------------------------------------------------
    @staticmethod
    def _tag_filter(mode, value) -> Q:
        tagged = ContactTag.objects.filter(contact_id=OuterRef("pk"))
        if mode == "empty":
            return ~Exists(tagged) if value else Exists(tagged)
        return Exists(tagged.filter(tag__name__icontains=str(value).strip()))

    @staticmethod
    def _optout_filter(mode, value) -> Q:
        opted = OptOut.objects.filter(contact_id=OuterRef("pk"))
        if mode == "empty":
            return ~Exists(opted) if value else Exists(opted)
        text = str(value).strip().lower()
        channels = [c.value for c in Channel if text in c.label.lower()]
        return Exists(opted.filter(Q(channel__in=channels) | Q(sender__icontains=text)))

    def _target_q(self, target) -> Q | None:
        try:
            return selectors.criteria_q(self.company, target.filters, attributes=self.attrs_by_key)
        except selectors.CriteriaError:
            return None  # a target that no longer applies (e.g. its attribute was deleted)

    def _target_filter(self, mode, value) -> Q:
        """*Target filters*: by value = matches a target whose name contains the text;
        empty = matches no target."""
        if mode == "empty":
            qs = [q for q in (self._target_q(t) for t in self.targets) if q is not None]
            union = Q(pk__in=[])
            for q in qs:
                union |= q
            return ~union if value else union
        text = str(value).strip().lower()
        union = Q(pk__in=[])
        for target in self.targets:
            if text in target.name.lower():
                q = self._target_q(target)
                if q is not None:
                    union |= q
        return union

    # -- per page / per export chunk -------------------------------------------------------------
    def prepare_rows(self, objs: list) -> None:
        if not objs:
            return
        ids = [c.pk for c in objs]
        keys = set(self.visible_keys())
        tags, optouts, targets = defaultdict(list), defaultdict(list), defaultdict(list)
        if "tags" in keys:
            for contact_id, name in (ContactTag.objects.filter(contact_id__in=ids)
                                     .order_by("tag__name").values_list("contact_id", "tag__name")):
                tags[contact_id].append(name)
        if "opt_out" in keys:
            for contact_id, channel, sender in (OptOut.objects.filter(contact_id__in=ids)
                                                .order_by("channel", "sender")
                                                .values_list("contact_id", "channel", "sender")):
                optouts[contact_id].append(optout_label(channel, sender))
        if "targets" in keys and self.targets:
            for contact_id, target_id in self.matching_targets(ids):
                targets[contact_id].append(target_id)
            names = {t.pk: t.name for t in self.targets}
            order = {t.pk: i for i, t in enumerate(self.targets)}
        for c in objs:
            c._tag_names = tags.get(c.pk, [])
            c._optout_labels = optouts.get(c.pk, [])
            if targets:
                c._target_names = [names[t] for t in sorted(targets.get(c.pk, []), key=order.get)]

    def matching_targets(self, ids: list[int]):
        """``(contact id, target id)`` pairs for these contacts: one UNION query over the
        company's targets (each restricted to ``ids``), split only to stay under the
        database's parameter limit."""
        per_query = max(1, PARAMS_PER_QUERY // max(1, len(ids)))
        base = selectors.contacts_for(self.company).filter(pk__in=ids).order_by()
        parts = []
        for target in self.targets:
            q = self._target_q(target)
            if q is not None:
                parts.append(base.filter(q).annotate(target_id=Value(target.pk, output_field=IntegerFieldType()))
                             .values_list("pk", "target_id"))
        for start in range(0, len(parts), per_query):
            group = parts[start:start + per_query]
            qs = group[0].union(*group[1:], all=True) if len(group) > 1 else group[0]
            yield from qs

    def visible_keys(self) -> list[str]:
        if not hasattr(self, "_visible_keys"):
            self._visible_keys = [c.key for c in self.visible_columns()]
        return self._visible_keys

    def visible_columns(self) -> list[Column]:
        if not hasattr(self, "_visible"):
            self._visible = super().visible_columns()
        return self._visible


# --- targets ---------------------------------------------------------------------------------

MODE_LABELS = {"value": _("By value"), "range": _("By range"), "empty": _("Empty value"),
               "nonempty": _("All non-empty values")}


def criterion_text(crit: dict, labels: dict) -> str:
    """One filter as a chip: ``Age: 18 – 40``, ``City: “Mad”``, ``Email: empty``."""
    label = labels.get(crit.get("field"), crit.get("field", "?"))
    mode = crit.get("mode", "value")
    if mode == "empty":
        return f"{label}: {_('empty')}"
    if mode == "nonempty":
        return f"{label}: {_('any value')}"
    if mode == "range":
        low, high = crit.get("from"), crit.get("to")
        low = "" if low in (None, "") else str(low)
        high = "" if high in (None, "") else str(high)
        return f"{label}: {low or '…'} – {high or '…'}"
    return f"{label}: “{crit.get('value', '')}”"


class TargetTable(Table):
    key = "targets"
    export_name = "targets"
    default_sort = "-updated_at"
    row_actions_template = "contacts/targets/_row_actions.html"
    selectable = True  # several targets → To broadcasts
    columns = [
        Column("name", _("Name"), "name"),
        Column("filters", _("Filters"), None, sortable=False, filterable=False),
        Column("launches", _("Launches"), "launches", kind=NUMBER),
        Column("created_at", _("Created"), "created_at", kind=DATE),
        Column("updated_at", _("Updated"), "updated_at", kind=DATE),
    ]

    def __init__(self, request, queryset, *, company, **kwargs):
        self.company = company
        self.field_labels = {f: str(label) for f, label, _kind in selectors.field_choices(company)}
        super().__init__(request, queryset, **kwargs)

    def get_columns(self) -> list[Column]:
        cols = list(type(self).columns)
        cols[0] = Column("name", _("Name"), "name", html=lambda t: format_html(
            '<a href="{}" data-target-name>{}</a>', reverse("contacts:target_edit", args=[t.pk]), t.name))
        cols[1] = Column("filters", _("Filters"), None, sortable=False, filterable=False,
                         accessor=lambda t: [criterion_text(c, self.field_labels) for c in t.filters],
                         html=lambda t: _chips(criterion_text(c, self.field_labels) for c in t.filters))
        return cols
