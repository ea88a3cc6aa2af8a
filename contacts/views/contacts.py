"""The Contacts tab (spec P§6.2–§6.5): the list on the data table, new / edit / delete
contact, the tag picker's suggestions, and mass edit.

Every page needs *Manage Contacts*; every object is looked up within the user's company
(another company's id answers 404). Mass edit acts on a *selection* that travels as
explicit ids, or a target, or "all records" with the list's current filters
(:class:`Selection`); the service re-scopes it to the company.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.http import Http404, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string, select_template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from portal.access import PortalAccessMixin

from .. import selectors, services
from ..forms import (
    ContactForm,
    MassEditForm,
    NewAttributeForm,
    apply_errors,
    attribute_field_name,
    attribute_initial,
)
from ..models import Contact, MassEditJob, Target
from ..tables import ContactTable

OPTOUTS_BLOCK = "contacts/optouts/_contact_optouts.html"
PERMISSION = "manage_contacts"


def url_or(name: str, fallback: str, *args) -> str:
    """``reverse(name)``, or ``fallback`` while that page is not wired (other engineers'
    pages: the import wizard, opt-out words)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return fallback


def template_exists(name: str) -> bool:
    try:
        select_template([name])
    except TemplateDoesNotExist:
        return False
    return True


class ContactsAccessMixin(PortalAccessMixin):
    required_permissions = (PERMISSION,)


def contact_or_404(company, pk) -> Contact:
    try:
        return selectors.contacts_for(company).get(pk=pk)
    except Contact.DoesNotExist:
        raise Http404


# --- the list ----------------------------------------------------------------------------------

class ContactListView(ContactsAccessMixin, View):
    template_name = "contacts/list.html"

    def dispatch(self, request, *args, **kwargs):
        # The menu's Contacts entry opens this page; a user who may only import or manage
        # opt-out words lands on their page instead of a 403.
        user = request.user
        if user.is_authenticated and user.company_id and not user.has_permission(PERMISSION):
            if user.has_permission("import_contacts"):
                return redirect(url_or("contacts:import", "/contacts/import/"))
            if user.has_permission("manage_optout_words"):
                return redirect(url_or("contacts:optout_words", "/contacts/opt-out-words/"))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        mass_edit = request.GET.get("mass_edit") == "1"
        table = ContactTable(request, selectors.contacts_for(self.company), company=self.company,
                             selectable=mass_edit)
        fmt = request.GET.get("export")
        if fmt in ("csv", "xlsx"):
            return table.export(fmt)
        filter_params = table._filter_params()
        context = table.context()
        return render(request, self.template_name, {
            "datatable": render_to_string("components/datatable.html", context, request=request),
            "table": table,
            "total": context["total"],
            "total_capped": context["total_capped"],
            "mass_edit": mass_edit,
            "mass_edit_on_url": table.url(mass_edit="1", page=None),
            "mass_edit_off_url": table.url(mass_edit=None),
            "import_url": url_or("contacts:import", "/contacts/import/"),
            "filter_query": urlencode(filter_params),
            "has_filters": bool(filter_params),
            "active_tab": "contacts",
        })


# --- tag suggestions -----------------------------------------------------------------------------

class TagSearchView(ContactsAccessMixin, View):
    """The tag picker's type-ahead: up to 20 of the company's tag names containing ``q``."""

    def get(self, request):
        q = (request.GET.get("q") or "").strip()
        tags = selectors.tags_for(self.company)
        if q:
            tags = tags.filter(name__icontains=q)
        names = tags.order_by(Lower("name"), "name").values_list("name", flat=True)[:20]
        return JsonResponse({"tags": list(names)})


# --- new / edit / delete -------------------------------------------------------------------------

class ContactFormView(ContactsAccessMixin, View):
    template_name = "contacts/form.html"

    def attributes(self):
        return list(selectors.attributes_for(self.company))

    def form(self, data=None, initial=None, attributes=None):
        return ContactForm(data, initial=initial, company=self.company,
                           attributes=attributes if attributes is not None else self.attributes())

    def render_form(self, form, contact=None, new_attribute_form=None, status=200):
        new_attribute_form = new_attribute_form or NewAttributeForm(prefix="new_attribute")
        return render(self.request, self.template_name, {
            "form": form, "contact": contact, "new_attribute_form": new_attribute_form,
            "add_attribute_open": new_attribute_form.is_bound and not new_attribute_form.is_valid(),
            "tag_names_json": json.dumps(form["tags"].value() or []),
            "tag_search_url": reverse("contacts:tag_search"),
            "optouts_block": OPTOUTS_BLOCK if contact is not None and template_exists(OPTOUTS_BLOCK) else None,
            "active_tab": "contacts",
        }, status=status)

    def add_attribute(self, request, contact=None):
        """*Add attribute*: create it, then show the same form again (with what was
        typed, and an input for the new attribute)."""
        new_form = NewAttributeForm(request.POST, prefix="new_attribute")
        if new_form.is_valid():
            try:
                attr = services.create_attribute(actor=self.actor, company=self.company, **new_form.cleaned_data)
            except ValidationError as exc:
                apply_errors(new_form, exc)
            else:
                messages.success(request, _("Attribute “%(name)s” added.") % {"name": attr.name})
                data = request.POST.copy()
                for key in list(data):
                    if key.startswith("new_attribute-"):
                        del data[key]
                form = self.form(initial=_initial_from_post(data, self.attributes()))
                return self.render_form(form, contact)
        form = self.form(initial=_initial_from_post(request.POST, self.attributes()))
        return self.render_form(form, contact, new_attribute_form=new_form, status=422)


