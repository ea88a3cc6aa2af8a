"""The Broadcasts pages (spec P§4.1–§4.3, P§4.6; rules 7–11 of P§25; gaps G4–G6, G8, G9;
docs/broadcasts.md § Broadcast pages).

* ``/broadcasts/`` — the *Broadcasts* tab: the runs on the data table with their actions;
  ``?target=&tag=`` (the contacts pages' *To broadcasts*) opens a new broadcast with those
  recipients;
* ``/broadcasts/new/`` and ``/broadcasts/<id>/edit/`` — the form: recipients, launch time,
  type, the fallback chain builder, *Save as draft*, *Launch broadcast* (*Send to
  moderation* when the company is moderated), the pre-flight check;
* ``/broadcasts/<id>/`` — the statistics page, live (htmx polling every 3 s while the run
  is in progress or paused), with the recipient table;
* POST actions: copy, pause, resume, stop, relaunch for failed, delete.

Everything needs *Manage Broadcasts*; another company's broadcast is a 404. The rules and
their messages live in ``broadcasts.services``; a refused action shows the service's
message. Pages run with the company's time zone active (dates, the launch time).
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template import engines
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from contacts import selectors as contact_selectors
from contacts.models import Target
from messaging import selectors as messaging_selectors
from messaging.models import DeliveryPlan, Source
from portal.access import PortalAccessMixin
from portal.channel_types import Channel
from portal.tables import format_datetime
from portal.timezones import CompanyZoneMixin

from . import selectors
from .forms import BroadcastForm, StepRow, format_duration, new_uid
from .models import Broadcast, BroadcastStatus, BroadcastType
from .services import recipients as recipient_service
from .services import runs
from .services.definition import BROADCAST_CHANNELS, BroadcastError, clean_definition, clean_recipients
from .tables import BroadcastTable, RecipientTable

S = BroadcastStatus
PERMISSIONS = ("manage_broadcasts",)
LIVE_STATUSES = frozenset({S.IN_PROGRESS, S.PAUSED})
POLL_SECONDS = 3
DRAFT, LAUNCH = "draft", "launch"


# --- access -----------------------------------------------------------------------------------------

class BroadcastAccess(PortalAccessMixin, CompanyZoneMixin):
    required_permissions = PERMISSIONS

    def get_broadcast(self, pk) -> Broadcast:
        try:
            broadcast = selectors.broadcasts_for(self.company).get(pk=pk)
        except Broadcast.DoesNotExist:
            raise Http404
        broadcast.company = self.company
        return broadcast


def errors_text(exc: BroadcastError) -> str:
    """A service refusal as one flash message (each distinct reason once)."""
    return " ".join(dict.fromkeys(str(v) for v in exc.errors.values()))


# --- the message constructor ------------------------------------------------------------------------

def constructor_available() -> bool:
    """Whether the message constructor (``{% load constructor %}``, assets) is installed."""
    return "constructor" in engines["django"].engine.template_libraries


@functools.cache
def _compiled(source: str):
    return engines["django"].from_string(source)


def constructor_assets() -> str:
    """The constructor's stylesheet and script (once per page), or nothing."""
    if not constructor_available():
        return ""
    return _compiled("{% load constructor %}{% constructor_assets %}").render({})


def content_editor(row: StepRow, request=None) -> str:
    """The step's content editor: the message constructor when installed, else a plain
    editor; either keeps the hidden input ``step-<uid>-content`` = the content JSON."""
    name = f"step-{row.uid}-content"
    if constructor_available() and row.channel in BROADCAST_CHANNELS:
        template = _compiled("{% load constructor %}{% constructor channel name value errors=errors %}")
        return template.render({"channel": row.channel, "name": name, "value": row.content or {},
                                "errors": row.content_field_errors, "request": request}, request)
    content = row.content if isinstance(row.content, dict) else {}
    return render_to_string("broadcasts/_content_plain.html", {
        "row": row, "name": name, "value": row.content_json, "text": content.get("text") or "",
        "subject": content.get("subject") or "", "html": content.get("html") or "",
        "is_email": row.channel == Channel.EMAIL}, request=request)


