"""Benchmark of a broadcast launch (issue 5, "Speed"), on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/herald_bench \\
        .venv/bin/python bench/broadcast_launch.py --contacts 1000000 --dispatchers 1

Set-up (not timed): migrations; the messaging tables emptied (this database is for
benches only); a company "Bench broadcast" with ``--contacts`` contacts tagged "all"
(``INSERT … SELECT FROM generate_series``); simulator gateways for SMS, Viber and Email
(delivery reports with the submit, TPS high enough not to limit); active sender IDs; a
portal user; a draft broadcast to the tag with a 3-step chain SMS → Viber → Email, the SMS
personalised with ``{{attribute.name}}``.

Timed:

* ``launch request`` — ``runs.launch`` as the portal's *Launch broadcast* calls it
  (validation, the recipients' estimate, the run queued): target ≤ 1 s;
* ``initiated`` / ``step 1 submitted`` — from the launch until every recipient has a
  delivery plan (one resolver process, as the Celery task runs it) and until every
  step-1 message left the queue (``--dispatchers`` processes run ``dispatch.run``), read
  from the live counters every second: target ≤ 100 s for both;
* ``pages`` — meanwhile a process requests the broadcasts table and the running
  broadcast's statistics page (Django test client, a logged-in user, every second) and
  prints p50 / p95 / max: target p95 ≤ 300 ms.

Meanwhile the main process does what the running system does: squashes the live counters
(the beat's tick) and ANALYZEs the plan and message tables every 20 s (autovacuum; the
PostgreSQL of the bench machine runs with autovacuum off).
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


def prepare(contacts: int):
    from django.db import connection

    from accounts.models import Company, User
    from broadcasts.models import Broadcast
    from contacts.models import Tag
    from messaging.models import Gateway, SenderId, SenderIdStatus

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE messaging_message, messaging_deliveryplan, messaging_attempt, messaging_statusevent,"
                       " messaging_claim, messaging_stepchain,"
                       " messaging_pendingreport, messaging_sourcecounter, messaging_heldsource CASCADE")
        for company_id in Company.objects.filter(name="Bench broadcast").values_list("pk", flat=True):
            cursor.execute("DELETE FROM contacts_contacttag WHERE tag_id IN (SELECT id FROM contacts_tag"
                           " WHERE company_id = %s)", [company_id])
            cursor.execute("DELETE FROM contacts_contact WHERE company_id = %s", [company_id])
    Broadcast.objects.filter(company__name="Bench broadcast").delete()
    Company.objects.filter(name="Bench broadcast").delete()
    with connection.cursor() as cursor:  # autovacuum is off here: clear the previous run's dead rows
        cursor.execute("VACUUM ANALYZE contacts_contact")
        cursor.execute("VACUUM ANALYZE contacts_contacttag")
    company = Company.objects.create(name="Bench broadcast", default_region="ES")
    tag = Tag.objects.create(company=company, name="all")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contacts_contact (company_id, phone, country, mno, attributes, wechat_id, created_at,"
            " updated_at) SELECT %s, '+346' || lpad(g::text, 8, '0'), 'ES', 'Movistar',"
            " jsonb_build_object('name', 'Name ' || g, 'email', 'c' || g || '@example.com'), '', now(), now()"
            " FROM generate_series(1, %s) g", [company.pk, contacts])
        cursor.execute("INSERT INTO contacts_contacttag (contact_id, tag_id) SELECT id, %s FROM contacts_contact"
                       " WHERE company_id = %s", [tag.pk, company.pk])
        cursor.execute("ANALYZE contacts_contact")
        cursor.execute("ANALYZE contacts_contacttag")
    Gateway.objects.filter(is_active=True).update(is_active=False)
    gateways = {}
    for channel in (1, 3, 6):
        gw, _ = Gateway.objects.update_or_create(name=f"Bench simulator {channel}", defaults={
            "channel": channel, "provider": "simulator", "settings": {"seed": 1}, "tps": 1_000_000,
            "is_active": True, "company": None})
        gateways[channel] = gw
        SenderId.objects.create(company=company, channel=channel, sender_id="BENCH", name="BENCH",
                                status=SenderIdStatus.ACTIVE)
    from portal.testing import factories

    User.objects.filter(login="bench-broadcast").delete()
    user = factories.admin(company, login="bench-broadcast")
    steps = [
        {"channel": 1, "sender": "BENCH", "content": {"text": "Hi {{attribute.name}}, the sale starts today."},
         "template_id": None, "params": {}, "wait_for": "delivery", "timeout": 600},
        {"channel": 3, "sender": "BENCH", "content": {"type": "text", "text": "Hi {{attribute.name}}!"},
         "template_id": None, "params": {}, "wait_for": "delivery", "timeout": 600},
        {"channel": 6, "sender": "BENCH", "content": {"subject": "The sale", "html": "<p>Hi</p>"},
         "template_id": None, "params": {}, "wait_for": "delivery", "timeout": 600},
    ]
    broadcast = Broadcast.objects.create(company=company, name="Bench 3-step", steps=steps, created_by=user,
                                         recipients={"targets": [], "tags": [tag.pk], "phones": []})
    return company, user, broadcast, gateways


def _cpu() -> tuple[float, float]:
    """CPU seconds so far of this process and of its PostgreSQL backend (same machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        backend = float("nan")
    return time.process_time(), backend


def _resolver(broadcast_id: int, ready, go, out):
    setup_django()
    from broadcasts.services import recipients

    cpu = _cpu()
    ready.release()
    go.wait()
    started = time.perf_counter()
    recipients.resolve(broadcast_id)
    out.put(("resolver", time.perf_counter() - started))
    out.put(("cpu", ("resolver", *(b - a for a, b in zip(cpu, _cpu(), strict=True)))))


def _dispatcher(gateway_id: int, stop, ready, go, out):
    setup_django()
    from messaging.models import Gateway
    from messaging.providers import driver_for
    from messaging.services import dispatch

    driver_for(Gateway.objects.get(pk=gateway_id))
    cpu = _cpu()
    ready.release()
    go.wait()
    sent = 0
    while not stop.is_set():
        n = dispatch.run(gateway_id, seconds=2)
        sent += n
        if not n:
            time.sleep(0.1)
    out.put(("dispatcher", sent))
    out.put(("cpu", ("dispatcher", *(b - a for a, b in zip(cpu, _cpu(), strict=True)))))


def _pages(user_id: int, broadcast_id: int, stop, ready, go, out):
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(pk=user_id))
    client.get("/broadcasts/")  # warm
    ready.release()
    go.wait()
    times = {"table": [], "statistics": []}
    slowest = {}  # page -> (seconds, [(query seconds, SQL)]) of its slowest request
    while not stop.is_set():
        for key, url in (("table", "/broadcasts/"), ("statistics", f"/broadcasts/{broadcast_id}/")):
            t = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            elapsed = time.perf_counter() - t
            times[key].append(elapsed)
            if elapsed > slowest.get(key, (0,))[0]:
                top = sorted(((float(q["time"]), q["sql"]) for q in queries.captured_queries), reverse=True)[:3]
                if top and top[0][0] > 0.1:  # the plan the slow query got, while the run goes on
                    with connection.cursor() as cursor:
                        cursor.execute("EXPLAIN " + top[0][1])
                        top[0] = (top[0][0], top[0][1] + "\n" + "\n".join(row[0] for row in cursor.fetchall()))
                slowest[key] = (elapsed, top)
        time.sleep(1)
    out.put(("pages", {"times": times, "slowest": slowest}))