def _initial_from_post(data: QueryDict, attributes) -> dict:
    initial = {"phone": data.get("phone", ""), "wechat_id": data.get("wechat_id", ""),
               "tags": data.getlist("tags")}
    for attr in attributes:
        name = attribute_field_name(attr.key)
        initial[name] = data.get(name, "")
    return initial


class ContactCreateView(ContactFormView):
    def get(self, request):
        return self.render_form(self.form())

    def post(self, request):
        if "_add_attribute" in request.POST:
            return self.add_attribute(request)
        form = self.form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                contact = services.create_contact(actor=self.actor, company=self.company, phone=data["phone"],
                                                  attributes=data["attributes"], tags=data["tags"],
                                                  wechat_id=data["wechat_id"])
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Contact %(phone)s saved.") % {"phone": contact.phone})
                return redirect("contacts:list")
        return self.render_form(form, status=422)


class ContactUpdateView(ContactFormView):
    def initial(self, contact, attributes) -> dict:
        initial = {"phone": contact.phone, "wechat_id": contact.wechat_id,
                   "tags": list(contact.tags.order_by(Lower("name")).values_list("name", flat=True))}
        for attr in attributes:
            initial[attribute_field_name(attr.key)] = attribute_initial(attr, contact.attributes.get(attr.key))
        return initial

    def get(self, request, pk):
        contact = contact_or_404(self.company, pk)
        attributes = self.attributes()
        return self.render_form(self.form(initial=self.initial(contact, attributes), attributes=attributes), contact)

    def post(self, request, pk):
        contact = contact_or_404(self.company, pk)
        if "_add_attribute" in request.POST:
            return self.add_attribute(request, contact)
        form = self.form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.update_contact(actor=self.actor, contact=contact, phone=data["phone"],
                                        attributes=data["attributes"], tags=data["tags"],
                                        wechat_id=data["wechat_id"])
            except ValidationError as exc:
                apply_errors(form, exc)
                contact.refresh_from_db()
            else:
                messages.success(request, _("Contact %(phone)s saved.") % {"phone": contact.phone})
                return redirect("contacts:list")
        return self.render_form(form, contact, status=422)


class ContactDeleteView(ContactsAccessMixin, View):
    def post(self, request, pk):
        contact = contact_or_404(self.company, pk)
        phone = contact.phone
        services.delete_contact(actor=self.actor, contact=contact)
        messages.success(request, _("Contact %(phone)s deleted.") % {"phone": phone})
        return redirect("contacts:list")


# --- mass edit (spec P§6.5) ----------------------------------------------------------------------

MAX_IDS = 100_000


@dataclass
class Selection:
    """What mass edit acts on: ``ids`` (explicit rows), ``target`` (a target's contacts),
    or ``all`` (every contact matching the list's filters, given as a query string)."""

    mode: str
    ids: list[int] = field(default_factory=list)
    target: Target | None = None
    filters: str = ""

    @classmethod
    def parse(cls, company, data) -> Selection:
        mode = data.get("selection", "")
        if mode == "target":
            try:
                target = selectors.targets_for(company).get(pk=int(data.get("target", "")))
            except (ValueError, Target.DoesNotExist):
                raise Http404
            return cls("target", target=target)
        if mode == "all":
            return cls("all", filters=data.get("filters", ""))
        ids = []
        for part in str(data.get("ids", "")).replace(" ", "").split(","):
            if part.isdigit():
                ids.append(int(part))
        if not ids:
            raise ValidationError(_("Select at least one contact."))
        if len(ids) > MAX_IDS:
            raise ValidationError(_("Select at most %(n)d rows one by one; select a target or all records "
                                    "for more.") % {"n": MAX_IDS})
        return cls("ids", ids=sorted(set(ids)))

    def queryset(self, request, company):
        contacts = selectors.contacts_for(company)
        if self.mode == "ids":
            return contacts.filter(pk__in=self.ids)
        if self.mode == "target":
            try:
                return selectors.target_contacts(self.target)
            except selectors.CriteriaError as exc:
                raise ValidationError(str(exc))
        # "all": the list's own filters, applied by the same table code as the list
        fake = _FakeRequest(request, QueryDict(self.filters))
        table = ContactTable(fake, contacts, company=company)
        if table.filter_errors:
            raise ValidationError(_("The list's filters are not valid."))
        return table.queryset.order_by()

    @property
    def all_records(self) -> bool:
        """Every contact, unfiltered: *Delete contacts* is not offered (spec rule 2)."""
        return self.mode == "all" and not _has_filters(self.filters)

    def stored(self) -> dict:
        """The selection as a background mass edit job keeps it."""
        return {"mode": self.mode, "ids": list(self.ids), "target": self.target.pk if self.target else None,
                "filters": self.filters}

    def hidden(self) -> dict:
        return {"selection": self.mode, "ids": ",".join(map(str, self.ids)),
                "target": self.target.pk if self.target else "", "filters": self.filters}


