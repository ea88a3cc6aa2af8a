"""*Moderation*: the parent company moderates its child companies' broadcasts and templates
in the portal (issue 5 item 1; D56, D63; docs/broadcasts.md § Moderation by the parent
company).

* ``/broadcasts/moderation/`` — the broadcasts *On moderation* of the user's DIRECT child
  companies (``Company.parent`` = the user's company); ``templates/`` — their templates
  waiting for moderation;
* ``<id>/`` and ``templates/<id>/`` — the definition, read-only (recipients, launch time or
  schedule, each step's channel, sender ID and content), with *Approve* and *Reject*;
* POST ``<id>/approve/``, ``<id>/reject/`` (and the same under ``templates/``) call
  ``runs.approve`` / ``runs.reject`` (``templates.approve_template`` / ``reject_template``),
  as the BackOffice does. A rejection needs a note: the child's user reads it on the
  rejected broadcast or template.

Access: *Manage Broadcasts* (the permission that launches broadcasts: the Admin and
Broadcast manager roles). Anything that is not a direct child's broadcast or template on
(or after) moderation is a 404 — a sibling's, the user's own company's, a grandchild's, an
unrelated company's. Dates are shown in the user's own company's time zone.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from contacts import selectors as contact_selectors
from messaging.content import prepare_content
from messaging.models import WaitFor
from portal.access import PortalAccessMixin
from portal.channel_types import Channel
from portal.tables import format_datetime
from portal.timezones import CompanyZoneMixin, company_zone

from . import schedules, selectors
from .forms import RejectForm
from .forms_templates import WEEKDAYS_SHORT
from .models import Broadcast, BroadcastStatus, BroadcastTemplate, ModerationState
from .services import recipients as recipient_service
from .services import runs
from .services import templates as template_services
from .services.definition import BroadcastError
from .tables_moderation import (
    BroadcastModerationTable,
    TemplateModerationTable,
    channels_text,
    recipients_summary,
    schedule_text,
)

PERMISSIONS = ("manage_broadcasts",)
NEXT_LAUNCHES = 3


class ModerationAccess(PortalAccessMixin, CompanyZoneMixin):
    required_permissions = PERMISSIONS


def _errors_text(exc: BroadcastError) -> str:
    return " ".join(dict.fromkeys(str(v) for v in exc.errors.values()))


# --- the definition, read-only ----------------------------------------------------------------

def _duration(seconds) -> str:
    seconds = int(seconds or 0)
    if seconds and seconds % 3600 == 0:
        return _("%(n)d h") % {"n": seconds // 3600}
    return _("%(n)d min") % {"n": round(seconds / 60)}


def _first_text(content: dict) -> str:
    """The words of a payload, whatever its shape (text, card, carousel, caption, template)."""
    if content.get("text"):
        return str(content["text"])
    card = content.get("card") if isinstance(content.get("card"), dict) else None
    if card:
        return "\n".join(str(card[k]) for k in ("title", "text") if card.get(k))
    cards = content.get("cards") if isinstance(content.get("cards"), list) else []
    if cards:
        return "\n\n".join("\n".join(str(c[k]) for k in ("title", "text") if isinstance(c, dict) and c.get(k))
                           for c in cards)
    if content.get("caption"):
        return str(content["caption"])
    template = content.get("template") if isinstance(content.get("template"), dict) else None
    if template:
        params = ", ".join(str(p) for p in template.get("params") or [])
        return _("WhatsApp template “%(name)s”") % {"name": template.get("name", "")} + (
            f" ({params})" if params else "")
    file = content.get("file") if isinstance(content.get("file"), dict) else None
    if file:
        return str(file.get("name") or file.get("url") or "")
    return ""


def step_views(steps) -> list[dict]:
    """Each step of the chain as the review page shows it: channel, sender ID, what it
    waits for and how long, and its content (text, e-mail subject and HTML, the whole
    payload as JSON)."""
    out = []
    for number, step in enumerate(steps or [], start=1):
        try:
            channel = Channel(int(step.get("channel") or 0))
        except (TypeError, ValueError):
            channel = None
        content = step.get("content") if isinstance(step.get("content"), dict) else {}
        html = ""
        if channel == Channel.EMAIL:
            try:
                html = str(prepare_content(channel, content).get("html") or "")
            except Exception:  # a payload the engine would refuse: show what there is
                html = str(content.get("html") or "")
        wait_for = step.get("wait_for") or ""
        out.append({
            "number": number,
            "channel_label": channel.label if channel is not None else "?",
            "sender": step.get("sender") or "",
            "wait_for": WaitFor(wait_for).label if wait_for in WaitFor.values else wait_for,
            "timeout": _duration(step.get("timeout")),
            "subject": str(content.get("subject") or "") if channel == Channel.EMAIL else "",
            "text": "" if html else _first_text(content),  # an e-mail is shown as its HTML
            "html": html,
            "content_template_id": step.get("template_id"),
            "json": json.dumps(content, ensure_ascii=False, indent=2) if content else "",
        })
    return out


def _recipient_count(company, recipients: dict) -> int | None:
    """Recipients after de-duplication (typed numbers that are not contacts yet count too),
    or None when they cannot be counted now (a target whose criteria no longer read)."""
    try:
        count = recipient_service.count(company, recipients)
    except contact_selectors.CriteriaError:
        return None
    phones = set(recipients.get("phones") or [])
    if phones and not recipients.get("relaunch_of"):
        count += len(phones - set(contact_selectors.contacts_for(company).filter(phone__in=phones)
                                  .values_list("phone", flat=True)))
    return count


def _definition_context(d) -> dict:
    target_names, tag_names = selectors.recipient_names([d])
    return {
        "child": d.company,
        "recipients": recipients_summary(d, target_names, tag_names),
        "recipient_count": _recipient_count(d.company, d.recipients or {}),
        "steps": step_views(d.steps),
        "channels": channels_text(d),
        "created_by": (d.created_by.full_name or d.created_by.login) if d.created_by else "",
    }


# --- shared views -----------------------------------------------------------------------------

class QueueView(ModerationAccess, View):
    table_class = None
    active_tab = ""

    def queryset(self):
        raise NotImplementedError

    def get(self, request):
        table = self.table_class(request, self.queryset())
        fmt = request.GET.get("export")
        if fmt in ("csv", "xlsx"):
            return table.export(fmt)
        return render(request, "broadcasts/moderation_list.html", {
            "datatable": table.render(), "active_tab": self.active_tab,
            "broadcast_count": selectors.moderation_queue(self.company).count(),
            "template_count": selectors.template_moderation_queue(self.company).count(),
            "time_zone_name": self.company.time_zone})


class ReviewMixin(ModerationAccess):
    """Finds the broadcast or template among those the user's company moderates (404
    otherwise) and renders its review page."""

    kind = ""  # "broadcast" | "template"
    queue_url = ""
    detail_url = ""

    def lookup(self):
        raise NotImplementedError

    def get_object(self, pk):
        obj = self.lookup().filter(pk=pk).first()
        if obj is None:
            raise Http404
        return obj

    def pending(self, obj) -> bool:
        raise NotImplementedError

    def extra_context(self, obj) -> dict:
        return {}

    def render_review(self, obj, form=None, status=200):
        return render(self.request, "broadcasts/moderation_detail.html", {
            "obj": obj, "kind": self.kind, "pending": self.pending(obj), "form": form or RejectForm(),
            "queue_url": self.queue_url, "detail_url": self.detail_url,
            "active_tab": "templates" if self.kind == "template" else "broadcasts",
            "time_zone_name": self.company.time_zone,
            **_definition_context(obj), **self.extra_context(obj)}, status=status)

    def get(self, request, pk):
        return self.render_review(self.get_object(pk))


class DecisionView(ReviewMixin, View):
    """POST *Approve* or *Reject*; a refusal of the service (e.g. it was moderated
    meanwhile) shows its message on the review page."""

    http_method_names = ["post"]

    def decide(self, obj, note: str):
        raise NotImplementedError

    def done_message(self, obj) -> str:
        raise NotImplementedError

    needs_note = False

    def post(self, request, pk):
        obj = self.get_object(pk)
        note = ""
        if self.needs_note:
            form = RejectForm(request.POST)
            if not form.is_valid():
                return self.render_review(obj, form=form, status=422)
            note = form.cleaned_data["note"]
        try:
            result = self.decide(obj, note)
        except BroadcastError as exc:
            messages.error(request, _errors_text(exc))
            return redirect(self.detail_url, pk=obj.pk)
        messages.success(request, self.done_message(result))
        return redirect(self.queue_url)


# --- broadcasts -------------------------------------------------------------------------------

class BroadcastQueueView(QueueView):
    table_class = BroadcastModerationTable
    active_tab = "broadcasts"

    def queryset(self):
        return selectors.moderation_queue(self.company)


class BroadcastReview(ReviewMixin):
    kind = "broadcast"
    queue_url = "broadcasts:moderation"
    detail_url = "broadcasts:moderation_detail"

    def lookup(self):
        return selectors.moderated_broadcasts(self.company)

    def pending(self, obj: Broadcast) -> bool:
        return obj.status == BroadcastStatus.ON_MODERATION


class BroadcastReviewView(BroadcastReview, View):
    pass


class BroadcastApproveView(BroadcastReview, DecisionView):
    def decide(self, obj, note):
        return runs.approve(actor=self.actor, broadcast=obj)

    def done_message(self, b: Broadcast) -> str:
        if b.status == BroadcastStatus.SCHEDULED:
            return _("Broadcast “%(name)s” of %(company)s approved: it launches at %(when)s.") % {
                "name": b.name, "company": b.company.name, "when": format_datetime(b.scheduled_for)}
        return _("Broadcast “%(name)s” of %(company)s approved and launched.") % {
            "name": b.name, "company": b.company.name}


class BroadcastRejectView(BroadcastReview, DecisionView):
    needs_note = True

    def decide(self, obj, note):
        return runs.reject(actor=self.actor, broadcast=obj, note=note)

    def done_message(self, b: Broadcast) -> str:
        return _("Broadcast “%(name)s” of %(company)s rejected.") % {"name": b.name, "company": b.company.name}


# --- templates --------------------------------------------------------------------------------

class TemplateQueueView(QueueView):
    table_class = TemplateModerationTable
    active_tab = "templates"

    def queryset(self):
        return selectors.template_moderation_queue(self.company)


class TemplateReview(ReviewMixin):
    kind = "template"
    queue_url = "broadcasts:moderation_templates"
    detail_url = "broadcasts:moderation_template_detail"

    def lookup(self):
        return selectors.moderated_templates(self.company)

    def pending(self, obj: BroadcastTemplate) -> bool:
        return obj.moderation == ModerationState.PENDING

    def extra_context(self, t: BroadcastTemplate) -> dict:
        """The schedule in the child company's time zone, and its next launches."""
        launches = []
        if t.is_scheduled:
            zone = company_zone(t.company)
            found = schedules.occurrences(t, timezone.now(), zone, NEXT_LAUNCHES)
            launches = [{"weekday": WEEKDAYS_SHORT[timezone.localtime(at).weekday()], "text": format_datetime(at)}
                        for at in found]
        return {"schedule": schedule_text(t), "next_launches": launches,
                "weekdays": ", ".join(str(WEEKDAYS_SHORT[d]) for d in t.weekdays or [] if 0 <= d <= 6)}


class TemplateReviewView(TemplateReview, View):
    pass


class TemplateApproveView(TemplateReview, DecisionView):
    def decide(self, obj, note):
        return template_services.approve_template(actor=self.actor, template=obj)

    def done_message(self, t: BroadcastTemplate) -> str:
        return _("Template “%(name)s” of %(company)s approved.") % {"name": t.name, "company": t.company.name}


class TemplateRejectView(TemplateReview, DecisionView):
    needs_note = True

    def decide(self, obj, note):
        return template_services.reject_template(actor=self.actor, template=obj, note=note)

    def done_message(self, t: BroadcastTemplate) -> str:
        return _("Template “%(name)s” of %(company)s rejected.") % {"name": t.name, "company": t.company.name}