def _q(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--dispatchers", type=int, default=1)
    parser.add_argument("--batch", type=int, default=5000, help="recipients per resolution batch")
    parser.add_argument("--no-pages", action="store_true", help="do not sample the pages")
    parser.add_argument("--limit", type=float, default=600, help="give up after this many seconds")
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (see the docstring).")
    os.environ["HERALD_BROADCAST_BATCH"] = str(args.batch)
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from broadcasts.services import runs
    from messaging.models import PlanState, Source
    from messaging.services import counters
    from portal.audit import Actor

    call_command("migrate", verbosity=0)
    print(f"# {platform.node()} · {os.cpu_count()} CPU · {platform.python_version()} · PostgreSQL "
          f"{connection.cursor().connection.info.server_version} · {args.contacts:,} contacts · "
          f"{args.dispatchers} dispatcher(s) · batch {args.batch}")
    t = time.perf_counter()
    company, user, broadcast, gateways = prepare(args.contacts)
    print(f"set-up: {time.perf_counter() - t:.1f} s")
    connection.close()

    ctx = mp.get_context("spawn")
    out, ready, go, stop = ctx.Queue(), ctx.Semaphore(0), ctx.Event(), ctx.Event()
    procs = [ctx.Process(target=_resolver, args=(broadcast.pk, ready, go, out))]
    procs += [ctx.Process(target=_dispatcher, args=(gateways[1].pk, stop, ready, go, out))
              for _ in range(args.dispatchers)]
    if not args.no_pages:
        procs.append(ctx.Process(target=_pages, args=(user.pk, broadcast.pk, stop, ready, go, out)))
    # The resolver waits for "go"; it starts after the launch request (as the Celery task would).
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()

    from django.db import transaction

    started = time.perf_counter()
    with transaction.atomic():
        runs.launch(actor=Actor(user=user, company=company), broadcast=broadcast)
    # the launch queued the resolution on commit; the bench's resolver process runs it
    launch_s = time.perf_counter() - started
    go.set()
    total = args.contacts  # every contact carries the tag
    initiated_at = submitted_at = None
    last_analyze = time.perf_counter()
    while time.perf_counter() - started < args.limit:
        time.sleep(1)
        # What the running system does meanwhile: the beat squashes the counters every 5 s
        # (here every second, cheaper per call), and autovacuum re-analyzes the growing
        # tables (this machine's PostgreSQL runs with autovacuum off, so do it here).
        counters.squash()
        if time.perf_counter() - last_analyze > 20:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE messaging_deliveryplan")
                cursor.execute("ANALYZE messaging_message")
            last_analyze = time.perf_counter()
        c = counters.totals(Source.BROADCAST, broadcast.pk)
        plans = c.get(counters.PLAN, {}).get(PlanState.ACTIVE, 0)
        step1 = c.get(0, {})
        left = step1.get("queued", 0)
        elapsed = time.perf_counter() - started
        print(f"  {elapsed:6.1f} s  initiated {plans:>9,}  step-1 queued {left:>9,}  submitted+ "
              f"{step1.get('delivered', 0) + step1.get('submitted', 0):>9,}", flush=True)
        if initiated_at is None and plans >= total:
            initiated_at = elapsed
        if initiated_at is not None and left == 0:
            submitted_at = elapsed
            break
    stop.set()
    results: dict[str, list] = {}
    for _ in range(len(procs) + 1 + args.dispatchers):  # each process's result; resolver and dispatchers: + CPU
        kind, value = out.get(timeout=120)
        results.setdefault(kind, []).append(value)
    for p in procs:
        p.join(timeout=30)
    print(f"launch request: {launch_s * 1000:8.0f} ms (target ≤ 1,000 ms)")
    print(f"initiated:      {initiated_at if initiated_at is not None else float('nan'):8.1f} s for {total:,} "
          f"recipients (target ≤ 100 s)")
    print(f"step 1 submitted:{submitted_at if submitted_at is not None else float('nan'):7.1f} s (target ≤ 100 s)")
    print(f"throughput:     {total / submitted_at if submitted_at else float('nan'):8,.0f} recipients/s "
          f"(resolver {results.get('resolver', [float('nan')])[0]:.1f} s)")
    for name, own, backend in results.get("cpu", []):
        print(f"CPU {name:<10}: {own:6.1f} s Python + {backend:6.1f} s its PostgreSQL backend "
              f"= {(own + backend) * 1e6 / total:4.0f} µs per recipient")
    pages = (results.get("pages") or [{}])[0]
    for key, values in pages.get("times", {}).items():
        ms = [v * 1000 for v in values]
        print(f"page {key:<10}: {len(ms):4d} requests  p50 {_q(ms, 0.5):6.0f} ms  p95 {_q(ms, 0.95):6.0f} ms  "
              f"max {max(ms) if ms else float('nan'):6.0f} ms (target p95 ≤ 300 ms)")
    for key, (seconds, queries) in pages.get("slowest", {}).items():
        print(f"  slowest {key} request ({seconds * 1000:.0f} ms), its slowest queries:")
        for query_s, sql in queries:
            sql, _nl, plan = sql.partition("\n")
            print(f"    {query_s * 1000:7.1f} ms  {sql[:400]}")
            if plan:
                print("      " + plan.replace("\n", "\n      "))


if __name__ == "__main__":
    main()
