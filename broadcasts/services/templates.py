"""Broadcast templates and their schedules (spec P§4.4–§4.5, rules 7, 10 and 12 of §25,
gap G1; docs/broadcasts.md "Templates and schedules").

A template is a reusable broadcast (recipients, type, fallback chain) with an optional
schedule (``broadcasts.schedules``). Each occurrence of an *Active* schedule makes a run
with Launch = *Recurrent* (``runs.run_template``); *Launch manually* makes one with
Launch = *Manual* at any time. Both add one to *Launches* and set *Last launch*.

Schedule status: *Active* ⇄ *Paused* (*Pause schedule* / *Resume schedule*); *Active* →
*Expired* when no occurrence is left (the effective period is over, or a *once* schedule
has launched); *Expired* → *Paused* is allowed (spec §4.4). ``next_launch_at`` is set only
while the schedule is Active.

Moderation (company.moderation): *Save as draft* keeps the template unmoderated, *Send to
moderation* makes it *On moderation*; the BackOffice approves or rejects it. In a
moderated company only an *Approved* template launches, by its schedule or manually; any
edit needs a new approval.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime, parse_time
from django.utils.translation import gettext as _

from broadcasts import schedules
from broadcasts.models import (
    Broadcast,
    BroadcastStatus,
    BroadcastTemplate,
    Frequency,
    LaunchType,
    ModerationState,
    ScheduleStatus,
)
from broadcasts.services.definition import BroadcastError, clean_definition
from portal import audit
from portal.audit import Actor
from portal.timezones import company_zone

logger = logging.getLogger(__name__)

St = ScheduleStatus
DEFINITION_FIELDS = ("name", "description", "type", "recipients", "steps", "rcs_check")
SCHEDULE_FIELDS = ("is_scheduled", "frequency", "weekdays", "month_day", "time_of_day", "effective_from",
                   "effective_till")
PAUSABLE = frozenset({St.ACTIVE, St.EXPIRED})
RESUMABLE = frozenset({St.PAUSED})


# --- rules, for the pages ----------------------------------------------------------------------

def can_pause(t: BroadcastTemplate) -> bool:
    return t.is_scheduled and t.schedule_status in PAUSABLE


def can_resume(t: BroadcastTemplate) -> bool:
    return t.is_scheduled and t.schedule_status in RESUMABLE


def is_approved(t: BroadcastTemplate, company=None) -> bool:
    """Whether the template may launch: always in an unmoderated company, only once
    approved in a moderated one."""
    company = company or t.company
    return not company.moderation or t.moderation == ModerationState.APPROVED


def next_launch_display(t: BroadcastTemplate):
    """*Next launch* as the Templates tab shows it: the next occurrence while the schedule
    is Active, else the last launch (spec §4.4)."""
    if t.is_scheduled and t.schedule_status == St.ACTIVE and t.next_launch_at:
        return t.next_launch_at
    return t.last_launch_at


# --- cleaning the schedule ---------------------------------------------------------------------

def _time(value, errors) -> datetime.time | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.time):
        return value.replace(microsecond=0)
    parsed = parse_time(str(value).strip()) if isinstance(value, str) else None
    if parsed is None:
        errors["time_of_day"] = _("Give the time as HH:MM.")
        return None
    return parsed.replace(microsecond=0)


def _moment(value, tz, key, errors) -> datetime.datetime | None:
    """An aware datetime; a naive one (or an ISO string without offset) is read in the
    company's time zone, DST-safe."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            errors[key] = _("Give a date and time, e.g. 2025-03-01T09:00.")
            return None
        value = parsed
    if not isinstance(value, datetime.datetime):
        errors[key] = _("Give a date and time, e.g. 2025-03-01T09:00.")
        return None
    if timezone.is_naive(value):
        return schedules.to_utc(value, tz)
    return value.astimezone(datetime.UTC)


