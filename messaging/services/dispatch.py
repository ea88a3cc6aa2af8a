"""Dispatch: queued messages → the provider, in batches per gateway (docs/messaging.md §3).

The order of one batch: claim (a committed ``Claim`` row per message) in one transaction →
wait for the gateway's tokens → ``driver.send_batch`` → apply the results in bulk (status,
attempt count, provider id, attempts, history, plans, webhooks) and drop the claims, in one
transaction. A message is never claimed twice (the claim's key is the message's); a claim
left by a dead worker is settled by ``recover``.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from messaging import ratelimit
from messaging.models import Attempt, Claim, Gateway, Message, MessageStatus, PendingReport, Priority
from messaging.providers import driver_for
from messaging.providers.base import OutboundMessage, Report, SendResult
from messaging.services import holds
from messaging.services.status import Update, apply_updates, record_changes
from portal import memory
from portal.cache import add_flag
from portal.db import copy_rows

logger = logging.getLogger(__name__)

# Failures where the provider certainly got nothing (HTTP: the connection failed; SMPP: no
# bind): the message goes back to the queue
# (a new attempt) up to MAX_ATTEMPTS times.
RETRYABLE = frozenset({"connection_error", "not_connected"})
MAX_ATTEMPTS = 3
OUTCOME_UNKNOWN = "outcome_unknown"


@dataclass
class BatchOutcome:
    claimed: int = 0
    submitted: int = 0
    failed: int = 0
    requeued: int = 0


# --- kicking ------------------------------------------------------------------------------

def _kick_key(gateway_id: int, priority: int) -> str:
    return f"herald:kick:{priority}:{gateway_id}"


def kick(pairs) -> None:
    """Start dispatching gateways that just got messages: ``pairs`` of (gateway id,
    priority). A task is published only when none is pending for that gateway and lane: the
    flag set here (one ``SET NX``) is cleared by the task as it starts, *before* it claims,
    so a message committed before the clear is claimed by it and one committed after sets
    the flag again and publishes a new task. Under load this spares a broker publish per
    API call; nothing can be left behind."""
    from messaging import tasks

    for gateway_id, priority in set(pairs):
        if add_flag(_kick_key(gateway_id, priority), timeout=60):
            task = tasks.dispatch_priority if priority == Priority.HIGH else tasks.dispatch_gateway
            task.delay(gateway_id)


def kicked(gateway_id: int, priority: int) -> None:
    """Called by a dispatch task as it starts: the next kick publishes a new task."""
    cache.delete(_kick_key(gateway_id, priority))


class _Kicker:
    """Kicks handed to one thread of the process instead of made by the request (D86): a
    web server's API sends then spend no Redis round trip (and no broker publish) on the
    kick, and kicks that arrive together are made once. Started per process (after a fork,
    the child starts its own). A kick lost with its process (killed before the thread ran)
    delays its messages until the beat's sweep (``gateways_with_work``); a process that
    exits normally makes its pending kicks first."""

    def __init__(self):
        self.pending: set = set()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.pid = None
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        """A forked child has no thread yet and may hold a copy of a taken lock."""
        self.lock, self.pid = threading.Lock(), None

    def submit(self, pairs) -> None:
        with self.lock:
            if self.pid != os.getpid():  # this process's first kick: its thread starts
                self.pid, self.pending, self.wake = os.getpid(), set(), threading.Event()
                threading.Thread(target=self._run, name="herald-kicker", daemon=True).start()
            self.pending |= pairs
        self.wake.set()

    def flush(self) -> None:
        with self.lock:
            pairs, self.pending = self.pending, set()
        if pairs:
            kick(pairs)

    def _run(self) -> None:
        wake = self.wake
        while True:
            wake.wait()
            time.sleep(_KICK_WINDOW)  # the kicks of the next few ms go with this one
            wake.clear()
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - Redis or the broker down: the beat's sweep starts the gateways
                logger.exception("dispatch kick failed")


_kicker: _Kicker | None = None
_KICK_WINDOW = 0.005  # seconds: at 250 sends a second per process, one kick for every one or two


def kick_in_background() -> None:
    """Make this process's kicks on a thread of their own (web servers: ``portal.asgi``,
    ``portal.wsgi``). Celery workers and commands kick inline."""
    global _kicker
    if _kicker is None:
        _kicker = _Kicker()
        atexit.register(_kicker.flush)


def kick_after_commit(pairs) -> None:
    pairs = set(pairs)
    kicker = _kicker
    if kicker is not None and not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        transaction.on_commit(lambda: kicker.submit(pairs))
    else:
        transaction.on_commit(lambda: kick(pairs))


def unclaimed_queue(gateway_id: int):
    """The gateway's messages waiting for a dispatcher: queued, not held, not claimed."""
    return Message.objects.filter(gateway_id=gateway_id, status=MessageStatus.QUEUED, held=False, claim__isnull=True)


