"""Client webhooks: every rule lives here (docs/api.md §10).

**Emitting.** ``emit`` / ``emit_many`` store an :class:`~webhooks.models.Event` per webhook
(the body is rendered once, ``{"type", "timestamp", "data"}`` per Standard Webhooks) in
the caller's transaction; the first attempt is queued after commit. No URL → no event.

**Delivering.** An attempt *claims* its event first (a committed update: attempt counter
+1 and ``next_attempt_at`` pushed out by a lease), writes its :class:`Delivery` row, then
POSTs (``webhooks.transport``: SSRF guard, no redirects, timeout) and records the outcome:

* ``2xx`` → delivered;
* ``410 Gone`` → the endpoint is disabled, with every pending event of it;
* refused (not http(s), a private / loopback / link-local … address) → failed at once,
  the reason on the delivery row;
* anything else → the next attempt per :data:`SCHEDULE` with ±20 % jitter (a
  ``Retry-After`` can only lengthen the wait); after the 10th attempt → failed.

**At least once.** A worker that dies between the POST and recording its outcome leaves
the delivery row open; when the lease expires the event is claimed again and sent again
with the same ``webhook-id``. Receivers use that id to drop duplicates. An event is never
lost: it is stored before any attempt and stays visible in the delivery log.

**Replay** starts a new delivery cycle (same id, same body, fresh schedule) for one event
or for all events since a time; both are audited, as are endpoint changes and secret
rotations.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from messaging.ids import uuid7
from portal import audit
from portal.audit import Actor, Change
from portal.models import AuditDetail
from webhooks import signing, transport
from webhooks.models import Delivery, Endpoint, Event, EventState, WebhookSecret

logger = logging.getLogger(__name__)

# Delay before attempt 2, 3, … 10 (seconds): the Standard Webhooks example schedule,
# 10 attempts over about three days (75.6 hours).
SCHEDULE = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600)
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.2
MAX_RETRY_AFTER = 24 * 3600
LEASE_MARGIN = 60  # seconds a claimed attempt may take beyond the HTTP timeout
SLICE_SECONDS = 30  # one deliver_due run stops claiming new batches after this
NO_RESULT = "No result recorded: the worker stopped during this attempt; the event was sent again."
EVENT_TYPE = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")
URL_MAX_LENGTH = 500


def _setting(name, default):
    return getattr(settings, name, default)


def workers() -> int:
    return max(1, int(_setting("HERALD_WEBHOOK_WORKERS", 8)))


def rotation_grace() -> timedelta:
    return timedelta(hours=float(_setting("HERALD_WEBHOOK_ROTATION_GRACE_HOURS", 24)))


def new_event_id() -> str:
    """``msg_`` + a UUIDv7 in hex: unique, time-ordered, no ``.`` (it is signed)."""
    return "msg_" + uuid7().hex


def retry_delay(step: int, retry_after: float | None = None, rng=random) -> float | None:
    """Seconds to wait after the ``step``-th attempt of a cycle (1-based), jittered; None
    when it was the last one."""
    if step >= MAX_ATTEMPTS:
        return None
    base = SCHEDULE[step - 1]
    delay = base * rng.uniform(1 - JITTER, 1 + JITTER)
    if retry_after:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


# --- URLs ------------------------------------------------------------------------------------

def validate_url(url: str) -> str:
    """A webhook URL as a client may give it (for forms and the API): absolute http(s),
    at most 500 characters, not a private or loopback IP written literally (host names
    are checked again at every delivery, after DNS). Returns the stripped URL; raises
    ValidationError saying what is wrong."""
    url = (url or "").strip()
    if len(url) > URL_MAX_LENGTH:
        raise ValidationError(_("The webhook URL is too long (at most %(n)s characters).") % {"n": URL_MAX_LENGTH})
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError(_("Enter a valid http(s) URL for the webhook."))
    try:
        _scheme, host, _port, _path = transport.split_url(url)
        transport.check_literal_host(host)
    except transport.Refused:
        raise ValidationError(_("Webhooks are not sent to private, loopback or internal addresses."))
    return url


def _url_format_ok(url: str) -> bool:
    if len(url) > URL_MAX_LENGTH:
        return False
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return False
    return True


# --- Secrets ---------------------------------------------------------------------------------

def company_secret(company) -> WebhookSecret:
    """The company's signing secret, made on first use."""
    company_id = company if isinstance(company, int) else company.pk
    secret, _created = WebhookSecret.objects.get_or_create(company_id=company_id,
                                                           defaults={"secret": signing.new_secret()})
    return secret


