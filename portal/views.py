"""Shell pages: dashboard placeholder, honest "coming soon" sections, help, health."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from accounts import services as account_services
from portal import health
from portal.access import PortalAccessMixin
from portal.menu import MENU
from portal.tables import registry as table_registry


def home(request):
    return redirect("dashboard" if request.user.is_authenticated else "login")


class DashboardView(PortalAccessMixin, TemplateView):
    template_name = "portal/dashboard.html"
    required_permissions = ("view_dashboard",)


class ComingSoonView(PortalAccessMixin, TemplateView):
    template_name = "portal/coming_soon.html"
    section = ""

    def get_context_data(self, **kwargs):
        item = next(i for i in MENU if i.key == self.section)
        return super().get_context_data(section=item, **kwargs)


def coming_soon(key: str):
    item = next(i for i in MENU if i.key == key)
    return ComingSoonView.as_view(section=key, required_permissions=item.any_of)


class AssetsHomeView(ComingSoonView):
    """Assets: users land on the first tab they may see (Sender IDs, Media, Content
    templates); the others see what is coming (WhatsApp and conversation templates)."""

    section = "assets"
    required_permissions = next(i for i in MENU if i.key == "assets").any_of

    def get(self, request, *args, **kwargs):
        if any(request.user.has_permission(c) for c in ("view_sender_ids", "manage_sender_ids")):
            return redirect("sender_ids:list")
        if request.user.has_permission("manage_media"):
            return redirect("media:list")
        if request.user.has_permission("manage_content_templates"):
            return redirect("content_templates:list")
        return super().get(request, *args, **kwargs)


class HelpView(PortalAccessMixin, TemplateView):
    template_name = "portal/help.html"


@never_cache
def healthz(request):
    checks = health.run_checks()
    ok = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ok" if ok else "error", "checks": checks}, status=200 if ok else 503)


@login_required
@require_POST
def save_columns(request, table):
    """Columns to show, saved per user and table."""
    spec = table_registry.get(table)
    if spec is None:
        return JsonResponse({"status": "ERROR", "code": 404, "message": "Unknown table."}, status=404)
    try:
        columns = json.loads(request.body or b"{}").get("columns")
    except (ValueError, AttributeError):
        columns = request.POST.getlist("columns")
    if columns is None:
        columns = request.POST.getlist("columns")
    known = [key for key in spec.allowed_column_keys(request.user) if key in set(columns or ())]
    if not known:
        return JsonResponse({"status": "ERROR", "code": 400, "message": "Choose at least one known column."},
                            status=400)
    account_services.save_table_columns(user=request.user, table=table, columns=known)
    if request.headers.get("HX-Request"):
        response = JsonResponse({"status": "OK", "columns": known})
        response["HX-Refresh"] = "true"
        return response
    return redirect(request.POST.get("next") or request.META.get("HTTP_REFERER") or "dashboard")
