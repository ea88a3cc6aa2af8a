"""Data tables of the Broadcasts pages (spec P§4.1, P§4.6; docs/broadcasts.md).

* :class:`BroadcastTable` — the *Broadcasts* tab: ID, Broadcast Name, Progress, Type,
  Status, Scheduled for, Contacts, Launched, Launch, Finished, Template, Actions. The
  *Progress* bar of every row comes from the engine's counters in one query per page
  (``selectors.progress_many``), never from counting messages.
* :class:`RecipientTable` — a run's recipients on its statistics page: one row per
  delivery plan (contact, step reached and its channel, outcome, the current message's
  status and error), with ``contact`` and ``current_message`` joined in the page query.

Choice columns (type, status, launch, outcome, message status) filter *by value* on a
substring of their labels ("progress", "moder…"), as the Sender IDs table does. Dates are
shown in the company's time zone: the views render and export with that zone active.
"""

from __future__ import annotations

from django.db.models import Case, F, Q, TextField, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, NullIf
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from messaging.models import MessageStatus, PlanState
from portal.channel_types import Channel
from portal.tables import DATE, NUMBER, Column, Table

from . import selectors
from .models import BroadcastStatus, BroadcastType, LaunchType
from .services import runs


def label_filter(field: str, choices, *, nullable: bool = False):
    """A filter on a choice field by its label: the exact label (or value) when the text is
    one ("successful" is not "Unsuccessful"), else a substring of the labels. *Empty value*
    matches only when the field can be empty."""

    def filter_q(mode, value):
        if mode == "empty":
            empty = Q(**{f"{field}__isnull": True}) if nullable else Q(pk__in=[])
            return empty if value else ~empty
        text = str(value).strip().casefold()
        exact = [c.value for c in choices if text in (str(c.label).casefold(), str(c.value).casefold())]
        return Q(**{f"{field}__in": exact or [c.value for c in choices if text in str(c.label).casefold()]})

    return filter_q


def label_sql(field: str, choices):
    """The label of a choice field as SQL (the COPY export on PostgreSQL)."""

    def sql(table):
        return Case(*[When(**{field: c.value}, then=Value(str(c.label))) for c in choices],
                    default=Value(""), output_field=TextField())

    return sql


# --- the Broadcasts table ------------------------------------------------------------------------

def _name_html(b):
    return format_html('<a href="{}" data-action="view">{}</a>', reverse("broadcasts:detail", args=[b.pk]), b.name)


def status_html(b):
    return format_html('<span class="chip bc-status status-{}" data-status="{}">{}</span>', b.status, b.status,
                       b.get_status_display())


def _progress(b) -> dict:
    return getattr(b, "progress", None) or {"successful_pct": 0.0, "unsuccessful_pct": 0.0, "done_pct": 0.0}


def _pct_text(value: float) -> str:
    return f"{value:g}%"


def _progress_text(b) -> str:
    p = _progress(b)
    return str(_("%(ok)s successful, %(bad)s unsuccessful") % {"ok": _pct_text(p["successful_pct"]),
                                                                "bad": _pct_text(p["unsuccessful_pct"])})


def progress_html(b):
    p = _progress(b)
    return format_html(
        '<div class="bc-progress" title="{}" data-successful="{}" data-unsuccessful="{}" role="img" aria-label="{}">'
        '<span class="bc-progress-ok" style="width:{}%"></span><span class="bc-progress-bad" style="width:{}%"></span>'
        '</div>', _progress_text(b), p["successful_pct"], p["unsuccessful_pct"], _progress_text(b),
        p["successful_pct"], p["unsuccessful_pct"])


def contacts_of(b) -> int:
    """Recipients of the run: exact once resolved, the launch-time estimate before."""
    return b.total_contacts if b.resolved else max(b.total_contacts, b.estimated_contacts)


