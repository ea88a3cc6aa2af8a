"""The Sender IDs data table (spec P§11.2): Sender ID, Sender ID Name, Channel, Status,
Agreement, Created; filters, sorting, columns to show and export like every list.

Channel and Status filter *by value* on their labels ("sms", "progress"); they are never
empty."""

from __future__ import annotations

from django.db.models import Case, Q, TextField, Value, When
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from portal.channel_types import Channel
from portal.tables import DATE, Column, Table

from .models import SenderIdStatus
from .services import senders as rules


def _label_filter(field: str, choices):
    """A filter on a choice field by a substring of its labels."""

    def filter_q(mode, value):
        if mode == "empty":  # a channel or status is never empty
            return Q(pk__in=[]) if value else Q()
        text = str(value).strip().casefold()
        return Q(**{f"{field}__in": [c.value for c in choices if text in str(c.label).casefold()]})

    return filter_q


def _label_sql(field: str, choices):
    """The label of a choice field as SQL (the COPY export on PostgreSQL)."""

    def sql(table):
        return Case(*[When(**{field: c.value}, then=Value(str(c.label))) for c in choices],
                    default=Value(""), output_field=TextField())

    return sql


def _name_html(sender):
    return format_html('<a href="{}" data-action="view">{}</a>',
                       reverse("sender_ids:detail", args=[sender.pk]), sender.name)


def _status_html(sender):
    return format_html('<span class="chip status-{}" data-status="{}">{}</span>', sender.status, sender.status,
                       sender.get_status_display())


def _sender_id_html(sender):
    if sender.sender_id:
        return sender.sender_id
    return format_html('<span class="muted" title="{}">—</span>', _("Not assigned yet"))


class SenderIdTable(Table):
    key = "sender_ids"
    export_name = "sender-ids"
    default_sort = "-created_at"
    row_actions_template = "messaging/sender_ids/_row_actions.html"
    columns = [
        Column("sender_id", _("Sender ID"), "sender_id", html=_sender_id_html),
        Column("name", _("Sender ID Name"), "name", html=_name_html),
        Column("channel", _("Channel"), "channel", accessor=lambda s: s.get_channel_display(),
               filter_q=_label_filter("channel", Channel), sql=_label_sql("channel", Channel)),
        Column("status", _("Status"), "status", accessor=lambda s: s.get_status_display(), html=_status_html,
               filter_q=_label_filter("status", SenderIdStatus), sql=_label_sql("status", SenderIdStatus)),
        Column("agreement", _("Agreement"), "agreement"),
        Column("created_at", _("Created"), "created_at", kind=DATE),
        Column("description", _("Description"), "description", default=False),
        Column("updated_at", _("Updated"), "updated_at", kind=DATE, default=False),
    ]

    def prepare_rows(self, objs: list) -> None:
        """What each row's actions may offer (the user's permission and the status rules)."""
        user = getattr(self.request, "user", None)
        manage = bool(user and user.is_authenticated and user.has_permission("manage_sender_ids"))
        for obj in objs:
            obj.can_edit = manage and rules.can_edit(obj)
            obj.can_delete = manage and rules.can_delete(obj)
