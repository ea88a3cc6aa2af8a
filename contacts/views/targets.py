"""The Targets tab (spec P§6.7): the table, add / edit with the filter builder and the
live count of matching contacts, duplicate, delete, and *To broadcasts*."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from .. import selectors, services
from ..forms import TargetForm, apply_errors
from ..models import Target
from ..tables import TargetTable
from .contacts import ContactsAccessMixin

BROADCASTS_URL = "/broadcasts/new/"


def to_broadcasts_url(*target_ids) -> str:
    """*To broadcasts*: the broadcasts page opens a new broadcast with these targets."""
    return BROADCASTS_URL + "?" + urlencode([("target", pk) for pk in target_ids])


def target_or_404(company, pk) -> Target:
    try:
        return selectors.targets_for(company).get(pk=pk)
    except Target.DoesNotExist:
        raise Http404


def builder_fields(company) -> list[dict]:
    """The filter builder's fields: key, label, kind and, for lists, the allowed values."""
    values = {f"attribute:{a.key}": a.values for a in selectors.attributes_for(company)}
    return [{"field": f, "label": str(label), "kind": kind, "values": values.get(f, [])}
            for f, label, kind in selectors.field_choices(company)]


class TargetListView(ContactsAccessMixin, View):
    template_name = "contacts/targets/list.html"

    def get(self, request):
        table = TargetTable(request, selectors.targets_for(self.company), company=self.company)
        fmt = request.GET.get("export")
        if fmt in ("csv", "xlsx"):
            return table.export(fmt)
        return render(request, self.template_name, {
            "datatable": table.render(), "broadcasts_url": BROADCASTS_URL, "active_tab": "targets"})


class TargetFormView(ContactsAccessMixin, View):
    template_name = "contacts/targets/form.html"

    def render_form(self, form, target=None, status=200):
        filters = form["filters"].value()
        if isinstance(filters, list):
            filters = json.dumps(filters)
        return render(self.request, self.template_name, {
            "form": form, "target": target, "fields_json": json.dumps(builder_fields(self.company)),
            "filters_json": filters or "[]", "count_url": reverse("contacts:target_count"),
            "to_broadcasts_url": to_broadcasts_url(target.pk) if target else "", "active_tab": "targets",
        }, status=status)


class TargetCreateView(TargetFormView):
    def get(self, request):
        return self.render_form(TargetForm(initial={"filters": "[]"}))

    def post(self, request):
        form = TargetForm(request.POST)
        if form.is_valid():
            try:
                target = services.create_target(actor=self.actor, company=self.company,
                                                 name=form.cleaned_data["name"], filters=form.cleaned_data["filters"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Target “%(name)s” saved.") % {"name": target.name})
                return redirect("contacts:targets")
        return self.render_form(form, status=422)


class TargetUpdateView(TargetFormView):
    def get(self, request, pk):
        target = target_or_404(self.company, pk)
        return self.render_form(TargetForm(initial={"name": target.name, "filters": json.dumps(target.filters)}),
                                target)

    def post(self, request, pk):
        target = target_or_404(self.company, pk)
        form = TargetForm(request.POST)
        if form.is_valid():
            try:
                services.update_target(actor=self.actor, target=target, name=form.cleaned_data["name"],
                                       filters=form.cleaned_data["filters"])
            except ValidationError as exc:
                apply_errors(form, exc)
                target.refresh_from_db()
            else:
                messages.success(request, _("Target “%(name)s” saved.") % {"name": target.name})
                return redirect("contacts:targets")
        return self.render_form(form, target, status=422)


class TargetDuplicateView(ContactsAccessMixin, View):
    def post(self, request, pk):
        copy = services.duplicate_target(actor=self.actor, target=target_or_404(self.company, pk))
        messages.success(request, _("Target duplicated as “%(name)s”.") % {"name": copy.name})
        return redirect("contacts:targets")


class TargetDeleteView(ContactsAccessMixin, View):
    def post(self, request, pk):
        target = target_or_404(self.company, pk)
        name = target.name
        services.delete_target(actor=self.actor, target=target)
        messages.success(request, _("Target “%(name)s” deleted.") % {"name": name})
        return redirect("contacts:targets")


def _count_response(request, count=None, error=None):
    if request.headers.get("HX-Request"):
        return render(request, "contacts/targets/_count.html", {"count": count, "error": error})
    if error is not None:
        return JsonResponse({"error": error}, status=400)
    return JsonResponse({"count": count})


class TargetCountView(ContactsAccessMixin, View):
    """The live count of the filter builder: POST ``filters`` (JSON) → the number of the
    company's contacts matching them (an htmx fragment, or JSON)."""

    def post(self, request):
        try:
            filters = json.loads(request.POST.get("filters") or "[]")
            criteria = services.clean_criteria(self.company, filters)
        except ValueError:
            return _count_response(request, error=_("The filters could not be read."))
        except ValidationError as exc:
            return _count_response(request, error=" ".join(exc.messages))
        count = selectors.apply_criteria(selectors.contacts_for(self.company), self.company, criteria).count()
        return _count_response(request, count=count)


class SavedTargetCountView(ContactsAccessMixin, View):
    """GET: how many contacts a saved target matches now (mass edit's target selection)."""

    def get(self, request, pk):
        target = target_or_404(self.company, pk)
        try:
            count = selectors.target_contacts(target).count()
        except selectors.CriteriaError as exc:
            return _count_response(request, error=str(exc))
        return _count_response(request, count=count)