class BroadcastTable(Table):
    key = "broadcasts"
    export_name = "broadcasts"
    default_sort = "-id"
    row_actions_template = "broadcasts/_row_actions.html"
    columns = [
        Column("id", _("ID"), "id", kind=NUMBER),
        Column("name", _("Broadcast Name"), "name", html=_name_html),
        Column("progress", _("Progress"), None, sortable=False, filterable=False, accessor=_progress_text,
               html=progress_html),
        Column("type", _("Type"), "type", accessor=lambda b: b.get_type_display(),
               filter_q=label_filter("type", BroadcastType), sql=label_sql("type", BroadcastType)),
        Column("status", _("Status"), "status", accessor=lambda b: b.get_status_display(), html=status_html,
               filter_q=label_filter("status", BroadcastStatus), sql=label_sql("status", BroadcastStatus)),
        Column("scheduled_for", _("Scheduled for"), "scheduled_for", kind=DATE),
        Column("contacts", _("Contacts"), "total_contacts", kind=NUMBER, accessor=contacts_of),
        Column("launched_at", _("Launched"), "launched_at", kind=DATE),
        Column("launch_type", _("Launch"), "launch_type", accessor=lambda b: b.get_launch_type_display(),
               filter_q=label_filter("launch_type", LaunchType), sql=label_sql("launch_type", LaunchType)),
        Column("finished_at", _("Finished"), "finished_at", kind=DATE),
        Column("template", _("Template"), "template__id", kind=NUMBER, accessor=lambda b: b.template_id),
        Column("description", _("Description"), "description", default=False),
        Column("created_at", _("Created"), "created_at", kind=DATE, default=False),
    ]

    def prepare_rows(self, objs: list) -> None:
        """The progress of the page's runs (one query) and what each row's actions offer."""
        progress = selectors.progress_many(objs)
        for obj in objs:
            obj.progress = progress.get(obj.pk)
            obj.can_edit = runs.can_edit(obj)
            obj.can_pause = runs.can_pause(obj)
            obj.can_resume = runs.can_resume(obj)
            obj.can_stop = runs.can_stop(obj)
            obj.can_relaunch = runs.can_relaunch(obj)
            obj.can_delete = runs.can_delete(obj)


# --- a run's recipients ---------------------------------------------------------------------------

def _phone(plan) -> str:
    contact = plan.contact
    return (contact.phone if contact is not None and contact.phone else "") or plan.address


def _message_status(plan) -> str:
    message = plan.current_message
    return message.get_status_display() if message is not None else ""


# A message's error is shown when it failed or was skipped (a delivered one may carry the
# provider's "no error" code, e.g. "000").
ERROR_STATUSES = (MessageStatus.FAILED, MessageStatus.REJECTED, MessageStatus.UNDELIVERED, MessageStatus.EXPIRED,
                  MessageStatus.SKIPPED)


def _message_error(plan) -> str:
    message = plan.current_message
    if message is None or message.status not in ERROR_STATUSES:
        return ""
    if message.error_code and message.error_text:
        return f"{message.error_code}: {message.error_text}"
    return message.error_text or message.error_code


def _outcome_html(plan):
    return format_html('<span class="chip bc-outcome outcome-{}" data-outcome="{}">{}</span>', plan.state, plan.state,
                       plan.get_state_display())


def _message_status_html(plan):
    message = plan.current_message
    if message is None:
        return ""
    return format_html('<span class="chip msg-{}" data-message-status="{}">{}</span>', message.status, message.status,
                       message.get_status_display())


def _error_sql():
    code, text = F("current_message__error_code"), F("current_message__error_text")
    return Case(When(current_message__isnull=True, then=Value("")),
                When(~Q(current_message__status__in=ERROR_STATUSES), then=Value("")),
                When(current_message__error_code="", then=text),
                When(current_message__error_text="", then=code),
                default=Concat(code, Value(": "), text, output_field=TextField()), output_field=TextField())


