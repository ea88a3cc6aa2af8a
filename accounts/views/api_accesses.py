"""API Accesses (spec §14): keys are shown once, stored as a hash."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from accounts import selectors, services
from accounts.forms import apply_service_errors
from accounts.forms_admin import ApiAccessForm
from accounts.models import ApiAccess
from accounts.tables import ApiAccessTable
from portal.access import PortalAccessMixin, TableView

NEW_KEY_SESSION = "herald_new_api_key"


class ApiAccessListView(TableView):
    required_permissions = ("manage_api_accesses",)
    table_class = ApiAccessTable
    template_name = "accounts/api_accesses/list.html"

    def get_queryset(self):
        return selectors.api_accesses_for(self.company)


class ApiAccessMixin(PortalAccessMixin):
    required_permissions = ("manage_api_accesses",)
    template_name = "accounts/api_accesses/form.html"

    def get_access(self, pk) -> ApiAccess:
        try:
            return selectors.api_accesses_for(self.company).get(pk=pk)
        except ApiAccess.DoesNotExist:
            raise Http404

    def render_form(self, form, access=None, status=200):
        new_key = None
        if access is not None:
            stash = self.request.session.pop(NEW_KEY_SESSION, None)
            if stash and stash.get("id") == access.pk:
                new_key = stash["key"]
        return render(self.request, self.template_name, {"form": form, "object": access, "new_key": new_key},
                      status=status)

    def stash_key(self, access, raw):
        """The key is handed to the next page once (post/redirect/get), then forgotten."""
        self.request.session[NEW_KEY_SESSION] = {"id": access.pk, "key": raw}


class ApiAccessCreateView(ApiAccessMixin, View):
    def get(self, request):
        return self.render_form(ApiAccessForm())

    def post(self, request):
        form = ApiAccessForm(request.POST)
        if form.is_valid():
            try:
                access, raw = services.create_api_access(actor=self.actor, company=self.company, **form.service_kwargs())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                self.stash_key(access, raw)
                messages.success(request, _("API key created. Copy it now: it is shown only once."))
                return redirect("api_accesses:edit", pk=access.pk)
        return self.render_form(form, status=422)


def _initial(access: ApiAccess) -> dict:
    return {"name": access.name, "webhook_url": access.webhook_url, "scopes": access.scopes,
            "allowed_senders": "\n".join(access.allowed_senders), "ip_allowlist": "\n".join(access.ip_allowlist)}


class ApiAccessUpdateView(ApiAccessMixin, View):
    def get(self, request, pk):
        access = self.get_access(pk)
        return self.render_form(ApiAccessForm(initial=_initial(access)), access)

    def post(self, request, pk):
        access = self.get_access(pk)
        form = ApiAccessForm(request.POST)
        if form.is_valid():
            try:
                services.update_api_access(actor=self.actor, access=access, **form.service_kwargs())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("API access saved."))
                return redirect("api_accesses:list")
        return self.render_form(form, access, status=422)


class ApiAccessRegenerateView(ApiAccessMixin, View):
    def post(self, request, pk):
        access = self.get_access(pk)
        raw = services.regenerate_api_key(actor=self.actor, access=access)
        self.stash_key(access, raw)
        messages.success(request, _("A new API key was created; the old one no longer works. Copy it now."))
        return redirect("api_accesses:edit", pk=access.pk)


class ApiAccessDeleteView(ApiAccessMixin, View):
    def post(self, request, pk):
        access = self.get_access(pk)
        services.delete_api_access(actor=self.actor, access=access)
        messages.success(request, _("API access %(name)s deleted.") % {"name": access.name})
        return redirect("api_accesses:list")