def signing_secrets(ws: WebhookSecret, now=None) -> list[str]:
    """The secrets that sign now: the current one, plus the previous one during the grace
    period after a rotation."""
    now = now or timezone.now()
    result = [ws.secret]
    if ws.previous_secret and ws.rotated_at and now - ws.rotated_at < rotation_grace():
        result.append(ws.previous_secret)
    return result


def _secrets_for(company_ids) -> dict[int, WebhookSecret]:
    company_ids = set(company_ids)
    found = {ws.company_id: ws for ws in WebhookSecret.objects.filter(company_id__in=company_ids)}
    for company_id in company_ids - found.keys():
        found[company_id] = company_secret(company_id)
    return found


@transaction.atomic
def rotate_secret(*, actor: Actor, company) -> WebhookSecret:
    """A new secret; the old one keeps signing alongside it for the grace period."""
    ws = WebhookSecret.objects.select_for_update().get(pk=company_secret(company).pk)
    before = {"rotated_at": ws.rotated_at.isoformat() if ws.rotated_at else None}
    ws.previous_secret, ws.secret, ws.rotated_at = ws.secret, signing.new_secret(), timezone.now()
    ws.save(update_fields=["previous_secret", "secret", "rotated_at"])
    audit.record(actor, "Rotated the webhook signing secret",
                 [Change(WebhookSecret._meta.db_table, AuditDetail.Operation.UPDATE, str(ws.pk), before,
                         {"rotated_at": ws.rotated_at.isoformat()})], company=company)
    return ws


# --- Emitting --------------------------------------------------------------------------------

@dataclass
class EventSpec:
    """One webhook to emit. ``url``: the message's own webhook; else the API access's."""

    company: object  # Company or its id
    event_type: str
    data: dict
    url: str = ""
    api_access: object | None = None  # accounts.ApiAccess
    occurred_at: datetime | None = None

    @property
    def company_id(self) -> int:
        return self.company if isinstance(self.company, int) else self.company.pk

    def target_url(self) -> str:
        url = (self.url or "").strip()
        if not url and self.api_access is not None:
            url = (self.api_access.webhook_url or "").strip()
        return url


def render_payload(event_type: str, data: dict, occurred_at: datetime | None = None) -> str:
    """The body: compact JSON ``{"type", "timestamp", "data"}``."""
    when = (occurred_at or timezone.now()).astimezone(UTC)
    stamp = when.isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event_type, "timestamp": stamp, "data": data}, cls=DjangoJSONEncoder,
                      ensure_ascii=False, separators=(",", ":"))


def _endpoints_for(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], Endpoint]:
    """Endpoints for (company id, url) pairs: one query, then get_or_create for new URLs."""
    if not pairs:
        return {}
    found = {(e.company_id, e.url): e for e in Endpoint.objects.filter(
        company_id__in={c for c, _u in pairs}, url__in={u for _c, u in pairs}) if (e.company_id, e.url) in pairs}
    for company_id, url in sorted(pairs - found.keys()):
        found[(company_id, url)], _created = Endpoint.objects.get_or_create(company_id=company_id, url=url)
    return found


