"""Assets → Content templates (spec P§11.3) and the message constructor's endpoints (P§5).

Pages (*Manage Content templates*): the list on the data table; *+ New Template* and edit
(name, channel, the constructor); delete (POST, confirmed in the browser). Dates in the
company's time zone. Another company's template answers 404.

Endpoints of the constructor, used here and by the broadcast chain builder:

* ``GET constructor/?channel=N&name=FIELD[&tools=0]`` — the editor's HTML alone, for a step
  added by htmx (*Manage Content templates*, *Manage Broadcasts* or *Manage Chatbots*);
* ``GET for-channel/?channel=N`` — ``{"results": [{"id", "name", "content"}]}``, the
  company's templates of that channel by name (*Load template*; same permissions);
* ``POST save-from-constructor/`` with ``name``, ``channel``, ``content`` (JSON text; a JSON
  body with the same keys works too) — 201 ``{"id", "name"}``, or 400 ``{"errors": {key:
  message}}`` with keys ``name``, ``channel``, ``content`` and ``content.<path>``
  (*Save as template*; *Manage Content templates*).

The JSON endpoints answer JSON errors: 401 signed out, 403 without the permission.
"""

from __future__ import annotations

import json
import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from portal.access import PortalAccessMixin, TableView
from portal.channel_types import Channel
from portal.timezones import CompanyZoneMixin

from . import selectors
from .forms_content_templates import ContentTemplateForm
from .models import ContentTemplate
from .services import content_templates as services
from .tables_content_templates import ContentTemplateTable
from .templatetags.constructor import LOAD_PERMISSIONS, editor_context

MANAGE_PERMISSIONS = ("manage_content_templates",)
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-\[\]]{0,99}$")


class ContentTemplateAccess(PortalAccessMixin, CompanyZoneMixin):
    """*Manage Content templates*; the company's time zone; ``get_template`` → 404 for an
    unknown id or another company's."""

    required_permissions = MANAGE_PERMISSIONS

    def get_template(self, pk) -> ContentTemplate:
        template = selectors.content_template(self.company, pk)
        if template is None:
            raise Http404
        return template


class ContentTemplateListView(ContentTemplateAccess, TableView):
    table_class = ContentTemplateTable
    template_name = "assets/content_templates.html"

    def get_queryset(self):
        return selectors.content_templates_for(self.company)

    def get_context(self, table):
        from assets.navigation import assets_tabs

        return {"assets_tabs": assets_tabs(self.request, "content_templates")}


def _channel_of(value, default=Channel.SMS) -> int:
    try:
        channel = int(value)
    except (TypeError, ValueError):
        return default
    return channel if channel in services.TEMPLATE_CHANNELS else default


class ContentTemplateFormMixin(ContentTemplateAccess):
    template_name = "assets/content_templates_form.html"

    def render_form(self, form, *, template=None, channel, value, content_errors=None, status=200):
        return render(self.request, self.template_name, {
            "form": form, "object": template, "channel": channel, "value": value,
            "content_errors": content_errors or {},
        }, status=status)

    def submitted(self, form):
        """(channel, raw content) of a posted form, to show it again as it was typed."""
        return _channel_of(self.request.POST.get("channel")), self.request.POST.get("content") or "{}"

    def save(self, form, template=None):
        """Call the service; a refusal goes on the form (name, channel) and into the
        constructor's errors. Returns ``(template, {})`` or ``(None, content errors)``."""
        content_errors: dict[str, str] = {}
        if not form.is_valid():
            if "content" in form.errors:
                content_errors[""] = " ".join(form.errors["content"])
            return None, content_errors
        data = form.cleaned_data
        try:
            if template is None:
                template = services.create_content_template(actor=self.actor, company=self.company,
                                                            name=data["name"], channel=data["channel"],
                                                            content=data["content"])
            else:
                template = services.update_content_template(actor=self.actor, template=template, name=data["name"],
                                                            channel=data["channel"], content=data["content"])
        except ValidationError as exc:
            content_errors = services.content_errors(exc)
            for field in ("name", "channel", "sender"):
                if field in exc.message_dict:
                    form.add_error(field if field in form.fields else None, exc.message_dict[field])
            if not content_errors and not form.errors:
                form.add_error(None, exc.messages)
            return None, content_errors
        return template, {}


class ContentTemplateCreateView(ContentTemplateFormMixin, View):
    def get(self, request):
        channel = _channel_of(request.GET.get("channel"))
        return self.render_form(ContentTemplateForm(initial={"channel": channel}), channel=channel, value={})

    def post(self, request):
        form = ContentTemplateForm(request.POST)
        template, content_errors = self.save(form)
        if template is not None:
            messages.success(request, _("Content template “%(name)s” created.") % {"name": template.name})
            return redirect("content_templates:list")
        channel, value = self.submitted(form)
        return self.render_form(form, channel=channel, value=value, content_errors=content_errors, status=422)