def gateways_with_work() -> list[int]:
    """Active gateways that have queued, unclaimed messages (one cheap EXISTS each)."""
    return [g.pk for g in Gateway.objects.filter(is_active=True).only("pk") if unclaimed_queue(g.pk).exists()]


# --- claiming -----------------------------------------------------------------------------

_QUEUED = "gateway_id = %s AND status = 'queued' AND NOT held"


# Companies with bulk messages queued, per gateway, as a dispatcher last found them:
# (monotonic time, ids). Read again after ``_COMPANIES_TTL`` seconds, not for every batch:
# the scan walks the queue index's head, which a big run fills with the versions its
# settles left behind until a vacuum (measured: 0.8 → 2.6 ms a batch over a 200k run).
# A company that starts queueing meanwhile gets its share from the next read.
_companies: dict[int, tuple[float, list[int]]] = {}
_COMPANIES_TTL = 1.0


def _companies_with_bulk(gateway_id: int) -> list[int]:
    cached = _companies.get(gateway_id)
    if cached is not None and time.monotonic() - cached[0] < _COMPANIES_TTL:
        return cached[1]
    companies = _read_companies_with_bulk(gateway_id)
    _companies[gateway_id] = (time.monotonic(), companies)
    return companies


def _read_companies_with_bulk(gateway_id: int) -> list[int]:
    """Companies with messages queued on the gateway: a loose index scan on PostgreSQL
    (one probe of ``message_dispatch_company`` per company, however long the queue)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "WITH RECURSIVE c AS ("
                f" (SELECT company_id FROM messaging_message WHERE {_QUEUED} ORDER BY company_id LIMIT 1)"
                " UNION ALL SELECT (SELECT m.company_id FROM messaging_message m WHERE m.gateway_id = %s"
                "  AND m.status = 'queued' AND NOT m.held"
                "  AND m.company_id > c.company_id ORDER BY m.company_id LIMIT 1) FROM c"
                "  WHERE c.company_id IS NOT NULL)"
                " SELECT company_id FROM c WHERE company_id IS NOT NULL LIMIT 1000", [gateway_id, gateway_id])
        else:
            cursor.execute(f"SELECT DISTINCT company_id FROM messaging_message WHERE {_QUEUED} LIMIT 1000",
                           [gateway_id])
        return [row[0] for row in cursor.fetchall()]


_CLAIMED = "id, company_id, channel, address, sender, content, encoding, segments, priority, attempt_count + 1"

# Waiting to be sent: a held source (a paused or stopping broadcast) is skipped from the
# commit of its hold, before its queued messages are flagged ``held`` in the background
# (``holds``); a claimed message is being sent by a dispatcher. The claim test is one key
# probe per message read from the queue index, kept out of the planner's hands (``OFFSET 0``
# keeps it a sub-plan): turned into a join, its estimate followed the claim table's
# statistics — between two vacuums a million dead claims read as a million live ones — and
# the planner then hashed the whole queue against the claims (measured in a 1M broadcast:
# ~2,000 messages/s instead of ~9,000 from the first ANALYZE that saw the claims).
_WAITING = ("NOT EXISTS (SELECT 1 FROM messaging_heldsource h WHERE h.source = messaging_message.source AND "
            "h.source_id = messaging_message.source_id) AND NOT EXISTS (SELECT 1 FROM messaging_claim c WHERE "
            "c.message_id = messaging_message.id{fence})")


def _waiting() -> str:
    # SQLite has no OFFSET without a LIMIT (and no such planner to fence off).
    return _WAITING.format(fence=" OFFSET 0" if connection.vendor == "postgresql" else "")


def _claim_sql(extra: str, limit: int) -> str:
    """PostgreSQL: pick (rows another dispatcher is picking are skipped), then claim — the
    claim's key is the message's, so a message picked twice is claimed once. Parameters:
    the gateway id, then ``extra``'s. Returns the picked rows (first column true) and the
    ids actually claimed (first column false, then the id): a row picked but not claimed
    (another dispatcher's claim committed between this statement's snapshot and its lock)
    is not this dispatcher's to send. (Not a join of the two: the planner's estimate of the
    picked rows follows the queue's statistics, and at "one row" it chose a nested loop —
    a million comparisons, 80 ms a claim.)"""
    nulls = ", ".join(["NULL"] * (len(_CLAIMED.split(",")) - 1))
    return (f"WITH picked AS (SELECT {_CLAIMED} AS attempt, gateway_id FROM messaging_message"
            f" WHERE {_QUEUED}{extra} AND {_waiting()} ORDER BY priority DESC, id LIMIT {int(limit)}"
            " FOR UPDATE SKIP LOCKED),"
            " taken AS (INSERT INTO messaging_claim (message_id, gateway_id, since)"
            " SELECT id, gateway_id, now() FROM picked ON CONFLICT DO NOTHING RETURNING message_id)"
            f" SELECT true, {_CLAIMED.replace('attempt_count + 1', 'attempt')} FROM picked"
            f" UNION ALL SELECT false, message_id, {nulls} FROM taken")


def _claim_rows(gateway_id: int, limit: int, extra: str = "", params=()) -> list[OutboundMessage]:
    if limit <= 0:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_claim_sql(extra, limit), [gateway_id, *params])
            picked, taken = [], set()
            for row in cursor.fetchall():
                if row[0]:
                    picked.append(row[1:])
                else:
                    taken.add(row[1])
            rows = [row for row in picked if row[0] in taken]
        else:  # SQLite: the caller's transaction holds the write lock from its start (IMMEDIATE)
            cursor.execute(f"SELECT {_CLAIMED} FROM messaging_message WHERE {_QUEUED}{extra} AND {_waiting()}"
                           f" ORDER BY priority DESC, id LIMIT {int(limit)}", [gateway_id, *params])
            rows = cursor.fetchall()
            now = timezone.now()
            Claim.objects.bulk_create([Claim(message_id=uuid.UUID(str(row[0])), gateway_id=gateway_id, since=now)
                                       for row in rows])
    claimed = []
    for pk, company_id, channel, address, sender, content, encoding, segments, priority, attempt in rows:
        message = OutboundMessage(
            id=pk if isinstance(pk, uuid.UUID) else uuid.UUID(str(pk)), company_id=company_id, channel=channel,
            address=address, sender=sender, content=json.loads(content) if isinstance(content, str) else content,
            encoding=encoding, segments=segments, attempt=attempt)
        claimed.append((-priority, message.id.int, message))  # (an int compares in C; a UUID in Python)
    # The statement gives no order: put them back in queue order (priority first, then by id).
    claimed.sort(key=lambda entry: entry[:2])
    return [message for _p, _i, message in claimed]


def claim(gateway_id: int, limit: int, *, priority_only: bool = False) -> list[OutboundMessage]:
    """Claim up to ``limit`` queued messages of a gateway (priority ones first, then bulk
    ones shared evenly between the companies that have some queued); each one's ``attempt``
    is its next attempt's number. Commits nothing: call inside a transaction. Returns them in
    claim order."""
    # Priorities are bounded below (``>=``), never pinned (``=``): with ``priority = 0`` the
    # planner drops priority from the ORDER BY, which leaves ``id`` — and then sometimes
    # walks the primary key from the oldest message, filtering out every one already sent
    # (measured: 290 ms per claim, growing, in a 1M broadcast). Unpinned, only the partial
    # dispatch indexes give the order. (A priority message a bulk claim meets first is
    # simply sent first, as the lane would.)
    claimed = _claim_rows(gateway_id, limit, " AND priority >= 1")
    if priority_only or len(claimed) >= limit:
        return claimed
    companies = _companies_with_bulk(gateway_id)
    if len(companies) <= 1:
        return claimed + _claim_rows(gateway_id, limit - len(claimed), " AND priority >= 0")
    share = max(1, (limit - len(claimed)) // len(companies))
    for company_id in companies:
        if len(claimed) >= limit:
            break
        claimed += _claim_rows(gateway_id, min(share, limit - len(claimed)), " AND priority >= 0 AND company_id = %s",
                               [company_id])
    if len(claimed) < limit:
        # Companies with less than their share left room: fill the batch (oldest first)
        # rather than send it half empty while messages wait.
        claimed += _claim_rows(gateway_id, limit - len(claimed), " AND priority >= 0")
    return claimed


# --- one batch ----------------------------------------------------------------------------

def send_batch(gateway: Gateway, *, priority_only: bool = False, limit: int | None = None) -> BatchOutcome:
    """Claim, send and settle one batch of the gateway's queue."""
    driver = driver_for(gateway)
    size = min(limit or settings.HERALD_DISPATCH_BATCH, driver.max_batch, max(gateway.tps, 1))
    with transaction.atomic():
        outbound = claim(gateway.pk, size, priority_only=priority_only)
    if not outbound:
        return BatchOutcome()
    try:
        ratelimit.wait_for(gateway.pk, gateway.tps, len(outbound))
    except Exception:
        # The rate limiter (Redis) is down: nothing was sent, so the batch goes back to
        # the queue at once rather than waiting for the recovery sweep.
        with transaction.atomic():
            release([m.id for m in outbound], attempted=False)
        raise
    started_at, started = timezone.now(), time.monotonic()
    try:
        results = driver.send_batch(outbound)
        if len(results) != len(outbound):
            raise RuntimeError(f"driver returned {len(results)} results for {len(outbound)} messages")
    except Exception as exc:  # noqa: BLE001 - the whole batch's outcome is unknown
        logger.exception("gateway %s: send_batch failed", gateway.pk)
        results = [SendResult(m.id, MessageStatus.FAILED, error_code="provider_error",
                              error_text=f"The provider call failed: {exc}") for m in outbound]
    duration = int((time.monotonic() - started) * 1000)
    outcome = settle(gateway, outbound, results, started_at=started_at, duration_ms=duration)
    try:
        after = getattr(driver, "after_submit", None)
        if after is not None:
            after([r for r in results if r.status == MessageStatus.SUBMITTED])
    except Exception:  # noqa: BLE001
        logger.exception("gateway %s: after_submit failed", gateway.pk)
    return outcome