def emit_many(specs: list[EventSpec]) -> list[Event]:
    """Store one event per spec that has a URL (one bulk insert) and queue their first
    attempt after commit. Specs without a URL are skipped; a malformed URL is skipped and
    logged (forms and the API check URLs with :func:`validate_url` first)."""
    wanted = []
    for spec in specs:
        if not EVENT_TYPE.match(spec.event_type or ""):
            raise ValueError(f"webhook event type {spec.event_type!r}: use dot-separated [A-Za-z0-9_] words")
        url = spec.target_url()
        if not url:
            continue
        if not _url_format_ok(url):
            logger.warning("webhook for company %s not stored: invalid URL %r", spec.company_id, url[:200])
            continue
        wanted.append((spec, url))
    if not wanted:
        return []
    endpoints = _endpoints_for({(spec.company_id, url) for spec, url in wanted})
    now = timezone.now()
    events = []
    for spec, url in wanted:
        endpoint = endpoints[(spec.company_id, url)]
        disabled = endpoint.is_disabled
        events.append(Event(
            id=new_event_id(), company_id=spec.company_id, type=spec.event_type,
            payload=render_payload(spec.event_type, spec.data, spec.occurred_at), endpoint=endpoint,
            state=EventState.DISABLED if disabled else EventState.PENDING,
            next_attempt_at=None if disabled else now, created_at=now))
    Event.objects.bulk_create(events, batch_size=1000)
    due = [e.pk for e in events if e.state == EventState.PENDING]
    if due:
        from webhooks import tasks

        if len(due) == 1:
            transaction.on_commit(lambda: tasks.deliver_event.delay(due[0]))
        else:
            for i in range(0, len(due), 500):
                chunk = due[i:i + 500]
                transaction.on_commit(lambda chunk=chunk: tasks.deliver_events.delay(chunk))
    return events


def emit(*, company, event_type: str, data: dict, url: str = "", api_access=None,
         occurred_at: datetime | None = None) -> Event | None:
    """One webhook (``message.status``, ``message.inbound`` …) to ``url`` or else the API
    access's webhook; None when there is neither."""
    events = emit_many([EventSpec(company=company, event_type=event_type, data=data, url=url,
                                  api_access=api_access, occurred_at=occurred_at)])
    return events[0] if events else None


# --- Delivering ------------------------------------------------------------------------------

@dataclass
class _Job:
    event: Event
    delivery: Delivery
    body: bytes
    headers: dict


def _lease() -> timedelta:
    return timedelta(seconds=transport.timeout_seconds() + LEASE_MARGIN)