class _FakeRequest:
    """The list's filters as a request for the table (same user, other GET)."""

    def __init__(self, request, params):
        self.user, self.GET = request.user, params


def _has_filters(query: str) -> bool:
    return any(k not in ("sort", "page", "per_page", "mass_edit") and v for k, v in QueryDict(query).items())


class MassEditView(ContactsAccessMixin, View):
    """POST ``step=form`` (from the list's selection bar) shows the form; POST ``action=save``
    or ``action=delete`` applies it."""

    template_name = "contacts/mass_edit.html"

    def post(self, request):
        try:
            selection = Selection.parse(self.company, request.POST)
            queryset = selection.queryset(request, self.company)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(reverse("contacts:list") + "?mass_edit=1")
        attributes = list(selectors.attributes_for(self.company))
        action = request.POST.get("action")
        if action not in ("save", "delete"):
            form = MassEditForm(company=self.company, attributes=attributes)
            return self.render(form, selection, queryset)
        if action == "delete":
            if selection.all_records:
                raise PermissionDenied(_("Deleting all contacts at once is not allowed."))
            if services.mass_edit_in_background(queryset.count()):
                try:
                    job = services.queue_mass_edit(actor=self.actor, company=self.company,
                                                   selection=selection.stored(), contacts=queryset,
                                                   select_all=selection.all_records, delete=True)
                except PermissionDenied as exc:
                    form = MassEditForm(company=self.company, attributes=attributes)
                    return self.render(form, selection, queryset, status=403, error=str(exc))
                return redirect("contacts:mass_edit_job", job.pk)
            try:
                result = services.mass_edit(actor=self.actor, company=self.company, contacts=queryset,
                                            select_all=selection.all_records, delete=True)
            except PermissionDenied as exc:
                form = MassEditForm(company=self.company, attributes=attributes)
                return self.render(form, selection, queryset, status=403, error=str(exc))
            messages.success(request, ngettext("%(n)d contact deleted.", "%(n)d contacts deleted.",
                                               result["deleted"]) % {"n": result["deleted"]})
            return redirect(reverse("contacts:list") + "?mass_edit=1")
        form = MassEditForm(request.POST, company=self.company, attributes=attributes)
        if form.is_valid():
            if not form.has_changes():
                form.add_error(None, _("Nothing to change: add a tag, set a value, or tick attributes to clear."))
            else:
                data = form.cleaned_data
                if services.mass_edit_in_background(queryset.count()):
                    try:
                        job = services.queue_mass_edit(
                            actor=self.actor, company=self.company, selection=selection.stored(), contacts=queryset,
                            select_all=selection.all_records, add_tags=data["tags"],
                            set_values=data["set_values"], clear_keys=data["clear_keys"])
                    except ValidationError as exc:
                        apply_errors(form, exc)
                        return self.render(form, selection, queryset, status=422)
                    return redirect("contacts:mass_edit_job", job.pk)
                try:
                    with transaction.atomic():
                        result = services.mass_edit(actor=self.actor, company=self.company, contacts=queryset,
                                                    select_all=selection.all_records, add_tags=data["tags"],
                                                    set_values=data["set_values"], clear_keys=data["clear_keys"])
                except ValidationError as exc:
                    apply_errors(form, exc)
                else:
                    messages.success(request, ngettext("%(n)d contact edited.", "%(n)d contacts edited.",
                                                       result["selected"]) % {"n": result["selected"]})
                    return redirect(reverse("contacts:list") + "?mass_edit=1")
        return self.render(form, selection, queryset, status=422)

    def render(self, form, selection, queryset, status=200, error=None):
        return render(self.request, self.template_name, {
            "error": error,
            "form": form, "selection": selection, "hidden": selection.hidden(), "count": queryset.count(),
            "can_delete": not selection.all_records, "tag_names_json": json.dumps(form["tags"].value() or []),
            "tag_search_url": reverse("contacts:tag_search"), "active_tab": "contacts",
        }, status=status)


class MassEditJobView(ContactsAccessMixin, View):
    """A mass edit running in the background: progress (polled), then the summary."""

    template_name = "contacts/mass_edit_job.html"

    def get_job(self, pk):
        try:
            return services.mass_edit_jobs_for(self.company).get(pk=pk)
        except MassEditJob.DoesNotExist:
            raise Http404

    def get(self, request, pk):
        job = self.get_job(pk)
        return render(request, self.template_name, {"job": job, "active_tab": "contacts"})


class MassEditJobStatusView(MassEditJobView):
    """The progress partial, for htmx polling; a stalled job is queued again."""

    def get(self, request, pk):
        job = self.get_job(pk)
        services.resume_stalled_mass_edit(job)
        job.refresh_from_db()
        return render(request, "contacts/_mass_edit_job_status.html", {"job": job})