def clean_schedule(data: dict, tz, *, now=None, current: BroadcastTemplate | None = None) -> tuple[dict, dict]:
    """Clean ``is_scheduled``, ``frequency``, ``weekdays``, ``month_day``, ``time_of_day``,
    ``effective_from``, ``effective_till``. Values are checked whenever given; what a schedule
    needs (weekdays, day, time, a launch ahead) only when ``is_scheduled``. A schedule that
    did not change is not refused for being over (an expired template stays editable)."""
    now = now or timezone.now()
    errors: dict[str, str] = {}
    scheduled = bool(data.get("is_scheduled"))
    frequency = data.get("frequency") or Frequency.ONCE
    if frequency not in Frequency.values:
        errors["frequency"] = _("Repeat is once, hourly, daily, weekly or monthly.")
        frequency = Frequency.ONCE
    weekdays = []
    for day in data.get("weekdays") or []:
        try:
            day = int(day)
        except (TypeError, ValueError):
            day = -1
        if not 0 <= day <= 6:
            errors["weekdays"] = _("Weekdays are 0 (Monday) to 6 (Sunday).")
            break
        weekdays.append(day)
    weekdays = sorted(set(weekdays))
    month_day = data.get("month_day")
    if month_day in (None, ""):
        month_day = None
    else:
        try:
            month_day = int(month_day)
        except (TypeError, ValueError):
            month_day = 0
        if not 1 <= month_day <= 31:
            errors["month_day"] = _("The day of the month is 1 to 31 (a day past the month's end runs on its "
                                    "last day).")
            month_day = None
    time_of_day = _time(data.get("time_of_day"), errors)
    effective_from = _moment(data.get("effective_from"), tz, "effective_from", errors)
    effective_till = _moment(data.get("effective_till"), tz, "effective_till", errors)
    if frequency == Frequency.ONCE:  # one launch at effective_from: no end, its time is the launch's
        effective_till = None
        if effective_from is not None:
            time_of_day = effective_from.astimezone(tz).time().replace(microsecond=0)
    if frequency != Frequency.WEEKLY:
        weekdays = []
    if frequency != Frequency.MONTHLY:
        month_day = None
    if effective_from and effective_till and effective_till <= effective_from:
        errors["effective_till"] = _("Effective till must be after Effective from.")
    cleaned = {"is_scheduled": scheduled, "frequency": frequency, "weekdays": weekdays, "month_day": month_day,
               "time_of_day": time_of_day, "effective_from": effective_from, "effective_till": effective_till}
    if scheduled:
        if frequency == Frequency.ONCE and effective_from is None:
            errors["effective_from"] = _("Choose the date and time of the launch.")
        if frequency != Frequency.ONCE and time_of_day is None and "time_of_day" not in errors:
            errors["time_of_day"] = _("Choose the time of the launches.")
        if frequency == Frequency.WEEKLY and not weekdays and "weekdays" not in errors:
            errors["weekdays"] = _("Choose at least one weekday.")
        if frequency == Frequency.MONTHLY and month_day is None and "month_day" not in errors:
            errors["month_day"] = _("Choose the day of the month.")
        changed = current is None or not current.is_scheduled or any(
            getattr(current, f) != cleaned[f] for f in SCHEDULE_FIELDS)
        if not errors and changed and schedules.next_occurrence(schedules.Recurrence(**{
                k: v for k, v in cleaned.items() if k != "is_scheduled"}), now, tz) is None:
            if frequency == Frequency.ONCE:
                errors["effective_from"] = _("The launch time is in the past; choose a later time.")
            else:
                errors["effective_till"] = _("This schedule has no launch left before Effective till; choose a "
                                             "later end or none.")
    return cleaned, errors


def clean_template(company, data: dict, *, submit: bool, current: BroadcastTemplate | None = None,
                   now=None) -> dict:
    """The definition and the schedule of a template, or ``BroadcastError``. A template
    with a schedule (or sent to moderation) is checked as for a launch: its recipients, at
    least one step, each step's sender ID and content (rule 7: sender IDs are required to
    schedule); an unscheduled template is checked as a draft."""
    tz = company_zone(company)
    scheduled = bool(data.get("is_scheduled"))
    cleaned, errors = clean_definition(company, data, for_launch=scheduled or submit)
    schedule, schedule_errors = clean_schedule(data, tz, now=now, current=current)
    errors.update(schedule_errors)
    if errors:
        raise BroadcastError(errors)
    cleaned.update(schedule)
    return cleaned