def _claim(queryset, limit: int) -> list[_Job]:
    """Take up to ``limit`` due pending events of ``queryset``: count the attempt, lease
    the event, write the delivery rows (all committed before any POST)."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(queryset.filter(state=EventState.PENDING, next_attempt_at__lte=now)
                   .select_for_update(skip_locked=True).order_by("next_attempt_at")
                   .values_list("id", flat=True)[:limit])
        lease_until = now + _lease()
        claimed = [pk for pk in ids if Event.objects.filter(
            pk=pk, state=EventState.PENDING, next_attempt_at__lte=now).update(
            attempts=F("attempts") + 1, schedule_step=F("schedule_step") + 1, next_attempt_at=lease_until)]
        if not claimed:
            return []
        # An attempt whose worker died never got its outcome: say so on its row.
        Delivery.objects.filter(event_id__in=claimed, finished_at__isnull=True).update(error=NO_RESULT,
                                                                                      finished_at=now)
        events = list(Event.objects.filter(pk__in=claimed).select_related("endpoint", "company").order_by("pk"))
        secrets = _secrets_for(e.company_id for e in events)
        deliveries = Delivery.objects.bulk_create(
            Delivery(event=e, attempt=e.attempts, at=now, url=e.endpoint.url) for e in events)
    stamp = int(time.time())
    jobs = []
    for event, delivery in zip(events, deliveries, strict=True):
        body = event.payload.encode()
        headers = signing.headers(signing_secrets(secrets[event.company_id], now), event.pk, stamp, body)
        jobs.append(_Job(event, delivery, body, headers))
    return jobs


def _send_all(jobs: list[_Job]) -> list[transport.Outcome]:
    if len(jobs) == 1:
        job = jobs[0]
        return [transport.post(job.delivery.url, job.body, job.headers)]
    with ThreadPoolExecutor(max_workers=min(workers(), len(jobs)), thread_name_prefix="webhook") as pool:
        return list(pool.map(lambda j: transport.post(j.delivery.url, j.body, j.headers), jobs))


def _record(job: _Job, outcome: transport.Outcome) -> None:
    now = timezone.now()
    event = job.event
    error = outcome.error
    if outcome.status_code == 410:
        error = "410 Gone: the endpoint asked not to receive webhooks any more; it is now disabled."
    with transaction.atomic():
        Delivery.objects.filter(pk=job.delivery.pk).update(
            status_code=outcome.status_code, response_excerpt=outcome.excerpt[:transport.EXCERPT_BYTES],
            duration_ms=outcome.duration_ms, error=error, finished_at=now)
        fields = {"last_status_code": outcome.status_code, "last_error": error[:255]}
        if outcome.succeeded:
            fields.update(state=EventState.DELIVERED, delivered_at=now, next_attempt_at=None, last_error="")
        elif outcome.status_code == 410:
            Event.objects.filter(pk=event.pk).update(**fields)
            _disable_endpoint(event.endpoint, "The endpoint answered 410 Gone.", Actor.system(event.company))
            return
        elif outcome.permanent:
            fields.update(state=EventState.FAILED, next_attempt_at=None)
        else:
            delay = retry_delay(event.schedule_step, outcome.retry_after)
            if delay is None:
                fields.update(state=EventState.FAILED, next_attempt_at=None)
            else:
                fields.update(next_attempt_at=now + timedelta(seconds=delay))
        Event.objects.filter(pk=event.pk, state=EventState.PENDING).update(**fields)
    job.delivery.status_code, job.delivery.error = outcome.status_code, error


def _run(jobs: list[_Job]) -> None:
    for job, outcome in zip(jobs, _send_all(jobs), strict=True):
        try:
            _record(job, outcome)
        except Exception:  # noqa: BLE001 - one bad record must not lose the others' outcomes
            logger.exception("webhook %s: could not record attempt %s", job.event.pk, job.delivery.attempt)


def deliver(event: Event) -> Delivery | None:
    """One attempt for ``event`` if it is pending and due; returns its delivery row
    (None when another worker holds it or it is not due)."""
    jobs = _claim(Event.objects.filter(pk=event.pk), 1)
    if not jobs:
        return None
    _run(jobs)
    return Delivery.objects.get(pk=jobs[0].delivery.pk)


def deliver_events(ids) -> int:
    """Attempt these events (those still pending and due), a few in parallel."""
    ids = list(ids)
    done = 0
    for i in range(0, len(ids), workers()):
        jobs = _claim(Event.objects.filter(pk__in=ids[i:i + workers()]), workers())
        if jobs:
            _run(jobs)
            done += len(jobs)
    return done


def deliver_due(limit: int | None = None) -> int:
    """The beat sweep: attempt due events, oldest due first, in batches of
    ``HERALD_WEBHOOK_WORKERS`` sent in parallel, until ``limit`` attempts, nothing due, or
    the time slice is over. Workers running at the same time skip each other's rows."""
    limit = limit or int(_setting("HERALD_WEBHOOK_BATCH", 200))
    started = time.monotonic()
    done = 0
    while done < limit and time.monotonic() - started < SLICE_SECONDS:
        jobs = _claim(Event.objects.all(), min(workers(), limit - done))
        if not jobs:
            break
        _run(jobs)
        done += len(jobs)
    return done


# --- Endpoints and replay (portal actions) -------------------------------------------------

def _disable_endpoint(endpoint: Endpoint, reason: str, actor: Actor) -> int:
    """Disable the endpoint and every pending event of it. Returns that event count."""
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    if endpoint.is_disabled:
        return 0
    before = audit.snapshot(endpoint)
    endpoint.disabled_at, endpoint.disabled_reason = timezone.now(), reason[:255]
    endpoint.save(update_fields=["disabled_at", "disabled_reason"])
    held = Event.objects.filter(endpoint=endpoint, state=EventState.PENDING).update(
        state=EventState.DISABLED, next_attempt_at=None)
    audit.record(actor, "Disabled webhook endpoint", [audit.updated(endpoint, before)], company=endpoint.company)
    return held


