"""Crash tests (issue 4, "Reliability"), small sizes; bench/messaging_reliability.py runs
the same scenarios at full size.

A real dispatcher process (``manage.py dispatch_messages``) sends a broadcast-sized queue
through the simulator, whose *ledger* is the provider's own record of what it received.
Mid-run the process is killed with SIGKILL, or its database connections are cut (what a
PostgreSQL restart does to it), or Redis is killed and restarted. Afterwards every
message must have exactly one final state, the provider must have received each message
at most once, and every message it received must be recorded as sent.

These tests need a database that two processes share: PostgreSQL (CI). On the embedded
SQLite the test database lives in one process's memory, so they cannot run there.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from contacts.models import Contact
from messaging.models import Claim, DeliveryPlan, Gateway, Message, MessageStatus, Source
from messaging.services import StepSpec, dispatch, send_plans_bulk

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 400
WORKER_APP = "herald-crash-test-dispatcher"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("postgresql" not in settings.DATABASES["default"]["ENGINE"],
                       reason="needs a database shared by two processes (PostgreSQL)"),
]


@pytest.fixture
def queued(company, tmp_path, monkeypatch):
    """A slow simulator gateway with a ledger, and one queued SMS per contact (left queued:
    the dispatcher process under test sends them)."""
    monkeypatch.setattr(dispatch, "kick", lambda pairs: None)
    ledger = tmp_path / "ledger.txt"
    gateway = Gateway.objects.create(name="Crash sim", channel=1, provider="simulator", tps=100_000,
                                     settings={"seed": 3, "ledger": str(ledger), "send_delay": 0.05})
    Contact.objects.bulk_create([Contact(company=company, phone=f"+3461{i:07d}", country="ES")
                                 for i in range(RECIPIENTS)])
    send_plans_bulk(company=company, contacts=Contact.objects.filter(company=company), source=Source.BROADCAST,
                    steps=[StepSpec(channel=1, content={"text": "Hi"})])
    return gateway, ledger


def _env(**extra) -> dict:
    db = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
                            f"?application_name={WORKER_APP}",
               DJANGO_SECRET_KEY=settings.SECRET_KEY, HERALD_DISPATCH_BATCH="10", PYTHONUNBUFFERED="1", **extra)
    return env


def _dispatcher(gateway, env, until_empty=True) -> subprocess.Popen:
    args = [sys.executable, "manage.py", "dispatch_messages", "--gateway", str(gateway.pk), "--slice", "1"]
    if until_empty:
        args.append("--until-empty")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _sent() -> int:
    return Message.objects.exclude(status=MessageStatus.QUEUED).count()


def _wait_for(condition, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def _finish(gateway, env) -> None:
    """What the beat's recovery sweep and a restarted worker do: settle the claims of the
    dead run, then send the rest."""
    for _ in range(3):
        dispatch.recover(older_than=0)
        worker = _dispatcher(gateway, env)
        output = worker.communicate(timeout=120)[0].decode()
        assert worker.returncode == 0, output
        if not Claim.objects.exists():
            break


def _assert_exactly_once(ledger: Path) -> None:
    received = ledger.read_text().split()
    assert len(received) == len(set(received)), "the provider received a message twice"
    messages = Message.objects.all()
    assert messages.count() == RECIPIENTS, "one message per recipient, none duplicated or lost"
    assert not messages.filter(status=MessageStatus.QUEUED).exists()
    assert not Claim.objects.exists()
    delivered = {str(pk) for pk in messages.filter(status=MessageStatus.DELIVERED).values_list("pk", flat=True)}
    # Every message the provider got is recorded as sent; with a provider that keeps a
    # ledger no outcome is unknown, so every message was delivered exactly once.
    assert set(received) == delivered
    assert len(delivered) == RECIPIENTS
    assert DeliveryPlan.objects.filter(state="successful").count() == RECIPIENTS


def test_a_worker_killed_with_sigkill_loses_and_duplicates_nothing(queued):
    gateway, ledger = queued
    env = _env()
    worker = _dispatcher(gateway, env, until_empty=False)
    try:
        _wait_for(lambda: _sent() >= 100)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        worker.kill()
    assert _sent() < RECIPIENTS, "the kill must land mid-run"
    _finish(gateway, env)
    _assert_exactly_once(ledger)


def test_database_connections_cut_mid_run_lose_and_duplicate_nothing(queued):
    """What a PostgreSQL restart does to a worker: its connections die mid-statement."""
    gateway, ledger = queued
    env = _env()
    worker = _dispatcher(gateway, env, until_empty=False)
    try:
        for threshold in (60, 140, 220):
            _wait_for(lambda threshold=threshold: _sent() >= threshold)
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND application_name = %s", [WORKER_APP])
                assert cursor.fetchone()[0] >= 1
        _wait_for(lambda: not Message.objects.filter(status=MessageStatus.QUEUED, claim__isnull=True)
                  .exists(), timeout=120)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=10)
    _finish(gateway, env)
    _assert_exactly_once(ledger)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_redis_restarted_mid_run_loses_and_duplicates_nothing(queued, tmp_path):
    """The worker's Redis (its rate limiter, cache and broker) is killed and restarted."""
    gateway, ledger = queued
    port = _free_port()
    redis_args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--dir", str(tmp_path)]
    redis = subprocess.Popen(redis_args, stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    env = _env(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    worker = _dispatcher(gateway, env, until_empty=False)
    try:
        _wait_for(lambda: _sent() >= 100)
        redis.send_signal(signal.SIGKILL)
        redis.wait(timeout=10)
        time.sleep(1.0)  # the worker runs into the dead Redis
        redis = subprocess.Popen(redis_args, stdout=subprocess.DEVNULL)
        _wait_for(lambda: not Message.objects.filter(status=MessageStatus.QUEUED, claim__isnull=True)
                  .exists(), timeout=120)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=10)
    try:
        _finish(gateway, env)
    finally:
        redis.kill()
    _assert_exactly_once(ledger)
