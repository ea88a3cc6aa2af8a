"""Live counters of sources that show statistics (broadcasts), kept as the engine moves —
never a ``COUNT(*)`` over the message table (docs/messaging.md §8).

The engine calls ``add`` inside the transaction that makes the change, so a counter
moves exactly when the change commits (a rolled-back batch counts nothing). Deltas are
inserted, never updated in place; ``squash`` folds them periodically.

Keys: plan outcomes under ``step = PLAN`` (``initiated``, ``successful``, ``unsuccessful``,
``canceled``); per step (0-based) one key per message status (how many of the step's
messages are in it now), ``created`` (messages made for the step) and ``late`` (reports
that arrived after the plan had moved on).
"""

from __future__ import annotations

from collections import Counter as _Tally
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import Sum

from messaging.models import Source, SourceCounter

PLAN = -1
COUNTED_SOURCES = frozenset({Source.BROADCAST})


class Tally:
    """Deltas gathered during one batch, written with one INSERT by ``flush``."""

    def __init__(self):
        self.deltas: _Tally = _Tally()

    def add(self, source: str, source_id, step: int, key: str, n: int = 1) -> None:
        if n and source in COUNTED_SOURCES and source_id is not None:
            self.deltas[(source, int(source_id), int(step), key)] += n

    def move(self, source, source_id, step, old: str, new: str) -> None:
        """A message of ``step`` went from status ``old`` to ``new``."""
        if old != new:
            self.add(source, source_id, step, old, -1)
            self.add(source, source_id, step, new, 1)

    def flush(self) -> None:
        rows = [SourceCounter(source=s, source_id=i, step=st, key=k, count=n)
                for (s, i, st, k), n in self.deltas.items() if n]
        self.deltas.clear()
        if rows:
            SourceCounter.objects.bulk_create(rows)


def totals(source: str, source_id: int) -> dict[int, dict[str, int]]:
    """``{step: {key: count}}`` of one source (``PLAN`` for plan outcomes)."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute("SELECT step, key, SUM(count) FROM messaging_sourcecounter WHERE source = %s AND source_id = %s"
                       " GROUP BY step, key", [source, source_id])
        for step, key, count in cursor.fetchall():
            out[step][key] = int(count)
    return dict(out)


def totals_many(source: str, source_ids) -> dict[int, dict[int, dict[str, int]]]:
    """``totals`` of several sources in one query (a list page)."""
    ids = [int(i) for i in source_ids]
    out: dict[int, dict[int, dict[str, int]]] = {i: defaultdict(dict) for i in ids}
    if not ids:
        return out
    rows = (SourceCounter.objects.filter(source=source, source_id__in=ids)
            .values("source_id", "step", "key").order_by().annotate(total=Sum("count"))
            .values_list("source_id", "step", "key", "total"))
    for source_id, step, key, count in rows:
        out[source_id][step][key] = int(count or 0)
    return out


def squash(limit: int = 500) -> int:
    """Fold the delta rows of up to ``limit`` sources into one row per (step, key).
    Safe beside writers: the rows read are locked, deleted and replaced by their sums in one
    transaction; rows inserted meanwhile are not among them and wait for the next round."""
    pairs = list(SourceCounter.objects.filter(is_squashed=False).values_list("source", "source_id")
                 .distinct().order_by()[:limit])
    for source, source_id in pairs:
        with transaction.atomic():
            rows = list(SourceCounter.objects.select_for_update().filter(source=source, source_id=source_id)
                        .values_list("pk", "step", "key", "count"))
            if len(rows) <= 1:
                SourceCounter.objects.filter(pk__in=[r[0] for r in rows]).update(is_squashed=True)
                continue
            sums: _Tally = _Tally()
            for _pk, step, key, count in rows:
                sums[(step, key)] += count
            SourceCounter.objects.filter(pk__in=[r[0] for r in rows]).delete()
            SourceCounter.objects.bulk_create([
                SourceCounter(source=source, source_id=source_id, step=step, key=key, count=count, is_squashed=True)
                for (step, key), count in sums.items() if count])
    return len(pairs)