def _plan(template: BroadcastTemplate, now) -> None:
    """Set ``next_launch_at`` (and Active / Expired) from the schedule, looking from ``now``.
    A Paused schedule stays paused, with no next launch."""
    if not template.is_scheduled or template.schedule_status == St.PAUSED:
        template.next_launch_at = None
        return
    template.next_launch_at = schedules.next_occurrence(template, now, company_zone(template.company))
    template.schedule_status = St.ACTIVE if template.next_launch_at else St.EXPIRED


def _moderation_on_save(template: BroadcastTemplate, company, submit: bool) -> None:
    if not company.moderation:
        template.moderation = ModerationState.NONE
    elif submit:
        template.moderation, template.moderation_note = ModerationState.PENDING, ""
    else:
        template.moderation = ModerationState.NONE


def _locked(template: BroadcastTemplate) -> BroadcastTemplate:
    current = BroadcastTemplate.objects.select_for_update().get(pk=template.pk)
    current.company = template.company
    return current


# --- create, edit, copy, delete ------------------------------------------------------------------

@transaction.atomic
def create_template(*, actor: Actor, company, data: dict, submit: bool = False, now=None) -> BroadcastTemplate:
    """*Save* (or, with moderation, *Save as draft* / *Send to moderation* = ``submit``)."""
    now = now or timezone.now()
    cleaned = clean_template(company, data, submit=submit, now=now)
    template = BroadcastTemplate(company=company, created_by=actor.user, **cleaned)
    _moderation_on_save(template, company, submit)
    _plan(template, now)
    template.save()
    audit.record(actor, "Sent broadcast template to moderation" if template.moderation == ModerationState.PENDING
                 else "Created broadcast template", [audit.created(template)], company=company)
    return template


@transaction.atomic
def update_template(*, actor: Actor, template: BroadcastTemplate, data: dict, submit: bool = False,
                    now=None) -> BroadcastTemplate:
    """Edit the definition and the schedule; the next launch is recomputed from now. An
    Expired schedule given a launch ahead becomes Active again; a Paused one stays paused."""
    now = now or timezone.now()
    current = _locked(template)
    company = current.company
    cleaned = clean_template(company, data, submit=submit, current=current, now=now)
    before = audit.snapshot(current)
    for key, value in cleaned.items():
        setattr(current, key, value)
    _moderation_on_save(current, company, submit)
    _plan(current, now)
    current.save()
    audit.record(actor, "Sent broadcast template to moderation" if current.moderation == ModerationState.PENDING
                 else "Edited broadcast template", [audit.updated(current, before)], company=company)
    return current


def _copy_name(name: str) -> str:
    suffix = _(" (copy)")
    return name[:200 - len(suffix)] + suffix


@transaction.atomic
def copy_template(*, actor: Actor, template: BroadcastTemplate) -> BroadcastTemplate:
    """*Copy*: a new template with the same definition and schedule; its schedule starts
    Paused (two identical schedules would send everything twice), its launches at zero and,
    in a moderated company, unmoderated."""
    copy = BroadcastTemplate(
        company=template.company, created_by=actor.user, name=_copy_name(template.name),
        **{f: getattr(template, f) for f in DEFINITION_FIELDS if f != "name"},
        **{f: getattr(template, f) for f in SCHEDULE_FIELDS})
    copy.schedule_status = St.PAUSED if copy.is_scheduled else St.ACTIVE
    copy.next_launch_at = None
    copy.save()
    audit.record(actor, "Copied broadcast template", [audit.created(copy)], company=template.company)
    return copy


@transaction.atomic
def delete_template(*, actor: Actor, template: BroadcastTemplate) -> None:
    """Delete a template; its runs stay (their *Template* becomes empty)."""
    current = _locked(template)
    before = audit.snapshot(current)
    pk = current.pk
    current.delete()
    audit.record(actor, "Deleted broadcast template", [audit.deleted(current, before, pk=pk)],
                 company=template.company)


# --- schedule actions ---------------------------------------------------------------------------

def _refuse(template, action: str, allowed) -> None:
    if not template.is_scheduled:
        raise BroadcastError({"schedule_status": _("This template has no schedule to %(action)s.") % {
            "action": action}})
    raise BroadcastError({"schedule_status": _(
        "A schedule with status %(status)s cannot be %(action)s; only %(allowed)s ones can.") % {
        "status": template.get_schedule_status_display(), "action": action,
        "allowed": ", ".join(str(St(s).label) for s in allowed)}})


