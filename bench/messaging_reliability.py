"""Crash scenarios of issue 4 ("Reliability") at full size, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/herald_bench \\
        .venv/bin/python bench/messaging_reliability.py --messages 100000

Queues ``--messages`` SMS (one delivery plan each) on a simulator gateway whose *ledger* is
the provider's own record of what it received, then runs ``manage.py dispatch_messages``
(with its own Redis, started here) and, while it sends:

1. at 20 % sent, kills it with SIGKILL and starts a new one;
2. at 45 %, cuts all its database connections (what a PostgreSQL restart does to it);
3. at 70 %, kills Redis with SIGKILL and restarts it a second later.

Then the recovery sweep runs and the queue is drained. It prints what each check found:
every message exactly one final state, none left queued or in flight, the provider's
ledger without duplicates, and every message the provider got recorded as delivered.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (see the docstring).")
    if not shutil.which("redis-server"):
        sys.exit("redis-server is needed (the scenario restarts its own Redis).")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from messaging_dispatch import make_company

    from contacts.models import Contact
    from messaging.models import Gateway, Message, MessageStatus, Source
    from messaging.services import StepSpec, dispatch, send_plans_bulk

    call_command("migrate", verbosity=0)
    workdir = Path(tempfile.mkdtemp(prefix="herald-crash-"))
    ledger = workdir / "ledger.txt"
    company = make_company("Bench crash", args.messages)
    Gateway.objects.filter(channel=1).update(is_active=False)
    gateway = Gateway.objects.create(name="Crash simulator", channel=1, provider="simulator", tps=1_000_000,
                                     settings={"seed": 5, "ledger": str(ledger)})
    dispatch.kick = lambda pairs: None  # nothing sends until the dispatcher under test starts
    t = time.perf_counter()
    send_plans_bulk(company=company, contacts=Contact.objects.filter(company=company), source=Source.BROADCAST,
                    steps=[StepSpec(channel=1, content={"text": "Crash test"})], batch_size=5000)
    print(f"queued {args.messages:,} messages in {time.perf_counter() - t:.0f} s")

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    redis_args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--dir", str(workdir)]
    redis = subprocess.Popen(redis_args, stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    env = dict(os.environ, REDIS_URL=f"redis://127.0.0.1:{port}/0", DJANGO_SECRET_KEY=settings.SECRET_KEY,
               HERALD_DISPATCH_BATCH="500")
    command = [sys.executable, "manage.py", "dispatch_messages", "--gateway", str(gateway.pk), "--slice", "2"]

    def start():
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sent():
        return Message.objects.filter(company=company).exclude(status=MessageStatus.QUEUED).count()

    def wait_for(share):
        while sent() < share * args.messages:
            time.sleep(0.2)

    started = time.perf_counter()
    worker = start()
    wait_for(0.20)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    print(f"  SIGKILL at {sent():,} sent")
    worker = start()
    wait_for(0.45)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
                       "current_database() AND pid <> pg_backend_pid()")
        print(f"  cut {cursor.fetchone()[0]} database connections at {sent():,} sent")
    wait_for(0.70)
    redis.send_signal(signal.SIGKILL)
    redis.wait()
    print(f"  Redis killed at {sent():,} sent")
    time.sleep(1.0)
    redis = subprocess.Popen(redis_args, stdout=subprocess.DEVNULL)
    while Message.objects.filter(company=company, status=MessageStatus.QUEUED, claim__isnull=True).exists():
        time.sleep(0.5)
    worker.send_signal(signal.SIGTERM)
    worker.wait()
    recovered = dispatch.recover(older_than=0)
    worker = subprocess.Popen(command + ["--until-empty"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    worker.wait()
    elapsed = time.perf_counter() - started
    redis.kill()
    print(f"recovery sweep: {recovered}; total {elapsed:.0f} s")

    messages = Message.objects.filter(company=company)
    received = ledger.read_text().split()
    delivered = {str(pk) for pk in messages.filter(status=MessageStatus.DELIVERED).values_list("pk", flat=True)}
    checks = {
        "one message per recipient": messages.count() == args.messages,
        "none queued": not messages.filter(status=MessageStatus.QUEUED).exists(),
        "none in flight": not messages.filter(claim__isnull=False).exists(),
        "provider got no message twice": len(received) == len(set(received)),
        "every message the provider got is delivered": set(received) == delivered,
        "every message delivered": len(delivered) == args.messages,
    }
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    print(f"ledger {len(received):,} lines, {len(set(received)):,} distinct; delivered {len(delivered):,}")
    shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
