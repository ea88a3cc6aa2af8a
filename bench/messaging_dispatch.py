"""Benchmark of the messaging engine's sending path (issue 4, "Speed"), on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres herald_bench   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/herald_bench \\
        .venv/bin/python bench/messaging_dispatch.py --messages 100000 --workers 2

Set-up (not timed): migrations; the previous run's company deleted and the tables
``VACUUM``ed (autovacuum's work; it is off on the benchmark VM); a company "Bench dispatch" with ``--messages`` contacts
(one ``INSERT … SELECT FROM generate_series``); a simulator gateway for SMS (delivery
reports at once, TPS high enough not to limit).

Timed:

* ``queue`` — ``send_plans_bulk``: one delivery plan and one queued SMS per contact
  (validation, opt-out anti-join, rendering with the contact's name, encoding, routing),
  reported in messages/s;
* ``dispatch`` — ``--workers`` processes each run ``dispatch.run`` on the gateway until the
  queue is empty: claim (SKIP LOCKED) → attempts → simulator ``send_batch`` → statuses,
  history, plans → the simulator's delivery reports applied (``DELIVRD``): from queued to
  delivered, reported in messages/s (the target: ≥ 10,000/s with two worker processes).
* ``dlr intake`` — ``--reports`` delivery reports for submitted messages applied through
  ``intake.apply_reports`` in batches of 1,000 by ``--workers`` processes, in reports/s
  (target ≥ 10,000/s).
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
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def setup_django():
    import django

    django.setup()


def make_company(name: str, contacts: int):
    from django.db import connection

    from accounts.models import Company
    from messaging.models import DeliveryPlan, Message

    Company.objects.filter(name=name).delete()  # cascades: contacts, plans, messages
    with connection.cursor() as cursor:
        # What autovacuum does in production (it is off on the benchmark VM): without it the
        # previous runs' dead rows stay in the tables and indexes every run walks through.
        cursor.execute("VACUUM messaging_message, messaging_deliveryplan, messaging_attempt, messaging_statusevent,"
                       " messaging_sourcecounter, contacts_contact")
    company = Company.objects.create(name=name, default_region="ES")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contacts_contact (company_id, phone, country, mno, attributes, wechat_id, created_at,"
            " updated_at) SELECT %s, '+346' || lpad(g::text, 8, '0'), 'ES', 'Movistar',"
            " jsonb_build_object('name', 'Name ' || g), '', now(), now() FROM generate_series(1, %s) g",
            [company.pk, contacts])
        cursor.execute("ANALYZE contacts_contact")
    assert not DeliveryPlan.objects.filter(company=company).exists() and not Message.objects.filter(
        company=company).exists()
    return company


def gateway(tps: int = 1_000_000):
    from messaging.models import Gateway

    gw, _ = Gateway.objects.update_or_create(name="Bench simulator", defaults={
        "channel": 1, "provider": "simulator", "settings": {"seed": 1}, "tps": tps, "is_active": True})
    Gateway.objects.exclude(pk=gw.pk).filter(channel=1).update(is_active=False)
    return gw


def _dispatch_worker(gateway_id: int, batch: int, ready, go, out):
    setup_django()
    from django.conf import settings

    from messaging.models import Gateway
    from messaging.providers import driver_for
    from messaging.services import dispatch

    settings.HERALD_DISPATCH_BATCH = batch
    driver_for(Gateway.objects.get(pk=gateway_id))  # warm: imports, connection
    ready.release()
    go.wait()
    claimed = 0
    while True:
        n = dispatch.run(gateway_id, seconds=30)
        claimed += n
        if n == 0:
            break
    out.put(claimed)


def _dlr_worker(gateway_id: int, ids: list[str], ready, go, out):
    setup_django()
    from messaging.models import Gateway, MessageStatus
    from messaging.providers.base import Report
    from messaging.services.intake import apply_reports

    gw = Gateway.objects.get(pk=gateway_id)
    ready.release()
    go.wait()
    applied = 0
    for start in range(0, len(ids), 1000):
        stats = apply_reports(gw, [Report(MessageStatus.DELIVERED, provider_message_id=pid, provider_status="DELIVRD")
                                   for pid in ids[start:start + 1000]])
        applied += stats.applied
    out.put(applied)


def run_workers(target, args_list):
    """Start the worker processes, wait until each has set up Django (not timed), then
    time from "go" until the last one finished."""
    ctx = mp.get_context("spawn")
    out, ready, go = ctx.Queue(), ctx.Semaphore(0), ctx.Event()
    procs = [ctx.Process(target=target, args=(*args, ready, go, out)) for args in args_list]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    started = time.perf_counter()
    go.set()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return time.perf_counter() - started, results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (see the docstring).")
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from messaging.models import Message, MessageStatus, Source
    from messaging.services import StepSpec, send_plans_bulk

    call_command("migrate", verbosity=0)
    print(f"# {platform.node()} · {os.cpu_count()} CPU · {platform.python_version()} · PostgreSQL "
          f"{connection.cursor().connection.info.server_version}")

    # --- queue + dispatch ------------------------------------------------------------------
    company = make_company("Bench dispatch", args.messages)
    gw = gateway()
    from contacts.models import Contact

    started = time.perf_counter()
    send_plans_bulk(company=company, contacts=Contact.objects.filter(company=company), source=Source.BROADCAST,
                    steps=[StepSpec(channel=1, content={"text": "Hello {{attribute.name}}, your code is ready."})],
                    batch_size=5000)
    queued = time.perf_counter() - started
    count = Message.objects.filter(company=company, status=MessageStatus.QUEUED).count()
    print(f"queue:    {count:>9,} messages in {queued:6.1f} s = {count / queued:>8,.0f} messages/s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_message")
    connection.close()

    elapsed, claimed = run_workers(_dispatch_worker, [(gw.pk, args.batch)] * args.workers)
    delivered = Message.objects.filter(company=company, status=MessageStatus.DELIVERED).count()
    left = Message.objects.filter(company=company, status=MessageStatus.QUEUED).count()
    print(f"dispatch: {sum(claimed):>9,} messages in {elapsed:6.1f} s = {sum(claimed) / elapsed:>8,.0f} messages/s"
          f" queued→submitted→delivered ({args.workers} workers, batch {args.batch}); delivered {delivered:,},"
          f" still queued {left:,}")

    # --- DLR intake ---------------------------------------------------------------------------
    company = make_company("Bench DLR", 0)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO messaging_message (id, company_id, address, channel, direction, traffic_type, source,"
            " sender, gateway_id, content, encoding, segments, priority, status, status_rank, provider_status,"
            " error_code, error_text, provider_message_id, late, created_at, submitted_at, currency, attempt_count)"
            " SELECT gen_random_uuid(), %s, '+346' || lpad(g::text, 8, '0'), 1, 'mt', 'a2p', 'broadcast', 'Bench',"
            " %s, '{\"text\": \"x\"}', 'gsm7', 1, 0, 'submitted', 10, '', '', '', 'dlr-' || g, false, now(), now(), '', 1"
            " FROM generate_series(1, %s) g", [company.pk, gw.pk, args.reports])
        cursor.execute("ANALYZE messaging_message")
    connection.close()
    ids = [f"dlr-{i}" for i in range(1, args.reports + 1)]
    share = -(-len(ids) // args.workers)
    elapsed, applied = run_workers(_dlr_worker, [(gw.pk, ids[i * share:(i + 1) * share])
                                                 for i in range(args.workers)])
    print(f"dlr:      {sum(applied):>9,} reports  in {elapsed:6.1f} s = {sum(applied) / elapsed:>8,.0f} reports/s"
          f" ({args.workers} workers, 1,000 per call)")


if __name__ == "__main__":
    main()