# --- the list -----------------------------------------------------------------------------------------

class BroadcastListView(BroadcastAccess, View):
    template_name = "broadcasts/broadcast_list.html"

    def get(self, request):
        if "target" in request.GET or "tag" in request.GET:  # *To broadcasts* from the contacts pages
            query = request.GET.urlencode()
            return redirect(f"{reverse('broadcasts:create')}?{query}")
        table = BroadcastTable(request, selectors.broadcasts_for(self.company))
        fmt = request.GET.get("export")
        if fmt in ("csv", "xlsx"):
            return table.export(fmt)
        return render(request, self.template_name, {
            "datatable": table.render(), "moderation": self.company.moderation, "active_tab": "broadcasts",
            "time_zone_name": self.company.time_zone})


# --- the form -------------------------------------------------------------------------------------------

def _channel_menu() -> list[dict]:
    return [{"value": int(c), "label": Channel(c).label} for c in BROADCAST_CHANNELS]


class BroadcastFormMixin(BroadcastAccess):
    template_name = "broadcasts/broadcast_form.html"

    def senders_by_channel(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for channel, text in messaging_selectors.active_senders(self.company).values_list("channel", "sender_id"):
            out.setdefault(channel, []).append(text)
        return out

    def prepare_step(self, row: StepRow, senders: dict[int, list[str]]) -> StepRow:
        options = list(senders.get(row.channel, []))
        row.sender_options = options
        row.sender_inactive = bool(row.sender) and row.sender not in options
        row.editor = content_editor(row, self.request)
        return row

    def render_form(self, form: BroadcastForm, broadcast: Broadcast | None = None, status: int = 200,
                    saved_draft: bool = False):
        senders = self.senders_by_channel()
        for row in form.steps:
            self.prepare_step(row, senders)
        targets = list(contact_selectors.targets_for(self.company).order_by("name", "id").values("id", "name"))
        tags = list(contact_selectors.tags_for(self.company).order_by("name").values("id", "name"))
        chosen_targets, chosen_tags = set(form.targets), set(form.tags)
        is_scheduled = broadcast is not None and broadcast.status == S.SCHEDULED
        return render(self.request, self.template_name, {
            "form": form, "broadcast": broadcast, "saved_draft": saved_draft,
            "action_url": reverse("broadcasts:edit", args=[broadcast.pk]) if broadcast else reverse(
                "broadcasts:create"),
            "targets": [{**t, "checked": t["id"] in chosen_targets} for t in targets],
            "tags": [{**t, "checked": t["id"] in chosen_tags} for t in tags],
            "channels": _channel_menu(), "moderation": self.company.moderation,
            "can_save_draft": not is_scheduled, "is_scheduled": is_scheduled,
            "type_choices": [(BroadcastType.FALLBACK, BroadcastType.FALLBACK.label),
                             (BroadcastType.RCS_CHECK, BroadcastType.RCS_CHECK.label)],
            "time_zone_name": self.company.time_zone, "rcs_channel": int(Channel.RCS),
            "constructor_assets": constructor_assets(),
        }, status=status)

    def initial_form(self) -> BroadcastForm:
        return BroadcastForm(self.company, initial={"targets": self.request.GET.getlist("target"),
                                                    "tags": self.request.GET.getlist("tag")})

    def save(self, broadcast: Broadcast | None):
        """*Save as draft* or *Launch broadcast* (*Send to moderation*)."""
        request = self.request
        action = LAUNCH if request.POST.get("action") == LAUNCH else DRAFT
        if broadcast is not None and broadcast.status == S.SCHEDULED:
            action = LAUNCH  # a scheduled broadcast is re-launched (at its time), never turned back into a draft
        form = BroadcastForm(self.company, data=request.POST)
        if action == DRAFT:
            form.errors.pop("schedule", None)  # a draft does not launch: its time does not matter yet
        if not form.is_valid:
            _cleaned, errors = clean_definition(self.company, form.data(), for_launch=action == LAUNCH)
            form.add_errors(errors)
            return self.render_form(form, broadcast, status=422)
        try:
            data = form.data()
            data["scheduled_for"] = form.scheduled_for  # a draft remembers its chosen time too
            if broadcast is None:
                broadcast = runs.create_broadcast(actor=self.actor, company=self.company, data=data)
            else:
                if broadcast.status == S.SCHEDULED and form.scheduled_for is None:
                    data.pop("scheduled_for")  # "Instantly": the launch below starts it now
                broadcast = runs.update_broadcast(actor=self.actor, broadcast=broadcast, data=data)
        except BroadcastError as exc:  # nothing was saved
            form.add_errors(exc.errors)
            return self.render_form(form, broadcast, status=422)
        if action == DRAFT:
            messages.success(request, _("Broadcast “%(name)s” saved as a draft.") % {"name": broadcast.name})
            return redirect("broadcasts:list")
        try:
            broadcast = runs.launch(actor=self.actor, broadcast=broadcast, scheduled_for=form.scheduled_for)
        except BroadcastError as exc:  # the draft stays saved; say why it cannot launch
            form.add_errors(exc.errors)
            broadcast.refresh_from_db()
            return self.render_form(form, broadcast, status=422, saved_draft=broadcast.status == S.DRAFT)
        messages.success(request, launched_message(broadcast))
        return redirect("broadcasts:detail", pk=broadcast.pk)


def launched_message(broadcast: Broadcast) -> str:
    if broadcast.status == S.ON_MODERATION:
        return _("Broadcast “%(name)s” sent to moderation.") % {"name": broadcast.name}
    if broadcast.status == S.SCHEDULED:
        return _("Broadcast “%(name)s” scheduled for %(when)s.") % {
            "name": broadcast.name, "when": format_datetime(broadcast.scheduled_for)}
    return _("Broadcast “%(name)s” launched.") % {"name": broadcast.name}


class BroadcastCreateView(BroadcastFormMixin, View):
    def get(self, request):
        return self.render_form(self.initial_form())

    def post(self, request):
        return self.save(None)


class BroadcastEditView(BroadcastFormMixin, View):
    def editable(self, pk):
        broadcast = self.get_broadcast(pk)
        if not runs.can_edit(broadcast):
            messages.error(self.request, _("A broadcast with status %(status)s cannot be edited; copy it to make a "
                                           "new one.") % {"status": broadcast.get_status_display()})
            return broadcast, redirect("broadcasts:detail", pk=broadcast.pk)
        return broadcast, None

    def get(self, request, pk):
        broadcast, refused = self.editable(pk)
        if refused:
            return refused
        return self.render_form(BroadcastForm(self.company, broadcast=broadcast), broadcast)

    def post(self, request, pk):
        broadcast, refused = self.editable(pk)
        if refused:
            return refused
        return self.save(broadcast)


class StepFormView(BroadcastFormMixin, View):
    """``GET ?channel=N``: a new step of the chain (htmx), with the channel's active sender
    IDs and its content editor."""

    def get(self, request):
        try:
            channel = int(request.GET.get("channel", ""))
        except ValueError:
            channel = 0
        if channel not in BROADCAST_CHANNELS:
            return HttpResponse(_("Choose one of the broadcast channels."), status=400)
        number = request.GET.get("n", "")
        row = self.prepare_step(StepRow.blank(channel, new_uid()), self.senders_by_channel())
        if len(row.sender_options) == 1:
            row.sender = row.sender_options[0]  # the channel's only active sender ID is the obvious choice
        return render(request, "broadcasts/_step.html", {"row": row, "number": number if number.isdigit() else ""})


class RecipientCountView(BroadcastAccess, View):
    """POST the recipients (``targets``, ``tags``, ``phones``): how many contacts they
    reach after de-duplication (typed numbers that are not contacts yet count too)."""

    def post(self, request):
        form = BroadcastForm(self.company, data=request.POST)
        cleaned, errors = clean_recipients(self.company, form.recipients_data())
        count = recipient_service.count(self.company, cleaned)
        phones = set(cleaned.get("phones") or [])
        if phones:  # typed numbers that are not contacts yet become contacts at launch
            count += len(phones - set(contact_selectors.contacts_for(self.company).filter(phone__in=phones)
                                      .values_list("phone", flat=True)))
        return render(request, "broadcasts/_recipient_count.html", {"count": count, "errors": list(errors.values())})


class TargetCountView(BroadcastAccess, View):
    """GET: how many contacts a target matches now (the recipient picker)."""

    def get(self, request, pk):
        try:
            target = contact_selectors.targets_for(self.company).get(pk=pk)
        except Target.DoesNotExist:
            raise Http404
        try:
            count = contact_selectors.target_contacts(target).count()
        except contact_selectors.CriteriaError as exc:
            return render(request, "broadcasts/_target_count.html", {"error": str(exc)})
        return render(request, "broadcasts/_target_count.html", {"count": count})


class PreflightView(BroadcastAccess, View):
    """*Check before launch*: POST the form → what a launch would do and what blocks it."""

    def post(self, request):
        form = BroadcastForm(self.company, data=request.POST)
        cleaned, errors = clean_definition(self.company, form.data(), for_launch=True)
        form.add_errors(errors)
        blocking = self.blocking(form)
        cleaned["steps"] = [s for s in cleaned["steps"] if int(s.get("channel") or 0) in BROADCAST_CHANNELS]
        summary = selectors.preflight(self.company, cleaned)
        if summary["recipients"] == 0 and not any(b["key"] == "recipients" for b in blocking):
            blocking.insert(0, {"key": "recipients", "label": _("Recipients"),
                                "message": _("These recipients match no contact: there is nobody to send to.")})
        return render(request, "broadcasts/_preflight.html", {
            "summary": summary, "blocking": blocking, "eta": format_duration(summary["eta_seconds"]),
            "moderation": self.company.moderation})

    @staticmethod
    def blocking(form: BroadcastForm) -> list[dict]:
        labels = {"name": _("Broadcast name"), "recipients": _("Recipients"), "targets": _("Targets"),
                  "tags": _("Tags"), "phones": _("Phone numbers"), "steps": _("Fallback chain"),
                  "schedule": _("Launch time"), "type": _("Type"), "rcs_check": _("RCS capability check"),
                  "other": ""}
        out = []
        for key, msgs in form.field_errors.items():
            for m in msgs:
                out.append({"key": key, "label": labels.get(key, ""), "message": m})
        for number, row in enumerate(form.steps, start=1):
            for msgs in row.errors.values():
                for m in msgs:
                    out.append({"key": f"step{number}", "message": m,
                                "label": _("Step %(n)d (%(c)s)") % {"n": number, "c": row.channel_label}})
        return out


# --- statistics -----------------------------------------------------------------------------------------

def plans_of(broadcast: Broadcast):
    return DeliveryPlan.objects.for_company(broadcast.company).filter(source=Source.BROADCAST,
                                                                      source_id=broadcast.pk)


def live_context(broadcast: Broadcast) -> dict:
    stats = selectors.statistics(broadcast)
    return {
        "broadcast": broadcast, "stats": stats, "live": broadcast.status in LIVE_STATUSES,
        "poll_seconds": POLL_SECONDS,
        "can_edit": runs.can_edit(broadcast), "can_pause": runs.can_pause(broadcast),
        "can_resume": runs.can_resume(broadcast), "can_stop": runs.can_stop(broadcast),
        "can_relaunch": runs.can_relaunch(broadcast), "can_delete": runs.can_delete(broadcast),
        "has_rcs_step": any(int(s.get("channel") or 0) == Channel.RCS for s in broadcast.steps or []),
    }


class BroadcastDetailView(BroadcastAccess, View):
    """The statistics page; ``?export=csv|xlsx`` exports the recipient table."""

    template_name = "broadcasts/broadcast_detail.html"

    def get(self, request, pk):
        broadcast = self.get_broadcast(pk)
        table = RecipientTable(request, plans_of(broadcast), broadcast=broadcast)
        fmt = request.GET.get("export")
        if fmt in ("csv", "xlsx"):
            return table.export(fmt)
        context = live_context(broadcast)
        context.update({"datatable": table.render(), "active_tab": "broadcasts",
                        "time_zone_name": self.company.time_zone,
                        "recipients_summary": _recipients_summary(broadcast)})
        return render(request, self.template_name, context)


def _recipients_summary(broadcast: Broadcast) -> dict:
    r = broadcast.recipients or {}
    targets = list(contact_selectors.targets_for(broadcast.company).filter(pk__in=r.get("targets") or [])
                   .values_list("name", flat=True)) if r.get("targets") else []
    tags = list(contact_selectors.tags_for(broadcast.company).filter(pk__in=r.get("tags") or [])
                .values_list("name", flat=True)) if r.get("tags") else []
    return {"targets": targets, "tags": tags, "phones": r.get("phones") or [], "relaunch_of": r.get("relaunch_of")}


class BroadcastLiveView(BroadcastAccess, View):
    """The live part of the statistics page (htmx, every 3 s while the run is going)."""

    def get(self, request, pk):
        broadcast = self.get_broadcast(pk)
        return render(request, "broadcasts/_live.html", live_context(broadcast))


# --- actions --------------------------------------------------------------------------------------------

class ActionView(BroadcastAccess, View):
    """A POST that applies one rule of the status machine; a refusal shows the service's
    message. Goes back to ``next`` (a path of this site) or the statistics page."""

    done_message = ""

    def act(self, broadcast: Broadcast):
        raise NotImplementedError

    def back(self, broadcast_pk: int | None):
        target = self.request.POST.get("next") or ""
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={self.request.get_host()},
                                                      require_https=self.request.is_secure()):
            return redirect(target)
        if broadcast_pk is None:
            return redirect("broadcasts:list")
        return redirect("broadcasts:detail", pk=broadcast_pk)

    def post(self, request, pk):
        broadcast = self.get_broadcast(pk)
        name = broadcast.name
        try:
            result = self.act(broadcast)
        except BroadcastError as exc:
            messages.error(request, errors_text(exc))
            return self.back(broadcast.pk)
        return self.done(broadcast, result, name)

    def done(self, broadcast, result, name):
        messages.success(self.request, self.done_message % {"name": name})
        return self.back(broadcast.pk)