class RecipientTable(Table):
    """``RecipientTable(request, plans, broadcast=…)``: the recipients of one run."""

    key = "broadcast_recipients"
    export_name = "broadcast-recipients"
    default_sort = "id"
    columns = [
        Column("phone", _("Contact"), "contact__phone", accessor=_phone, escape=False,
               sql=lambda t: Coalesce(NullIf(F("contact__phone"), Value("")), F("address"),
                                      output_field=TextField())),
        Column("step", _("Step reached"), "current_step", kind=NUMBER),  # per request: see get_columns
        Column("channel", _("Channel"), None, sortable=False),  # per request
        Column("outcome", _("Outcome"), "state", accessor=lambda p: p.get_state_display(), html=_outcome_html,
               filter_q=label_filter("state", PlanState), sql=label_sql("state", PlanState)),
        Column("message_status", _("Message status"), "current_message__status", accessor=_message_status,
               html=_message_status_html,
               filter_q=label_filter("current_message__status", MessageStatus, nullable=True),
               sql=label_sql("current_message__status", MessageStatus)),
        Column("error", _("Error"), "current_message__error_text", accessor=_message_error,
               sql=lambda t: _error_sql()),
        Column("late_reports", _("Late reports"), "late_reports", kind=NUMBER, default=False),
        Column("id", _("ID"), "id", kind=NUMBER, default=False),
        Column("created_at", _("Initiated"), "created_at", kind=DATE, default=False),
        Column("finished_at", _("Finished"), "finished_at", kind=DATE, default=False),
    ]

    def __init__(self, request, queryset, *, broadcast, **kwargs):
        self.broadcast = broadcast
        self.step_channels = [int(s.get("channel") or 0) for s in broadcast.steps or []]
        super().__init__(request, queryset.select_related("contact", "current_message").defer("steps"), **kwargs)

    count_limit = 10_000  # a filtered count over a huge run stops there ("10,000+")

    def paginator(self):
        paginator = super().paginator()
        if not self._filter_params() and not self.filter_errors:
            # Unfiltered, the number of rows is the run's number of recipients so far (the
            # resolver commits it with each batch of plans): no count over a million plans
            # for every page view.
            paginator.__dict__["count"] = self.broadcast.total_contacts
        return paginator

    def channel_label(self, index) -> str:
        if index is None or not 0 <= index < len(self.step_channels):
            return ""
        channel = self.step_channels[index]
        return Channel(channel).label if channel in Channel.values else ""

    def _step_value(self, plan):
        return None if plan.current_step is None else plan.current_step + 1

    def _step_html(self, plan):
        if plan.current_step is None:
            return format_html('<span class="muted">—</span>')
        return format_html('<span data-step="{}">{}</span> <span class="muted">· {}</span>', plan.current_step + 1,
                           plan.current_step + 1, self.channel_label(plan.current_step))

    def _step_filter(self, mode, value) -> Q:
        if mode == "empty":
            return Q(current_step__isnull=True) if value else Q(current_step__isnull=False)
        lookup = {"": "", "min": "__gte", "max": "__lte"}[mode if mode != "value" else ""]
        return Q(**{f"current_step{lookup}": int(value) - 1})

    def _channel_filter(self, mode, value) -> Q:
        if mode == "empty":
            return Q(current_step__isnull=True) if value else Q(current_step__isnull=False)
        text = str(value).strip().casefold()
        steps = [i for i, _c in enumerate(self.step_channels) if text in self.channel_label(i).casefold()]
        return Q(current_step__in=steps)

    def _channel_sql(self, table):
        return Case(*[When(current_step=i, then=Value(self.channel_label(i))) for i in range(len(self.step_channels))],
                    default=Value(""), output_field=TextField())

    def _step_sql(self, table):
        return Cast(F("current_step") + 1, TextField())

    def get_columns(self) -> list[Column]:
        cols = list(type(self).columns)
        cols[1] = Column("step", _("Step reached"), "current_step", kind=NUMBER, accessor=self._step_value,
                         html=self._step_html, filter_q=self._step_filter, sql=self._step_sql)
        cols[2] = Column("channel", _("Channel"), None, sortable=False,
                         accessor=lambda p: self.channel_label(p.current_step), filter_q=self._channel_filter,
                         sql=self._channel_sql)
        return cols
