"""The *Templates* tab (spec P§4.4–§4.6, rules 7, 10, 12 of P§25, gaps G1, G20;
docs/broadcasts.md § Templates and schedules), under ``/broadcasts/templates/``.

* ``""`` — the table of the company's templates with their schedules and actions;
* ``new/`` and ``<id>/edit/`` — the form: the broadcast form's definition (recipients,
  type, the fallback chain builder) plus the schedule editor with a live *Next launches*
  preview (``schedule-preview/``, htmx); *Save*, or *Save as draft* and *Send to
  moderation* when the company is moderated;
* POST actions: copy, launch (manually), pause, resume, delete.

Everything needs *Manage Broadcasts*; another company's template is a 404. The rules and
their messages live in ``broadcasts.services.templates``. Pages run with the company's
time zone active.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from contacts import selectors as contact_selectors
from portal.access import PortalAccessMixin
from portal.channel_types import Channel
from portal.tables import format_datetime
from portal.timezones import CompanyZoneMixin, company_zone

from . import schedules, selectors
from .forms_templates import WEEKDAYS_SHORT, TemplateForm
from .models import BroadcastTemplate, BroadcastType
from .services import templates as services
from .services.definition import BroadcastError
from .tables_templates import TemplateTable
from .views_runs import BroadcastFormMixin, _channel_menu, constructor_available, errors_text

PERMISSIONS = ("manage_broadcasts",)
SAVE, DRAFT, SUBMIT = "save", "draft", "submit"
PREVIEW_COUNT = 3


class TemplateAccess(PortalAccessMixin, CompanyZoneMixin):
    required_permissions = PERMISSIONS

    def get_template(self, pk) -> BroadcastTemplate:
        try:
            template = selectors.templates_for(self.company).get(pk=pk)
        except BroadcastTemplate.DoesNotExist:
            raise Http404
        template.company = self.company
        return template


# --- the list -----------------------------------------------------------------------------------

class TemplateListView(TemplateAccess, View):
    template_name = "broadcasts/templates_list.html"

    def get(self, request):
        table = TemplateTable(request, selectors.templates_for(self.company))
        fmt = request.GET.get("export")
        if fmt in ("csv", "xlsx"):
            return table.export(fmt)
        return render(request, self.template_name, {
            "datatable": table.render(), "active_tab": "templates", "time_zone_name": self.company.time_zone})


# --- the form -----------------------------------------------------------------------------------

class TemplateFormMixin(TemplateAccess, BroadcastFormMixin):
    template_name = "broadcasts/templates_form.html"

    def render_form(self, form: TemplateForm, template: BroadcastTemplate | None = None, status: int = 200):
        senders = self.senders_by_channel()
        for row in form.steps:
            self.prepare_step(row, senders)
        targets = list(contact_selectors.targets_for(self.company).order_by("name", "id").values("id", "name"))
        tags = list(contact_selectors.tags_for(self.company).order_by("name").values("id", "name"))
        chosen_targets, chosen_tags = set(form.targets), set(form.tags)
        return render(self.request, self.template_name, {
            "form": form, "template": template, "active_tab": "templates",
            "action_url": reverse("broadcasts:template_edit", args=[template.pk]) if template else reverse(
                "broadcasts:template_create"),
            "targets": [{**t, "checked": t["id"] in chosen_targets} for t in targets],
            "tags": [{**t, "checked": t["id"] in chosen_tags} for t in tags],
            "channels": _channel_menu(), "moderation": self.company.moderation,
            "type_choices": [(BroadcastType.FALLBACK, BroadcastType.FALLBACK.label),
                             (BroadcastType.RCS_CHECK, BroadcastType.RCS_CHECK.label)],
            "time_zone_name": self.company.time_zone, "rcs_channel": int(Channel.RCS),
            "constructor": constructor_available(),
            "preview": schedule_preview(self.company, form),
        }, status=status)

    def save(self, template: BroadcastTemplate | None):
        request = self.request
        action = request.POST.get("action")
        submit = self.company.moderation and action == SUBMIT
        form = TemplateForm(self.company, data=request.POST)
        if not form.is_valid:
            try:
                services.clean_template(self.company, form.data(), submit=submit, current=template)
            except BroadcastError as exc:
                form.add_errors(exc.errors)
            return self.render_form(form, template, status=422)
        try:
            if template is None:
                template = services.create_template(actor=self.actor, company=self.company, data=form.data(),
                                                    submit=submit)
            else:
                template = services.update_template(actor=self.actor, template=template, data=form.data(),
                                                    submit=submit)
        except BroadcastError as exc:  # nothing was saved
            form.add_errors(exc.errors)
            return self.render_form(form, template, status=422)
        messages.success(request, saved_message(template, submit))
        return redirect("broadcasts:templates")


def saved_message(template: BroadcastTemplate, submit: bool) -> str:
    if submit:
        return _("Template “%(name)s” sent to moderation.") % {"name": template.name}
    if template.is_scheduled and template.next_launch_at:
        return _("Template “%(name)s” saved; next launch %(when)s.") % {
            "name": template.name, "when": format_datetime(template.next_launch_at)}
    return _("Template “%(name)s” saved.") % {"name": template.name}


class TemplateCreateView(TemplateFormMixin, View):
    def get(self, request):
        return self.render_form(TemplateForm(self.company))

    def post(self, request):
        return self.save(None)


class TemplateEditView(TemplateFormMixin, View):
    def get(self, request, pk):
        template = self.get_template(pk)
        return self.render_form(TemplateForm(self.company, template=template), template)

    def post(self, request, pk):
        return self.save(self.get_template(pk))


def schedule_preview(company, form: TemplateForm) -> dict:
    """*Next launches*: the next occurrences of the schedule in the form, or why there is
    none (the schedule's own errors)."""
    if not form.is_scheduled:
        return {"scheduled": False}
    zone = company_zone(company)
    data = form.schedule_data()
    errors = {k: v for k, v in form.errors.items() if k in data}
    if not errors:
        cleaned, service_errors = services.clean_schedule(data, zone)
        errors = {k: [v] for k, v in service_errors.items()}
    if errors:
        return {"scheduled": True, "errors": [m for msgs in errors.values() for m in msgs]}
    recurrence = schedules.Recurrence(**{k: v for k, v in cleaned.items() if k != "is_scheduled"})
    found = schedules.occurrences(recurrence, timezone.now(), zone, PREVIEW_COUNT)
    return {"scheduled": True, "launches": [
        {"weekday": WEEKDAYS_SHORT[timezone.localtime(at, zone).weekday()], "text": timezone.localtime(at, zone).strftime("%d.%m.%Y %H:%M:%S"),
         "iso": at.isoformat()} for at in found]}


class SchedulePreviewView(TemplateAccess, View):
    """POST the form: the *Next launches* fragment (htmx)."""

    def post(self, request):
        form = TemplateForm(self.company, data=request.POST)
        return render(request, "broadcasts/templates_preview.html", {
            "preview": schedule_preview(self.company, form), "time_zone_name": self.company.time_zone})


# --- actions ------------------------------------------------------------------------------------

class TemplateActionView(TemplateAccess, View):
    """A POST that applies one rule; a refusal shows the service's message. Back to the
    Templates tab."""

    def act(self, template: BroadcastTemplate):
        raise NotImplementedError

    def done(self, template, result, name: str):
        raise NotImplementedError

    def post(self, request, pk):
        template = self.get_template(pk)
        name = template.name
        try:
            result = self.act(template)
        except BroadcastError as exc:
            messages.error(request, _("“%(name)s”: %(why)s") % {"name": name, "why": errors_text(exc)})
            return redirect("broadcasts:templates")
        return self.done(template, result, name)


class TemplateLaunchView(TemplateActionView):
    def act(self, template):
        return services.launch_manually(actor=self.actor, template=template)

    def done(self, template, run, name):
        messages.success(self.request, _("Template “%(name)s” launched: broadcast %(id)d.") % {
            "name": name, "id": run.pk})
        return redirect("broadcasts:templates")


class TemplatePauseView(TemplateActionView):
    def act(self, template):
        return services.pause_schedule(actor=self.actor, template=template)

    def done(self, template, result, name):
        messages.success(self.request, _("Schedule of “%(name)s” paused.") % {"name": name})
        return redirect("broadcasts:templates")


class TemplateResumeView(TemplateActionView):
    def act(self, template):
        return services.resume_schedule(actor=self.actor, template=template)

    def done(self, template, result, name):
        if result.next_launch_at:
            text = _("Schedule of “%(name)s” resumed; next launch %(when)s.") % {
                "name": name, "when": format_datetime(result.next_launch_at)}
        else:
            text = _("Schedule of “%(name)s” has no launch left: it is Expired.") % {"name": name}
        messages.success(self.request, text)
        return redirect("broadcasts:templates")


class TemplateCopyView(TemplateActionView):
    def act(self, template):
        return services.copy_template(actor=self.actor, template=template)

    def done(self, template, copy, name):
        text = _("Template “%(name)s” copied as “%(copy)s”.") % {"name": name, "copy": copy.name}
        if copy.is_scheduled:
            text += " " + _("Its schedule is paused: resume it when ready.")
        messages.success(self.request, text)
        return redirect("broadcasts:template_edit", pk=copy.pk)


class TemplateDeleteView(TemplateActionView):
    def act(self, template):
        return services.delete_template(actor=self.actor, template=template)

    def done(self, template, result, name):
        messages.success(self.request, _("Template “%(name)s” deleted.") % {"name": name})
        return redirect("broadcasts:templates")
