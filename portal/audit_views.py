"""The Audit page (spec §13): the company's log, a row expands to its detail lines,
which download as CSV."""

from __future__ import annotations

import json

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views import View

from portal.access import PortalAccessMixin, TableView
from portal.models import AuditEvent
from portal.tables import DATE, NUMBER, Column, Table, csv_response


def events_for(company):
    return AuditEvent.objects.filter(company=company) if company is not None else AuditEvent.objects.none()


class AuditTable(Table):
    key = "audit"
    export_name = "audit"
    default_sort = "-created_at"
    row_template = "audit/_row.html"
    columns = [
        Column("created_at", _("Date & Time"), "created_at", kind=DATE),
        Column("user", _("User"), "user_login", accessor=lambda e: e.actor_label),
        Column("ip_address", _("IP Address"), "ip_address"),
        Column("action", _("Logged Action"), "action"),
        Column("detail_count", _("Details"), "detail_count", kind=NUMBER, default=False),
    ]


class AuditListView(TableView):
    required_permissions = ("view_audit",)
    table_class = AuditTable
    template_name = "audit/list.html"

    def get_queryset(self):
        return events_for(self.company)


class _EventMixin(PortalAccessMixin):
    required_permissions = ("view_audit",)

    def get_event(self, pk) -> AuditEvent:
        try:
            return events_for(self.company).get(pk=pk)
        except AuditEvent.DoesNotExist:
            raise Http404


def _pretty(value) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


class AuditDetailsView(_EventMixin, View):
    def get(self, request, pk):
        event = self.get_event(pk)
        details = [{"d": d, "old": _pretty(d.old_value), "new": _pretty(d.new_value)} for d in event.details.all()]
        return render(request, "audit/_details.html", {"event": event, "details": details})


class AuditDetailsCsvView(_EventMixin, View):
    def get(self, request, pk):
        event = self.get_event(pk)
        rows = ([d.table, d.operation, d.object_id, _pretty(d.old_value), _pretty(d.new_value)]
                for d in event.details.all())
        return csv_response(f"audit-{event.pk}-details", ["Table", "Operation", "Object ID", "Old value",
                                                           "New value"], rows)