def settle(gateway: Gateway, outbound: list[OutboundMessage], results: list[SendResult], *, started_at=None,
           duration_ms: int | None = None, attempt_error: str = "") -> BatchOutcome:
    """Apply a batch's results — statuses, attempts, history, plans, webhooks — and put
    the retryable failures back in the queue. One transaction."""
    now = timezone.now()
    outcome = BatchOutcome(claimed=len(outbound))
    updates, requeue, attempts = [], [], []
    # A delivery report the provider gave with the submit (the simulator without delay) is
    # applied in the same statement; the submit still goes to the history first.
    inline_reports = getattr(driver_for(gateway), "inline_reports", None)
    inline = inline_reports([r for r in results if r.status == MessageStatus.SUBMITTED]) if inline_reports else {}
    submits = {}
    for message, result in zip(outbound, results, strict=True):
        ok = result.status == MessageStatus.SUBMITTED
        attempts.append((
            message.id, message.attempt, gateway.pk, started_at or now, now, duration_ms, ok,
            attempt_error or ("" if ok else result.error_text or result.error_code), result.request,
            result.response or {"provider_message_id": result.provider_message_id,
                                "provider_status": result.provider_status}))
        if ok:
            outcome.submitted += 1
        elif result.error_code in RETRYABLE and message.attempt < MAX_ATTEMPTS:
            requeue.append(message.id)
            outcome.requeued += 1
            continue
        else:
            outcome.failed += 1
        report = inline.get(message.id) if ok else None
        if report is not None:
            submits[message.id] = result
            updates.append(Update(message.id, report.status, provider_status=report.provider_status,
                                  error_code=report.error_code, error_text=report.error_text,
                                  provider_message_id=result.provider_message_id, at=now))
            continue
        updates.append(Update(message.id, result.status, provider_status=result.provider_status,
                              error_code=result.error_code, error_text=result.error_text,
                              provider_message_id=result.provider_message_id, at=now))
    with transaction.atomic():
        changed = apply_updates(updates, claimed=True)  # (their attempt counted with the change)
        prior = [c.submitted(submits[c.id].provider_status) for c in changed if c.id in submits]
        changed_ids = {c.id for c in changed}
        if len(changed) < len(outbound):
            # Re-queued rows, and rows a report had already moved on, count their attempt
            # here; the re-queued ones of a paused or stopped broadcast wait / end.
            release([m.id for m in outbound if m.id not in changed_ids], requeued=requeue)
        Claim.objects.filter(pk__any=[m.id for m in outbound]).delete()
        for result in results:
            if result.provider_message_id and result.message_id not in changed_ids:
                # Rare: a report (by our id) overtook this submit response and moved the
                # status on; the message still needs the provider's id for later reports.
                Message.objects.filter(pk=result.message_id, provider_message_id="").update(
                    provider_message_id=result.provider_message_id[:100])
        write_attempts(attempts)
        record_changes(changed, prior)
        _match_pending(gateway, [r.provider_message_id for r in results if r.provider_message_id])
    return outcome


