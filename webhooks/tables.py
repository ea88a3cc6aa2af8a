"""Data tables of the webhook pages: the delivery log (events) and the endpoints."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from portal.tables import DATE, NUMBER, Column, Table
from webhooks.models import EventState

STATE_CHIP = {EventState.DELIVERED: "chip chip-success", EventState.FAILED: "chip chip-danger",
              EventState.DISABLED: "chip chip-danger", EventState.PENDING: "chip"}


def _state(event):
    return format_html('<span class="{}" data-state="{}">{}</span>', STATE_CHIP.get(event.state, "chip"),
                       event.state, event.get_state_display())


def _event_link(event):
    return format_html('<a href="{}" data-event-link><code>{}</code></a>',
                       reverse("webhooks:event", args=[event.pk]), event.pk)


class EventTable(Table):
    key = "webhook_events"
    export_name = "webhook-deliveries"
    default_sort = "-created_at"
    row_actions_template = "webhooks/_event_row_actions.html"
    columns = [
        Column("created_at", _("Time"), "created_at", kind=DATE),
        Column("id", _("Webhook ID"), "id", html=_event_link),
        Column("type", _("Type"), "type"),
        Column("endpoint", _("Endpoint"), "endpoint__url"),
        Column("state", _("State"), "state", accessor=lambda e: str(e.get_state_display()), html=_state,
               choices=list(EventState.choices)),
        Column("attempts", _("Attempts"), "attempts", kind=NUMBER),
        Column("last_status_code", _("Last status code"), "last_status_code", kind=NUMBER),
        Column("last_error", _("Last error"), "last_error", default=False),
        Column("next_attempt_at", _("Next attempt"), "next_attempt_at", kind=DATE, default=False),
        Column("delivered_at", _("Delivered"), "delivered_at", kind=DATE, default=False),
    ]


def _endpoint_state(endpoint):
    if endpoint.is_disabled:
        return format_html('<span class="chip chip-danger" data-state="disabled">{}</span>', _("Disabled"))
    return format_html('<span class="chip chip-success" data-state="enabled">{}</span>', _("Enabled"))


def _endpoint_url(endpoint):
    return format_html('<a href="{}?{}" title="{}">{}</a>', reverse("webhooks:log"),
                       urlencode({"endpoint": endpoint.url}), _("Delivery log of this endpoint"), endpoint.url)


class EndpointTable(Table):
    key = "webhook_endpoints"
    export_name = "webhook-endpoints"
    default_sort = "url"
    row_actions_template = "webhooks/_endpoint_row_actions.html"
    columns = [
        Column("url", _("URL"), "url", html=_endpoint_url),
        Column("state", _("State"), None, accessor=lambda e: str(_("Disabled") if e.is_disabled else _("Enabled")),
               html=_endpoint_state),
        Column("disabled_at", _("Disabled"), "disabled_at", kind=DATE),
        Column("disabled_reason", _("Reason"), "disabled_reason"),
        Column("created_at", _("Created"), "created_at", kind=DATE),
    ]