@transaction.atomic
def pause_schedule(*, actor: Actor, template: BroadcastTemplate) -> BroadcastTemplate:
    """*Pause schedule* (Active or Expired → Paused): no occurrence launches until resumed."""
    current = _locked(template)
    if not can_pause(current):
        _refuse(current, _("paused"), PAUSABLE)
    before = audit.snapshot(current)
    current.schedule_status, current.next_launch_at = St.PAUSED, None
    current.save(update_fields=["schedule_status", "next_launch_at", "updated_at"])
    audit.record(actor, "Paused broadcast template schedule", [audit.updated(current, before)],
                 company=current.company)
    return current


@transaction.atomic
def resume_schedule(*, actor: Actor, template: BroadcastTemplate, now=None) -> BroadcastTemplate:
    """*Resume schedule* (Paused → Active): the next launch is the next occurrence from now
    (occurrences while paused are not made up); none left → Expired."""
    now = now or timezone.now()
    current = _locked(template)
    if not can_resume(current):
        _refuse(current, _("resumed"), RESUMABLE)
    before = audit.snapshot(current)
    current.schedule_status = St.ACTIVE
    _plan(current, now)
    current.save(update_fields=["schedule_status", "next_launch_at", "updated_at"])
    audit.record(actor, "Resumed broadcast template schedule", [audit.updated(current, before)],
                 company=current.company)
    return current


def _not_approved(template) -> BroadcastError:
    state = template.get_moderation_display() if template.moderation else _("Draft")
    return BroadcastError({"moderation": _(
        "Your broadcasts are moderated: this template (%(state)s) launches once the moderation approves it; "
        "send it to moderation.") % {"state": state}})


def launch_manually(*, actor: Actor, template: BroadcastTemplate, launch_type: str = LaunchType.MANUAL,
                    api_access=None) -> Broadcast:
    """*Launch manually* (any time, rule 12): a run of the template now, Launch = *Manual*
    (*API* from the API). *Launches* + 1, *Last launch* = now; the schedule is unchanged. A
    template that cannot launch (no recipient, a step without an active sender ID…)
    raises ``BroadcastError`` and nothing is saved."""
    from broadcasts.services import runs

    with transaction.atomic():
        current = _locked(template)
        if not is_approved(current):
            raise _not_approved(current)
        run = runs.run_template(actor=actor, template=current, launch_type=launch_type, api_access=api_access)
        before = audit.snapshot(current)
        current.launches += 1
        current.last_launch_at = run.launched_at or timezone.now()
        current.save(update_fields=["launches", "last_launch_at", "updated_at"])
        audit.record(actor, "Launched broadcast template manually", [audit.updated(current, before)],
                     company=current.company)
    return run


# --- moderation (BackOffice) ---------------------------------------------------------------------

@transaction.atomic
def approve_template(*, actor: Actor, template: BroadcastTemplate, note: str = "", now=None) -> BroadcastTemplate:
    """The parent company or the system owner approves: the schedule launches from now on
    (occurrences that fell while it waited are not made up)."""
    current = _locked(template)
    if current.moderation != ModerationState.PENDING:
        raise BroadcastError({"moderation": _("Only a template on moderation can be approved.")})
    before = audit.snapshot(current)
    current.moderation, current.moderation_note = ModerationState.APPROVED, note
    _plan(current, now or timezone.now())
    current.save()
    audit.record(actor, "Approved broadcast template", [audit.updated(current, before)], company=current.company)
    return current


@transaction.atomic
def reject_template(*, actor: Actor, template: BroadcastTemplate, note: str) -> BroadcastTemplate:
    current = _locked(template)
    if current.moderation != ModerationState.PENDING:
        raise BroadcastError({"moderation": _("Only a template on moderation can be rejected.")})
    before = audit.snapshot(current)
    current.moderation, current.moderation_note = ModerationState.REJECTED, note
    current.save(update_fields=["moderation", "moderation_note", "updated_at"])
    audit.record(actor, "Rejected broadcast template", [audit.updated(current, before)], company=current.company)
    return current


# --- the scheduler (beat) ------------------------------------------------------------------------

def _due(now):
    return (BroadcastTemplate.objects.filter(is_scheduled=True, schedule_status=St.ACTIVE, next_launch_at__lte=now)
            .filter(Q(company__moderation=False) | Q(moderation=ModerationState.APPROVED)))