_ATTEMPT_COLUMNS = ["message", "number", "gateway", "started_at", "finished_at", "duration_ms", "ok", "error",
                    "request", "response"]


def release(message_ids: list, *, attempted: bool = True, requeued=None) -> None:
    """Drop the claims of messages that go back to the queue or whose outcome another
    update applied; count their attempt (``attempted``: the provider was called). Messages
    going back to the queue (``requeued``, default all) of a paused or stopped broadcast
    wait / end (``holds.requeued``). In the caller's transaction."""
    if not message_ids:
        return
    if attempted:
        Message.objects.filter(pk__any=message_ids).update(attempt_count=F("attempt_count") + 1)
    Claim.objects.filter(pk__any=message_ids).delete()
    holds.requeued(message_ids if requeued is None else requeued)


def write_attempts(rows: list[tuple]) -> None:
    """Insert attempts given as plain tuples in ``_ATTEMPT_COLUMNS`` order (request and
    response as dicts): ``COPY`` on PostgreSQL, without a model instance per attempt."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        copy_rows(Attempt, _ATTEMPT_COLUMNS, [(*row[:8], json.dumps(row[8]), json.dumps(row[9])) for row in rows])
        return
    Attempt.objects.bulk_create([Attempt(**{f"{name}_id" if name in ("message", "gateway") else name: value
                                            for name, value in zip(_ATTEMPT_COLUMNS, row, strict=True)})
                                 for row in rows], batch_size=1000)


def _match_pending(gateway: Gateway, provider_ids: list[str]) -> None:
    """Reports that overtook their submit response: apply them now."""
    if not provider_ids or not PendingReport.objects.filter(gateway=gateway).exists():
        return
    pending = list(PendingReport.objects.filter(gateway=gateway, provider_message_id__in=provider_ids))
    if pending:
        from messaging.services.intake import apply_reports

        PendingReport.objects.filter(pk__in=[p.pk for p in pending]).delete()
        apply_reports(gateway, [Report.from_json(p.report) for p in pending])


def run(gateway_id: int, *, priority_only: bool = False, seconds: float | None = None) -> int:
    """Dispatch a gateway's queue for up to ``seconds``; returns the messages claimed."""
    gateway = Gateway.objects.filter(pk=gateway_id, is_active=True).first()
    if gateway is None:
        return 0
    deadline = time.monotonic() + (seconds if seconds is not None else settings.HERALD_DISPATCH_SLICE_SECONDS)
    total = 0
    while time.monotonic() < deadline:
        with memory.paused():
            outcome = send_batch(gateway, priority_only=priority_only)
        total += outcome.claimed
        if not outcome.claimed:
            break
    return total


