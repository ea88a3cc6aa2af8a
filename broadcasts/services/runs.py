"""Broadcast runs (spec §4.1–§4.3, gaps G4, G5, G9; docs/broadcasts.md): the status machine
and its actions.

Draft → (launch) → In progress, or Scheduled when the launch time is ahead, or On
moderation when the company's broadcasts are moderated (approve → launch / schedule,
reject → Rejected by moderation, editable again). In progress ⇄ Paused; In progress /
Paused / Scheduled → Aborted (stop); In progress → Complete when every recipient has an
outcome; Failed when the run cannot go on (its recipients cannot be resolved). Complete →
*Relaunch for failed* makes a new run for the unsuccessful recipients only.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from broadcasts.models import Broadcast, BroadcastStatus, BroadcastTemplate, LaunchType
from broadcasts.services.definition import BroadcastError, clean_definition
from messaging.models import PlanState, Source
from messaging.services import counters, holds
from portal import audit
from portal.audit import Actor

logger = logging.getLogger(__name__)

S = BroadcastStatus
EDITABLE = frozenset({S.DRAFT, S.SCHEDULED, S.REJECTED})
PAUSABLE = frozenset({S.IN_PROGRESS})
RESUMABLE = frozenset({S.PAUSED})
STOPPABLE = frozenset({S.IN_PROGRESS, S.PAUSED, S.SCHEDULED, S.ON_MODERATION})
RELAUNCHABLE = frozenset({S.COMPLETE})
DELETABLE = frozenset({S.DRAFT, S.REJECTED})
FIELDS = ("name", "description", "type", "recipients", "steps", "rcs_check")


def can_edit(b: Broadcast) -> bool:
    return b.status in EDITABLE


def can_pause(b: Broadcast) -> bool:
    return b.status in PAUSABLE


def can_resume(b: Broadcast) -> bool:
    return b.status in RESUMABLE


def can_stop(b: Broadcast) -> bool:
    return b.status in STOPPABLE


def can_relaunch(b: Broadcast) -> bool:
    return b.status in RELAUNCHABLE


def can_delete(b: Broadcast) -> bool:
    return b.status in DELETABLE


def _refuse(broadcast: Broadcast, action: str, allowed) -> None:
    raise BroadcastError({"status": _("A broadcast with status %(status)s cannot be %(action)s; only %(allowed)s "
                                      "ones can.") % {"status": broadcast.get_status_display(), "action": action,
                                                      "allowed": ", ".join(str(s.label) for s in S if s in allowed)}})


def _locked(broadcast: Broadcast) -> Broadcast:
    return Broadcast.objects.select_for_update().select_related("company").get(pk=broadcast.pk)


def _save(broadcast: Broadcast, fields) -> None:
    broadcast.save(update_fields=[*fields, "updated_at"])


# --- create, edit, copy, delete ---------------------------------------------------------------

@transaction.atomic
def create_broadcast(*, actor: Actor, company, data: dict, template: BroadcastTemplate | None = None,
                     launch_type: str = LaunchType.MANUAL, api_access=None) -> Broadcast:
    """A new draft (validated as a draft: the chain may be incomplete)."""
    cleaned, errors = clean_definition(company, data, for_launch=False)
    if errors:
        raise BroadcastError(errors)
    broadcast = Broadcast.objects.create(company=company, created_by=actor.user, template=template,
                                         launch_type=launch_type, api_access=api_access,
                                         scheduled_for=_when(data.get("scheduled_for")), **cleaned)
    audit.record(actor, "Created broadcast", [audit.created(broadcast)], company=company)
    return broadcast


@transaction.atomic
def update_broadcast(*, actor: Actor, broadcast: Broadcast, data: dict) -> Broadcast:
    """Edit a Draft, Scheduled or Rejected broadcast. A scheduled one stays scheduled only if
    it is still complete enough to launch."""
    current = _locked(broadcast)
    if not can_edit(current):
        _refuse(current, _("edited"), EDITABLE)
    cleaned, errors = clean_definition(current.company, data, for_launch=current.status == S.SCHEDULED)
    if errors:
        raise BroadcastError(errors)
    before = audit.snapshot(current)
    for key, value in cleaned.items():
        setattr(current, key, value)
    if "scheduled_for" in data:
        # A draft remembers its chosen time (checked when it launches); a scheduled run
        # moves to the new time, which must be ahead.
        current.scheduled_for = (_future(data.get("scheduled_for")) if current.status == S.SCHEDULED
                                 else _when(data.get("scheduled_for")))
    _save(current, [*FIELDS, "scheduled_for"])
    audit.record(actor, "Edited broadcast", [audit.updated(current, before)], company=current.company)
    return current


def _when(value):
    return value if hasattr(value, "tzinfo") and value is not None else None


def _future(when):
    if when is None or when == "":
        return None
    if when <= timezone.now():
        raise BroadcastError({"scheduled_for": _("The launch time is in the past; choose a later time or "
                                                 "launch instantly.")})
    return when


@transaction.atomic
def copy_broadcast(*, actor: Actor, broadcast: Broadcast) -> Broadcast:
    """*Copy*: a new draft with the same definition (name suffixed), whatever the status."""
    copy = Broadcast.objects.create(
        company=broadcast.company, created_by=actor.user, name=_copy_name(broadcast.name),
        **{f: getattr(broadcast, f) for f in FIELDS if f != "name"})
    if copy.recipients.get("relaunch_of"):
        copy.recipients = {k: v for k, v in copy.recipients.items() if k != "relaunch_of"}
        copy.save(update_fields=["recipients"])
    audit.record(actor, "Copied broadcast", [audit.created(copy)], company=broadcast.company)
    return copy


def _copy_name(name: str) -> str:
    suffix = _(" (copy)")
    return name[:200 - len(suffix)] + suffix


@transaction.atomic
def delete_broadcast(*, actor: Actor, broadcast: Broadcast) -> None:
    current = _locked(broadcast)
    if not can_delete(current):
        _refuse(current, _("deleted"), DELETABLE)
    before = audit.snapshot(current)
    pk = current.pk
    current.delete()
    audit.record(actor, "Deleted broadcast", [audit.deleted(current, before, pk=pk)], company=broadcast.company)


# --- launch, moderation, schedule ---------------------------------------------------------------

def _count_target_launches(broadcast: Broadcast) -> None:
    from contacts.models import Target
    from contacts.services import count_launch

    for target in Target.objects.for_company(broadcast.company).filter(pk__in=broadcast.recipients.get("targets") or []):
        count_launch(target)


def _start(broadcast: Broadcast) -> None:
    """Scheduled / draft → In progress; the recipients are resolved in the worker."""
    from broadcasts import tasks

    broadcast.status = S.IN_PROGRESS
    broadcast.launched_at = timezone.now()
    _save(broadcast, ["status", "launched_at"])
    _count_target_launches(broadcast)
    transaction.on_commit(lambda: tasks.resolve_broadcast.delay(broadcast.pk))


@transaction.atomic
def launch(*, actor: Actor, broadcast: Broadcast, scheduled_for=None, moderate: bool = True) -> Broadcast:
    """*Launch broadcast* (or *Send to moderation* when the company is moderated): checks
    that it can launch (name, recipients, every step with an active sender ID and content),
    then starts it now or schedules it for ``scheduled_for`` (an aware datetime)."""
    current = _locked(broadcast)
    if current.status not in (S.DRAFT, S.REJECTED, S.SCHEDULED):
        _refuse(current, _("launched"), (S.DRAFT, S.REJECTED, S.SCHEDULED))
    data = {f: getattr(current, f) for f in FIELDS}
    cleaned, errors = clean_definition(current.company, data, for_launch=True, api_access=current.api_access)
    if not errors:
        from broadcasts.services.recipients import recipients_query

        if not cleaned["recipients"]["phones"] and not recipients_query(current.company,
                                                                         cleaned["recipients"]).exists():
            errors["recipients"] = _("These recipients match no contact: there is nobody to send to.")
    if errors:
        raise BroadcastError(errors)
    current.scheduled_for = _future(scheduled_for)
    before = audit.snapshot(current)
    if moderate and current.company.moderation:
        current.status = S.ON_MODERATION
        current.moderation_note = ""
        _save(current, ["status", "scheduled_for", "moderation_note"])
        action = "Sent broadcast to moderation"
    elif current.scheduled_for:
        current.status = S.SCHEDULED
        _save(current, ["status", "scheduled_for"])
        action = "Scheduled broadcast"
    else:
        _start(current)
        action = "Launched broadcast"
    audit.record(actor, action, [audit.updated(current, before)], company=current.company)
    return current


@transaction.atomic
def approve(*, actor: Actor, broadcast: Broadcast, note: str = "") -> Broadcast:
    """The parent company or the system owner approves: the broadcast launches now or at
    its scheduled time (a time already passed launches now)."""
    current = _locked(broadcast)
    if current.status != S.ON_MODERATION:
        _refuse(current, _("approved"), (S.ON_MODERATION,))
    before = audit.snapshot(current)
    current.moderated_by, current.moderated_at, current.moderation_note = actor.user, timezone.now(), note
    _save(current, ["moderated_by", "moderated_at", "moderation_note"])
    if current.scheduled_for and current.scheduled_for > timezone.now():
        current.status = S.SCHEDULED
        _save(current, ["status"])
    else:
        _start(current)
    audit.record(actor, "Approved broadcast", [audit.updated(current, before)], company=current.company)
    return current


@transaction.atomic
def reject(*, actor: Actor, broadcast: Broadcast, note: str) -> Broadcast:
    current = _locked(broadcast)
    if current.status != S.ON_MODERATION:
        _refuse(current, _("rejected"), (S.ON_MODERATION,))
    before = audit.snapshot(current)
    current.status = S.REJECTED
    current.moderated_by, current.moderated_at, current.moderation_note = actor.user, timezone.now(), note
    _save(current, ["status", "moderated_by", "moderated_at", "moderation_note"])
    audit.record(actor, "Rejected broadcast", [audit.updated(current, before)], company=current.company)
    return current


def start_due(now=None) -> int:
    """Start the scheduled broadcasts whose time has come (beat, every few seconds). Each
    is started once: the row is locked and its status checked first."""
    now = now or timezone.now()
    started = 0
    for pk in Broadcast.objects.filter(status=S.SCHEDULED, scheduled_for__lte=now).values_list("pk", flat=True)[:100]:
        with transaction.atomic():
            current = Broadcast.objects.select_for_update(skip_locked=True).select_related("company").filter(
                pk=pk, status=S.SCHEDULED).first()
            if current is None:
                continue
            before = audit.snapshot(current)
            _start(current)
            audit.record(Actor.system(current.company), "Started scheduled broadcast",
                         [audit.updated(current, before)], company=current.company)
            started += 1
    return started


# --- pause, resume, stop, relaunch --------------------------------------------------------------

@transaction.atomic
def pause(*, actor: Actor, broadcast: Broadcast) -> Broadcast:
    """Pause: no new recipient starts, queued messages are held, fallback steps that fall
    due start held; messages already with a provider carry on (decision D52)."""
    current = _locked(broadcast)
    if not can_pause(current):
        _refuse(current, _("paused"), PAUSABLE)
    before = audit.snapshot(current)
    current.status = S.PAUSED
    _save(current, ["status"])
    holds.hold(Source.BROADCAST, current.pk)
    audit.record(actor, "Paused broadcast", [audit.updated(current, before)], company=current.company)
    return current


@transaction.atomic
def resume(*, actor: Actor, broadcast: Broadcast) -> Broadcast:
    from broadcasts import tasks

    current = _locked(broadcast)
    if not can_resume(current):
        _refuse(current, _("resumed"), RESUMABLE)
    before = audit.snapshot(current)
    current.status = S.IN_PROGRESS
    _save(current, ["status"])
    holds.release(Source.BROADCAST, current.pk)
    if not current.resolved:
        transaction.on_commit(lambda: tasks.resolve_broadcast.delay(current.pk))
    audit.record(actor, "Resumed broadcast", [audit.updated(current, before)], company=current.company)
    return current


def stop(*, actor: Actor, broadcast: Broadcast) -> Broadcast:
    """Stop (→ Aborted): recipients not started never start; queued messages are
    canceled (skipped, reason ``canceled``) by a task after the commit — none is claimed
    from the commit on; messages with a provider finish normally."""
    with transaction.atomic():
        current = _locked(broadcast)
        if not can_stop(current):
            _refuse(current, _("stopped"), STOPPABLE)
        before = audit.snapshot(current)
        current.status, current.finished_at = S.ABORTED, timezone.now()
        _save(current, ["status", "finished_at"])
        holds.stopping(Source.BROADCAST, current.pk)  # nothing goes out from the commit; cancel follows (task)
        audit.record(actor, "Stopped broadcast", [audit.updated(current, before)], company=current.company)
    return current


@transaction.atomic
def relaunch_failed(*, actor: Actor, broadcast: Broadcast, launch_type: str = LaunchType.MANUAL,
                    api_access=None) -> Broadcast:
    """*Relaunch for failed*: a new run, launched now, for this run's unsuccessful
    recipients only (those whose every step failed, or that a stop canceled)."""
    current = _locked(broadcast)
    if not can_relaunch(current):
        _refuse(current, _("relaunched"), RELAUNCHABLE)
    failed = counters.totals(Source.BROADCAST, current.pk).get(counters.PLAN, {})
    if not (failed.get(PlanState.UNSUCCESSFUL, 0) + failed.get(PlanState.CANCELED, 0)):
        raise BroadcastError({"status": _("Every recipient of this broadcast was successful: there is nobody to "
                                          "relaunch for.")})
    run = Broadcast.objects.create(
        company=current.company, created_by=actor.user, relaunch_of=current, template=current.template,
        launch_type=launch_type, api_access=api_access, name=current.name, description=current.description,
        type=current.type,
        steps=current.steps, rcs_check=current.rcs_check, recipients={"relaunch_of": current.pk})
    audit.record(actor, "Relaunched broadcast for failed", [audit.created(run)], company=current.company)
    return launch(actor=actor, broadcast=run)


def run_template(*, actor: Actor, template: BroadcastTemplate, launch_type: str = LaunchType.MANUAL,
                 api_access=None) -> Broadcast:
    """A new run of a template, launched now (moderation does not apply: the template was
    moderated when it was saved)."""
    with transaction.atomic():
        run = Broadcast.objects.create(
            company=template.company, created_by=actor.user, template=template, launch_type=launch_type,
            api_access=api_access, **{f: getattr(template, f) for f in FIELDS})
        audit.record(actor, "Launched broadcast template", [audit.created(run)], company=template.company)
        return launch(actor=actor, broadcast=run, moderate=False)


# --- progress -----------------------------------------------------------------------------------

def refresh_progress() -> int:
    """Mark Complete the running broadcasts whose recipients are all resolved and all
    have an outcome (beat). Returns how many completed."""
    done = 0
    # Oldest first, all of them (a slice of the newest would starve long runs).
    running = list(Broadcast.objects.filter(status=S.IN_PROGRESS, resolved=True).order_by("id")
                   .values_list("pk", "total_contacts"))
    for pk, total in running:
        plan = counters.totals(Source.BROADCAST, pk).get(counters.PLAN, {})
        finished = sum(plan.get(s, 0) for s in (PlanState.SUCCESSFUL, PlanState.UNSUCCESSFUL, PlanState.CANCELED))
        if finished < total:
            continue
        with transaction.atomic():
            updated = Broadcast.objects.filter(pk=pk, status=S.IN_PROGRESS).update(
                status=S.COMPLETE, finished_at=timezone.now(), updated_at=timezone.now())
        done += updated
    return done


def finish_cancels(within_hours: int = 24) -> int:
    """A stop (or a failure) whose cancel was interrupted — its task lost, the worker died
    half-way through a million plans — is finished here (beat): the recently ended runs
    that still have plans going on get a cancel task again. Returns how many were queued."""
    from django.core.cache import cache
    from django.db.models import Exists, OuterRef

    from messaging import tasks
    from messaging.models import DeliveryPlan

    since = timezone.now() - timedelta(hours=within_hours)
    going = DeliveryPlan.objects.filter(source=Source.BROADCAST, source_id=OuterRef("pk"),
                                        state__in=(PlanState.ACTIVE, PlanState.PENDING))
    pending = list(Broadcast.objects.filter(status__in=(S.ABORTED, S.FAILED), finished_at__gte=since)
                   .filter(Exists(going)).order_by("id").values_list("pk", flat=True)[:20])
    queued = 0
    for pk in pending:
        # A task, not inline: a million-plan cancel takes minutes and the tick runs every
        # few seconds. At most one every 5 minutes per run (the stop's own task may still
        # be at work; two cancels of one run share the rows safely but gain nothing).
        if cache.add(f"herald:finish-cancel:{pk}", 1, timeout=300):
            tasks.cancel_source.delay(Source.BROADCAST, pk)
            queued += 1
    return queued


def fail(broadcast_id: int, error: str) -> None:
    """A run that cannot go on (its recipients cannot be read): Failed, with the reason."""
    Broadcast.objects.filter(pk=broadcast_id, status__in=(S.IN_PROGRESS, S.PAUSED)).update(
        status=S.FAILED, error=error[:2000], finished_at=timezone.now(), updated_at=timezone.now())
    holds.cancel(Source.BROADCAST, broadcast_id)
