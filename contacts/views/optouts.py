"""Opt-out pages: the Opt-out words list and form (spec P§6.9, permission *Manage Opt-out
words*), and the add / remove actions of the opt-outs block on the contact page (spec
P§6.4, permission *Manage Contacts*).

Pages of opt-out words run with the company's time zone active, so forms read typed
date-times in it and the table (and its export) shows them in it.

The contact block's actions answer an htmx request with the re-rendered block, and a
plain request with a redirect to the contact edit page ``/contacts/<id>/edit/``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import get_script_prefix
from django.utils.translation import gettext as _
from django.views import View

from accounts.forms import apply_service_errors
from portal.access import PortalAccessMixin, TableView
from portal.channel_types import Channel
from portal.timezones import CompanyZoneMixin

from .. import selectors
from ..forms_optouts import ContactOptOutForm, OptOutWordForm
from ..models import Contact, OptOut, OptOutWord
from ..services import optouts as services
from ..tables_optouts import OptOutWordTable

NAV_TEMPLATE = "contacts/_nav.html"
BLOCK_TEMPLATE = "contacts/optouts/_contact_optouts.html"


def contacts_nav() -> str | None:
    """The Contacts section's tabs, when that template exists."""
    try:
        get_template(NAV_TEMPLATE)
    except TemplateDoesNotExist:
        return None
    return NAV_TEMPLATE


# --- opt-out words ------------------------------------------------------------------------------

class OptOutWordAccess(PortalAccessMixin, CompanyZoneMixin):
    required_permissions = ("manage_optout_words",)


class OptOutWordListView(OptOutWordAccess, TableView):
    table_class = OptOutWordTable
    template_name = "contacts/optouts/list.html"

    def get_queryset(self):
        return selectors.optout_words_for(self.company)

    def get_context(self, table):
        return {"contacts_nav": contacts_nav(), "time_zone_name": self.company.time_zone}


class OptOutWordFormMixin(OptOutWordAccess):
    template_name = "contacts/optouts/form.html"

    def get_word(self, pk) -> OptOutWord:
        try:
            return selectors.optout_words_for(self.company).get(pk=pk)
        except OptOutWord.DoesNotExist:
            raise Http404

    def make_form(self, *args, **kwargs):
        return OptOutWordForm(*args, time_zone_name=self.company.time_zone, **kwargs)

    def render_form(self, form, word=None, status=200):
        return render(self.request, self.template_name,
                      {"form": form, "object": word, "contacts_nav": contacts_nav(),
                       "time_zone_name": self.company.time_zone}, status=status)


class OptOutWordCreateView(OptOutWordFormMixin, View):
    def get(self, request):
        return self.render_form(self.make_form(initial={"channel": Channel.SMS}))

    def post(self, request):
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                word = services.create_optout_word(actor=self.actor, company=self.company, **form.service_kwargs())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Opt-out word “%(word)s” added.") % {"word": word.word})
                return redirect("contacts:optout_words")
        return self.render_form(form, status=422)


class OptOutWordUpdateView(OptOutWordFormMixin, View):
    def get(self, request, pk):
        word = self.get_word(pk)
        initial = {"word": word.word, "channel": word.channel, "sender": word.sender,
                   "effective_from": word.effective_from, "effective_till": word.effective_till}
        return self.render_form(self.make_form(initial=initial), word)

    def post(self, request, pk):
        word = self.get_word(pk)
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                services.update_optout_word(actor=self.actor, optout_word=word, **form.service_kwargs())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Opt-out word “%(word)s” saved.") % {"word": word.word})
                return redirect("contacts:optout_words")
        return self.render_form(form, word, status=422)


class OptOutWordDeleteView(OptOutWordFormMixin, View):
    def post(self, request, pk):
        word = self.get_word(pk)
        services.delete_optout_word(actor=self.actor, optout_word=word)
        messages.success(request, _("Opt-out word “%(word)s” deleted.") % {"word": word.word})
        return redirect("contacts:optout_words")