@transaction.atomic
def disable_endpoint(*, actor: Actor, endpoint: Endpoint) -> int:
    who = getattr(actor.user, "login", "") or getattr(actor.api_access, "name", "") or "the system"
    return _disable_endpoint(endpoint, f"Disabled by {who}.", actor)


@transaction.atomic
def enable_endpoint(*, actor: Actor, endpoint: Endpoint) -> int:
    """Enable a disabled endpoint. Events held while it was disabled are not re-sent by
    themselves (use :func:`replay_since`); returns their count."""
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    held = Event.objects.filter(endpoint=endpoint, state=EventState.DISABLED).count()
    if not endpoint.is_disabled:
        return held
    before = audit.snapshot(endpoint)
    endpoint.disabled_at, endpoint.disabled_reason = None, ""
    endpoint.save(update_fields=["disabled_at", "disabled_reason"])
    audit.record(actor, "Enabled webhook endpoint", [audit.updated(endpoint, before)], company=endpoint.company)
    return held


def _restart_fields(now) -> dict:
    return {"state": EventState.PENDING, "schedule_step": 0, "next_attempt_at": now, "delivered_at": None}


@transaction.atomic
def replay(*, actor: Actor, event: Event) -> Event:
    """Send the event again (same id and body) with a fresh retry schedule, whatever its
    state. Refused while its endpoint is disabled."""
    event = Event.objects.select_for_update().select_related("endpoint").get(pk=event.pk)
    if event.endpoint.is_disabled:
        raise ValidationError(_("The endpoint %(url)s is disabled: enable it before replaying its events.")
                              % {"url": event.endpoint.url})
    before = {"state": event.state, "attempts": event.attempts}
    now = timezone.now()
    Event.objects.filter(pk=event.pk).update(**_restart_fields(now))
    audit.record(actor, "Replayed webhook event",
                 [Change(Event._meta.db_table, AuditDetail.Operation.UPDATE, event.pk, before,
                         {"state": EventState.PENDING, "attempts": event.attempts})], company=event.company)
    from webhooks import tasks

    event_id = event.pk
    transaction.on_commit(lambda: tasks.deliver_event.delay(event_id))
    event.refresh_from_db()
    return event


@transaction.atomic
def replay_since(*, actor: Actor, company, since: datetime, endpoint: Endpoint | None = None) -> tuple[int, int]:
    """Replay every event of the company created at or after ``since`` (of one endpoint,
    or all). Events of disabled endpoints are left alone. Returns (replayed, skipped)."""
    now = timezone.now()
    if since is None:
        raise ValidationError({"since": _("Enter the date and time to replay from.")})
    if since > now:
        raise ValidationError({"since": _("The time to replay from is in the future.")})
    if endpoint is not None and endpoint.company_id != company.pk:
        raise ValidationError({"endpoint": _("Unknown endpoint.")})
    events = Event.objects.for_company(company).filter(created_at__gte=since)
    if endpoint is not None:
        events = events.filter(endpoint=endpoint)
    skipped = events.filter(endpoint__disabled_at__isnull=False).count()
    replayed = events.filter(endpoint__disabled_at__isnull=True).update(**_restart_fields(now))
    if replayed:
        audit.record(actor, "Replayed webhook events",
                     [Change(Event._meta.db_table, AuditDetail.Operation.UPDATE,
                             str(endpoint.pk) if endpoint else "*", None,
                             {"since": since.isoformat(), "endpoint": endpoint.url if endpoint else None,
                              "events": replayed})], company=company)
        from webhooks import tasks

        transaction.on_commit(lambda: tasks.deliver_due.delay())
    return replayed, skipped
