"""The *Templates* tab's data table (spec P§4.4, P§4.6, gap G20): ID, Name, Type,
Launches, Last launch, Target, Schedule, Schedule status, Next launch, Effective from,
Effective till, Actions.

* *Target* (✓/×) says whether the template's recipients include a target; *Schedule* (✓/×)
  whether it has a schedule.
* *Schedule status* is shown for scheduled templates only ("—" otherwise) and filters *by
  value* on its label.
* *Next launch* is the next occurrence while the schedule is Active, else the last launch
  (spec §4.4); it sorts and filters on that same value (an annotation).

Dates are ``DD.MM.YYYY HH:MM:SS`` in the company's time zone: the views render and export
with that zone active.
"""

from __future__ import annotations

from django.db.models import Case, DateTimeField, F, Q, TextField, Value, When
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from portal.tables import BOOL, DATE, NUMBER, Column, LocalDateTimeText, Table

from .models import BroadcastType, Frequency, ModerationState, ScheduleStatus
from .services import templates as rules
from .tables import label_filter, label_sql

ACTIVE = Q(is_scheduled=True, schedule_status=ScheduleStatus.ACTIVE)
HAS_TARGET = Q(recipients__targets__0__isnull=False)


def annotate(queryset):
    """The computed columns the table sorts and filters on."""
    return queryset.annotate(next_display=Case(When(ACTIVE, then=F("next_launch_at")), default=F("last_launch_at"),
                                               output_field=DateTimeField()))


def has_target(t) -> bool:
    return bool((t.recipients or {}).get("targets"))


def _mark(value: bool, testid: str):
    if value:
        return format_html('<span class="bt-mark yes" data-{}="true" title="{}">✓</span>', testid, _("Yes"))
    return format_html('<span class="bt-mark no" data-{}="false" title="{}">×</span>', testid, _("No"))


def _name_html(t):
    return format_html('<a href="{}" data-action="open">{}</a>', reverse("broadcasts:template_edit", args=[t.pk]),
                       t.name)


def _status_value(t) -> str:
    return t.get_schedule_status_display() if t.is_scheduled else ""


def _status_html(t):
    if not t.is_scheduled:
        return format_html('<span class="muted" data-schedule-status="">{}</span>', "—")
    return format_html('<span class="chip bt-status status-{}" data-schedule-status="{}">{}</span>',
                       t.schedule_status, t.schedule_status, t.get_schedule_status_display())


def _bool_filter(q: Q):
    def filter_q(mode, value):
        if mode == "empty":  # never empty
            return Q(pk__in=[]) if value else Q()
        return q if value else ~q
    return filter_q


def _status_filter(mode, value):
    if mode == "empty":
        return Q(is_scheduled=False) if value else Q(is_scheduled=True)
    return Q(is_scheduled=True) & label_filter("schedule_status", ScheduleStatus)(mode, value)


def _status_sql(table):
    return Case(When(is_scheduled=False, then=Value("")), default=label_sql("schedule_status", ScheduleStatus)(table),
                output_field=TextField())


def _yes_no_sql(q: Q):
    return lambda table: Case(When(q, then=Value("Yes")), default=Value("No"), output_field=TextField())


def _moderation_value(t) -> str:
    return t.get_moderation_display() if t.moderation else ""


class TemplateTable(Table):
    key = "broadcast_templates"
    export_name = "broadcast-templates"
    default_sort = "-id"
    row_actions_template = "broadcasts/templates_row_actions.html"
    columns = [
        Column("id", _("ID"), "id", kind=NUMBER),
        Column("name", _("Name"), "name", html=_name_html),
        Column("type", _("Type"), "type", accessor=lambda t: t.get_type_display(),
               filter_q=label_filter("type", BroadcastType), sql=label_sql("type", BroadcastType)),
        Column("launches", _("Launches"), "launches", kind=NUMBER),
        Column("last_launch_at", _("Last launch"), "last_launch_at", kind=DATE),
        Column("target", _("Target"), None, kind=BOOL, sortable=False, accessor=has_target,
               html=lambda t: _mark(has_target(t), "target"), filter_q=_bool_filter(HAS_TARGET),
               sql=_yes_no_sql(HAS_TARGET)),
        Column("is_scheduled", _("Schedule"), "is_scheduled", kind=BOOL,
               html=lambda t: _mark(t.is_scheduled, "schedule")),
        Column("schedule_status", _("Schedule status"), "schedule_status", accessor=_status_value, html=_status_html,
               filter_q=_status_filter, sql=_status_sql),
        Column("next_launch", _("Next launch"), "next_display", kind=DATE, accessor=rules.next_launch_display,
               sql=lambda table: LocalDateTimeText(F("next_display"))),
        Column("effective_from", _("Effective from"), "effective_from", kind=DATE),
        Column("effective_till", _("Effective till"), "effective_till", kind=DATE),
        Column("frequency", _("Repeat"), "frequency", default=False, accessor=lambda t: t.get_frequency_display(),
               filter_q=label_filter("frequency", Frequency), sql=label_sql("frequency", Frequency)),
        Column("moderation", _("Moderation"), "moderation", default=False, accessor=_moderation_value,
               filter_q=label_filter("moderation", ModerationState), sql=label_sql("moderation", ModerationState)),
        Column("description", _("Description"), "description", default=False),
        Column("created_at", _("Created"), "created_at", kind=DATE, default=False),
    ]

    def __init__(self, request, queryset, **kwargs):
        super().__init__(request, annotate(queryset), **kwargs)

    def prepare_rows(self, objs: list) -> None:
        """What each row's actions offer (the schedule rules; no query)."""
        for obj in objs:
            obj.can_pause = rules.can_pause(obj)
            obj.can_resume = rules.can_resume(obj)
