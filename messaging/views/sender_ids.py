"""The Sender IDs pages (spec P§11.2, gap G22), under Assets at ``/assets/sender-ids/``.

* the list (every channel's sender IDs of the company) on the data table;
* "+" → *SMS* or *RCS* → the registration form (*Send application* → *Submitted*,
  *Save as draft* → *Draft*, *Exit without saving*);
* a record's page (its details, the RCS profile preview) with *Edit*, *Send application*,
  *Cancel request* and *Delete* as its status allows.

Viewing needs *View Sender IDs* (or *Manage Sender IDs*); every change needs *Manage Sender
IDs*. Another company's sender ID answers 404. The status rules live in
``messaging.services.senders``; a refused action shows the service's message.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from accounts.forms import apply_service_errors
from portal.access import PortalAccessMixin, TableView
from portal.channel_types import Channel

from .. import selectors
from ..forms_sender_ids import RcsSenderIdForm, form_class_for, initial_for
from ..models import SenderId
from ..services import senders as services
from ..tables_sender_ids import SenderIdTable

VIEW_PERMISSIONS = ("view_sender_ids", "manage_sender_ids")
MANAGE_PERMISSIONS = ("manage_sender_ids",)
CHANNEL_SLUGS = {"sms": Channel.SMS, "rcs": Channel.RCS}
SUBMIT, DRAFT = "submit", "draft"
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


class SenderIdViewAccess(PortalAccessMixin):
    required_permissions = VIEW_PERMISSIONS

    def get_sender(self, pk) -> SenderId:
        try:
            sender = selectors.sender_ids_for(self.company).get(pk=pk)
        except SenderId.DoesNotExist:
            raise Http404
        sender.company = self.company
        return sender


class SenderIdManageAccess(SenderIdViewAccess):
    required_permissions = MANAGE_PERMISSIONS


def _preview(sender: SenderId | None = None, data: dict | None = None) -> dict:
    """What the RCS profile preview shows (stored values, or the form's initial ones)."""
    data = data or (initial_for(sender) if sender else {})
    return {
        "name": data.get("name") or "", "description": data.get("description") or "",
        "color": data.get("color") or services.DEFAULT_COLOR,
        "logo_url": sender.logo.url if sender and sender.logo else "",
        "background_url": sender.background.url if sender and sender.background else "",
        "phones": data.get("phones") or [], "websites": data.get("websites") or [],
        "emails": data.get("emails") or [],
    }


class SenderIdListView(SenderIdViewAccess, TableView):
    table_class = SenderIdTable
    template_name = "messaging/sender_ids/list.html"

    def get_queryset(self):
        return selectors.sender_ids_for(self.company)

    def get_context(self, table):
        from assets.navigation import assets_tabs

        return {"can_manage": self.request.user.has_permission("manage_sender_ids"),
                "assets_tabs": assets_tabs(self.request, "sender_ids")}


class SenderIdDetailView(SenderIdViewAccess, View):
    template_name = "messaging/sender_ids/detail.html"

    def get(self, request, pk):
        sender = self.get_sender(pk)
        manage = request.user.has_permission("manage_sender_ids")
        return render(request, self.template_name, {
            "object": sender, "registration": sender.registration or {},
            "is_rcs": sender.channel == Channel.RCS, "preview": _preview(sender),
            "can_edit": manage and services.can_edit(sender), "can_submit": manage and services.can_submit(sender),
            "can_cancel": manage and services.can_cancel(sender), "can_delete": manage and services.can_delete(sender),
        })


class SenderIdFormMixin(SenderIdManageAccess):
    template_name = "messaging/sender_ids/form.html"

    def make_form(self, channel, *args, sender=None, **kwargs):
        cls = form_class_for(channel)
        if cls is RcsSenderIdForm:
            kwargs["webhook_editable"] = sender is not None and sender.status in services.WEBHOOK_EDITABLE
        return cls(*args, **kwargs)

    def render_form(self, form, sender=None, status=200):
        preview = _preview(sender)
        if form.is_bound:  # what was typed, so the preview matches the form
            for key in ("name", "description", "color", "phones", "websites", "emails"):
                if key in form.fields:
                    preview[key] = form[key].value() or ("" if key in ("name", "description") else preview[key])
            if not COLOR.match(str(preview["color"])):  # typed, not validated: never into a style attribute
                preview["color"] = services.DEFAULT_COLOR
        return render(self.request, self.template_name, {
            "form": form, "object": sender, "channel": form.channel,
            "channel_label": Channel(form.channel).label, "is_rcs": form.channel == Channel.RCS,
            "is_draft": sender is None or sender.status == services.S.DRAFT, "preview": preview,
            "limits": {"label": services.LABEL_MAX, "entries": services.ENTRIES_MAX},
        }, status=status)

    @property
    def action(self) -> str:
        return SUBMIT if self.request.POST.get("action") == SUBMIT else DRAFT

    def files(self, form) -> dict:
        data = form.cleaned_data
        return {"logo": data.get("logo"), "background": data.get("background")}


class SenderIdCreateView(SenderIdFormMixin, View):
    def channel_of(self, slug) -> int:
        try:
            return CHANNEL_SLUGS[slug]
        except KeyError:
            raise Http404

    def get(self, request, channel):
        return self.render_form(self.make_form(self.channel_of(channel)))

    def post(self, request, channel):
        channel = self.channel_of(channel)
        form = self.make_form(channel, request.POST, request.FILES)
        if form.is_valid():
            try:
                sender = services.create_sender_id(actor=self.actor, company=self.company, channel=channel,
                                                   data=form.service_data(), submit=self.action == SUBMIT,
                                                   **self.files(form))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                if self.action == SUBMIT:
                    messages.success(request, _("Application for sender ID “%(name)s” sent.") % {"name": sender.name})
                else:
                    messages.success(request, _("Sender ID “%(name)s” saved as a draft.") % {"name": sender.name})
                return redirect("sender_ids:list")
        return self.render_form(form, status=422)


class SenderIdEditView(SenderIdFormMixin, View):
    def refused(self, sender, exc):
        messages.error(self.request, " ".join(exc.messages))
        return redirect("sender_ids:detail", pk=sender.pk)

    def get(self, request, pk):
        sender = self.get_sender(pk)
        try:
            services.check_editable(sender)
        except ValidationError as exc:
            return self.refused(sender, exc)
        return self.render_form(self.make_form(sender.channel, initial=initial_for(sender), sender=sender), sender)

    def post(self, request, pk):
        sender = self.get_sender(pk)
        try:
            services.check_editable(sender)
        except ValidationError as exc:
            return self.refused(sender, exc)
        form = self.make_form(sender.channel, request.POST, request.FILES, initial=initial_for(sender),
                              sender=sender)
        if form.is_valid():
            data = form.cleaned_data
            was_draft = sender.status == services.S.DRAFT
            try:
                services.update_sender_id(actor=self.actor, sender=sender, data=form.service_data(),
                                          remove_logo=bool(data.get("remove_logo")),
                                          remove_background=bool(data.get("remove_background")),
                                          submit=self.action == SUBMIT, **self.files(form))
            except ValidationError as exc:
                if not hasattr(exc, "error_dict"):  # a status rule: the record changed meanwhile
                    return self.refused(sender, exc)
                apply_service_errors(form, exc)
            else:
                if was_draft and sender.status == services.S.SUBMITTED:
                    messages.success(request, _("Application for sender ID “%(name)s” sent.") % {"name": sender.name})
                else:
                    messages.success(request, _("Sender ID “%(name)s” saved.") % {"name": sender.name})
                return redirect("sender_ids:detail", pk=sender.pk)
        return self.render_form(form, sender, status=422)


class SenderIdActionView(SenderIdManageAccess, View):
    """A POST that applies one status rule; refused actions show the service's message."""

    service = None
    done_message = ""
    done_url = "sender_ids:detail"

    def post(self, request, pk):
        sender = self.get_sender(pk)
        name = sender.name
        try:
            type(self).service(actor=self.actor, sender=sender)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("sender_ids:detail", pk=pk)
        messages.success(request, str(self.done_message) % {"name": name})
        if self.done_url == "sender_ids:list":
            return redirect(self.done_url)
        return redirect(self.done_url, pk=pk)


class SenderIdSubmitView(SenderIdActionView):
    service = services.submit_sender_id
    done_message = gettext_lazy("Application for sender ID “%(name)s” sent.")


class SenderIdCancelView(SenderIdActionView):
    service = services.cancel_sender_id
    done_message = gettext_lazy("Request for sender ID “%(name)s” canceled.")


class SenderIdDeleteView(SenderIdActionView):
    service = services.delete_sender_id
    done_message = gettext_lazy("Sender ID “%(name)s” deleted.")
    done_url = "sender_ids:list"