class ContentTemplateEditView(ContentTemplateFormMixin, View):
    def get(self, request, pk):
        template = self.get_template(pk)
        form = ContentTemplateForm(initial={"name": template.name, "channel": template.channel})
        return self.render_form(form, template=template, channel=template.channel, value=template.content)

    def post(self, request, pk):
        template = self.get_template(pk)
        form = ContentTemplateForm(request.POST)
        saved, content_errors = self.save(form, template)
        if saved is not None:
            messages.success(request, _("Content template “%(name)s” saved.") % {"name": saved.name})
            return redirect("content_templates:list")
        channel, value = self.submitted(form)
        return self.render_form(form, template=template, channel=channel, value=value,
                                content_errors=content_errors, status=422)


class ContentTemplateDeleteView(ContentTemplateAccess, View):
    def post(self, request, pk):
        template = self.get_template(pk)
        name = template.name
        services.delete_content_template(actor=self.actor, template=template)
        messages.success(request, _("Content template “%(name)s” deleted.") % {"name": name})
        return redirect("content_templates:list")


# --- the constructor's endpoints ------------------------------------------------------------------

class JsonAccess(PortalAccessMixin):
    """Answers JSON, not pages: 401 when signed out, 403 without a permission or a company."""

    def handle_no_permission(self):
        return JsonResponse({"error": _("Sign in first.")}, status=401)

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.company_id is None:
            return JsonResponse({"error": _("Only company users have content templates.")}, status=403)
        try:
            return super().dispatch(request, *args, **kwargs)
        except PermissionDenied:
            return JsonResponse({"error": _("You do not have permission to use content templates.")}, status=403)


class ConstructorFragmentView(PortalAccessMixin, View):
    """The editor alone (for htmx): ``?channel=N&name=FIELD``; ``tools=0`` leaves out *Load
    template* / *Save as template*."""

    required_permissions = LOAD_PERMISSIONS

    def get(self, request):
        try:
            channel = Channel(int(request.GET.get("channel", "")))
        except (TypeError, ValueError):
            return HttpResponseBadRequest(_("Give a channel id from 1 to 10."))
        name = request.GET.get("name") or "content"
        if not FIELD_NAME.match(name):
            return HttpResponseBadRequest(_("The field name may hold letters, digits and _ . - [ ]."))
        tools = request.GET.get("tools") != "0"
        return render(request, "constructor/editor.html",
                      editor_context(request, channel, name, {}, None, template_tools=tools))


class ForChannelView(JsonAccess, View):
    """``GET ?channel=N`` → the company's content templates of that channel, by name."""

    required_permissions = LOAD_PERMISSIONS
    LIMIT = 500

    def get(self, request):
        try:
            channel = Channel(int(request.GET.get("channel", "")))
        except (TypeError, ValueError):
            return JsonResponse({"error": _("Give a channel id from 1 to 10.")}, status=400)
        rows = (selectors.content_templates_for(self.company).filter(channel=channel).order_by("name", "id")
                .values("id", "name", "content")[: self.LIMIT])
        return JsonResponse({"results": list(rows)})


class SaveFromConstructorView(JsonAccess, View):
    """*Save as template*: ``name``, ``channel``, ``content`` → 201 ``{"id", "name"}`` or 400
    ``{"errors": {...}}``."""

    required_permissions = MANAGE_PERMISSIONS

    def post(self, request):
        if request.content_type == "application/json":
            try:
                data = json.loads(request.body or b"{}")
            except ValueError:
                return JsonResponse({"errors": {"content": _("The body is not valid JSON.")}}, status=400)
            if not isinstance(data, dict):
                return JsonResponse({"errors": {"content": _("The body must be a JSON object.")}}, status=400)
            content = data.get("content")
        else:
            data = request.POST
            try:
                content = json.loads(data.get("content") or "{}")
            except ValueError:
                return JsonResponse({"errors": {"content": _("The content is not valid JSON.")}}, status=400)
        try:
            template = services.create_content_template(actor=self.actor, company=self.company,
                                                        name=data.get("name"), channel=data.get("channel"),
                                                        content=content if content is not None else {})
        except ValidationError as exc:
            return JsonResponse({"errors": {key: " ".join(msgs) for key, msgs in exc.message_dict.items()}},
                                status=400)
        return JsonResponse({"id": template.pk, "name": template.name}, status=201)