# --- recovery -----------------------------------------------------------------------------

def recover(older_than: float | None = None) -> dict:
    """Settle claims left by a worker that died between claim and settle. The driver is
    asked whether the provider got them (``reconcile``): a confirmed submit is applied, a
    confirmed "never received" goes back to the queue, and when the provider cannot tell
    the message ends ``failed / outcome_unknown`` — never sent twice. Each gets an attempt
    row saying the worker stopped."""
    seconds = older_than if older_than is not None else settings.HERALD_INFLIGHT_TIMEOUT_SECONDS
    cutoff = timezone.now() - timezone.timedelta(seconds=seconds)
    stats = {"confirmed": 0, "requeued": 0, "unknown": 0}
    gateway_ids = set(Claim.objects.filter(since__lt=cutoff).values_list("gateway_id", flat=True).distinct())
    for gateway_id in gateway_ids:
        gateway = Gateway.objects.filter(pk=gateway_id).first()
        with transaction.atomic():
            stale = list(Claim.objects.select_for_update(skip_locked=True)
                         .filter(gateway_id=gateway_id, since__lt=cutoff).values_list("pk", flat=True)[:5000])
            messages = list(Message.objects.filter(pk__any=stale)) if stale else []
            if not messages:
                continue
            outbound = [OutboundMessage(id=m.pk, company_id=m.company_id, channel=m.channel, address=m.address,
                                        sender=m.sender, content=m.content, encoding=m.encoding,
                                        segments=m.segments, attempt=m.attempt_count + 1) for m in messages]
            known = None
            if gateway is not None:
                try:
                    known = driver_for(gateway).reconcile(outbound)
                except Exception:  # noqa: BLE001
                    logger.exception("gateway %s: reconcile failed", gateway_id)
            known = known or {}
            stopped = "The worker stopped during this attempt."
            results, back = [], []
            for message in outbound:
                if message.id in known and known[message.id] is None:
                    back.append(message)
                elif message.id in known:
                    results.append(known[message.id])
                else:
                    results.append(SendResult(message.id, MessageStatus.FAILED, error_code=OUTCOME_UNKNOWN,
                                              error_text="The worker stopped while sending; the provider cannot "
                                                         "say whether it got the message, so it is not sent again."))
            now = timezone.now()
            write_attempts([(m.id, m.attempt, gateway_id, now, now, None, False,
                             stopped + " The provider confirms it did not receive the message; it goes back to "
                                       "the queue.", {}, {}) for m in back])
            with transaction.atomic():
                release([m.id for m in back])
            stats["requeued"] += len(back)
            by_id = {m.id: m for m in outbound}
            sent = [by_id[r.message_id] for r in results]
            stats["confirmed"] += sum(1 for r in results if r.status == MessageStatus.SUBMITTED)
            stats["unknown"] += sum(1 for r in results if r.error_code == OUTCOME_UNKNOWN)
            if results and gateway is not None:
                settle(gateway, sent, results, attempt_error=stopped)
    return stats