# --- the contact's opt-outs -----------------------------------------------------------------------

def contact_edit_url(contact) -> str:
    """The contact edit page (``/contacts/<id>/edit/``)."""
    return f"{get_script_prefix()}contacts/{contact.pk}/edit/"


class ContactOptOutMixin(PortalAccessMixin, View):
    required_permissions = ("manage_contacts",)

    def get_contact(self, pk) -> Contact:
        try:
            contact = selectors.contacts_for(self.company).get(pk=pk)
        except Contact.DoesNotExist:
            raise Http404
        contact.company = self.company
        return contact

    @property
    def is_htmx(self) -> bool:
        return self.request.headers.get("HX-Request") == "true"

    def render_block(self, contact, *, form=None, message="", error=""):
        return render(self.request, BLOCK_TEMPLATE, {
            "contact": contact, "contact_optouts": list(services.optouts_of(contact)), "optout_form": form,
            "optout_message": message, "optout_error": error})

    def done(self, contact, message):
        if self.is_htmx:
            return self.render_block(contact, message=message)
        messages.success(self.request, message)
        return HttpResponseRedirect(contact_edit_url(contact))


class ContactOptOutsView(ContactOptOutMixin):
    """The block alone (htmx *Cancel*); a plain request goes to the contact page."""

    def get(self, request, contact_pk):
        contact = self.get_contact(contact_pk)
        if self.is_htmx:
            return self.render_block(contact)
        return HttpResponseRedirect(contact_edit_url(contact))


class ContactOptOutAddView(ContactOptOutMixin):
    template_name = "contacts/optouts/contact_optout_form.html"

    def render_page(self, contact, form, status=200):
        if self.is_htmx:
            return self.render_block(contact, form=form, error=" ".join(form.non_field_errors()))
        return render(self.request, self.template_name,
                      {"contact": contact, "form": form, "contact_url": contact_edit_url(contact)},
                      status=status)

    def get(self, request, contact_pk):
        contact = self.get_contact(contact_pk)
        return self.render_page(contact, ContactOptOutForm(initial={"channel": Channel.SMS}))

    def post(self, request, contact_pk):
        contact = self.get_contact(contact_pk)
        form = ContactOptOutForm(request.POST)
        if form.is_valid():
            try:
                record = services.opt_out(self.actor, contact, form.cleaned_data["channel"],
                                          form.cleaned_data["sender"], company=self.company)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                scope = record.sender or _("Whole channel")
                if record.is_new:
                    message = _("Opted out of %(channel)s (%(scope)s).")
                else:
                    message = _("Already opted out of %(channel)s (%(scope)s).")
                return self.done(contact, message % {"channel": record.get_channel_display(), "scope": scope})
        return self.render_page(contact, form, status=422)


class ContactOptOutRemoveView(ContactOptOutMixin):
    template_name = "contacts/optouts/contact_optout_remove.html"

    def get_optout(self, contact, pk) -> OptOut:
        try:
            return OptOut.objects.for_company(self.company).get(contact=contact, pk=pk)
        except OptOut.DoesNotExist:
            raise Http404

    def get(self, request, contact_pk, pk):
        contact = self.get_contact(contact_pk)
        optout = self.get_optout(contact, pk)
        return render(request, self.template_name, {"contact": contact, "optout": optout,
                                                    "contact_url": contact_edit_url(contact)})

    def post(self, request, contact_pk, pk):
        contact = self.get_contact(contact_pk)
        optout = self.get_optout(contact, pk)
        services.opt_in(self.actor, contact, optout.channel, optout.sender, company=self.company)
        scope = optout.sender or _("Whole channel")
        return self.done(contact, _("Opt-out of %(channel)s (%(scope)s) removed.") % {
            "channel": optout.get_channel_display(), "scope": scope})
