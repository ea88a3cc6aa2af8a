"""Applying status changes to messages in bulk, never backwards (docs/messaging.md §1, §4).

Both the dispatcher (submit results) and the intake (delivery reports) end here:
``apply_updates`` writes hundreds of changes per statement — an ``UPDATE … FROM (VALUES …)
WHERE status_rank < new rank`` that returns the rows it changed — and ``record_changes``
does what follows a change: the status history, the fallback plans, the client webhooks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.utils import timezone

from messaging.models import STATUS_RANK, Message, MessageStatus, StatusEvent
from portal.db import array_param, copy_rows

CHUNK = 2000

_COLUMNS = "id, company_id, plan_id, step, channel, address, source, source_id, status, error_code, error_text"


@dataclass
class Update:
    message_id: uuid.UUID
    status: str
    provider_status: str = ""
    error_code: str = ""
    error_text: str = ""
    provider_message_id: str = ""
    at: datetime = field(default_factory=timezone.now)


@dataclass
class Changed:
    """A message whose status an update changed."""

    id: uuid.UUID
    company_id: int
    plan_id: int | None
    step: int | None
    channel: int
    address: str
    source: str
    source_id: int | None
    status: str
    error_code: str
    error_text: str
    provider_status: str = ""
    at: datetime | None = None
    late: bool = False
    old_status: str = ""   # the status it moved from ("" when unknown)

    def submitted(self, provider_status: str) -> Changed:
        """The submit this change skipped over (a delivery report applied with its submit),
        for the history and the webhooks (a keyword call: ``dataclasses.replace`` costs ~5 µs)."""
        return Changed(id=self.id, company_id=self.company_id, plan_id=self.plan_id, step=self.step,
                       channel=self.channel, address=self.address, source=self.source, source_id=self.source_id,
                       status=MessageStatus.SUBMITTED, error_code="", error_text="",
                       provider_status=provider_status, at=self.at, late=False, old_status=self.old_status)


def _collapse(updates: list[Update]) -> list[Update]:
    """One update per message: the highest rank; among equal ranks the first one."""
    best: dict[uuid.UUID, Update] = {}
    for update in updates:
        kept = best.get(update.message_id)
        if kept is None or STATUS_RANK[update.status] > STATUS_RANK[kept.status]:
            best[update.message_id] = update
    return list(best.values())


_SET = (
    "status = v.status, status_rank = v.rank, "
    "provider_status = CASE WHEN v.pstatus <> '' THEN v.pstatus ELSE m.provider_status END, "
    "error_code = CASE WHEN v.ecode <> '' THEN v.ecode ELSE m.error_code END, "
    "error_text = CASE WHEN v.etext <> '' THEN v.etext ELSE m.error_text END, "
    "provider_message_id = CASE WHEN v.pid <> '' THEN v.pid ELSE m.provider_message_id END, "
    "submitted_at = COALESCE(m.submitted_at, CASE WHEN v.status IN ('submitted', 'delivered', 'seen') THEN v.at END), "
    "delivered_at = COALESCE(m.delivered_at, CASE WHEN v.status IN ('delivered', 'seen') THEN v.at END), "
    "seen_at = COALESCE(m.seen_at, CASE WHEN v.status = 'seen' THEN v.at END), "
    f"finished_at = COALESCE(m.finished_at, CASE WHEN v.rank >= {STATUS_RANK['rejected']} THEN v.at END)"
)
_V = "v(id, status, rank, pstatus, ecode, etext, pid, at)"


# The dispatcher's own results also count the attempt (the provider call) they report.
_BUMP = ", attempt_count = m.attempt_count + 1"


def _sql(rows: int, gateway_id: int | None = None, bump: bool = False) -> str:
    only = f" AND m.gateway_id = {int(gateway_id)}" if gateway_id is not None else ""
    set_ = _SET + (_BUMP if bump else "")
    if connection.vendor == "postgresql":
        # One array per column: 8 parameters whatever the batch size. The ``o`` CTE locks
        # the rows first and reads the status each one moves from (for the live counters):
        # under the lock no other writer can change it before this UPDATE does.
        returning = ", ".join(f"m.{c.strip()}" for c in _COLUMNS.split(","))
        return ("WITH v AS (SELECT * FROM unnest(%s::uuid[], %s::text[], %s::int[], %s::text[], %s::text[],"
                f" %s::text[], %s::text[], %s::timestamptz[]) AS {_V}),"
                " o AS (SELECT m.id, m.status FROM messaging_message m JOIN v ON m.id = v.id"
                f" WHERE m.status_rank < v.rank{only} ORDER BY m.id FOR UPDATE OF m)"
                " UPDATE messaging_message AS m SET " + set_ +
                f" FROM v, o WHERE m.id = v.id AND o.id = m.id AND m.status_rank < v.rank{only}"
                f" RETURNING {returning}, o.status")
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * rows)
    return (f"WITH {_V} AS (VALUES {values}) UPDATE messaging_message AS m SET {set_} "
            f"FROM v WHERE m.id = v.id AND m.status_rank < v.rank{only} RETURNING {_COLUMNS}")


# The dispatcher's settle (PostgreSQL): a message it claimed (``Claim``) is still ``queued``
# unless a report overtook the submit. The UPDATE re-checks the status on the row it locks,
# so every row it returns moved from ``queued``: no locking read of the old status first.
# The rest (a report came first) takes the general statement.
_CLAIMED_SQL = (
    "WITH v AS (SELECT * FROM unnest(%s::uuid[], %s::text[], %s::int[], %s::text[], %s::text[],"
    f" %s::text[], %s::text[], %s::timestamptz[]) AS {_V})"
    " UPDATE messaging_message AS m SET " + _SET + _BUMP +
    " FROM v WHERE m.id = v.id AND m.status_rank < v.rank AND m.status = 'queued'"
    " RETURNING " + ", ".join(f"m.{c.strip()}" for c in _COLUMNS.split(","))
)


def apply_updates(updates: list[Update], *, gateway_id: int | None = None, claimed: bool = False) -> list[Changed]:
    """Apply status updates; returns the messages that changed (an update that would move a
    status backwards, or repeats the current one, changes nothing and is not returned).
    With ``gateway_id`` only that gateway's messages can change (a provider's reports never
    touch another provider's messages). ``claimed``: the dispatcher's own results for the
    messages it claimed (see ``_CLAIMED_SQL``); a message they change counts the attempt."""
    updates = _collapse(updates)
    if not updates:
        return []
    postgres = connection.vendor == "postgresql"
    by_id = {u.message_id: u for u in updates}
    changed: list[Changed] = []
    with connection.cursor() as cursor:
        for start in range(0, len(updates), CHUNK):
            chunk = updates[start:start + CHUNK]
            if postgres and claimed:
                cursor.execute(_CLAIMED_SQL, _arrays(chunk))
                done = set()
                for row in cursor.fetchall():
                    done.add(row[0])
                    changed.append(_changed(row, by_id[row[0]], MessageStatus.QUEUED))
                chunk = [u for u in chunk if u.message_id not in done]
                if not chunk:
                    continue
            if not postgres:
                # SQLite serialises writers: the statuses read here are the ones the
                # UPDATE below moves from.
                old = dict(Message.objects.filter(pk__in=[u.message_id for u in chunk]).values_list("pk", "status"))
            cursor.execute(_sql(len(chunk), gateway_id, bump=claimed),
                           _arrays(chunk) if postgres else _values(chunk))
            for row in cursor.fetchall():
                message_id = row[0] if isinstance(row[0], uuid.UUID) else uuid.UUID(str(row[0]))
                if postgres:
                    row, old_status = row[:-1], row[-1]
                else:
                    old_status = old.get(message_id, "")
                changed.append(_changed((message_id, *row[1:]), by_id[message_id], old_status))
    return changed


def _rows(chunk: list[Update], postgres: bool) -> list[list]:
    adapt = connection.ops.adapt_datetimefield_value
    return [[u.message_id if postgres else u.message_id.hex, u.status, STATUS_RANK[u.status], u.provider_status[:40],
             u.error_code[:40], u.error_text, u.provider_message_id[:100], adapt(u.at)] for u in chunk]


def _arrays(chunk: list[Update]) -> list[list]:
    """PostgreSQL: one array per column, rows in id order (the order rows are locked in)."""
    return [array_param(list(column))
            for column in zip(*_rows(sorted(chunk, key=lambda u: u.message_id.int), True), strict=True)]


def _values(chunk: list[Update]) -> list:
    return [value for row in _rows(chunk, False) for value in row]


def _changed(row, update: Update, old_status: str) -> Changed:
    return Changed(*row, provider_status=update.provider_status, at=update.at, old_status=old_status)


def _insert_events(changes: list[Changed], late_ids: set) -> None:
    now = timezone.now()
    if connection.vendor == "postgresql":
        copy_rows(StatusEvent, ["message", "status", "provider_status", "error_code", "at", "late"],
                  [(c.id, c.status, c.provider_status[:40], c.error_code[:40], c.at or now,
                    c.id in late_ids) for c in changes])
        return
    StatusEvent.objects.bulk_create([StatusEvent(message_id=c.id, status=c.status, provider_status=c.provider_status[:40],
                                                 error_code=c.error_code[:40], at=c.at or now, late=c.id in late_ids)
                                     for c in changes], batch_size=1000)


def record_changes(changed: list[Changed], prior: list[Changed] | None = None) -> None:
    """Everything that follows applied changes, in the caller's transaction: plans move
    (and late reports are flagged), the status history is written, client webhooks are
    queued. ``prior`` are earlier statuses the same update skipped over (a submit and its
    delivery report applied as one): they go to the history and the webhooks only."""
    if not changed:
        return
    from messaging.services import counters, fallback, notify

    late_ids = fallback.on_status_changes(changed)
    if late_ids:
        Message.objects.filter(pk__any=late_ids).update(late=True)
    tally = counters.Tally()
    for c in changed:
        if c.source in counters.COUNTED_SOURCES and c.step is not None:
            if c.old_status:
                tally.move(c.source, c.source_id, c.step, c.old_status, c.status)
            if c.id in late_ids:
                tally.add(c.source, c.source_id, c.step, "late")
    tally.flush()
    history = [*(prior or []), *changed]
    _insert_events(history, late_ids)
    notify.status_changed(history)
