"""Benchmark of the fallback engine (issue 4, "Speed": with 1,000,000 pending deadlines,
each next step is sent ≤ 10 s after its deadline, p99), on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/herald_bench \\
        .venv/bin/python bench/messaging_fallback.py --plans 1000000 --spread 3600 --run 120

Set-up (not timed): a company with ``--plans`` contacts and as many active two-step plans
(SMS, then SMS on fallback) waiting on step 1, whose deadlines are spread evenly over
``--spread`` seconds starting ``--lead`` seconds after they are written (so that none is
overdue when the measure starts), all in the ``plan_deadline`` partial index; a simulator
gateway. The original deadline of each plan is kept in a side table.

Timed: for ``--run`` seconds one process runs the fallback sweep in a loop (as the beat
task does, every 2 s in production — here back to back) and one process runs the
dispatcher; then, for every plan whose deadline fell in the run, the lag from its
deadline to its step-2 message being *queued* (created by the sweep) and being *sent*
(submitted to the provider): p50 / p95 / p99 / max.

``--burst N`` gives N plans the same (first) deadline among the pending ones: the lags
then show how long a burst of N due plans takes to move and send.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

STEPS = ('[{"channel": 1, "sender": "", "content": {"text": "Step one"}, "template_id": null, "params": {},'
         ' "wait_for": "delivery", "timeout": 60},'
         ' {"channel": 1, "sender": "", "content": {"text": "Step two"}, "template_id": null, "params": {},'
         ' "wait_for": "submit", "timeout": 60}]')


def setup_django():
    import django

    django.setup()


def _sweeper(seconds, ready, go, out):
    setup_django()
    from messaging.services import fallback

    ready.release()
    go.wait()
    end, moved = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        began = time.monotonic()
        n = fallback.sweep()
        if os.environ.get("BENCH_TRACE") and time.monotonic() - began > 1.0:
            print(f"sweeper: {n} plans in {time.monotonic() - began:.1f} s", flush=True)
        moved += n
        if not n:
            time.sleep(0.05)
    out.put(moved)


def _dispatcher(gateway_id, seconds, ready, go, out):
    setup_django()
    from messaging.services import dispatch

    ready.release()
    go.wait()
    end, sent = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        began = time.monotonic()
        n = dispatch.run(gateway_id, seconds=min(2.0, max(end - time.monotonic(), 0.1)))
        if os.environ.get("BENCH_TRACE") and time.monotonic() - began > 1.5:
            print(f"dispatcher: {n} messages in {time.monotonic() - began:.1f} s", flush=True)
        sent += n
        if not n:
            time.sleep(0.05)
    out.put(sent)


def percentiles(values):
    values = sorted(values)
    if not values:
        return "no data"

    def p(q):
        return values[min(len(values) - 1, int(round((len(values) - 1) * q / 100)))]

    return f"p50 {p(50):6.2f} s  p95 {p(95):6.2f} s  p99 {p(99):6.2f} s  max {values[-1]:6.2f} s  (n={len(values):,})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=1_000_000)
    parser.add_argument("--spread", type=float, default=3600.0, help="seconds over which deadlines are spread")
    parser.add_argument("--run", type=float, default=120.0, help="seconds to run the sweeper and dispatcher")
    parser.add_argument("--burst", type=int, default=0, help="plans sharing one deadline (instead of spread)")
    parser.add_argument("--lead", type=float, default=90.0,
                        help="seconds from writing the deadlines to the first one (covers the rest of the set-up)")
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (see the docstring).")
    setup_django()
    from django.core.management import call_command
    from django.db import connection
    from messaging_dispatch import gateway, make_company

    call_command("migrate", verbosity=0)
    print(f"# {platform.node()} · {os.cpu_count()} CPU · {platform.python_version()} · PostgreSQL "
          f"{connection.cursor().connection.info.server_version}")
    t = time.perf_counter()
    company = make_company("Bench fallback", args.plans)
    gw = gateway()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_deadline")
        start = args.lead
        # Deadlines: evenly over the spread, or the burst's plans on one instant.
        spread = (f"CASE WHEN rn <= {int(args.burst)} THEN now() + interval '{start} seconds' "
                  f"ELSE now() + interval '{start + 60} seconds' + (rn * {args.spread / max(args.plans, 1)}) "
                  "* interval '1 second' END") if args.burst else (
            f"now() + interval '{start} seconds' + (rn * {args.spread / max(args.plans, 1)}) * interval '1 second'")
        cursor.execute(
            "CREATE TABLE bench_deadline AS SELECT c.id AS contact_id, "
            f"{spread} AS deadline FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM contacts_contact"
            " WHERE company_id = %s) c", [company.pk])
        cursor.execute(
            "INSERT INTO messaging_deliveryplan (company_id, contact_id, address, source, steps, current_step,"
            " current_wait_for, current_timeout, state, deadline, webhook_url, late_reports, created_at)"
            " SELECT %s, d.contact_id, '', 'broadcast', %s::jsonb, 0, 'delivery', 60, 'active', d.deadline, '', 0,"
            " now() FROM bench_deadline d", [company.pk, STEPS])
        cursor.execute("CREATE INDEX ON bench_deadline (contact_id)")
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM messaging_deliveryplan WHERE state = 'active' AND deadline IS NOT NULL")
        pending = cursor.fetchone()[0]
        cursor.execute("SELECT EXTRACT(EPOCH FROM (min(deadline) - now())) FROM bench_deadline")
        first_in = float(cursor.fetchone()[0])
    print(f"set-up:   {pending:,} pending deadlines in {time.perf_counter() - t:.0f} s; the first is due in "
          f"{first_in:.0f} s")
    connection.close()
    if first_in < 5:
        sys.exit("The set-up took longer than --lead: raise it, or the first deadlines start overdue.")
    time.sleep(first_in - 5)  # start the sweeper 5 s before the first deadline
    ctx = mp.get_context("spawn")
    out_sweep, out_send, ready, go = ctx.Queue(), ctx.Queue(), ctx.Semaphore(0), ctx.Event()
    procs = [ctx.Process(target=_sweeper, args=(args.run, ready, go, out_sweep)),
             ctx.Process(target=_dispatcher, args=(gw.pk, args.run, ready, go, out_send))]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.acquire()
    go.set()
    moved, sent = out_sweep.get(), out_send.get()
    for proc in procs:
        proc.join()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXTRACT(EPOCH FROM (m.created_at - d.deadline)), EXTRACT(EPOCH FROM (m.submitted_at - d.deadline))"
            " FROM messaging_message m JOIN messaging_deliveryplan p ON p.id = m.plan_id"
            " JOIN bench_deadline d ON d.contact_id = p.contact_id WHERE m.company_id = %s AND m.step = 1",
            [company.pk])
        rows = cursor.fetchall()
    print(f"moved:    {moved:,} plans to step 2, {sent:,} step-2 messages sent in {args.run:.0f} s")
    print(f"queued:   {percentiles([r[0] for r in rows])}")
    print(f"sent:     {percentiles([r[1] for r in rows if r[1] is not None])}")


if __name__ == "__main__":
    main()
