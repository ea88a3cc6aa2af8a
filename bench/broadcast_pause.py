"""Pause, resume and stop of a broadcast with a million queued messages (issue 5; no
target: the requests must answer at once, D71), on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/herald_bench REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python bench/broadcast_pause.py

Needs the broadcast ``bench/broadcast_launch.py`` leaves ("Bench broadcast", run it first
with ``--contacts 1000000``). Copies it, launches the copy and resolves its recipients in
this process with no dispatcher running (every step-1 message stays queued; not timed),
prints ``EXPLAIN ANALYZE`` of a claim of 1,000 with the queue full, then times the Pause
request, a claim while the hold is not yet flagged, the ``apply_hold`` task, the Resume
request, the ``apply_release`` task, the Stop request and the cancel task. Tasks are not
published (the after-commit ``delay`` calls are patched out) but run here one after the
other, so each figure is that step's own.
"""

import os
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def main():
    import django

    django.setup()
    from django.db import connection

    from broadcasts.models import Broadcast
    from broadcasts.services import recipients, runs
    from messaging.models import Message, Source
    from messaging.services import dispatch, holds
    from portal.audit import Actor

    src = Broadcast.objects.select_related("company").filter(name__startswith="Bench").order_by("id").first()
    if src is None:
        sys.exit("run bench/broadcast_launch.py first: it leaves the broadcast this bench copies")
    actor = Actor.system(src.company)

    def timed(label, fn):
        started = time.perf_counter()
        result = fn()
        shown = result if isinstance(result, (int, dict)) else ""
        print(f"{label:40s} {time.perf_counter() - started:8.2f} s  {shown}", flush=True)

    def explain(title, sql, gateway_id):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + sql, [gateway_id])
            print(title + "\n" + "\n".join(row[0] for row in cursor.fetchall()[:8]), flush=True)

    def current():
        return Broadcast.objects.get(pk=run.pk)

    with mock.patch("broadcasts.tasks.resolve_broadcast.delay"), mock.patch("messaging.services.dispatch.kick"), \
            mock.patch("messaging.tasks.apply_hold.delay"), mock.patch("messaging.tasks.apply_release.delay"), \
            mock.patch("messaging.tasks.cancel_source.delay"):
        run = runs.copy_broadcast(actor=actor, broadcast=src)
        runs.launch(actor=actor, broadcast=run, moderate=False)
        timed("resolve (not part of the measure)", lambda: recipients.resolve(run.pk))
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE messaging_message, messaging_deliveryplan")
        gateway_id = Message.objects.filter(source_id=run.pk).values_list("gateway_id", flat=True).first()
        print("queued:", Message.objects.filter(source_id=run.pk, status="queued").count())
        claim = dispatch._claim_sql(" AND priority >= 0", 1000).split("WHERE id IN (", 1)[1].rsplit(") RETURNING", 1)[0]
        explain("claim of 1,000, queue full:", claim, gateway_id)
        timed("pause request", lambda: runs.pause(actor=actor, broadcast=current()))
        explain("claim while held, before flagging:", claim, gateway_id)
        timed("apply_hold task", lambda: holds.apply_hold(Source.BROADCAST, run.pk))
        timed("resume request", lambda: runs.resume(actor=actor, broadcast=current()))
        timed("apply_release task", lambda: holds.apply_release(Source.BROADCAST, run.pk))
        timed("stop request", lambda: runs.stop(actor=actor, broadcast=current()))
        timed("cancel task", lambda: holds.cancel(Source.BROADCAST, run.pk))


if __name__ == "__main__":
    main()