def expire_ended(now=None) -> int:
    """Active schedules whose effective period is over and that have nothing left to launch
    become Expired (those waiting for moderation, for example)."""
    now = now or timezone.now()
    return BroadcastTemplate.objects.filter(
        is_scheduled=True, schedule_status=St.ACTIVE, effective_till__lt=now,
    ).filter(Q(next_launch_at__isnull=True) | Q(next_launch_at__gt=now) | ~(
        Q(company__moderation=False) | Q(moderation=ModerationState.APPROVED))).update(
        schedule_status=St.EXPIRED, next_launch_at=None, updated_at=now)


def _failed_run(template: BroadcastTemplate, error: str, now) -> Broadcast:
    """A recurrent occurrence that could not launch is kept as a *Failed* run with the
    reason, so the Broadcasts tab shows it."""
    return Broadcast.objects.create(
        company=template.company, template=template, launch_type=LaunchType.RECURRENT, status=BroadcastStatus.FAILED,
        error=error[:2000], finished_at=now, **{f: getattr(template, f) for f in DEFINITION_FIELDS})


def _launch_one(pk: int, now) -> str:
    """Launch one due template, at most once: the row is locked (``SKIP LOCKED``: another
    scheduler has it) and re-checked, and the run, the counters and the next launch are
    written in one transaction."""
    from broadcasts.services import runs

    with transaction.atomic():
        template = (_due(now).select_for_update(skip_locked=True, of=("self",)).select_related("company")
                    .filter(pk=pk).first())
        if template is None:
            return "skipped"
        company = template.company
        tz = company_zone(company)
        actor = Actor.system(company)
        before = audit.snapshot(template)
        latest, missed = schedules.latest_missed(template, template.next_launch_at, now, tz)
        action, outcome = "Launched broadcast template by its schedule", "launched"
        if missed:
            action = f"Launched broadcast template by its schedule ({missed} missed occurrence(s) skipped)"
            logger.warning("broadcast template %s: %d occurrence(s) from %s missed while the scheduler was down; "
                           "only the latest (%s) is launched", pk, missed, template.next_launch_at.isoformat(),
                           latest.isoformat())
        if now - latest > schedules.period(template.frequency):
            action, outcome = "Skipped missed launches of broadcast template", "missed"
            logger.warning("broadcast template %s: the occurrence of %s is older than one period; not launched",
                           pk, latest.isoformat())
        else:
            try:
                with transaction.atomic():
                    runs.run_template(actor=actor, template=template, launch_type=LaunchType.RECURRENT)
            except Exception as exc:  # noqa: BLE001 - one failing template must not stop the others
                error = "; ".join(exc.errors.values()) if isinstance(exc, BroadcastError) else (
                    f"{type(exc).__name__}: {exc}")
                if not isinstance(exc, BroadcastError):
                    logger.exception("broadcast template %s: the scheduled launch failed", pk)
                _failed_run(template, error, now)
                action, outcome = f"Scheduled launch of broadcast template failed: {error}", "failed"
            else:
                template.launches += 1
                template.last_launch_at = now
        template.next_launch_at = schedules.next_occurrence(template, now, tz)
        if template.next_launch_at is None:
            template.schedule_status = St.EXPIRED
        template.save(update_fields=["launches", "last_launch_at", "next_launch_at", "schedule_status",
                                     "updated_at"])
        audit.record(actor, action[:255], [audit.updated(template, before)], company=company)
    return outcome


def launch_due(now=None, limit: int = 200) -> dict:
    """Launch every Active scheduled template whose next launch has come (beat, every few
    seconds). Each is launched once even with two schedulers running (row lock, re-check,
    one transaction). After downtime only the latest missed occurrence of a template is
    launched, and only if it is not older than one period of its frequency (an hour, a
    day, a week, 31 days; a day for *once*); the older ones are skipped and logged. A
    template that fails to launch is recorded (a *Failed* run with the reason and the
    audit log) and its next launch still moves on."""
    now = now or timezone.now()
    counts = {"launched": 0, "failed": 0, "missed": 0, "skipped": 0}
    counts["expired"] = expire_ended(now)
    for pk in list(_due(now).order_by("next_launch_at").values_list("pk", flat=True)[:limit]):
        counts[_launch_one(pk, now)] += 1
    return counts