# --- stranded messages --------------------------------------------------------------------

def reroute_stranded(limit: int = 5000) -> dict:
    """Queued messages whose gateway was deactivated or deleted would wait forever: route
    them again (another active gateway of their channel), or end them ``skipped /
    no_route`` so that their plan moves on to its next step."""
    from contacts.phones import InvalidPhone, normalize
    from messaging.models import SkipReason
    from messaging.services.routing import Router

    inactive = list(Gateway.objects.filter(is_active=False).values_list("pk", flat=True))
    queued = Message.objects.filter(status=MessageStatus.QUEUED, claim__isnull=True)
    stranded = list(queued.filter(gateway_id__in=inactive).select_related("contact")[:limit]) if inactive else []
    stranded += list(queued.filter(gateway__isnull=True).select_related("contact")[:limit])
    routers: dict[int, Router] = {}
    moved, skipped = [], []
    for message in stranded:
        if message.contact is not None:
            country, mno = message.contact.country, message.contact.mno
        else:
            try:
                phone = normalize(message.address)
                country, mno = phone.country, phone.mno
            except InvalidPhone:
                country = mno = ""
        router = routers.setdefault(message.company_id, Router(message.company_id))
        gateway = router.route(message.channel, country=country, mno=mno, sender=message.sender)
        if gateway is None:
            skipped.append(Update(message.pk, MessageStatus.SKIPPED, error_code=SkipReason.NO_ROUTE.value,
                                  error_text=str(SkipReason.NO_ROUTE.label)))
        else:
            message.gateway = gateway
            moved.append(message)
    with transaction.atomic():
        for gateway_id in {m.gateway_id for m in moved}:
            Message.objects.filter(pk__in=[m.pk for m in moved if m.gateway_id == gateway_id],
                                   status=MessageStatus.QUEUED).update(gateway_id=gateway_id)
        record_changes(apply_updates(skipped))
        if moved:
            kick_after_commit({(m.gateway_id, m.priority) for m in moved})
    return {"rerouted": len(moved), "skipped": len(skipped)}
