"""Webhook pages (permission *Manage API Accesses*): the delivery log, one event with its
attempts, replay, the endpoints and the signing secret. Thin: rules live in services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from portal.access import PortalAccessMixin, TableView
from webhooks import selectors, services, signing
from webhooks.forms import ReplaySinceForm
from webhooks.models import Endpoint, Event
from webhooks.tables import EndpointTable, EventTable

PERMISSIONS = ("manage_api_accesses",)


class WebhookAccessMixin(PortalAccessMixin):
    required_permissions = PERMISSIONS

    def get_event(self, pk) -> Event:
        try:
            return selectors.events_for(self.company).get(pk=pk)
        except Event.DoesNotExist:
            raise Http404

    def get_endpoint(self, pk) -> Endpoint:
        try:
            return selectors.endpoints_for(self.company).get(pk=pk)
        except Endpoint.DoesNotExist:
            raise Http404


class EventLogView(TableView):
    required_permissions = PERMISSIONS
    table_class = EventTable
    template_name = "webhooks/log.html"

    def get_queryset(self):
        return selectors.events_for(self.company)


class EventDetailView(WebhookAccessMixin, View):
    def get(self, request, pk):
        event = self.get_event(pk)
        deliveries = list(event.deliveries.order_by("-attempt"))
        return render(request, "webhooks/event.html", {"event": event, "deliveries": deliveries})


class EventReplayView(WebhookAccessMixin, View):
    def post(self, request, pk):
        event = self.get_event(pk)
        try:
            services.replay(actor=self.actor, event=event)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Webhook %(id)s is being sent again.") % {"id": event.pk})
        return redirect("webhooks:event", pk=event.pk)


class ReplaySinceView(WebhookAccessMixin, View):
    template_name = "webhooks/replay_since.html"

    def form(self, data=None):
        return ReplaySinceForm(data, endpoints=selectors.endpoints_for(self.company),
                               initial={"endpoint": self.request.GET.get("endpoint") or None})

    def get(self, request):
        return render(request, self.template_name, {"form": self.form()})

    def post(self, request):
        form = self.form(request.POST)
        if form.is_valid():
            try:
                replayed, skipped = services.replay_since(actor=self.actor, company=self.company,
                                                          since=form.cleaned_data["since"],
                                                          endpoint=form.cleaned_data["endpoint"])
            except ValidationError as exc:
                from accounts.forms import apply_service_errors

                apply_service_errors(form, exc)
            else:
                text = ngettext("%(n)s webhook is being sent again.", "%(n)s webhooks are being sent again.",
                                replayed) % {"n": replayed}
                if skipped:
                    text += " " + ngettext(
                        "%(n)s webhook of a disabled endpoint was left alone: enable the endpoint first.",
                        "%(n)s webhooks of disabled endpoints were left alone: enable the endpoints first.",
                        skipped) % {"n": skipped}
                (messages.success if replayed else messages.warning)(request, text)
                return redirect("webhooks:log")
        return render(request, self.template_name, {"form": form}, status=422)


class EndpointListView(TableView):
    required_permissions = PERMISSIONS
    table_class = EndpointTable
    template_name = "webhooks/endpoints.html"

    def get_queryset(self):
        return selectors.endpoints_for(self.company)


class EndpointEnableView(WebhookAccessMixin, View):
    def post(self, request, pk):
        endpoint = self.get_endpoint(pk)
        held = services.enable_endpoint(actor=self.actor, endpoint=endpoint)
        text = _("Endpoint %(url)s enabled.") % {"url": endpoint.url}
        if held:
            text += " " + ngettext(
                "%(n)s webhook was held while it was disabled; use “Replay all since” to send it.",
                "%(n)s webhooks were held while it was disabled; use “Replay all since” to send them.",
                held) % {"n": held}
        messages.success(request, text)
        return redirect("webhooks:endpoints")


class EndpointDisableView(WebhookAccessMixin, View):
    def post(self, request, pk):
        endpoint = self.get_endpoint(pk)
        services.disable_endpoint(actor=self.actor, endpoint=endpoint)
        messages.success(request, _("Endpoint %(url)s disabled: webhooks to it are kept but not sent.")
                         % {"url": endpoint.url})
        return redirect("webhooks:endpoints")


class SecretView(WebhookAccessMixin, View):
    template_name = "webhooks/secret.html"

    def page(self, revealed=False):
        ws = services.company_secret(self.company)
        in_grace = len(services.signing_secrets(ws)) > 1
        response = render(self.request, self.template_name, {
            "masked": signing.mask(ws.secret), "secret": ws.secret if revealed else None, "ws": ws,
            "in_grace": in_grace, "grace_until": ws.rotated_at + services.rotation_grace() if in_grace else None})
        if revealed:
            response["Cache-Control"] = "no-store"
        return response

    def get(self, request):
        return self.page()


class SecretRevealView(SecretView):
    def get(self, request):
        return redirect("webhooks:secret")

    def post(self, request):
        return self.page(revealed=True)


class SecretRotateView(WebhookAccessMixin, View):
    def post(self, request):
        services.rotate_secret(actor=self.actor, company=self.company)
        messages.success(request, _("A new signing secret was created. Webhooks carry signatures with both the new "
                                    "and the previous secret for %(hours)s hours; update your receiver now.")
                         % {"hours": int(services.rotation_grace().total_seconds() // 3600)})
        return redirect("webhooks:secret")
