"""The *Moderation* pages' data tables (D56, D63; docs/broadcasts.md § Moderation by the
parent company): the broadcasts and the templates of the user's direct child companies
that wait for moderation.

Columns: Company, Name, Created by, Submitted (the last change: sending to moderation
saves the row), Recipients (target and tag names, typed numbers — the names of the whole
page in two queries, ``selectors.recipient_names``), Steps (the chain's channels),
Scheduled for (broadcasts) or Schedule (templates). The oldest submission comes first.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from portal.channel_types import Channel
from portal.tables import DATE, NUMBER, Column, Table, format_datetime

from . import selectors


def channels_text(d) -> str:
    """The chain's channels in order: "SMS → Viber → Email"."""
    labels = []
    for step in d.steps or []:
        try:
            labels.append(str(Channel(int(step.get("channel") or 0)).label))
        except (TypeError, ValueError):
            labels.append("?")
    return " → ".join(labels)


def recipients_summary(d, target_names: dict[int, str] | None = None, tag_names: dict[int, str] | None = None) -> dict:
    """What a broadcast or template sends to: target and tag names (ids when unknown),
    typed numbers, or the run it relaunches."""
    r = d.recipients or {}
    target_names, tag_names = target_names or {}, tag_names or {}
    return {
        "targets": [target_names.get(i, f"#{i}") for i in r.get("targets") or []],
        "tags": [tag_names.get(i, f"#{i}") for i in r.get("tags") or []],
        "phones": list(r.get("phones") or []),
        "relaunch_of": r.get("relaunch_of"),
    }


def recipients_text(summary: dict) -> str:
    if summary["relaunch_of"]:
        return _("the unsuccessful recipients of broadcast %(id)s") % {"id": summary["relaunch_of"]}
    parts = []
    if summary["targets"]:
        parts.append(_("Targets: %(names)s") % {"names": ", ".join(summary["targets"])})
    if summary["tags"]:
        parts.append(_("Tags: %(names)s") % {"names": ", ".join(summary["tags"])})
    if summary["phones"]:
        n = len(summary["phones"])
        parts.append(ngettext("%(n)s typed number", "%(n)s typed numbers", n) % {"n": n})
    return " · ".join(parts)


def _summary(d) -> dict:
    return getattr(d, "recipients_summary", None) or recipients_summary(d)


def _created_by(d) -> str:
    user = d.created_by
    return (user.full_name or user.login) if user is not None else ""


class ModerationTable(Table):
    """Shared by the two queues; ``detail_url`` names the review page."""

    default_sort = "submitted"
    detail_url = ""
    row_actions_template = "broadcasts/moderation_row_actions.html"

    def prepare_rows(self, objs: list) -> None:
        """The page's target and tag names, in two queries."""
        target_names, tag_names = selectors.recipient_names(objs)
        for obj in objs:
            obj.recipients_summary = recipients_summary(obj, target_names, tag_names)
            obj.review_url = reverse(self.detail_url, args=[obj.pk])


def _name_column(url_name: str) -> Column:
    return Column("name", gettext_lazy("Name"), "name", html=lambda d: format_html(
        '<a href="{}" data-action="review">{}</a>', reverse(url_name, args=[d.pk]), d.name))


def _common_columns(url_name: str) -> list[Column]:
    return [
        Column("company", gettext_lazy("Company"), "company__name"),
        _name_column(url_name),
        Column("created_by", gettext_lazy("Created by"), "created_by__last_name", accessor=_created_by),
        Column("submitted", gettext_lazy("Submitted"), "updated_at", kind=DATE),
        Column("recipients", gettext_lazy("Recipients"), None, sortable=False, filterable=False,
               accessor=lambda d: recipients_text(_summary(d))),
        Column("steps", gettext_lazy("Steps"), None, sortable=False, filterable=False, accessor=channels_text),
    ]


def _scheduled_html(b):
    if b.scheduled_for is None:
        return format_html('<span class="muted">{}</span>', _("Instantly"))
    return format_datetime(b.scheduled_for)


class BroadcastModerationTable(ModerationTable):
    key = "broadcast_moderation"
    export_name = "broadcasts-on-moderation"
    detail_url = "broadcasts:moderation_detail"
    columns = [
        *_common_columns("broadcasts:moderation_detail"),
        Column("scheduled_for", gettext_lazy("Scheduled for"), "scheduled_for", kind=DATE, html=_scheduled_html),
        Column("description", gettext_lazy("Description"), "description", default=False),
        Column("id", gettext_lazy("ID"), "id", kind=NUMBER, default=False),
    ]


def schedule_text(t) -> str:
    """A template's schedule in a few words: "Weekly, from 01.03.2025 09:00:00"."""
    if not t.is_scheduled:
        return _("No schedule")
    text = str(t.get_frequency_display())
    if t.effective_from:
        text += ", " + _("from %(when)s") % {"when": format_datetime(t.effective_from)}
    if t.effective_till:
        text += ", " + _("till %(when)s") % {"when": format_datetime(t.effective_till)}
    return text


class TemplateModerationTable(ModerationTable):
    key = "template_moderation"
    export_name = "templates-on-moderation"
    detail_url = "broadcasts:moderation_template_detail"
    columns = [
        *_common_columns("broadcasts:moderation_template_detail"),
        Column("schedule", gettext_lazy("Schedule"), "effective_from", kind=DATE, accessor=schedule_text),
        Column("description", gettext_lazy("Description"), "description", default=False),
        Column("id", gettext_lazy("ID"), "id", kind=NUMBER, default=False),
    ]
