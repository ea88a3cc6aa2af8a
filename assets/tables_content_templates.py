"""The Content templates data table (spec P§11.3): ID, Template Name, Channel, Last Modified
(``DD.MM.YYYY HH:MM:SS`` in the company's time zone); filters, sorting, columns to show and
export like every list. Channel filters *by value* on its label ("sms", "push")."""

from __future__ import annotations

from django.db.models import Case, Q, TextField, Value, When
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from portal.channel_types import Channel
from portal.tables import DATE, NUMBER, Column, Table


def _channel_q(mode, value):
    if mode == "empty":  # a template always has a channel
        return Q(pk__in=[]) if value else Q()
    text = str(value).strip().casefold()
    return Q(channel__in=[c.value for c in Channel if text in str(c.label).casefold()])


def _channel_sql(table):
    return Case(*[When(channel=c.value, then=Value(str(c.label))) for c in Channel], default=Value(""),
                output_field=TextField())


def _name_html(template):
    return format_html('<a href="{}" data-action="edit-name">{}</a>',
                       reverse("content_templates:edit", args=[template.pk]), template.name)


class ContentTemplateTable(Table):
    key = "content_templates"
    export_name = "content-templates"
    default_sort = "-updated_at"
    row_actions_template = "assets/content_templates_row_actions.html"
    columns = [
        Column("id", _("ID"), "id", kind=NUMBER),
        Column("name", _("Template Name"), "name", html=_name_html),
        Column("channel", _("Channel"), "channel", accessor=lambda t: t.get_channel_display(), filter_q=_channel_q,
               sql=_channel_sql),
        Column("updated_at", _("Last Modified"), "updated_at", kind=DATE),
        Column("created_at", _("Created"), "created_at", kind=DATE, default=False),
        Column("sender", _("Sender ID"), "sender", default=False),
    ]
