"""Attribute manager (spec P§6.6): list with search, new, edit, delete (with the number
of contacts that lose a value). The phone number is shown as a fixed row: it is not an
attribute and cannot be removed."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from .. import selectors, services
from ..forms import AttributeForm, apply_errors
from ..models import Attribute
from .contacts import ContactsAccessMixin


def attribute_or_404(company, pk) -> Attribute:
    try:
        return selectors.attributes_for(company).get(pk=pk)
    except Attribute.DoesNotExist:
        raise Http404


def _next_url(request, default="contacts:attributes"):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return None


def targets_using(company, key: str) -> list:
    field = f"attribute:{key}"
    return [t for t in selectors.targets_for(company).order_by("name")
            if any(isinstance(c, dict) and c.get("field") == field for c in t.filters)]


class AttributeListView(ContactsAccessMixin, View):
    template_name = "contacts/attributes/list.html"

    def get(self, request):
        q = (request.GET.get("q") or "").strip()
        attributes = selectors.attributes_for(self.company)
        if q:
            attributes = attributes.filter(Q(name__icontains=q) | Q(key__icontains=q))
        phone_matches = not q or q.lower() in _("Phone number").lower() or q.lower() in "phone"
        return render(request, self.template_name, {
            "attributes": attributes, "q": q, "phone_matches": phone_matches, "active_tab": "contacts"})


class AttributeFormView(ContactsAccessMixin, View):
    template_name = "contacts/attributes/form.html"

    def render_form(self, form, attribute=None, status=200):
        return render(self.request, self.template_name, {
            "form": form, "attribute": attribute, "next": _next_url(self.request) or "",
            "placeholder": "{{attribute." + attribute.key + "}}" if attribute else "", "active_tab": "contacts"},
            status=status)

    def done(self, request):
        return redirect(_next_url(request) or "contacts:attributes")


class AttributeCreateView(AttributeFormView):
    def get(self, request):
        return self.render_form(AttributeForm())

    def post(self, request):
        form = AttributeForm(request.POST)
        if form.is_valid():
            try:
                attr = services.create_attribute(actor=self.actor, company=self.company, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Attribute “%(name)s” added.") % {"name": attr.name})
                return self.done(request)
        return self.render_form(form, status=422)


class AttributeUpdateView(AttributeFormView):
    def get(self, request, pk):
        attr = attribute_or_404(self.company, pk)
        return self.render_form(AttributeForm(initial={
            "name": attr.name, "type": attr.type, "values": "\n".join(attr.values),
            "show_in_profile": attr.show_in_profile}), attr)

    def post(self, request, pk):
        attr = attribute_or_404(self.company, pk)
        form = AttributeForm(request.POST)
        if form.is_valid():
            try:
                services.update_attribute(actor=self.actor, attribute=attr, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
                attr.refresh_from_db()
            else:
                messages.success(request, _("Attribute “%(name)s” saved.") % {"name": attr.name})
                return self.done(request)
        return self.render_form(form, attr, status=422)


class AttributeDeleteView(ContactsAccessMixin, View):
    """GET: how many contacts lose a value, and which targets filter on it; POST: delete."""

    template_name = "contacts/attributes/delete.html"

    def get(self, request, pk):
        attr = attribute_or_404(self.company, pk)
        count = selectors.contacts_for(self.company).filter(attributes__has_key=attr.key).count()
        return render(request, self.template_name, {
            "attribute": attr, "count": count, "targets": targets_using(self.company, attr.key),
            "active_tab": "contacts"})

    def post(self, request, pk):
        attr = attribute_or_404(self.company, pk)
        name = attr.name
        cleared = services.delete_attribute(actor=self.actor, attribute=attr)
        messages.success(request, ngettext(
            "Attribute “%(name)s” deleted; %(n)d contact lost its value.",
            "Attribute “%(name)s” deleted; %(n)d contacts lost their value.", cleared) % {"name": name, "n": cleared})
        return redirect("contacts:attributes")