class PauseView(ActionView):
    def act(self, broadcast):
        self.done_message = _("Broadcast “%(name)s” paused.")
        return runs.pause(actor=self.actor, broadcast=broadcast)


class ResumeView(ActionView):
    def act(self, broadcast):
        self.done_message = _("Broadcast “%(name)s” resumed.")
        return runs.resume(actor=self.actor, broadcast=broadcast)


class StopView(ActionView):
    def act(self, broadcast):
        self.done_message = _("Broadcast “%(name)s” stopped.")
        return runs.stop(actor=self.actor, broadcast=broadcast)


class CopyView(ActionView):
    def act(self, broadcast):
        return runs.copy_broadcast(actor=self.actor, broadcast=broadcast)

    def done(self, broadcast, copy, name):
        messages.success(self.request, _("Broadcast “%(name)s” copied as the draft “%(copy)s”.") % {
            "name": name, "copy": copy.name})
        return redirect("broadcasts:edit", pk=copy.pk)


class RelaunchView(ActionView):
    def act(self, broadcast):
        return runs.relaunch_failed(actor=self.actor, broadcast=broadcast)

    def done(self, broadcast, run, name):
        messages.success(self.request, _("Relaunched “%(name)s” for its unsuccessful recipients: broadcast "
                                         "%(id)d.") % {"name": name, "id": run.pk})
        return redirect("broadcasts:detail", pk=run.pk)


class DeleteView(ActionView):
    def act(self, broadcast):
        return runs.delete_broadcast(actor=self.actor, broadcast=broadcast)

    def done(self, broadcast, result, name):
        messages.success(self.request, _("Broadcast “%(name)s” deleted.") % {"name": name})
        target = self.request.POST.get("next") or ""
        if target.rstrip("/").endswith(f"/{broadcast.pk}") or f"/{broadcast.pk}/" in target:
            return redirect("broadcasts:list")  # its own page is gone
        return self.back(None)
